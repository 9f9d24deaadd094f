"""Dependencies: one session per request committed once, the clock, bearer-token auth."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

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


def require_api_token(
    ctx: ContextDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """Bearer LIVECART_API_TOKEN, compared in constant time; no token configured: no access."""
    expected = ctx.api_token
    given = credentials.credentials if credentials else ""
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(
            status_code=401,
            detail="a valid bearer token (LIVECART_API_TOKEN) is required",
            headers={"WWW-Authenticate": "Bearer"},
        )


Authorized = Depends(require_api_token)


async def shop_from_path(session: SessionDep, shop: str) -> Shop:
    return await get_shop(session, shop)


ShopDep = Annotated[Shop, Depends(shop_from_path)]
