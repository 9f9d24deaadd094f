"""Periodic jobs with several instances on one database: each turn runs on one of them."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from catalog.clock import FrozenClock
from catalog.scheduled_jobs import claim_turn
from livecart.runtime import Runtime, build_runtime, run_scheduled_once
from livecart.settings import load_settings


async def test_two_runtimes_run_a_scheduled_job_once_per_turn(postgres_url: str) -> None:
    runtimes: list[Runtime] = [
        await build_runtime(load_settings(database_url=postgres_url, http_port=0)) for _ in range(2)
    ]
    runs: list[int] = []

    def job(index: int):  # type: ignore[no-untyped-def]
        async def run() -> None:
            runs.append(index)
            await asyncio.sleep(0.05)  # still running while the other instance asks

        return run

    try:
        ran = await asyncio.gather(
            *(
                run_scheduled_once(runtime, "campaigns", 60.0, job(i))
                for i, runtime in enumerate(runtimes)
                for _ in range(3)  # each instance asks several times at once, too
            )
        )
        assert sum(ran) == 1 and len(runs) == 1
        # asked again within the interval: not its turn, on either instance
        again = [await run_scheduled_once(r, "campaigns", 60.0, job(9)) for r in runtimes]
        assert again == [False, False] and len(runs) == 1
        # another job has turns of its own
        assert await run_scheduled_once(runtimes[1], "expiry", 60.0, job(1))
    finally:
        for runtime in runtimes:
            await runtime.services.close()


async def test_the_next_turn_comes_one_interval_later(session: AsyncSession) -> None:
    clock = FrozenClock()
    interval = timedelta(seconds=15)

    async def claim(holder: str) -> bool:
        taken = await claim_turn(
            session, "expiry", now=clock.now(), interval=interval, holder=holder
        )
        await session.commit()
        return taken

    assert await claim("a") is True
    assert await claim("b") is False
    clock.advance(timedelta(seconds=14))
    assert await claim("b") is False
    clock.advance(timedelta(seconds=1))
    assert await claim("b") is True
    assert await claim("a") is False
