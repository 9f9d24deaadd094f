"""Campaign staff: the Telegram users who may run a market's shows and broadcasts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from catalog.errors import InvalidInput, NotFound
from catalog.models import CampaignStaff, Market, Show
from catalog.shops import get_market
from catalog.shows import show_market_id


async def add_staff(
    session: AsyncSession, market_slug: str, telegram_user_id: int, *, name: str, now: datetime
) -> tuple[CampaignStaff, bool]:
    """Put a Telegram user on a market's campaign staff (again: the name is updated);
    returns (member, created)."""
    if telegram_user_id <= 0:
        raise InvalidInput("a Telegram user id is a positive number", field="telegram_user_id")
    market = await get_market(session, market_slug)
    member = await session.scalar(
        select(CampaignStaff).where(
            CampaignStaff.market_id == market.id,
            CampaignStaff.telegram_user_id == telegram_user_id,
        )
    )
    if member is not None:
        if name:
            member.name = name[:200]
        return member, False
    try:
        async with session.begin_nested():
            member = CampaignStaff(
                market_id=market.id,
                telegram_user_id=telegram_user_id,
                name=name[:200],
                created_at=now,
            )
            session.add(member)
            await session.flush()
    except IntegrityError:
        return await add_staff(session, market_slug, telegram_user_id, name=name, now=now)
    return member, True


async def remove_staff(session: AsyncSession, market_slug: str, telegram_user_id: int) -> None:
    """Take a user off a market's staff; NotFound if they were not on it."""
    market = await get_market(session, market_slug)
    result = await session.execute(
        delete(CampaignStaff).where(
            CampaignStaff.market_id == market.id,
            CampaignStaff.telegram_user_id == telegram_user_id,
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound("campaign staff member", telegram_user_id)


async def list_staff(session: AsyncSession, market_slug: str) -> list[CampaignStaff]:
    """A market's campaign staff, in the order they were added."""
    market = await get_market(session, market_slug)
    return list(
        await session.scalars(
            select(CampaignStaff)
            .where(CampaignStaff.market_id == market.id)
            .order_by(CampaignStaff.id)
        )
    )


async def staff_markets(session: AsyncSession, telegram_user_id: int) -> list[Market]:
    """The markets this Telegram user is campaign staff of (none: not staff)."""
    rows = await session.scalars(
        select(CampaignStaff)
        .where(CampaignStaff.telegram_user_id == telegram_user_id)
        .options(selectinload(CampaignStaff.market))
        .order_by(CampaignStaff.market_id)
    )
    return [row.market for row in rows]


async def can_run_show(session: AsyncSession, telegram_user_id: int, show: Show) -> bool:
    """Staff of the show's market (its own, or its shop's) may run its campaign."""
    market_id = await show_market_id(session, show)
    if market_id is None:
        return False
    found = await session.scalar(
        select(CampaignStaff.id).where(
            CampaignStaff.market_id == market_id,
            CampaignStaff.telegram_user_id == telegram_user_id,
        )
    )
    return found is not None
