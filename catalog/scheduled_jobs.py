"""Periodic jobs shared by several instances: each turn of a job is taken by one of them."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.db import is_postgres
from catalog.models import ScheduledJob


async def claim_turn(
    session: AsyncSession, name: str, *, now: datetime, interval: timedelta, holder: str
) -> bool:
    """Take the current turn of job `name` if it is due, and set the next one `interval` later.

    Compare-and-set on `due_at`: of any number of instances asking at once, exactly one gets
    True per turn (the others see the moved `due_at` once the winner commits). The caller
    commits, then runs the job.
    """
    insert = pg_insert if is_postgres(session) else sqlite_insert
    await session.execute(
        insert(ScheduledJob)
        .values(name=name, due_at=now)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    result = await session.execute(
        update(ScheduledJob)
        .where(ScheduledJob.name == name, ScheduledJob.due_at <= now)
        .values(due_at=now + interval, holder=holder[:200], started_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
