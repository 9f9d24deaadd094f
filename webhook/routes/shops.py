"""PUT/GET /api/v1/shops/{shop}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from catalog.models import Shop
from catalog.shops import list_shops, upsert_shop
from webhook.deps import Authorized, NowDep, SessionDep, ShopDep
from webhook.schemas import ShopIn, ShopOut

router = APIRouter(prefix="/api/v1/shops", tags=["shops"], dependencies=[Authorized])

SlugPath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$", examples=["ganada"])]


def shop_out(shop: Shop, market_slug: str | None) -> ShopOut:
    data = {
        column: getattr(shop, column) for column in ShopOut.model_fields if hasattr(shop, column)
    }
    data.update(market=market_slug, deep_link_payload=f"shop_{shop.slug}")
    return ShopOut.model_validate(data)


async def _market_slug(session: SessionDep, shop: Shop) -> str | None:
    await session.refresh(shop, ["market"])
    return shop.market.slug if shop.market else None


@router.get("", response_model=list[ShopOut])
async def list_all_shops(session: SessionDep, market: str | None = None) -> list[ShopOut]:
    """Every shop, optionally of one market."""
    shops = await list_shops(session, market)
    return [shop_out(shop, await _market_slug(session, shop)) for shop in shops]


@router.put(
    "/{shop}",
    response_model=ShopOut,
    responses={201: {"model": ShopOut, "description": "created"}},
)
async def put_shop(
    shop: SlugPath, body: ShopIn, session: SessionDep, now: NowDep, response: Response
) -> ShopOut:
    """Create the shop or update the fields given."""
    fields = body.model_dump(exclude_unset=True, exclude={"market"})
    record, created = await upsert_shop(
        session, slug=shop, now=now, market_slug=body.market, fields=fields
    )
    response.status_code = 201 if created else 200
    return shop_out(record, await _market_slug(session, record))


@router.get("/{shop}", response_model=ShopOut)
async def get_shop_route(shop: ShopDep, session: SessionDep) -> ShopOut:
    """One shop, with the seller identity it shows customers."""
    return shop_out(shop, await _market_slug(session, shop))
