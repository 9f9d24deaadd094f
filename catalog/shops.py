"""Markets and shops: create, update, look up."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.numbers import get_currency_name
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from catalog.errors import InvalidInput, NotFound
from catalog.models import Market, Shop

# deep links are /start payloads: at most 64 of [A-Za-z0-9_-]; `product_<shop>_<sku>` needs room
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")

SHOP_FIELDS = frozenset(
    {
        "name",
        "description",
        "locale",
        "currency",
        "timezone",
        "is_open",
        "pickup_available",
        "delivery_available",
        "delivery_fee",
        "waitlist_hold_minutes",
        "bank_name",
        "bank_account",
        "bank_holder",
        "legal_name",
        "representative",
        "business_number",
        "mail_order_number",
        "address",
        "phone",
        "email",
        "delivery_terms",
        "cancellation_terms",
        "refund_terms",
        "closing_time",
    }
)
CLOSING_TIME_RE = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def check_slug(slug: str) -> str:
    """Slugs are lower-case ASCII letters, digits and '-', so they fit a Telegram deep link."""
    if not SLUG_RE.match(slug):
        raise InvalidInput(
            "slug must be 1-40 characters of a-z, 0-9 and '-', starting with a letter or digit",
            field="slug",
        )
    return slug


async def upsert_market(
    session: AsyncSession, *, slug: str, name: str, now: datetime, description: str = ""
) -> Market:
    """Create the market or update its name; the slug is its stable key."""
    check_slug(slug)
    market = await session.scalar(select(Market).where(Market.slug == slug))
    if market is None:
        market = Market(slug=slug, name=name, description=description, created_at=now)
        session.add(market)
    else:
        market.name = name
        if description:
            market.description = description
    market.updated_at = now
    await session.flush()
    return market


async def get_market(session: AsyncSession, slug: str) -> Market:
    """The market by slug, or NotFound."""
    market = await session.scalar(select(Market).where(Market.slug == slug))
    if market is None:
        raise NotFound("market", slug)
    return market


async def list_markets(session: AsyncSession) -> list[Market]:
    """All markets, by name."""
    return list(await session.scalars(select(Market).order_by(Market.name)))


async def upsert_shop(
    session: AsyncSession,
    *,
    slug: str,
    now: datetime,
    market_slug: str | None = None,
    fields: Mapping[str, Any],
) -> tuple[Shop, bool]:
    """Create or update a shop by slug; returns (shop, created). Unknown fields are refused."""
    check_slug(slug)
    unknown = set(fields) - SHOP_FIELDS
    if unknown:
        raise InvalidInput(f"unknown shop fields: {', '.join(sorted(unknown))}")
    _check_locale_fields(fields)
    shop = await session.scalar(select(Shop).where(Shop.slug == slug))
    created = shop is None
    if shop is None:
        if not fields.get("name"):
            raise InvalidInput("a new shop needs a name", field="name")
        shop = Shop(slug=slug, created_at=now, updated_at=now)
        session.add(shop)
    for key, value in fields.items():
        setattr(shop, key, value)
    if market_slug is not None:
        market = await get_market(session, market_slug)
        shop.market_id = market.id
    shop.updated_at = now
    await session.flush()
    return shop, created


def _check_locale_fields(fields: Mapping[str, Any]) -> None:
    """A shop's locale, time zone and currency must be ones Babel and zoneinfo know: every
    price and time the shop shows is formatted with them."""
    if "locale" in fields:
        try:
            Locale.parse(str(fields["locale"]))
        except (UnknownLocaleError, ValueError) as exc:
            raise InvalidInput(f"unknown locale {fields['locale']!r}", field="locale") from exc
    if "timezone" in fields:
        try:
            ZoneInfo(str(fields["timezone"]))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidInput(f"unknown time zone {fields['timezone']!r}", "timezone") from exc
    if "closing_time" in fields and not CLOSING_TIME_RE.match(str(fields["closing_time"])):
        raise InvalidInput("closing_time must be a local time like 20:00", field="closing_time")
    if "currency" in fields:
        code = str(fields["currency"])
        if len(code) != 3 or get_currency_name(code, locale="en") == code:
            raise InvalidInput(f"unknown currency {code!r}", field="currency")


async def get_shop(session: AsyncSession, slug: str) -> Shop:
    """The shop by slug, or NotFound."""
    shop = await session.scalar(
        select(Shop).where(Shop.slug == slug).options(selectinload(Shop.market))
    )
    if shop is None:
        raise NotFound("shop", slug)
    return shop


async def get_shop_by_id(session: AsyncSession, shop_id: int) -> Shop:
    """The shop by id, or NotFound."""
    shop = await session.get(Shop, shop_id)
    if shop is None:
        raise NotFound("shop", shop_id)
    return shop


async def list_shops(session: AsyncSession, market_slug: str | None = None) -> list[Shop]:
    """Shops, by name, optionally of one market."""
    query = select(Shop).order_by(Shop.name)
    if market_slug is not None:
        query = query.join(Market).where(Market.slug == market_slug)
    return list(await session.scalars(query))


def seller_identity(shop: Shop) -> dict[str, str]:
    """What a remote seller must show under 전자상거래법, as a snapshot for an order record."""
    return {
        "shop": shop.name,
        "legal_name": shop.legal_name,
        "representative": shop.representative,
        "business_number": shop.business_number,
        "mail_order_number": shop.mail_order_number,
        "address": shop.address,
        "phone": shop.phone,
        "email": shop.email,
        "delivery_terms": shop.delivery_terms,
        "cancellation_terms": shop.cancellation_terms,
        "refund_terms": shop.refund_terms,
    }
