"""Figures read from the database for monitoring: orders by status, queues waiting to go out.

Read at scrape time, so every instance reports the same truth (the database's), not what one
process happened to see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import (
    Order,
    OrderStatus,
    OutboxLane,
    OutboxMessage,
    OutboxStatus,
    WebhookDelivery,
    WebhookDeliveryStatus,
)

UNSENT = (OutboxStatus.PENDING, OutboxStatus.SENDING)


@dataclass(frozen=True)
class OutboxBacklog:
    """One lane of the outbox: rows not yet sent, how long the oldest due one has waited."""

    lane: str
    unsent: int
    review: int
    oldest_due_age_seconds: float


@dataclass(frozen=True)
class DeliveryBacklog:
    """Merchant webhook deliveries still to be made, and the oldest one's wait."""

    unsent: int
    failed: int
    oldest_due_age_seconds: float


async def order_counts(session: AsyncSession) -> dict[str, int]:
    """How many orders are in each status (every status present, zero when none)."""
    counts = {status.value: 0 for status in OrderStatus}
    rows = await session.execute(select(Order.status, func.count()).group_by(Order.status))
    for status, count in rows.all():
        counts[OrderStatus(status).value] = int(count)
    return counts


async def outbox_backlog(session: AsyncSession, *, now: datetime) -> list[OutboxBacklog]:
    """Per lane: unsent rows (pending or in flight), rows set aside for review, and the age of
    the oldest row that is due and not sent (0 when none): a growing age means nobody sends."""
    backlog = []
    for lane in OutboxLane:
        unsent = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.lane == lane, OutboxMessage.status.in_(UNSENT))
        )
        review = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.lane == lane, OutboxMessage.status == OutboxStatus.REVIEW)
        )
        oldest = await session.scalar(
            select(func.min(OutboxMessage.available_at)).where(
                OutboxMessage.lane == lane,
                OutboxMessage.status.in_(UNSENT),
                OutboxMessage.available_at <= now,
            )
        )
        backlog.append(
            OutboxBacklog(
                lane=lane.value,
                unsent=int(unsent or 0),
                review=int(review or 0),
                oldest_due_age_seconds=_age(oldest, now),
            )
        )
    return backlog


async def delivery_backlog(session: AsyncSession, *, now: datetime) -> DeliveryBacklog:
    """Merchant webhook deliveries pending or in flight, given up, and the oldest due one's age."""
    waiting = (WebhookDeliveryStatus.PENDING, WebhookDeliveryStatus.SENDING)
    unsent = await session.scalar(
        select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.status.in_(waiting))
    )
    failed = await session.scalar(
        select(func.count())
        .select_from(WebhookDelivery)
        .where(WebhookDelivery.status == WebhookDeliveryStatus.FAILED)
    )
    oldest = await session.scalar(
        select(func.min(WebhookDelivery.next_attempt_at)).where(
            WebhookDelivery.status.in_(waiting), WebhookDelivery.next_attempt_at <= now
        )
    )
    return DeliveryBacklog(int(unsent or 0), int(failed or 0), _age(oldest, now))


def _age(oldest: datetime | None, now: datetime) -> float:
    if oldest is None:
        return 0.0
    return max(0.0, (now - oldest).total_seconds())
