"""The outbox sender among several instances and against a failing Telegram.

Two senders sharing Redis stay together under the bot's send rate (counted by the simulator,
which answers 429 to every send over it); a sender facing 5xx answers and network errors backs
off and sends later, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

from sqlalchemy import select

from bot.factory import build_bot, build_i18n
from bot.rate_limits import SharedRateLimits
from bot.sender import OutboxSender
from catalog.clock import FrozenClock
from catalog.db import create_engine, create_sessionmaker
from catalog.models import OutboxLane, OutboxMessage, OutboxStatus
from catalog.outbox import enqueue_notification
from livecart.simulator import SimulatorClient, run_simulator
from livecart.simulator.client import JSON

TOKEN = "4242424242:livecart-limits-token"


@contextlib.asynccontextmanager
async def _running(*senders: OutboxSender) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(sender.run()) for sender in senders]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for sender in senders:
            await sender.limits.aclose()
            await sender.bot.session.close()


async def _wait_for(predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.05)


async def test_two_senders_sharing_redis_stay_together_under_the_bot_rate(
    postgres_url: str, redis_url: str
) -> None:
    clock = FrozenClock()
    engine = create_engine(postgres_url)
    sessionmaker = create_sessionmaker(engine)
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    async with run_simulator() as sim:
        sim.simulator.register_bot(TOKEN, "limits_bot", "livecart")
        async with sim.client() as client:
            # Telegram allows 10/s for this bot; livecart is told 8/s. Each sender alone keeps
            # 8/s, so only if they count together do they stay under 10/s between them.
            await client.set_limits(enforce=True, per_bot_per_second=10, per_chat_burst=3)
            users = [int((await client.create_user(f"손님{i}"))["id"]) for i in range(40)]
            async with sessionmaker() as session:
                for user in users:
                    await enqueue_notification(
                        session,
                        chat_id=user,
                        kind="text",
                        data={"text": "오늘 저녁 7시 라이브 방송이 있어요"},
                        now=clock.now(),
                        lane=OutboxLane.BULK,
                    )
                await session.commit()
            senders = [
                OutboxSender(
                    build_bot(TOKEN, sim.base_url),
                    sessionmaker,
                    clock,
                    build_i18n(),
                    batch_size=10,  # both senders get a share of the rows
                    limits=SharedRateLimits(redis_url, 8, 1, key_prefix=prefix),
                )
                for _ in range(2)
            ]

            async def all_sent() -> bool:
                async with sessionmaker() as session:
                    statuses = list(await session.scalars(select(OutboxMessage.status)))
                return all(status is OutboxStatus.SENT for status in statuses)

            async with _running(*senders):
                await _wait_for(all_sent)
            stats: JSON = await client.stats()
    await engine.dispose()
    assert senders[0].sent > 0 and senders[1].sent > 0  # both took part
    assert senders[0].sent + senders[1].sent == 40
    assert stats["sent_total"] == 40
    assert stats["rate_limited_total"] == 0
    assert all(stats["sent_by_chat"][str(user)] == 1 for user in users)


async def _one_message(client: SimulatorClient, user: int) -> list[JSON]:
    return [m for m in await client.messages(user) if m["from_bot"]]


async def test_the_sender_backs_off_on_telegram_errors_and_sends_once_later(
    postgres_url: str,
) -> None:
    clock = FrozenClock()
    engine = create_engine(postgres_url)
    sessionmaker = create_sessionmaker(engine)
    async with run_simulator() as sim:
        sim.simulator.register_bot(TOKEN, "faults_bot", "livecart")
        async with sim.client() as client:
            user = int((await client.create_user("김철수"))["id"])
            await client.inject_faults(
                server_errors=1, server_error_status=502, server_error_methods=["sendMessage"]
            )
            async with sessionmaker() as session:
                row = await enqueue_notification(
                    session,
                    chat_id=user,
                    kind="text",
                    data={"text": "주문이 접수됐어요"},
                    now=clock.now(),
                )
                await session.commit()
                row_id = row.id
            sender = OutboxSender(build_bot(TOKEN, sim.base_url), sessionmaker, clock, build_i18n())

            async def state() -> OutboxMessage:
                async with sessionmaker() as session:
                    found = await session.get(OutboxMessage, row_id)
                    assert found is not None
                    return found

            async def attempts_reach(n: int) -> bool:
                return (await state()).attempts >= n and (
                    await state()
                ).status is OutboxStatus.PENDING

            async with _running(sender):
                # 1) Telegram answers 502: the row waits (backoff), nothing is sent yet
                await _wait_for(lambda: attempts_reach(1))
                first = await state()
                assert first.available_at > clock.now()
                assert "502" in first.last_error or "Server" in first.last_error
                assert await _one_message(client, user) == []
                # 2) Telegram can't be reached at all (a network error, as a timeout would be):
                # the next try also waits, longer
                await sender.bot.session.close()
                sender.bot = build_bot(TOKEN, "http://127.0.0.1:9")  # nothing listens there
                clock.advance(first.available_at - clock.now() + timedelta(seconds=1))
                sender.wake()
                await _wait_for(lambda: attempts_reach(2))
                second = await state()
                assert second.available_at - clock.now() >= timedelta(seconds=1)
                # 3) Telegram is back: sent exactly once
                await sender.bot.session.close()
                sender.bot = build_bot(TOKEN, sim.base_url)
                clock.advance(second.available_at - clock.now() + timedelta(seconds=1))
                sender.wake()

                async def sent() -> bool:
                    return (await state()).status is OutboxStatus.SENT

                await _wait_for(sent)
            messages = await _one_message(client, user)
    await engine.dispose()
    assert [m["text"] for m in messages] == ["주문이 접수됐어요"]


async def test_with_redis_down_the_send_rates_are_counted_in_this_process() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]  # nothing listens there once the probe closes
    limits = SharedRateLimits(f"redis://127.0.0.1:{dead}/0", 5, 1)
    try:
        for _ in range(5):
            await limits.acquire_bot()  # no error: the sends go on
        await limits.acquire_chat(42)
        await limits.pause(0.01)
        await limits.wait_if_paused()
        # ...counted by this process's own limiters while Redis is away
        assert not limits.bot.has_capacity()
        assert not limits.chat(42).has_capacity()
    finally:
        await limits.aclose()
