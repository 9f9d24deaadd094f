"""A sender process killed with SIGKILL mid-broadcast, then restarted.

The guarantee: every row is sent at most once. Rows not claimed at the kill are sent exactly
once by the restarted worker. Rows the dead sender had claimed (marked SENDING with a lease,
before sending) may or may not have reached Telegram: once their lease lapses they are set
aside as REVIEW and never resent; each of those recipients got the message once or not at
all, never twice.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select

from catalog.broadcasts import BroadcastDraft, confirm_broadcast, create_broadcast
from catalog.db import create_engine, create_sessionmaker
from catalog.models import (
    BroadcastSegment,
    Customer,
    Market,
    OutboxMessage,
    OutboxStatus,
    Subscription,
    SubscriptionTarget,
)
from livecart.demo import seed_demo_market
from livecart.simulator import run_simulator

TOKEN = "4242424242:livecart-crash-token"
SUBSCRIBERS = 600
LIVECART = Path(sys.executable).with_name("livecart")


async def _seed(url: str, users: list[int]) -> None:
    engine = create_engine(url)
    now = datetime.now(UTC)
    try:
        async with create_sessionmaker(engine)() as session:
            await seed_demo_market(session, now=now)
            market_id = await session.scalar(select(Market.id).where(Market.slug == "gwangjang"))
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
                    for u in users
                ],
            )
            ids = list(await session.scalars(select(Customer.id)))
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
            broadcast = await create_broadcast(
                session,
                BroadcastDraft(
                    segment=BroadcastSegment.SUBSCRIBERS,
                    text="오늘 7시 라이브!",
                    market_id=market_id,
                ),
                created_by="test",
                now=now,
            )
            await confirm_broadcast(session, broadcast, now=now)
            await session.commit()
    finally:
        await engine.dispose()


async def _rows(url: str) -> list[OutboxMessage]:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            return list(await session.scalars(select(OutboxMessage)))
    finally:
        await engine.dispose()


async def _worker(url: str, api_url: str) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "LIVECART_BOT_TOKEN": TOKEN,
        "LIVECART_TELEGRAM_API_URL": api_url,
        "LIVECART_DATABASE_URL": url,
        "LIVECART_SEND_RATE_PER_SECOND": "300",
        "LIVECART_SEND_LEASE_SECONDS": "2",
        "LIVECART_CAMPAIGN_INTERVAL_SECONDS": "1",
    }
    return await asyncio.create_subprocess_exec(
        str(LIVECART),
        "worker",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        cwd="/",
    )


async def test_a_sender_killed_mid_broadcast_never_sends_twice_and_sets_in_flight_rows_aside(
    postgres_url: str,
) -> None:
    # `livecart worker` is how several senders share PostgreSQL: the crash is tested there
    database_url = postgres_url
    async with run_simulator() as sim, sim.client() as client:
        sim.simulator.register_bot(TOKEN, "livecart_crash_bot", "livecart")
        await client.set_limits(enforce=True, per_bot_per_second=400, per_chat_burst=3)
        users = [sim.simulator.create_user(f"손님{n}").id for n in range(SUBSCRIBERS)]
        await _seed(database_url, users)

        first = await _worker(database_url, sim.base_url)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while (await client.stats())["sent_total"] < SUBSCRIBERS // 3:
            assert loop.time() < deadline, "the worker never got going"
            await asyncio.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        sent_before_restart = (await client.stats())["sent_total"]
        in_flight = {r.id for r in await _rows(database_url) if r.status is OutboxStatus.SENDING}
        assert 0 < sent_before_restart < SUBSCRIBERS

        await asyncio.sleep(2.5)  # the dead sender's leases lapse
        second = await _worker(database_url, sim.base_url)
        try:
            deadline = loop.time() + 90
            while True:
                rows = await _rows(database_url)
                if all(r.status in (OutboxStatus.SENT, OutboxStatus.REVIEW) for r in rows):
                    break
                assert loop.time() < deadline, "the restarted worker did not finish"
                await asyncio.sleep(0.2)
        finally:
            second.send_signal(signal.SIGTERM)
            await second.wait()

    stats = await client_stats_after(rows, sim_stats=sim.simulator.stats())
    review = {r.id for r in rows if r.status is OutboxStatus.REVIEW}
    assert review == in_flight  # exactly the rows the dead sender held, and nothing else
    for row in rows:
        count = stats.get(str(row.chat_id), 0)
        if row.status is OutboxStatus.SENT:
            assert count == 1, f"chat {row.chat_id} got {count} copies"
        else:
            assert count in (0, 1), f"chat {row.chat_id} got {count} copies"  # at most once
    assert len(rows) == SUBSCRIBERS


async def client_stats_after(
    rows: list[OutboxMessage], sim_stats: dict[str, object]
) -> dict[str, int]:
    sent = sim_stats["sent_by_chat"]
    assert isinstance(sent, dict)
    return {str(k): int(v) for k, v in sent.items()}
