"""A show's figures over time, for the campaign console's charts and its CSV export.

Everything is bucketed in the show's own time zone (hours, or days for subscribers). The
show's orders are the paid orders (paid, accepted, ready, shipped or completed) placed at the
show's shops from its start until 24 hours after its end that hold at least one of its
featured products; revenue is the sum of those orders' totals.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.delivery_stats import PAID_STATUSES, failure_reason
from catalog.models import (
    Customer,
    Order,
    OrderLine,
    OutboxMessage,
    OutboxStatus,
    Shop,
    Show,
    ShowProduct,
    StreamLink,
    Subscription,
)
from catalog.reminders import REMINDER_KIND, show_ref
from catalog.shows import show_shop_ids
from catalog.subscriptions import show_targets

ORDER_WINDOW_AFTER_END = timedelta(hours=24)


@dataclass(frozen=True)
class ReminderFigures:
    """One reminder offset of a show: how its messages went."""

    offset_seconds: int
    sent: int = 0
    failed: int = 0  # not delivered for a reason other than a block
    blocked: int = 0
    pending: int = 0


@dataclass(frozen=True)
class ProductFigures:
    """A featured product's sales in the show's orders."""

    shop: str
    sku: str
    name: str
    units: int
    revenue: int


@dataclass(frozen=True)
class ShowOrderLine:
    """One line of one of the show's orders (the CSV export)."""

    code: str
    shop: str
    placed_at: datetime
    status: str
    sku: str
    name: str
    quantity: int
    unit_price: int
    line_total: int
    order_total: int
    currency: str
    product_id: int | None = None


@dataclass
class ShowFigures:
    """Series keyed by the start of their bucket (local time of the show, naive)."""

    timezone: str
    subscribers_by_day: list[tuple[date, int]] = field(default_factory=list)  # cumulative
    reminders: list[ReminderFigures] = field(default_factory=list)
    stream_clickers_by_hour: list[tuple[datetime, int]] = field(default_factory=list)
    orders_by_hour: list[tuple[datetime, int, int]] = field(default_factory=list)  # n, revenue
    top_products: list[ProductFigures] = field(default_factory=list)
    currency: str = ""


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def _hour(moment: datetime, zone: ZoneInfo) -> datetime:
    return _local(moment, zone).replace(minute=0, second=0, microsecond=0)


def _offset_of(dedupe_key: str | None) -> int | None:
    """show:{id}:r{offset}:{start}:{customer} -> offset."""
    parts = (dedupe_key or "").split(":")
    if len(parts) >= 3 and parts[2].startswith("r") and parts[2][1:].isdigit():
        return int(parts[2][1:])
    return None


async def _subscribers_by_day(
    session: AsyncSession, show: Show, zone: ZoneInfo
) -> list[tuple[date, int]]:
    """People with an opt-in covering the show (itself, its shop or its market) at the end of
    each day that changed: counted from their first such opt-in until the last one ended."""
    targets = await show_targets(session, show)
    rows = (
        await session.execute(
            select(Subscription.customer_id, Subscription.subscribed_at, Subscription.revoked_at)
            .join(Customer, Customer.id == Subscription.customer_id)
            .where(targets, Customer.forgotten_at.is_(None))
        )
    ).all()
    spans: dict[int, tuple[datetime, datetime | None]] = {}
    for customer_id, subscribed_at, revoked_at in rows:
        if customer_id not in spans:
            spans[customer_id] = (subscribed_at, revoked_at)
            continue
        first, last = spans[customer_id]
        ended = None if last is None or revoked_at is None else max(last, revoked_at)
        spans[customer_id] = (min(first, subscribed_at), ended)
    change: Counter[date] = Counter()
    for first, ended in spans.values():
        change[_local(first, zone).date()] += 1
        if ended is not None:
            change[_local(ended, zone).date()] -= 1
    series: list[tuple[date, int]] = []
    total = 0
    for day in sorted(change):
        total += change[day]
        series.append((day, total))
    return series


async def _reminders(session: AsyncSession, show: Show) -> list[ReminderFigures]:
    rows = (
        await session.execute(
            select(OutboxMessage.dedupe_key, OutboxMessage.status, OutboxMessage.last_error).where(
                OutboxMessage.ref == show_ref(show.id), OutboxMessage.kind == REMINDER_KIND
            )
        )
    ).all()
    counts: dict[int, Counter[str]] = {}
    for key, status, error in rows:
        offset = _offset_of(key)
        if offset is None:
            continue
        bucket = counts.setdefault(offset, Counter())
        if status is OutboxStatus.SENT:
            bucket["sent"] += 1
        elif status in (OutboxStatus.PENDING, OutboxStatus.SENDING):
            bucket["pending"] += 1
        elif failure_reason(status, error or "") == "blocked":
            bucket["blocked"] += 1
        else:
            bucket["failed"] += 1
    return [
        ReminderFigures(
            offset_seconds=offset,
            sent=c["sent"],
            failed=c["failed"],
            blocked=c["blocked"],
            pending=c["pending"],
        )
        for offset, c in sorted(counts.items(), reverse=True)
    ]


