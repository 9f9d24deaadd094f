"""Who runs which shop: vendors (owners and staff) reached on their Telegram chats."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from catalog.models import Vendor


async def vendor_of(session: AsyncSession, telegram_user_id: int, shop_id: int) -> Vendor | None:
    """The Telegram user's vendor record for this shop, or None: they may not act for it."""
    vendor: Vendor | None = await session.scalar(
        select(Vendor).where(Vendor.shop_id == shop_id, Vendor.telegram_user_id == telegram_user_id)
    )
    return vendor


async def vendor_records(session: AsyncSession, telegram_user_id: int) -> list[Vendor]:
    """Every shop this Telegram user runs (usually one), with the shop loaded."""
    return list(
        await session.scalars(
            select(Vendor)
            .where(Vendor.telegram_user_id == telegram_user_id)
            .options(selectinload(Vendor.shop))
            .order_by(Vendor.id)
        )
    )


async def shop_vendors(session: AsyncSession, shop_id: int) -> list[Vendor]:
    """Everyone who runs the shop, owners first."""
    return list(
        await session.scalars(
            select(Vendor).where(Vendor.shop_id == shop_id).order_by(Vendor.role, Vendor.id)
        )
    )
