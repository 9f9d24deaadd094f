"""Fan-out benchmark: a show reminder to N subscribers through the real outbox sender and the
Telegram simulator (in this process), first with the simulator enforcing a per-bot limit
(livecart configured a little under it), then with no limit at all (the sender's ceiling).

    .venv/bin/python bench/fanout.py [--subscribers 10000] [--limit 1000] [--backend sqlite]

Reports the achieved rate as a ratio of the limit, duplicates (a chat that got it twice),
lost (a subscriber who got nothing and whose row was not dropped for a reason), 429s the
simulator had to give, and the unlimited rate. PostgreSQL: LIVECART_TEST_DATABASE_URL (a
throw-away database is created and dropped).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import logging
import pstats
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select
from throwaway_postgres import run_on_throwaway_postgres

from catalog.clock import FrozenClock
from catalog.models import (
    Customer,
    Market,
    OutboxMessage,
    OutboxStatus,
    Subscription,
    SubscriptionTarget,
)
from catalog.shows import FeaturedInput, upsert_show
from livecart.demo import seed_demo_market
from livecart.runtime import build_runtime, prepare_database, run_campaign_jobs, serve
from livecart.settings import load_settings
from livecart.simulator import run_simulator

TOKEN = "4242424242:livecart-bench-token"


async def _subscribe(runtime, users: list[int], now) -> None:  # type: ignore[no-untyped-def]
    async with runtime.services.sessionmaker() as session:
        market_id = await session.scalar(select(Market.id).where(Market.slug == "gwangjang"))
        for start in range(0, len(users), 2000):
            chunk = users[start : start + 2000]
            await session.execute(
                insert(Customer),
                [
                    {
                        "telegram_user_id": u,
                        "chat_id": u,
                        "name": "손님",
                        "language": "ko",
                        "marketing_consent_at": now,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for u in chunk
                ],
            )
            ids = list(
                await session.scalars(select(Customer.id).where(Customer.chat_id.in_(chunk)))
            )
            await session.execute(
                insert(Subscription),
                [
                    {
                        "customer_id": cid,
                        "target": SubscriptionTarget.MARKET,
                        "target_id": market_id,
                        "subscribed_at": now,
                        "revoked_reason": "",
                    }
                    for cid in ids
                ],
            )
        await upsert_show(
            session,
            1,
            now=now,
            fields={
                "shop": "ganada-fruit",
                "title": "벤치 라이브",
                "starts_at": now + timedelta(days=1),
                "ends_at": now + timedelta(days=1, hours=1),
                "stream_url": "https://www.youtube.com/live/bench",
            },
            featured=[FeaturedInput("apple-5kg", live_price=29000), FeaturedInput("pear-7-5kg")],
        )
        await session.commit()


async def run_once(database_url: str, subscribers: int, limit: float | None) -> dict[str, float]:
    """One fan-out; `limit` None means the simulator enforces nothing and livecart is told
    it may send as fast as it can."""
    clock = FrozenClock()
    async with run_simulator() as sim:
        sim.simulator.register_bot(TOKEN, "livecart_bench_bot", "livecart")
        settings = load_settings(
            bot_token=TOKEN,
            telegram_api_url=sim.base_url,
            database_url=database_url,
            http_port=0,
            public_base_url="http://livecart.bench",
            campaign_interval_seconds=600,
            send_rate_per_second=limit * 0.9 if limit else 1_000_000,
        )
        runtime = await build_runtime(settings, clock=clock)
        await prepare_database(runtime.services)
        async with runtime.services.sessionmaker() as session:
            await seed_demo_market(session, now=clock.now())
            await session.commit()
        users = [sim.simulator.create_user(f"손님{n}").id for n in range(subscribers)]
        await _subscribe(runtime, users, clock.now())
        async with sim.client() as client:
            if limit:
                await client.set_limits(
                    enforce=True, per_bot_per_second=limit, per_chat_per_second=1, per_chat_burst=3
                )
            started = asyncio.Event()
            task = asyncio.create_task(serve(runtime, started=started, handle_signals=False))
            await started.wait()
            t0 = time.perf_counter()
            written = await run_campaign_jobs(runtime)
            while True:
                async with runtime.services.sessionmaker() as session:
                    waiting = await session.scalar(
                        select(func.count())
                        .select_from(OutboxMessage)
                        .where(
                            OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING])
                        )
                    )
                if not waiting:
                    break
                await asyncio.sleep(0.05)
            seconds = time.perf_counter() - t0
            stats = await client.stats()
            async with runtime.services.sessionmaker() as session:
                dropped = await session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status != OutboxStatus.SENT)
                )
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    sent = stats["sent_by_chat"]
    return {
        "written": written,
        "seconds": seconds,
        "rate": subscribers / seconds,
        "duplicates": sum(1 for u in users if sent.get(str(u), 0) > 1),
        "lost": sum(1 for u in users if sent.get(str(u), 0) == 0) - int(dropped or 0),
        "rate_limited": stats["rate_limited_total"],
        "retry_after_ignored": stats["retry_after_ignored"],
    }


async def bench(database_url: str, subscribers: int, limit: float) -> list[str]:
    limited = await run_once(database_url, subscribers, limit)
    return [
        f"limited to {limit:.0f}/s: {limited['rate']:.0f} msg/s = {limited['rate'] / limit:.2f} "
        f"of the limit; {limited['seconds']:.1f} s for {subscribers}; duplicates "
        f"{limited['duplicates']}, lost {limited['lost']}, 429s {limited['rate_limited']}, "
        f"retry_after ignored {limited['retry_after_ignored']}",
    ]


async def ceiling(database_url: str, subscribers: int) -> list[str]:
    free = await run_once(database_url, subscribers, None)
    return [
        f"no limit: {free['rate']:.0f} msg/s (the sender's ceiling here); duplicates "
        f"{free['duplicates']}, lost {free['lost']}"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--limit", type=float, default=1000.0)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--profile", action="store_true", help="cProfile the limited run")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    for backend in backends:
        print(f"== fan-out, {args.subscribers} subscribers, {backend}")

        async def job(url: str) -> list[str]:
            lines = await bench(url, args.subscribers, args.limit)
            # a fresh database for the ceiling run: the first one holds the sent rows
            return lines

        async def free_job(url: str) -> list[str]:
            return await ceiling(url, args.subscribers)

        for work in (job, free_job):
            if backend == "sqlite":
                with tempfile.TemporaryDirectory() as tmp:
                    url = f"sqlite+aiosqlite:///{tmp}/fanout.db"
                    if args.profile and work is job:
                        profiler = cProfile.Profile()
                        profiler.enable()
                    lines = asyncio.run(work(url))
                    if args.profile and work is job:
                        profiler.disable()
                        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
            else:
                lines = asyncio.run(run_on_throwaway_postgres(work))
            for line in lines:
                print("  " + line)


if __name__ == "__main__":
    main()