async def _stream_clickers_by_hour(
    session: AsyncSession, show: Show, zone: ZoneInfo
) -> list[tuple[datetime, int]]:
    """Who tapped "watch the stream", by the hour of their first tap."""
    rows = await session.scalars(
        select(StreamLink.first_clicked_at).where(
            StreamLink.show_id == show.id, StreamLink.first_clicked_at.is_not(None)
        )
    )
    per_hour: Counter[datetime] = Counter(_hour(at, zone) for at in rows if at is not None)
    return sorted(per_hour.items())


async def show_order_ids(session: AsyncSession, show: Show) -> list[int]:
    """The show's orders (see the module docstring), oldest first."""
    featured = select(ShowProduct.product_id).where(ShowProduct.show_id == show.id)
    with_featured = select(OrderLine.order_id).where(OrderLine.product_id.in_(featured))
    shop_ids = await show_shop_ids(session, show)
    return list(
        await session.scalars(
            select(Order.id)
            .where(
                Order.shop_id.in_(shop_ids),
                Order.status.in_(PAID_STATUSES),
                Order.confirmed_at >= show.starts_at,
                Order.confirmed_at < show.ends_at + ORDER_WINDOW_AFTER_END,
                Order.id.in_(with_featured),
            )
            .order_by(Order.confirmed_at, Order.id)
        )
    )


async def show_order_lines(session: AsyncSession, show: Show) -> list[ShowOrderLine]:
    """Every line of the show's orders, oldest order first (for the CSV export)."""
    order_ids = await show_order_ids(session, show)
    lines: list[ShowOrderLine] = []
    for start in range(0, len(order_ids), 500):
        rows = (
            await session.execute(
                select(Order, OrderLine, Shop.slug)
                .join(OrderLine, OrderLine.order_id == Order.id)
                .join(Shop, Shop.id == Order.shop_id)
                .where(Order.id.in_(order_ids[start : start + 500]))
                .order_by(Order.confirmed_at, Order.id, OrderLine.id)
            )
        ).all()
        for order, line, shop_slug in rows:
            lines.append(
                ShowOrderLine(
                    code=order.code,
                    shop=shop_slug,
                    placed_at=order.confirmed_at,
                    status=order.status.value,
                    sku=line.sku,
                    name=line.name,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    line_total=line.line_total,
                    order_total=order.total,
                    currency=order.currency,
                    product_id=line.product_id,
                )
            )
    return lines


async def show_figures(session: AsyncSession, show: Show) -> ShowFigures:
    """Subscribers by day, reminders by offset, stream taps and orders by hour, and the
    featured products by units sold in the show's orders."""
    zone = ZoneInfo(show.timezone)
    figures = ShowFigures(timezone=show.timezone)
    figures.subscribers_by_day = await _subscribers_by_day(session, show, zone)
    figures.reminders = await _reminders(session, show)
    figures.stream_clickers_by_hour = await _stream_clickers_by_hour(session, show, zone)
    lines = await show_order_lines(session, show)
    orders: Counter[datetime] = Counter()
    revenue: Counter[datetime] = Counter()
    seen: set[str] = set()
    for line in lines:  # every line of an order carries the order's time and total
        if line.code in seen:
            continue
        seen.add(line.code)
        hour = _hour(line.placed_at, zone)
        orders[hour] += 1
        revenue[hour] += line.order_total
        figures.currency = line.currency
    figures.orders_by_hour = [(hour, orders[hour], revenue[hour]) for hour in sorted(orders)]
    featured = {item.product_id for item in show.featured}
    units: Counter[tuple[str, str]] = Counter()
    revenue_of: Counter[tuple[str, str]] = Counter()
    names: dict[tuple[str, str], str] = {}
    for line in lines:
        if line.product_id not in featured:
            continue
        key = (line.shop, line.sku)
        units[key] += line.quantity
        revenue_of[key] += line.line_total
        names[key] = line.name
    figures.top_products = [
        ProductFigures(shop=k[0], sku=k[1], name=names[k], units=n, revenue=revenue_of[k])
        for k, n in sorted(units.items(), key=lambda kv: (-kv[1], -revenue_of[kv[0]], kv[0]))
    ]
    return figures
