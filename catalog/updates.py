"""Telegram update ids already handled (webhook delivery and polling are at-least-once)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.db import is_postgres
from catalog.models import ProcessedUpdate


async def record_update(session: AsyncSession, update_id: int, *, now: datetime) -> bool:
    """Record the update id in the session's transaction; False if it was recorded before.

    One statement (INSERT ... ON CONFLICT DO NOTHING) instead of a savepoint, an insert and
    its release: the bot's every update pays for it. A concurrent transaction holding the same
    id makes PostgreSQL wait for it, as the unique key did: a repeat is seen once it commits.
    """
    insert = postgresql.insert if is_postgres(session) else sqlite.insert
    result = await session.execute(
        insert(ProcessedUpdate)
        .values(update_id=update_id, processed_at=now)
        .on_conflict_do_nothing(index_elements=[ProcessedUpdate.update_id])
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
