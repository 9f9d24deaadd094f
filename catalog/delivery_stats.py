"""Delivery stats of a show's reminders and of a broadcast: reached, failed, clicked, bought.

Attribution: an order is attributed to a show's reminders (or to a broadcast) when its
customer was sent one of its messages, the order was placed within 24 hours after the first
such message reached them, at a shop of the show (or of the broadcast's scope), and it was
paid (paid, accepted, ready, shipped or completed). Each order counts once per show or
broadcast; revenue is the sum of those orders' totals.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.broadcasts import broadcast_ref, broadcast_scope
from catalog.models import (
    Broadcast,
    Customer,
    Order,
    OutboxMessage,
    OutboxStatus,
    Shop,
    Show,
    StreamLink,
)

ATTRIBUTION_WINDOW = timedelta(hours=24)
PAID_STATUSES = ("paid", "accepted", "ready", "shipped", "completed")
BLOCKED_MARKERS = ("blocked", "deactivated", "chat not found", "PEER_ID_INVALID")
UNSUBSCRIBED = "unsubscribed"


@dataclass
class DeliveryStats:
    """What happened to one show's or broadcast's messages."""

    recipients: int = 0  # messages written (one per recipient and reminder)
    sent: int = 0
    pending: int = 0  # waiting or being sent
    failed: dict[str, int] = field(default_factory=dict)  # reason -> count
    blocked: int = 0  # recipients who blocked the bot (or are gone): now unsubscribed
    review: int = 0  # in flight when a sender died: delivered at most once, unknown which
    stream_clicks: int = 0
    stream_clickers: int = 0
    orders: int = 0
    revenue: int = 0
    currency: str = ""


def failure_reason(status: OutboxStatus, error: str) -> str:
    """A short, stable reason: blocked, unsubscribed, review, rejected or gave_up."""
    if status is OutboxStatus.REVIEW:
        return "review"
    if any(marker in error for marker in BLOCKED_MARKERS):
        return "blocked"
    if error.startswith(UNSUBSCRIBED):
        return UNSUBSCRIBED
    if error.startswith("gave up"):
        return "gave_up"
    return "rejected"


async def _delivery(session: AsyncSession, ref: str, stats: DeliveryStats) -> dict[int, datetime]:
    """Fill the counts from the outbox; return chat id -> first time a message reached it."""
    rows = (
        await session.execute(
            select(
                OutboxMessage.chat_id,
                OutboxMessage.status,
                OutboxMessage.last_error,
                OutboxMessage.sent_at,
            ).where(OutboxMessage.ref == ref)
        )
    ).all()
    failed: Counter[str] = Counter()
    first_sent: dict[int, datetime] = {}
    for chat_id, status, error, sent_at in rows:
        stats.recipients += 1
        if status is OutboxStatus.SENT:
            stats.sent += 1
            if sent_at is not None and (chat_id not in first_sent or sent_at < first_sent[chat_id]):
                first_sent[chat_id] = sent_at
        elif status in (OutboxStatus.PENDING, OutboxStatus.SENDING):
            stats.pending += 1
        else:
            failed[failure_reason(status, error or "")] += 1
    stats.failed = dict(failed)
    stats.blocked = failed.get("blocked", 0)
    stats.review = failed.get("review", 0)
    return first_sent


async def _attribute(
    session: AsyncSession,
    first_sent: dict[int, datetime],
    shop_ids: list[int],
    stats: DeliveryStats,
) -> None:
    if not first_sent or not shop_ids:
        return
    chats = list(first_sent)
    orders: list[Any] = []
    for start in range(0, len(chats), 1000):
        orders.extend(
            (
                await session.execute(
                    select(Customer.chat_id, Order.confirmed_at, Order.total, Order.currency)
                    .join(Customer, Customer.id == Order.customer_id)
                    .where(
                        Customer.chat_id.in_(chats[start : start + 1000]),
                        Order.shop_id.in_(shop_ids),
                        Order.status.in_(PAID_STATUSES),
                    )
                )
            ).all()
        )
    for chat_id, confirmed_at, total, currency in orders:
        sent = first_sent[chat_id]
        if sent <= confirmed_at < sent + ATTRIBUTION_WINDOW:
            stats.orders += 1
            stats.revenue += int(total)
            stats.currency = currency


async def _clicks(session: AsyncSession, stats: DeliveryStats, *conditions: object) -> None:
    row = (
        await session.execute(
            select(
                func.coalesce(func.sum(StreamLink.clicks), 0),
                func.count(StreamLink.id).filter(StreamLink.clicks > 0),
            ).where(*conditions)  # type: ignore[arg-type]
        )
    ).one()
    stats.stream_clicks, stats.stream_clickers = int(row[0]), int(row[1])


async def show_stats(session: AsyncSession, show: Show) -> DeliveryStats:
    """Reminders and sold-out updates of a show; stream taps from any message or screen."""
    stats = DeliveryStats()
    first_sent = await _delivery(session, f"show:{show.id}", stats)
    if show.shop_id is not None:
        shop_ids = [show.shop_id]
    else:
        shop_ids = list(
            await session.scalars(select(Shop.id).where(Shop.market_id == show.market_id))
        )
    await _attribute(session, first_sent, shop_ids, stats)
    await _clicks(session, stats, StreamLink.show_id == show.id)
    return stats


async def broadcast_stats(session: AsyncSession, broadcast: Broadcast) -> DeliveryStats:
    """A broadcast's delivery, stream taps from its message, and orders it brought."""
    stats = DeliveryStats()
    ref = broadcast_ref(broadcast.id)
    first_sent = await _delivery(session, ref, stats)
    _market, shop_ids = await broadcast_scope(session, broadcast)
    await _attribute(session, first_sent, shop_ids, stats)
    await _clicks(session, stats, StreamLink.source == ref)
    return stats
