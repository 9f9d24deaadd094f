"""Writing notifications to the outbox, in the caller's transaction.

A row says what happened (`kind` and `data`) and to whom; bot/ renders it into a Telegram
message when it sends, in the recipient's language. Nothing is sent for a rolled-back change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

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
    return message
