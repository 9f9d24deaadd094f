"""Scheduled nudges for vendors: paid orders left unaccepted, and the day's summary at closing.

Both run from the periodic jobs and only write outbox rows; bot/ renders them. Each is safe to
run again (and on several instances at once): an order is reminded once, a summary goes out
once per shop, local date and vendor.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.db import is_postgres
from catalog.models import Order, OrderLine, OrderStatus, OutboxMessage, Shop, Vendor
from catalog.orders import get_order, notify_vendors
from catalog.outbox import enqueue_notification
from catalog.vendors import shop_vendors

log = logging.getLogger(__name__)

DEFAULT_CLOSING = time(20, 0)
#: orders paid that day but later undone: not counted as revenue
NOT_REVENUE = (OrderStatus.CANCELLED, OrderStatus.REFUSED)
TOP_PRODUCTS = 3


async def remind_unaccepted_orders(
    session: AsyncSession, *, now: datetime, minutes: int, limit: int = 200
) -> int:
    """Remind the vendors of orders paid `minutes` ago or more and still not accepted.

    Each order is reminded at most once: `vendor_reminded_at` is compared-and-set, and on
    PostgreSQL the rows are claimed with SKIP LOCKED so several workers share the work.
    Returns how many orders were reminded.
    """
    query = (
        select(Order.id)
        .where(
            Order.status == OrderStatus.PAID,
            Order.paid_at <= now - timedelta(minutes=minutes),
            Order.vendor_reminded_at.is_(None),
        )
        .order_by(Order.paid_at, Order.id)
        .limit(limit)
    )
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    reminded = 0
    for order_id in list(await session.scalars(query)):
        claimed = await session.execute(
            update(Order)
            .where(
                Order.id == order_id,
                Order.status == OrderStatus.PAID,
                Order.vendor_reminded_at.is_(None),
            )
            .values(vendor_reminded_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue  # accepted or reminded by someone else meanwhile
        order = await get_order(session, order_id)
        await notify_vendors(session, order, kind="vendor_order_waiting", now=now)
        reminded += 1
    return reminded


def closing_time(shop: Shop) -> time:
    """The shop's local closing time ("HH:MM"); a malformed value means 20:00."""
    try:
        hours, minutes = shop.closing_time.split(":")
        return time(int(hours), int(minutes))
    except (ValueError, AttributeError):
        log.warning("shop %s has a malformed closing time %r", shop.id, shop.closing_time)
        return DEFAULT_CLOSING


def summary_key(shop_id: int, day: date, vendor_id: int) -> str:
    return f"daily:{shop_id}:{day.isoformat()}:{vendor_id}"


async def send_daily_summaries(session: AsyncSession, *, now: datetime) -> int:
    """Queue the day's summary for every vendor of each shop whose local day has closed.

    Once per shop, local date and vendor (the outbox's dedupe key), however often it runs.
    Returns how many summaries were queued now.
    """
    shops = list(
        await session.scalars(
            select(Shop).where(Shop.id.in_(select(Vendor.shop_id))).order_by(Shop.id)
        )
    )
    queued = 0
    for shop in shops:
        local = now.astimezone(ZoneInfo(shop.timezone))
        if local.time() < closing_time(shop):
            continue
        day = local.date()
        vendors = await shop_vendors(session, shop.id)
        keys = {vendor.id: summary_key(shop.id, day, vendor.id) for vendor in vendors}
        sent = set(
            await session.scalars(
                select(OutboxMessage.dedupe_key).where(
                    OutboxMessage.dedupe_key.in_(list(keys.values()))
                )
            )
        )
        for vendor in vendors:
            if keys[vendor.id] in sent:
                continue
            try:
                async with session.begin_nested():
                    await enqueue_notification(
                        session,
                        chat_id=vendor.chat_id,
                        kind="vendor_daily_summary",
                        data={"shop_id": shop.id, "date": day.isoformat()},
                        ref=f"shop:{shop.id}",
                        dedupe_key=keys[vendor.id],
                        now=now,
                    )
                    await session.flush()
            except IntegrityError:
                continue  # another instance queued it a moment ago
            queued += 1
    return queued


@dataclass(frozen=True)
class DailySummary:
    """One shop's local day: orders paid, what they brought in, what sold most, what waits."""

    day: date
    orders_paid: int
    revenue: int  # minor units of the shop's currency
    top_products: tuple[tuple[str, int], ...]  # (name, units), most sold first
    waiting: int  # paid orders not yet accepted, now


def local_day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """The UTC instants where the local `day` begins and the next one begins (DST-safe)."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start, end


async def daily_summary(session: AsyncSession, shop: Shop, day: date) -> DailySummary:
    """The figures of `day` (the shop's local date) for the vendors' evening summary.

    Orders count on the day they were paid; revenue leaves out those cancelled or refused
    since; the waiting count is as of now.
    """
    start, end = local_day_bounds(day, shop.timezone)
    paid_that_day = (Order.shop_id == shop.id, Order.paid_at >= start, Order.paid_at < end)
    orders_paid = await session.scalar(
        select(func.count()).select_from(Order).where(*paid_that_day)
    )
    kept = (*paid_that_day, Order.status.not_in(NOT_REVENUE))
    revenue = await session.scalar(select(func.coalesce(func.sum(Order.total), 0)).where(*kept))
    units = func.sum(OrderLine.quantity).label("units")
    top = (
        await session.execute(
            select(OrderLine.name, units)
            .join(Order, Order.id == OrderLine.order_id)
            .where(*kept)
            .group_by(OrderLine.name)
            .order_by(units.desc(), OrderLine.name)
            .limit(TOP_PRODUCTS)
        )
    ).all()
    waiting = await session.scalar(
        select(func.count())
        .select_from(Order)
        .where(Order.shop_id == shop.id, Order.status == OrderStatus.PAID)
    )
    return DailySummary(
        day=day,
        orders_paid=int(orders_paid or 0),
        revenue=int(revenue or 0),
        top_products=tuple((str(name), int(count)) for name, count in top),
        waiting=int(waiting or 0),
    )
