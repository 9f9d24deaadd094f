"""Customers and campaign staff meet live shows in the chat: the show link, "remind me",
typed orders from the show's list, the counted stream link, "turn off", /stop, and a
broadcast made from /campaign with a preview and a confirmation."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from catalog.clock import FrozenClock
from catalog.models import CartItem, Customer, Order, OutboxMessage, StreamLink, Subscription
from livecart.runtime import run_campaign_jobs
from tests.bot.conftest import API_TOKEN, Livecart, running_livecart, text_of

PUBLIC = "http://livecart.test"


def api(app: Livecart) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=app.http_url, headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=30
    )


async def _show(app: Livecart, show_id: int = 5, *, starts_in: timedelta) -> dict:
    start = app.clock.now() + starts_in
    async with api(app) as http:
        response = await http.put(
            f"/api/v1/shows/{show_id}",
            json={
                "shop": "ganada-fruit",
                "title": "배 라이브",
                "starts_at": start.isoformat(),
                "ends_at": (start + timedelta(hours=1)).isoformat(),
                "stream_url": "https://www.youtube.com/live/pear",
                "products": [{"sku": "pear-7-5kg", "live_price": 39000}, {"sku": "apple-5kg"}],
            },
        )
    assert response.status_code in (200, 201), response.text
    return response.json()


async def test_the_show_api_stores_lists_and_deletes_shows(
    database_url: str, clock: FrozenClock
) -> None:
    async with running_livecart(database_url, clock) as app:
        created = await _show(app, starts_in=timedelta(hours=3))
        assert created["deep_link_payload"] == "show_5"
        assert [p["sku"] for p in created["products"]] == ["pear-7-5kg", "apple-5kg"]
        async with api(app) as http:
            assert [s["id"] for s in (await http.get("/api/v1/shows?upcoming=true")).json()] == [5]
            assert (await http.get("/api/v1/shows?shop=ganada-fruit")).json()[0]["title"]
            bad = await http.put("/api/v1/shows/6", json={"title": "no shop"})
            assert bad.status_code == 422
            assert bad.headers["content-type"].startswith("application/problem+json")
            assert (await http.delete("/api/v1/shows/5")).status_code == 204
            assert (await http.get("/api/v1/shows/5")).status_code == 404
            assert (
                await http.get("/api/v1/shows", headers={"Authorization": ""})
            ).status_code == 401


async def test_a_customer_opens_a_show_link_turns_on_reminders_and_orders_from_its_list(
    database_url: str, clock: FrozenClock
) -> None:
    async with running_livecart(database_url, clock, public_base_url=PUBLIC) as app:
        await _show(app, starts_in=timedelta(days=1))
        db = app.runtime.services.sessionmaker
        customer = await app.person("Alice", "en")

        [card] = await customer.say("/start show_5")
        assert "배 라이브" in text_of(card) and "tomorrow" in text_of(card)
        # the show's live price is advertised beside the usual one (charged while it is on air)
        assert "₩39,000 (live price, usually ₩45,000)" in text_of(card)
        await customer.tap("Remind me", card)
        async with db() as session:
            alice = await session.scalar(
                select(Customer).where(Customer.chat_id == customer.user_id)
            )
            subs = list(await session.scalars(select(Subscription)))
        assert alice is not None and alice.marketing_consent_at == clock.now()
        assert [(s.target.value, s.target_id, s.subscribed_at) for s in subs] == [
            ("show", 5, clock.now())
        ]

        # "1번 2개" means item 1 of the show's list (the pear), not of the shop's
        added = await customer.say("1번 2개")
        assert re.search(r"신고 배.*× 2", text_of(added[-1]))
        async with db() as session:
            assert await session.scalar(select(func.count()).select_from(CartItem)) == 1

        # the reminder comes the day before, with a counted stream link and "turn off"
        assert await run_campaign_jobs(app.runtime) == 1
        reminder = (
            await app.client.wait_for_messages(
                customer.user_id, predicate=lambda m: "starts" in text_of(m), timeout=10
            )
        )[-1]
        stream = next(
            b for row in reminder["reply_markup"]["inline_keyboard"] for b in row if b.get("url")
        )
        token = stream["url"].removeprefix(f"{PUBLIC}/s/")
        async with httpx.AsyncClient(base_url=app.http_url) as http:
            redirect = await http.get(f"/s/{token}")
        assert redirect.status_code == 302
        assert redirect.headers["location"] == "https://www.youtube.com/live/pear"
        async with db() as session:
            assert await session.scalar(select(func.sum(StreamLink.clicks))) == 1

        await customer.tap("Turn off reminders", reminder)
        async with db() as session:
            subs = list(await session.scalars(select(Subscription)))
            alice = await session.scalar(
                select(Customer).where(Customer.chat_id == customer.user_id)
            )
        assert subs[0].revoked_at == clock.now()
        assert alice is not None and alice.marketing_revoked_at == clock.now()

        # nothing more is even written for them
        clock.advance(timedelta(days=1))
        assert await run_campaign_jobs(app.runtime) == 0


async def test_stop_ends_every_subscription(database_url: str, clock: FrozenClock) -> None:
    async with running_livecart(database_url, clock) as app:
        await _show(app, starts_in=timedelta(hours=2))
        customer = await app.person("Bob", "en")
        [card] = await customer.say("/start show_5")
        await customer.tap("Remind me of every show", card)
        await customer.say("/stop")
        async with app.runtime.services.sessionmaker() as session:
            live = await session.scalar(
                select(func.count())
                .select_from(Subscription)
                .where(Subscription.revoked_at.is_(None))
            )
        assert live == 0


async def test_campaign_staff_preview_and_send_a_broadcast_others_cannot(
    database_url: str, clock: FrozenClock
) -> None:
    async with running_livecart(database_url, clock) as app:
        await _show(app, starts_in=timedelta(hours=5))
        fan = await app.person("Fan", "en")
        [card] = await fan.say("/start show_5")
        await fan.tap("Remind me", card)
        staff = await app.person("Campaign", "en")
        stranger = await app.person("Stranger", "en")
        async with api(app) as http:
            added = await http.put(
                f"/api/v1/markets/gwangjang/staff/{staff.user_id}", json={"name": "팀장"}
            )
            assert added.status_code == 201

        [refusal] = await stranger.say("/campaign")
        assert "campaign teams" in text_of(refusal)

        [menu] = await staff.say("/campaign")
        await staff.tap("배 라이브", menu)
        await staff.tap("Message to this show's subscribers")
        await staff.tap("Everyone who turned on reminders")
        await staff.tap("Everyone")
        replies = await staff.say("Tonight at 7: pears for 39,000!", expect=3)
        assert "Preview" in text_of(replies[0])
        assert text_of(replies[1]) == "Tonight at 7: pears for 39,000!"  # as they will see it
        assert "1 people" in text_of(replies[2]) or "1 " in text_of(replies[2])
        await staff.tap(re.compile("Send now"), replies[2])

        await app.client.wait_for_messages(
            fan.user_id, predicate=lambda m: "pears for 39,000" in text_of(m), timeout=10
        )
        async with app.runtime.services.sessionmaker() as session:
            rows = list(
                await session.scalars(
                    select(OutboxMessage).where(OutboxMessage.kind == "broadcast")
                )
            )
        assert [r.chat_id for r in rows] == [fan.user_id]


async def test_a_summary_confirmed_after_the_show_began_is_shown_again_at_the_live_price(
    database_url: str, clock: FrozenClock
) -> None:
    async with running_livecart(database_url, clock) as app:
        await _show(app, starts_in=timedelta(minutes=1))  # 신고 배: ₩45,000, live ₩39,000
        customer = await app.person()
        shop_screen = (await customer.say("/start shop_ganada-fruit"))[-1]
        await customer.tap("신고 배", shop_screen)
        await customer.tap(re.compile(r"^1"))
        await customer.tap("가게에서 찾기")
        summary = (await customer.share_phone("+82 10-1234-5678", expect=2))[-1]
        assert "합계: ₩45,000" in text_of(summary), text_of(summary)

        clock.advance(timedelta(minutes=2))  # the show is on air: its live price holds now
        await customer.tap("주문 확정", summary)
        again = await customer.message_with_button("주문 확정")
        assert again["message_id"] != summary["message_id"]
        assert "합계: ₩39,000" in text_of(again), text_of(again)
        async with app.runtime.services.sessionmaker() as session:
            assert await session.scalar(select(func.count()).select_from(Order)) == 0

        await customer.tap("주문 확정", again)
        async with app.runtime.services.sessionmaker() as session:
            order = await session.scalar(select(Order))
        assert order is not None and order.total == 39000
