"""Shows made in the console get a fresh id each, however many are made at once, and never
take over a show someone else (a REST client choosing its own ids) made."""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.clock import FrozenClock
from catalog.db import is_postgres
from catalog.models import Show
from catalog.shows import create_show, upsert_show
from tests.factories import make_shop

FIELDS = {
    "shop": "ganada",
    "starts_at": datetime(2026, 11, 26, 19, 0),
    "ends_at": datetime(2026, 11, 26, 20, 0),
}


async def test_two_staff_creating_a_show_at_once_get_two_shows_and_nothing_is_overwritten(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with sessionmaker() as session:
        await make_shop(session, clock)
        await upsert_show(session, 1, now=clock.now(), fields={**FIELDS, "title": "REST"})
        await session.commit()

    async def create(session: AsyncSession, title: str) -> int:
        show = await create_show(session, now=clock.now(), fields={**FIELDS, "title": title})
        await session.commit()
        return show.id

    async with sessionmaker() as first, sessionmaker() as second:
        first_show = await create_show(first, now=clock.now(), fields={**FIELDS, "title": "김장"})
        # the second picks the same next id (the first's row is not committed) and waits on it
        racing = asyncio.create_task(create(second, "사과"))
        if is_postgres(first):
            await _until_someone_waits_for_a_lock(sessionmaker)
        await first.commit()
        ids = [first_show.id, await racing]
    async with sessionmaker() as session:
        titles = {s.id: s.title for s in await session.scalars(select(Show))}
    assert sorted(ids) == [2, 3]
    assert titles == {1: "REST", ids[0]: "김장", ids[1]: "사과"}


async def _until_someone_waits_for_a_lock(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    for _poll in range(500):
        async with sessionmaker() as watcher:
            if await watcher.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted")):
                return
        await asyncio.sleep(0.01)
    raise AssertionError("the second creation never waited for the first")
