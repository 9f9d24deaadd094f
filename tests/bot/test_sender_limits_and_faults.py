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
from bot.rate_limits import RateLimits, SharedRateLimits
from bot.replies import Replies
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
            # Telegram allows 10/s for this bot; bulk sends may use 9/s of livecart's 12/s.
            # Each sender alone keeps 9/s, so only if they count together do they stay under
            # 10/s between them.
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
                    limits=SharedRateLimits(redis_url, 12, 1, key_prefix=prefix),
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
        for _ in range(3):  # a chat's short burst
            await limits.acquire_chat(42)
        await limits.pause(0.01)
        await limits.wait_if_paused()
        # ...counted by this process's own limiters while Redis is away
        assert not limits.bot.has_capacity()
        assert not limits.chat(42).has_capacity()
    finally:
        await limits.aclose()


async def test_replies_of_two_instances_share_the_send_rate_and_draw_no_429(
    redis_url: str,
) -> None:
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    async with run_simulator() as sim:
        sim.simulator.register_bot(TOKEN, "replies_bot", "livecart")
        async with sim.client() as client:
            # "Telegram" allows 10/s and 1/s per chat after a burst of 4; the instances are told
            # 8/s and 1/s after a burst of 3: a margin of one message, as in production, for a
            # send that leaves later than its slot was granted (a stalled event loop under load)
            await client.set_limits(
                enforce=True, per_bot_per_second=10, per_chat_per_second=1, per_chat_burst=4
            )
            users = [int((await client.create_user(f"손님{i}"))["id"]) for i in range(8)]
            instances = [
                (
                    build_bot(TOKEN, sim.base_url),
                    SharedRateLimits(redis_url, 8, 1, key_prefix=prefix),
                )
                for _ in range(2)
            ]

            async def answer(instance: int, user: int, text: str) -> None:
                bot, limits = instances[instance]
                replies = Replies(user)
                replies.send(text)
                await replies.flush(bot, limits)

            try:
                # a burst: every customer taps at once, on both instances, each answering three
                # times: 6 messages to each chat (more than any burst), 48 for the bot
                await asyncio.gather(
                    *(
                        answer(instance, user, text)
                        for user in users
                        for instance, text in (
                            (0, "장바구니에 담았어요"),
                            (1, "주문이 접수됐어요"),
                            (0, "결제를 기다려요"),
                            (1, "결제가 확인됐어요"),
                            (0, "가게에서 준비하고 있어요"),
                            (1, "준비가 끝났어요"),
                        )
                    )
                )
            finally:
                for bot, limits in instances:
                    await limits.aclose()
                    await bot.session.close()
            stats: JSON = await client.stats()
    assert stats["sent_total"] == 48
    assert stats["rate_limited_total"] == 0
    assert all(stats["sent_by_chat"][str(user)] == 6 for user in users)


async def test_bulk_sends_leave_a_share_of_the_bot_rate_to_interactive_ones(
    redis_url: str,
) -> None:
    limits = SharedRateLimits(redis_url, 5, 1, key_prefix=f"test-{uuid.uuid4().hex[:8]}")
    try:
        for _ in range(4):  # a broadcast takes all it may: 4 of the 5 a second
            await limits.acquire_bulk()
        assert not await limits.limiter.test(limits.bulk_item, "bulk")  # bulk must wait now
        stats = await limits.limiter.get_window_stats(limits.bot_item, "bot")
        assert stats.remaining >= 1  # ...while a reply still finds its slot at once
    finally:
        await limits.aclose()
    alone = RateLimits(5, 1)  # one instance, no Redis: the same share
    for _ in range(4):
        await alone.acquire_bulk()
    assert not alone.bulk.has_capacity() and alone.bot.has_capacity()


