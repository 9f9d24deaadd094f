"""Dependencies: one session per request committed once, the clock, bearer-token auth."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.api_tokens import shop_id_for_token
from catalog.models import Shop
from catalog.shops import get_shop
from webhook.context import WebContext

bearer = HTTPBearer(auto_error=False, description="LIVECART_API_TOKEN")


def get_context(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.ctx
    return ctx


ContextDep = Annotated[WebContext, Depends(get_context)]


async def get_session(ctx: ContextDep) -> AsyncIterator[AsyncSession]:
    """The request's transaction: committed once after the route, rolled back on any error."""
    async with ctx.sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
    if ctx.after_commit is not None:
        ctx.after_commit()


# scope="function": the commit runs before the response is sent, so a failed commit is a 500
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


def get_now(ctx: ContextDep) -> datetime:
    return ctx.clock.now()


NowDep = Annotated[datetime, Depends(get_now)]


@dataclass(frozen=True)
class Principal:
    """Who calls: the admin (LIVECART_API_TOKEN, everything) or one shop's API token."""

    shop_id: int | None  # None: the admin

    @property
    def is_admin(self) -> bool:
        return self.shop_id is None


def _unauthorized() -> HTTPException:
    return HTTPException(
        status_code=401,
        detail="a valid bearer token (LIVECART_API_TOKEN or a shop API token) is required",
        headers={"WWW-Authenticate": "Bearer"},
    )


async def require_principal(
    ctx: ContextDep,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The admin token (compared in constant time) or a live shop token (looked up by hash)."""
    given = credentials.credentials if credentials else ""
    expected = ctx.api_token
    if expected and hmac.compare_digest(given.encode(), expected.encode()):
        return Principal(shop_id=None)
    shop_id = await shop_id_for_token(session, given) if given else None
    if shop_id is None:
        raise _unauthorized()
    return Principal(shop_id=shop_id)


PrincipalDep = Annotated[Principal, Depends(require_principal)]


def require_admin(principal: PrincipalDep) -> None:
    """Only the admin token: a shop token gets 403."""
    if not principal.is_admin:
        raise HTTPException(status_code=403, detail="this needs the admin token")


def require_api_token(principal: PrincipalDep) -> None:
    """Any valid token; routes with a {shop} check the token's shop (ShopDep)."""


Authorized = Depends(require_api_token)
AdminOnly = Depends(require_admin)


async def shop_from_path(session: SessionDep, shop: str, principal: PrincipalDep) -> Shop:
    """The shop in the path; a shop token for another shop gets 403."""
    found = await get_shop(session, shop)
    if principal.shop_id is not None and principal.shop_id != found.id:
        raise HTTPException(status_code=403, detail="this token belongs to another shop")
    return found


ShopDep = Annotated[Shop, Depends(shop_from_path)]
