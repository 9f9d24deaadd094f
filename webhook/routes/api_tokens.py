"""Shop API tokens, managed with the admin token: /api/v1/shops/{shop}/api-tokens."""

from __future__ import annotations

from fastapi import APIRouter, Response

from catalog.api_tokens import create_api_token, list_api_tokens, revoke_api_token
from catalog.errors import NotFound
from catalog.models import ApiToken
from webhook.deps import AdminOnly, NowDep, SessionDep, ShopDep
from webhook.schemas import ApiTokenCreated, ApiTokenIn, ApiTokenOut

router = APIRouter(
    prefix="/api/v1/shops/{shop}/api-tokens", tags=["api tokens"], dependencies=[AdminOnly]
)


@router.post("", status_code=201, response_model=ApiTokenCreated)
async def post_api_token(
    body: ApiTokenIn, shop: ShopDep, session: SessionDep, now: NowDep
) -> ApiTokenCreated:
    """A new bearer token that can use this shop's API only; the token is shown once."""
    row, token = await create_api_token(session, shop, name=body.name, now=now)
    return ApiTokenCreated(
        id=row.id, name=row.name, created_at=row.created_at, revoked_at=None, token=token
    )


@router.get("", response_model=list[ApiTokenOut])
async def get_api_tokens(shop: ShopDep, session: SessionDep) -> list[ApiTokenOut]:
    """The shop's tokens (never the tokens themselves)."""
    return [ApiTokenOut.model_validate(t) for t in await list_api_tokens(session, shop)]


@router.delete("/{token_id}", status_code=204)
async def delete_api_token(
    token_id: int, shop: ShopDep, session: SessionDep, now: NowDep
) -> Response:
    """Revoke a token for good."""
    row = await session.get(ApiToken, token_id)
    if row is None or row.shop_id != shop.id:
        raise NotFound("api token", token_id)
    await revoke_api_token(session, token_id, now=now)
    return Response(status_code=204)
