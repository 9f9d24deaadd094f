"""Live shows: create and update them, list them, their shops and featured products, and
where a moment falls for a viewer ("today", "tomorrow") in the show's time zone."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from catalog.errors import InvalidInput, NotFound
from catalog.models import Market, Product, Shop, Show, ShowProduct, ShowReminder
from catalog.shops import get_market, get_shop

MAX_SHOW_ID = 2**53  # JSON clients (JavaScript) read ids as doubles
MAX_FEATURED = 50
#: a show that ended is listed this long after, when it has a replay to watch
REPLAY_LISTED = timedelta(days=7)


@dataclass(frozen=True)
class FeaturedInput:
    """A product to feature: by SKU in `shop` (the show's own shop when empty)."""

    sku: str
    shop: str = ""
    live_price: int | None = None


#: the years a show or a scheduled send may fall in: anything else is a typo (and year 1 or
#: 9999 would overflow when moved between time zones)
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100


def as_utc(moment: datetime, timezone: str, field: str = "starts_at") -> datetime:
    """An aware time as is; a naive one is read as wall-clock time in `timezone`.

    A year outside EARLIEST_YEAR..LATEST_YEAR is InvalidInput on `field`, never an overflow.
    """
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise InvalidInput(f"choose a date between {EARLIEST_YEAR} and {LATEST_YEAR}", field=field)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.astimezone(ZoneInfo("UTC"))


#: the longest stream, cover or replay link a show stores (the columns' size)
MAX_URL = 500


def _check_url(value: str, field: str) -> str:
    """An http(s) link of at most MAX_URL characters, without spaces or control characters
    (a pasted link with a line break in it would send people nowhere)."""
    if not value:
        return value
    if len(value) > MAX_URL:
        raise InvalidInput(f"{field} is at most {MAX_URL} characters", field=field)
    if any(char.isspace() or not char.isprintable() for char in value):
        raise InvalidInput(f"{field} must not contain spaces or control characters", field=field)
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InvalidInput(f"{field} must be an http(s) URL", field=field)
    return value


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown time zone {value!r}", field="timezone") from exc
    return value


async def get_show(session: AsyncSession, show_id: int) -> Show:
    """The show with its market, shop and featured products, or NotFound."""
    show = await session.scalar(
        select(Show)
        .where(Show.id == show_id)
        .options(
            selectinload(Show.market),
            selectinload(Show.shop),
            selectinload(Show.featured)
            .selectinload(ShowProduct.product)
            .selectinload(Product.shop),
        )
        .execution_options(populate_existing=True)
    )
    if show is None:
        raise NotFound("show", show_id)
    return show


#: how many fresh ids create_show tries before it gives up (each lost race costs one)
CREATE_ATTEMPTS = 10


async def create_show(
    session: AsyncSession,
    *,
    now: datetime,
    fields: Mapping[str, Any],
    featured: Sequence[FeaturedInput] | None = None,
    default_timezone: str = "Asia/Seoul",
) -> Show:
    """A new show under an id no show has (for the console; REST clients choose their own).

    A plain INSERT, never an upsert: when another creation or a REST client took the id
    first, the insert fails in its savepoint and the next free id is tried, so nobody's show
    is ever overwritten. Same rules as upsert_show.
    """
    for attempt in range(CREATE_ATTEMPTS):
        highest = await session.scalar(select(func.max(Show.id)))
        show_id = int(highest or 0) + 1
        try:
            async with session.begin_nested():
                show = _new_show(show_id, fields, now)
                await _write_show(session, show, True, now, fields, featured, default_timezone)
        except IntegrityError:
            if attempt == CREATE_ATTEMPTS - 1:
                raise
            continue
        return await get_show(session, show_id)
    raise AssertionError("unreachable")  # pragma: no cover


def _new_show(show_id: int, fields: Mapping[str, Any], now: datetime) -> Show:
    if not 1 <= show_id <= MAX_SHOW_ID:
        raise InvalidInput("show id must be a positive integer", field="id")
    for required in ("title", "starts_at", "ends_at"):
        if not fields.get(required):
            raise InvalidInput(f"a new show needs {required}", field=required)
    if not fields.get("market") and not fields.get("shop"):
        raise InvalidInput("a show belongs to a market or a shop", field="shop")
    return Show(
        id=show_id,
        created_at=now,
        description="",
        stream_url="",
        cover_url="",
        replay_url="",
        send_replay=False,
    )


async def upsert_show(
    session: AsyncSession,
    show_id: int,
    *,
    now: datetime,
    fields: Mapping[str, Any],
    featured: Sequence[FeaturedInput] | None = None,
    default_timezone: str = "Asia/Seoul",
) -> tuple[Show, bool]:
    """Create the show or update the fields given; returns (show, created).

    A show belongs to exactly one market or one shop; it ends after it starts; naive times
    are wall-clock times in the show's time zone (the shop's unless given). `featured`, when
    given, replaces the featured products (visible products of the show's shop or market).
    """
    if not 1 <= show_id <= MAX_SHOW_ID:
        raise InvalidInput("show id must be a positive integer", field="id")
    existing = await session.get(Show, show_id)
    created = existing is None
    show = _new_show(show_id, fields, now) if existing is None else existing
    await _write_show(session, show, created, now, fields, featured, default_timezone)
    return await get_show(session, show.id), created


async def _write_show(
    session: AsyncSession,
    show: Show,
    created: bool,
    now: datetime,
    fields: Mapping[str, Any],
    featured: Sequence[FeaturedInput] | None,
    default_timezone: str,
) -> None:
    """Check `fields` and write them to `show` (added to the session when `created`)."""
    if fields.get("market") and fields.get("shop"):
        raise InvalidInput("a show belongs to a market or a shop, not both", field="shop")
    # everything is checked before the show changes: a refused update leaves it as it was
    shop = await get_shop(session, str(fields["shop"])) if fields.get("shop") else None
    market = await get_market(session, str(fields["market"])) if fields.get("market") else None
    timezone = show.timezone or default_timezone
    if shop is not None:
        timezone = shop.timezone
    if fields.get("timezone"):
        timezone = _check_timezone(str(fields["timezone"]))
    stream_url = _check_url(str(fields.get("stream_url") or ""), "stream_url")
    cover_url = _check_url(str(fields.get("cover_url") or ""), "cover_url")
    replay_url = _check_url(str(fields.get("replay_url") or ""), "replay_url")
    previous_start = None if created else show.starts_at
    starts_at = (
        as_utc(fields["starts_at"], timezone, "starts_at")
        if fields.get("starts_at")
        else show.starts_at
    )
    ends_at = (
        as_utc(fields["ends_at"], timezone, "ends_at") if fields.get("ends_at") else show.ends_at
    )
    if ends_at <= starts_at:
        raise InvalidInput("a show ends after it starts", field="ends_at")
    if shop is not None:
        show.shop_id, show.market_id = shop.id, None
    elif market is not None:
        show.market_id, show.shop_id = market.id, None
    show.timezone, show.starts_at, show.ends_at = timezone, starts_at, ends_at
    for key in ("title", "description", "sold_out_updates", "send_replay"):
        if key in fields and fields[key] is not None:
            setattr(show, key, fields[key])
    if "stream_url" in fields:
        show.stream_url = stream_url
    if "cover_url" in fields:
        show.cover_url = cover_url
    if "replay_url" in fields:
        show.replay_url = replay_url
    show.updated_at = now
    if created:
        session.add(show)
    await session.flush()
    if previous_start is not None and previous_start != show.starts_at:
        await _reset_future_reminders(session, show, now=now)
    if featured is not None:
        await _replace_featured(session, show, featured)


async def _replace_featured(
    session: AsyncSession, show: Show, featured: Sequence[FeaturedInput]
) -> None:
    if len(featured) > MAX_FEATURED:
        raise InvalidInput(f"at most {MAX_FEATURED} featured products", field="products")
    shop_ids = await show_shop_ids(session, show)
    own_shop = await session.get(Shop, show.shop_id) if show.shop_id else None
    rows: list[ShowProduct] = []
    seen: set[int] = set()
    for position, item in enumerate(featured, start=1):
        shop_slug = item.shop or (own_shop.slug if own_shop else "")
        if not shop_slug:
            raise InvalidInput("a market show names each product's shop", field="products")
        product = await session.scalar(
            select(Product)
            .join(Shop)
            .where(Shop.slug == shop_slug, Product.sku == item.sku, Product.shop_id.in_(shop_ids))
        )
        if product is None:
            raise NotFound("product", f"{shop_slug}/{item.sku}")
        if product.id in seen:
            raise InvalidInput(f"{shop_slug}/{item.sku} is featured twice", field="products")
        if item.live_price is not None and item.live_price < 1:  # 0 is a typo, not a gift
            raise InvalidInput("a live price is at least 1", field="live_price")
        seen.add(product.id)
        rows.append(
            ShowProduct(
                show_id=show.id,
                product_id=product.id,
                position=position,
                live_price=item.live_price,
            )
        )
    await session.execute(delete(ShowProduct).where(ShowProduct.show_id == show.id))
    session.add_all(rows)
    await session.flush()


async def _reset_future_reminders(session: AsyncSession, show: Show, *, now: datetime) -> None:
    """The show moved: offsets whose new time is still ahead remind again (their outbox keys
    carry the start time, so nobody gets the same reminder for the same start twice)."""
    claims = list(
        await session.scalars(select(ShowReminder).where(ShowReminder.show_id == show.id))
    )
    for claim in claims:
        if show.starts_at - timedelta(seconds=claim.offset_seconds) > now:
            await session.delete(claim)
    await session.flush()


async def delete_show(session: AsyncSession, show_id: int) -> None:
    """Delete a show (its reminders stop; sent messages and stats stay in the outbox)."""
    show = await get_show(session, show_id)
    await session.delete(show)
    await session.flush()


async def show_shop_ids(session: AsyncSession, show: Show) -> list[int]:
    """The shops whose products and orders belong to the show: its shop, or its market's."""
    if show.shop_id is not None:
        return [show.shop_id]
    return list(await session.scalars(select(Shop.id).where(Shop.market_id == show.market_id)))


async def show_market_id(session: AsyncSession, show: Show) -> int | None:
    """The market the show belongs to, directly or through its shop."""
    if show.market_id is not None:
        return show.market_id
    return await session.scalar(select(Shop.market_id).where(Shop.id == show.shop_id))


async def list_shows(
    session: AsyncSession,
    *,
    market: str | None = None,
    shop: str | None = None,
    starts_from: datetime | None = None,
    starts_until: datetime | None = None,
    ending_after: datetime | None = None,
    limit: int = 100,
) -> list[Show]:
    """Shows by start time, filtered by market (its own and its shops'), shop and times."""
    query = (
        select(Show)
        .options(
            selectinload(Show.market),
            selectinload(Show.shop),
            selectinload(Show.featured)
            .selectinload(ShowProduct.product)
            .selectinload(Product.shop),
        )
        .order_by(Show.starts_at, Show.id)
        .limit(limit)
    )
    if market is not None:
        m = await get_market(session, market)
        shop_ids = select(Shop.id).where(Shop.market_id == m.id)
        query = query.where((Show.market_id == m.id) | Show.shop_id.in_(shop_ids))
    if shop is not None:
        s = await get_shop(session, shop)
        query = query.where(Show.shop_id == s.id)
    if starts_from is not None:
        query = query.where(Show.starts_at >= starts_from)
    if starts_until is not None:
        query = query.where(Show.starts_at < starts_until)
    if ending_after is not None:
        query = query.where(Show.ends_at > ending_after)
    return list(await session.scalars(query))


async def upcoming_shows(
    session: AsyncSession,
    *,
    now: datetime,
    market_ids: Sequence[int] | None = None,
    limit: int = 8,
    replays: int = 3,
) -> list[Show]:
    """Shows live now or still to come, soonest first (what customers see); then up to
    `replays` shows that ended less than REPLAY_LISTED ago and can be watched again, the
    latest first."""
    upcoming = select(Show).where(Show.ends_at > now).order_by(Show.starts_at, Show.id)
    replayable = (
        select(Show)
        .where(Show.replay_url != "", Show.ends_at <= now, Show.ends_at > now - REPLAY_LISTED)
        .order_by(Show.ends_at.desc(), Show.id)
    )
    found: list[Show] = []
    for query, most in ((upcoming, limit), (replayable, min(replays, limit))):
        query = query.options(selectinload(Show.shop), selectinload(Show.market)).limit(most)
        if market_ids is not None:
            shop_ids = select(Shop.id).where(Shop.market_id.in_(market_ids))
            query = query.where(Show.market_id.in_(market_ids) | Show.shop_id.in_(shop_ids))
        found.extend(await session.scalars(query))
    return found[: limit + replays]


def has_replay(show: Show, now: datetime) -> bool:
    """The show ended less than REPLAY_LISTED ago and can be watched again."""
    return bool(show.replay_url) and show.ends_at <= now < show.ends_at + REPLAY_LISTED


def is_live(show: Show, now: datetime) -> bool:
    """The show is on air: started and not yet ended."""
    return show.starts_at <= now < show.ends_at


def featured_for_sale(show: Show) -> list[ShowProduct]:
    """The featured products a customer can see, in the show's order (numbers 1, 2, 3...)."""
    return [item for item in show.featured if not item.product.is_hidden]


async def market_of_show_name(session: AsyncSession, show: Show) -> str:
    """The name a customer knows the show's organiser by: the shop's, or the market's."""
    if show.shop_id is not None:
        shop = await session.get(Shop, show.shop_id)
        return shop.name if shop else ""
    market = await session.get(Market, show.market_id)
    return market.name if market else ""


class Day(enum.StrEnum):
    """Where a moment falls for someone reading now, in the show's time zone."""

    LIVE = "live"  # on air now
    PAST = "past"
    TODAY = "today"
    TOMORROW = "tomorrow"
    THIS_WEEK = "this_week"  # within six days: say the weekday
    LATER = "later"  # say the date


@dataclass(frozen=True)
class PlainWhen:
    day: Day
    local: datetime  # the start in the show's time zone


def plain_when(
    starts_at: datetime, now: datetime, timezone: str, ends_at: datetime | None = None
) -> PlainWhen:
    """Today, tomorrow, a weekday or a date, by calendar days in `timezone` (not 24 h spans):
    23:50 on Monday in Seoul makes a 00:30 start "tomorrow", though it is 40 minutes away."""
    zone = ZoneInfo(timezone)
    local = starts_at.astimezone(zone)
    if ends_at is not None and starts_at <= now < ends_at:
        return PlainWhen(Day.LIVE, local)
    if starts_at <= now and ends_at is None:
        return PlainWhen(Day.LIVE if now - starts_at < timedelta(hours=1) else Day.PAST, local)
    if ends_at is not None and now >= ends_at:
        return PlainWhen(Day.PAST, local)
    days = (local.date() - now.astimezone(zone).date()).days
    if days <= 0:
        return PlainWhen(Day.TODAY, local)
    if days == 1:
        return PlainWhen(Day.TOMORROW, local)
    if days < 7:
        return PlainWhen(Day.THIS_WEEK, local)
    return PlainWhen(Day.LATER, local)
