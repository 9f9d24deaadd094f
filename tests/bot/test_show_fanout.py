"""Reminders and broadcasts fanned out through the real sender to the Telegram simulator with
Telegram's limits enforced: everyone once, no limit ignored, 429 bursts honoured, blocked
users unsubscribed and counted, and a customer's order never waits behind a broadcast."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.clock import FrozenClock
from catalog.models import (
    Customer,
    Market,
    OutboxMessage,
    OutboxStatus,
    Subscription,
    SubscriptionTarget,
)
from livecart.runtime import run_campaign_jobs
from tests.bot.conftest import API_TOKEN, Livecart, running_livecart, text_of

PUBLIC = "http://livecart.test"
# the simulator enforces 1,000/s per bot (so the test is quick); livecart sends at 800/s (bulk
# at 80% of it) and, as in production, 1/s per chat
SIM_LIMITS: dict[str, Any] = {
    "enforce": True,
    "per_bot_per_second": 1000,
    "per_chat_per_second": 1,
    "per_chat_burst": 3,
}
FAST = {
    "send_rate_per_second": 800,
    "send_rate_per_chat_per_second": 1.0,
    "public_base_url": PUBLIC,
    "campaign_interval_seconds": 600,
}


def api(app: Livecart) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=app.http_url, headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=30
    )


async def subscribers(app: Livecart, count: int) -> list[int]:
    """`count` Telegram users subscribed to the demo market (their opt-in time stored)."""
    users = [app.sim.simulator.create_user(f"손님{n}").id for n in range(count)]
    now = app.clock.now()
    db = app.runtime.services.sessionmaker
    async with db() as session:
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
        ids = list(await session.scalars(select(Customer.id).where(Customer.chat_id.in_(users))))
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
        await session.commit()
    return users


async def put_show(app: Livecart, show_id: int, starts_in: timedelta) -> None:
    start = app.clock.now() + starts_in
    async with api(app) as http:
        response = await http.put(
            f"/api/v1/shows/{show_id}",
            json={
                "shop": "ganada-fruit",
                "title": "가나청과 사과 라이브",
                "starts_at": start.isoformat(),
                "ends_at": (start + timedelta(hours=1)).isoformat(),
                "stream_url": "https://www.youtube.com/live/ganada",
                "products": [{"sku": "apple-5kg", "live_price": 29000}, {"sku": "pear-7-5kg"}],
            },
        )
    assert response.status_code == 201, response.text


async def wait_until_sent(
    db: async_sessionmaker[AsyncSession], ref: str, timeout: float = 90
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        async with db() as session:
            waiting = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.ref == ref,
                    OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
                )
            )
        if waiting == 0:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{waiting} rows of {ref} still waiting")


async def test_two_thousand_subscribers_get_the_reminder_exactly_once_within_the_limits(
    database_url: str, clock: FrozenClock
) -> None:
    async with running_livecart(database_url, clock, **FAST) as app:
        await app.client.set_limits(**SIM_LIMITS)
        users = await subscribers(app, 2000)
        await put_show(app, 7, starts_in=timedelta(days=1))

        assert await run_campaign_jobs(app.runtime) == 2000
        assert await run_campaign_jobs(app.runtime) == 0  # the next run finds it done
        await wait_until_sent(app.runtime.services.sessionmaker, "show:7")

        stats = await app.client.stats()
        sent = stats["sent_by_chat"]
        assert all(sent.get(str(u)) == 1 for u in users), "someone got it twice or never"
        assert (stats["rate_limited_total"], stats["retry_after_ignored"]) == (0, 0)
        [reminder] = await app.client.messages(users[0])
        assert "가나청과 사과 라이브" in text_of(reminder)
        buttons = [b for row in reminder["reply_markup"]["inline_keyboard"] for b in row]
        assert buttons[0]["url"].startswith(f"{PUBLIC}/s/")  # the counted stream link
        assert any("Turn off" in b["text"] or "알림 끄기" in b["text"] for b in buttons)
        assert any("부사 사과" in b["text"] for b in buttons)  # order buttons


async def test_a_429_burst_is_honoured_and_blocked_users_end_unsubscribed_and_counted(
    database_url: str, clock: FrozenClock
) -> None:
    async with running_livecart(database_url, clock, **FAST) as app:
        await app.client.set_limits(**SIM_LIMITS)
        users = await subscribers(app, 400)
        blocked = users[::20]  # 5%
        for user in blocked:
            await app.client.block(user)
        await put_show(app, 8, starts_in=timedelta(minutes=10))
        await app.client.inject_faults(rate_limit_burst=5, retry_after=1)

        assert await run_campaign_jobs(app.runtime) == 400
        await wait_until_sent(app.runtime.services.sessionmaker, "show:8")

        stats = await app.client.stats()
        assert stats["retry_after_ignored"] == 0  # every send waited out the 429s
        assert stats["rate_limited_total"] == 5  # only the injected ones: none caused
        reached = {u for u in users if stats["sent_by_chat"].get(str(u)) == 1}
        assert reached == set(users) - set(blocked)
        async with app.runtime.services.sessionmaker() as session:
            gone = list(
                await session.scalars(select(Customer).where(Customer.chat_id.in_(blocked)))
            )
            live_subscriptions = await session.scalar(
                select(func.count())
                .select_from(Subscription)
                .join(Customer, Customer.id == Subscription.customer_id)
                .where(Customer.chat_id.in_(blocked), Subscription.revoked_at.is_(None))
            )
        assert all(c.blocked_at and c.marketing_revoked_at for c in gone)
        assert live_subscriptions == 0
        async with api(app) as http:
            show_stats = (await http.get("/api/v1/shows/8/stats")).json()
        assert (show_stats["recipients"], show_stats["sent"], show_stats["blocked"]) == (
            400,
            380,
            20,
        )
        assert show_stats["failed"] == {"blocked": 20}

        # the next reminder ("live now") is not even written for them
        clock.advance(timedelta(minutes=10))
        assert await run_campaign_jobs(app.runtime) == 380


async def test_a_customer_ordering_during_a_broadcast_is_answered_before_it_ends(
    database_url: str, clock: FrozenClock
) -> None:
    # bulk at 300/s: 2,000 messages take about seven seconds
    settings = {**FAST, "send_rate_per_second": 300}
    async with running_livecart(database_url, clock, **settings) as app:
        await app.client.set_limits(**SIM_LIMITS)
        await subscribers(app, 2000)
        customer = await app.person("Alice", "en")
        async with api(app) as http:
            draft = await http.post(
                "/api/v1/broadcasts", json={"market": "gwangjang", "text": "오늘 저녁 7시 라이브!"}
            )
            assert draft.json()["audience"] == 2000
            confirm = await http.post(f"/api/v1/broadcasts/{draft.json()['id']}/confirm", json={})
            assert confirm.json()["recipients"] == 2000
        ref = f"broadcast:{draft.json()['id']}"

        await customer.say("/start shop_ganada-fruit")
        await customer.say("1번 1개")
        await customer.tap("Order now")
        await customer.tap("Pick up")
        await customer.share_phone("+82 10-1234-5678", expect=2)
        await customer.tap(re.compile("Confirm order|주문 확정"))
        await app.client.wait_for_messages(
            customer.user_id, predicate=lambda m: text_of(m).startswith("🧾"), timeout=10
        )

        async with app.runtime.services.sessionmaker() as session:
            still_waiting = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.ref == ref, OutboxMessage.status == OutboxStatus.PENDING)
            )
        assert still_waiting > 0, "the order's message came only after the whole broadcast"
        await wait_until_sent(app.runtime.services.sessionmaker, ref)
        stats = await app.client.stats()
        # the broadcast caused no 429 (the customer's own quick back-and-forth may meet the
        # per-chat limit: its replies wait out retry_after)
        assert set(stats["rate_limited_by_chat"]) <= {str(customer.user_id)}
        assert stats["retry_after_ignored"] == 0
