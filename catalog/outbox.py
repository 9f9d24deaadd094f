"""Writing notifications to the outbox, in the caller's transaction.

A row says what happened (`kind` and `data`) and to whom; bot/ renders it into a Telegram
message when it sends, in the recipient's language. Nothing is sent for a rolled-back change.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.db import is_postgres
from catalog.models import OutboxLane, OutboxMessage, OutboxStatus


async def enqueue_notification(
    session: AsyncSession,
    *,
    chat_id: int,
    kind: str,
    data: dict[str, Any],
    now: datetime,
    lane: OutboxLane = OutboxLane.INTERACTIVE,
    ref: str = "",
    dedupe_key: str | None = None,
    method: str = "notification",
) -> OutboxMessage:
    """Add one outbox row to the session; it is sent only if the transaction commits.

    `dedupe_key` makes the row unique: the same event enqueued twice sends once.
    """
    message = OutboxMessage(
        lane=lane,
        status=OutboxStatus.PENDING,
        chat_id=chat_id,
        method=method,
        payload=data,
        kind=kind,
        ref=ref,
        dedupe_key=dedupe_key,
        attempts=0,
        available_at=now,
        created_at=now,
    )
    session.add(message)
    session.info["outbox_written"] = True  # the edge wakes the sender after commit
    return message


async def enqueue_once(
    session: AsyncSession,
    *,
    chat_id: int,
    kind: str,
    data: dict[str, Any],
    now: datetime,
    dedupe_key: str,
    lane: OutboxLane = OutboxLane.INTERACTIVE,
    ref: str = "",
) -> bool:
    """Like enqueue_notification, but a key already in the outbox (a double tap, even one
    served by another instance at the same moment) writes nothing. True when written."""
    taken = await session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
    )
    if taken is not None:
        return False
    try:
        async with session.begin_nested():
            await enqueue_notification(
                session,
                chat_id=chat_id,
                kind=kind,
                data=data,
                now=now,
                lane=lane,
                ref=ref,
                dedupe_key=dedupe_key,
            )
            await session.flush()
    except IntegrityError:  # the other tap's row committed between the look and the insert
        return False
    return True


async def enqueue_many(
    session: AsyncSession,
    *,
    recipients: Sequence[tuple[int, str]],
    kind: str,
    data: dict[str, Any],
    now: datetime,
    ref: str,
    lane: OutboxLane = OutboxLane.BULK,
) -> int:
    """One row per (chat id, dedupe key), written in the caller's transaction in batches; a
    key already in the outbox is left out, so the same fan-out twice sends once. Returns how
    many rows were written."""
    keys = [key for _chat, key in recipients]
    existing: set[str] = set()
    for start in range(0, len(keys), 1000):
        existing.update(
            key
            for key in await session.scalars(
                select(OutboxMessage.dedupe_key).where(
                    OutboxMessage.dedupe_key.in_(keys[start : start + 1000])
                )
            )
            if key is not None
        )
    rows = [
        {
            "lane": lane,
            "status": OutboxStatus.PENDING,
            "chat_id": chat_id,
            "method": "notification",
            "payload": data,
            "kind": kind,
            "ref": ref,
            "dedupe_key": key,
            "attempts": 0,
            "available_at": now,
            "created_at": now,
            "last_error": "",
        }
        for chat_id, key in recipients
        if key not in existing
    ]
    for start in range(0, len(rows), 1000):
        await session.execute(insert(OutboxMessage), rows[start : start + 1000])
    if rows:
        session.info["outbox_written"] = True
    return len(rows)


async def claim_batch(
    session: AsyncSession,
    *,
    lane: OutboxLane,
    now: datetime,
    limit: int,
    lease_seconds: float,
) -> list[OutboxMessage]:
    """Claim due rows of one lane for this sender: marked SENDING with a lease, before sending.

    On PostgreSQL, FOR UPDATE SKIP LOCKED lets several senders claim disjoint rows. A row is
    marked before it is sent, so a crash mid-send can never send it twice (see reconcile).
    """
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.lane == lane,
            OutboxMessage.available_at <= now,
        )
        .order_by(OutboxMessage.available_at, OutboxMessage.id)
        .limit(limit)
    )
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    rows = list(await session.scalars(query))
    lease = now + timedelta(seconds=lease_seconds)
    for row in rows:
        row.status = OutboxStatus.SENDING
        row.lease_until = lease
        row.attempts += 1
    await session.flush()
    return rows


async def mark_sent(
    session: AsyncSession, message_id: int, *, now: datetime, telegram_message_id: int | None
) -> None:
    """The message reached Telegram."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(
            status=OutboxStatus.SENT,
            sent_at=now,
            telegram_message_id=telegram_message_id,
            lease_until=None,
        )
    )


async def mark_many_sent(
    session: AsyncSession, sent: Sequence[tuple[int, int | None]], *, now: datetime
) -> None:
    """Many messages reached Telegram: (row id, Telegram message id) each, in one statement."""
    if not sent:
        return
    await session.execute(
        update(OutboxMessage),
        [
            {
                "id": row_id,
                "status": OutboxStatus.SENT,
                "sent_at": now,
                "telegram_message_id": message_id,
                "lease_until": None,
            }
            for row_id, message_id in sent
        ],
    )


async def reschedule(session: AsyncSession, message_id: int, *, at: datetime, error: str) -> None:
    """Send again later (Telegram asked us to wait, or the network failed)."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(
            status=OutboxStatus.PENDING, available_at=at, lease_until=None, last_error=error[:300]
        )
    )


async def release_claim(
    session: AsyncSession, message_ids: list[int], *, lease_until: datetime
) -> None:
    """Hand back rows a sender claimed but never sent (its claim's commit may have failed).

    Only rows still held by that claim (SENDING with its lease) go back to PENDING: if the
    claim never committed, another sender may hold them now, and they stay its own.
    """
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(message_ids),
            OutboxMessage.status == OutboxStatus.SENDING,
            OutboxMessage.lease_until == lease_until,
        )
        .values(status=OutboxStatus.PENDING, lease_until=None)
    )


async def mark_dropped(session: AsyncSession, message_id: int, *, error: str) -> None:
    """Never send: the user blocked the bot, the chat is gone, or Telegram refused the message."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(status=OutboxStatus.DROPPED, lease_until=None, last_error=error[:300])
    )


async def mark_review(session: AsyncSession, message_id: int, *, error: str) -> None:
    """Never resend on our own: Telegram may have delivered it (a timed-out bulk send)."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(status=OutboxStatus.REVIEW, lease_until=None, last_error=error[:300])
    )


async def reconcile_expired_leases(session: AsyncSession, *, now: datetime) -> int:
    """Rows left SENDING by a sender that died: set aside for review, never resent.

    A sender that died between marking and Telegram's answer can't know whether the message
    went out; resending could send it twice, so livecart keeps the at-most-once promise.
    """
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.lease_until < now)
        .values(status=OutboxStatus.REVIEW, last_error="sender lease expired: delivery unknown")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def pending_count(session: AsyncSession) -> int:
    """How many messages wait to be sent."""
    count = await session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.PENDING)
    )
    return int(count or 0)