async def test_a_timed_out_send_order_news_retried_a_broadcast_never_sent_twice(
    postgres_url: str,
) -> None:
    """Telegram carries out a send but answers too late: livecart's request timeout fires and
    nobody knows whether the message arrived. An order message is retried (at-least-once: the
    customer may see it twice, never zero times); a broadcast is set aside for review (at most
    once); and the other chats are served meanwhile."""
    clock = FrozenClock()
    engine = create_engine(postgres_url)
    sessionmaker = create_sessionmaker(engine)
    async with run_simulator() as sim:
        sim.simulator.register_bot(TOKEN, "slow_bot", "livecart")
        async with sim.client() as client:
            first, second, fan = [
                int((await client.create_user(name))["id"])
                for name in ("김철수", "이영희", "박민수")
            ]
            await client.inject_faults(delays=1, delay_seconds=2.5, delay_methods=["sendMessage"])
            async with sessionmaker() as session:
                ids = []
                for user in (first, second):
                    row = await enqueue_notification(
                        session,
                        chat_id=user,
                        kind="text",
                        data={"text": "주문이 접수됐어요"},
                        now=clock.now(),
                    )
                    ids.append(row.id)
                await session.commit()
            sender = OutboxSender(
                build_bot(TOKEN, sim.base_url, timeout=1.0), sessionmaker, clock, build_i18n()
            )

            async def rows() -> dict[int, OutboxMessage]:
                async with sessionmaker() as session:
                    found = await session.scalars(select(OutboxMessage))
                    return {row.chat_id: row for row in found}

            async def one_timed_out() -> bool:
                return any(
                    row.status is OutboxStatus.PENDING and row.attempts == 1
                    for row in (await rows()).values()
                )

            async def status_is(chat_id: int, status: OutboxStatus) -> bool:
                return (await rows())[chat_id].status is status

            async with _running(sender):
                # 1) the first send to reach Telegram hangs; the other chat is answered meanwhile
                await _wait_for(one_timed_out)
                state = await rows()
                slow = next(u for u in (first, second) if state[u].status is OutboxStatus.PENDING)
                quick = second if slow == first else first
                assert state[quick].status is OutboxStatus.SENT
                assert "timeout" in state[slow].last_error.lower()
                assert state[slow].available_at > clock.now()  # backed off, not hammered
                # 2) the late answer's message did arrive; the retry sends it again
                clock.advance(state[slow].available_at - clock.now() + timedelta(seconds=1))
                sender.wake()
                await _wait_for(lambda: status_is(slow, OutboxStatus.SENT))
                # 3) a broadcast whose send times out is not sent again, however long we wait
                await client.inject_faults(
                    delays=1, delay_seconds=2.5, delay_methods=["sendMessage"]
                )
                async with sessionmaker() as session:
                    await enqueue_notification(
                        session,
                        chat_id=fan,
                        kind="text",
                        data={"text": "오늘 저녁 7시 라이브 방송이 있어요"},
                        now=clock.now(),
                        lane=OutboxLane.BULK,
                    )
                    await session.commit()
                sender.wake()
                await _wait_for(lambda: status_is(fan, OutboxStatus.REVIEW))
                assert "ambiguous timeout" in (await rows())[fan].last_error
                clock.advance(timedelta(hours=1))
                async with sessionmaker() as session:  # a later broadcast row goes out...
                    await enqueue_notification(
                        session,
                        chat_id=quick,
                        kind="text",
                        data={"text": "내일도 라이브 방송이 있어요"},
                        now=clock.now(),
                        lane=OutboxLane.BULK,
                    )
                    await session.commit()
                sender.wake()

                async def later_sent() -> bool:
                    return len(await _one_message(client, quick)) == 2

                await _wait_for(later_sent)
            slow_messages = await _one_message(client, slow)
            quick_messages = await _one_message(client, quick)
            fan_messages = await _one_message(client, fan)
    await engine.dispose()
    # at-least-once: the timed-out order message arrived, and once more by the retry
    assert [m["text"] for m in slow_messages] == ["주문이 접수됐어요"] * 2
    assert [m["text"] for m in quick_messages] == [
        "주문이 접수됐어요",
        "내일도 라이브 방송이 있어요",
    ]
    # at-most-once: the timed-out broadcast arrived once and was never resent
    assert [m["text"] for m in fan_messages] == ["오늘 저녁 7시 라이브 방송이 있어요"]
