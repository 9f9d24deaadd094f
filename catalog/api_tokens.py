"""Shop API tokens: a bearer token scoped to one shop, stored as its SHA-256, revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.errors import NotFound
from catalog.models import ApiToken, Shop

TOKEN_PREFIX = "lcs_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_api_token(
    session: AsyncSession, shop: Shop, *, name: str, now: datetime
) -> tuple[ApiToken, str]:
    """Make a token for `shop`; returns the row and the token, which is shown only this once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(shop_id=shop.id, name=name, token_hash=hash_token(token), created_at=now)
    session.add(row)
    await session.flush()
    return row, token


async def revoke_api_token(session: AsyncSession, token_id: int, *, now: datetime) -> ApiToken:
    """Revoke a token for good (revoking twice keeps the first time)."""
    row = await session.get(ApiToken, token_id)
    if row is None:
        raise NotFound("api token", token_id)
    await session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(row)
    return row


async def shop_id_for_token(session: AsyncSession, token: str) -> int | None:
    """The shop a live token belongs to, or None for an unknown or revoked token."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    shop_id = await session.scalar(
        select(ApiToken.shop_id).where(
            ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None)
        )
    )
    return int(shop_id) if shop_id is not None else None


async def list_api_tokens(session: AsyncSession, shop: Shop) -> list[ApiToken]:
    """A shop's tokens, newest first (hashes only)."""
    rows = await session.scalars(
        select(ApiToken).where(ApiToken.shop_id == shop.id).order_by(ApiToken.id.desc())
    )
    return list(rows)
