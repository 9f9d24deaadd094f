"""Who runs which shop: vendors (owners and staff) reached on their Telegram chats, and the
one-time invite links that make someone a vendor."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from catalog.errors import (
    InvalidInput,
    InviteAlreadyUsed,
    InviteExpired,
    LastOwner,
    NotFound,
    NotShopOwner,
    UnknownInvite,
)
from catalog.models import Shop, Vendor, VendorInvite, VendorRole

# token_urlsafe(24) is 32 characters: `vendor_<token>` stays well inside a 64-character payload
INVITE_TOKEN_BYTES = 24
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,50}$")


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


async def require_owner(session: AsyncSession, telegram_user_id: int, shop_id: int) -> Vendor:
    """The user's owner record for this shop, or NotShopOwner (staff and strangers alike)."""
    vendor = await vendor_of(session, telegram_user_id, shop_id)
    if vendor is None or vendor.role != VendorRole.OWNER:
        raise NotShopOwner(shop_id)
    return vendor


def invite_token_hash(token: str) -> str:
    """What is stored of an invite token: its SHA-256, so the database alone can't join a shop."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def create_invite(
    session: AsyncSession,
    shop: Shop,
    *,
    role: str,
    created_by: str,
    now: datetime,
    hours: int,
) -> tuple[VendorInvite, str]:
    """A one-time invite to run `shop` as `role`, valid `hours`; returns (invite, token).

    The token is returned once and never stored: only its hash is.
    """
    if role not in {r.value for r in VendorRole}:
        raise InvalidInput(f"unknown vendor role {role!r}", field="role")
    if hours < 1:
        raise InvalidInput("an invite must be valid for at least an hour", field="hours")
    token = secrets.token_urlsafe(INVITE_TOKEN_BYTES)
    invite = VendorInvite(
        shop_id=shop.id,
        token_hash=invite_token_hash(token),
        role=role,
        created_by=created_by,
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    session.add(invite)
    await session.flush()
    return invite, token


async def redeem_invite(
    session: AsyncSession,
    token: str,
    *,
    telegram_user_id: int,
    chat_id: int,
    name: str,
    now: datetime,
) -> Vendor:
    """Make the user a vendor of the invite's shop; an invite works once, before it expires.

    The invite is claimed by a compare-and-set UPDATE, so of two people opening the same link
    at once exactly one gets in; whoever got in may open it again. Someone who already runs
    the shop keeps their record; an invite only ever raises their role (an owner opening a
    staff link stays owner).
    """
    if not _TOKEN_RE.match(token):
        raise UnknownInvite()
    invite = await session.scalar(
        select(VendorInvite).where(VendorInvite.token_hash == invite_token_hash(token))
    )
    if invite is None:
        raise UnknownInvite()
    if invite.used_at is not None:
        if invite.used_by_user_id == telegram_user_id:  # the same person, opening it again
            again = await vendor_of(session, telegram_user_id, invite.shop_id)
            if again is not None:
                return again
        raise InviteAlreadyUsed()
    if invite.expires_at <= now:
        raise InviteExpired()
    claimed = await session.execute(
        update(VendorInvite)
        .where(
            VendorInvite.id == invite.id,
            VendorInvite.used_at.is_(None),
            VendorInvite.expires_at > now,
        )
        .values(used_at=now, used_by_user_id=telegram_user_id)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise InviteAlreadyUsed()
    vendor = await vendor_of(session, telegram_user_id, invite.shop_id)
    if vendor is None:
        vendor = Vendor(
            shop_id=invite.shop_id,
            telegram_user_id=telegram_user_id,
            chat_id=chat_id,
            name=name,
            role=invite.role,
            created_at=now,
        )
        session.add(vendor)
    else:
        vendor.chat_id = chat_id
        vendor.name = name or vendor.name
        if invite.role == VendorRole.OWNER:
            vendor.role = VendorRole.OWNER
    await session.flush()
    return vendor


async def remove_vendor(
    session: AsyncSession, shop_id: int, vendor_id: int, *, by: Vendor | None
) -> Vendor:
    """Take someone off the shop: `by` an owner of that shop, or None for the admin API.

    The shop's owner rows are locked first, so two owners removing each other at once can't
    leave the shop with none: the last owner can't be removed.
    """
    if by is not None and (by.shop_id != shop_id or by.role != VendorRole.OWNER):
        raise NotShopOwner(shop_id)
    owners = list(
        await session.scalars(
            select(Vendor)
            .where(Vendor.shop_id == shop_id, Vendor.role == VendorRole.OWNER)
            .order_by(Vendor.id)
            .with_for_update()
        )
    )
    if by is not None and all(owner.id != by.id for owner in owners):
        raise NotShopOwner(shop_id)  # removed or demoted since `by` was read
    target = await session.scalar(
        select(Vendor).where(Vendor.id == vendor_id, Vendor.shop_id == shop_id)
    )
    if target is None:
        raise NotFound("vendor", vendor_id)
    if target.role == VendorRole.OWNER and len(owners) <= 1:
        raise LastOwner(shop_id)
    await session.delete(target)
    await session.flush()
    return target
