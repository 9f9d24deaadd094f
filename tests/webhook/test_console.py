"""The campaign console over HTTP: login, CSRF, the show form, the broadcast composer and its
progress, and a show's figures against the database."""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.clock import FrozenClock
from catalog.console_users import remove_console_user, set_console_user
from catalog.models import OutboxMessage, Show, SubscriptionTarget
from catalog.orders import mark_paid
from catalog.outbox import mark_dropped, mark_sent
from catalog.reminders import enqueue_due_reminders
from catalog.show_figures import show_figures
from catalog.shows import FeaturedInput, get_show, upsert_show
from catalog.stream_links import follow_stream_link, stream_link_token
from catalog.subscriptions import subscribe, unsubscribe_everything
from tests.factories import make_customer, make_market, make_order, make_product, make_shop
from tests.webhook.conftest import API_TOKEN
from webhook import console_session as cs
from webhook.app import create_app
from webhook.context import WebContext


def _csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


async def _log_in(api: httpx.AsyncClient) -> str:
    """Log in as the admin; returns the session's CSRF token."""
    login = await api.get("/console/login")
    answer = await api.post("/console/login", data={"csrf": _csrf(login), "password": API_TOKEN})
    assert answer.status_code == 303 and answer.headers["location"] == "/console"
    home = await api.get("/console")
    assert home.status_code == 200
    return _csrf(home)


async def _market_with_a_shop(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock):  # type: ignore[no-untyped-def]
    async with sessionmaker() as session:
        market = await make_market(session, clock)
        shop = await make_shop(session, clock, market=market)
        apple = await make_product(session, clock, shop)
        pear = await make_product(session, clock, shop, sku="pear", name="배", price=20000)
        await session.commit()
        return market, shop, apple, pear


async def test_every_console_page_needs_a_login_and_a_wrong_token_is_refused(
    api: httpx.AsyncClient,
) -> None:
    for path in ("/console", "/console/shows/new", "/console/shows/1", "/console/broadcasts/1"):
        answer = await api.get(path)
        assert (answer.status_code, answer.headers["location"]) == (303, "/console/login"), path
    assert (await api.get("/console/broadcasts/1/progress.json")).status_code == 401
    assert (await api.post("/console/shows", data={"title": "x"})).status_code == 303

    login = await api.get("/console/login")
    assert login.status_code == 200
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    refused = await api.post("/console/login", data={"csrf": _csrf(login), "password": "guess"})
    assert refused.status_code == 401 and 'role="alert"' in refused.text
    no_csrf = await api.post("/console/login", data={"password": API_TOKEN})
    assert no_csrf.status_code == 403
    assert (await api.get("/console")).status_code == 303  # still logged out

    csrf = await _log_in(api)
    assert (await api.get("/console/broadcasts/1/progress.json")).status_code == 404
    assert (await api.get("/console/shows/99999999999999999999")).status_code == 422
    assert (await api.get("/console/shows/12345")).status_code == 404
    # a forged cookie is no login
    forged = api.cookies.get("livecart_console", path="/console") or ""
    body, _, signature = forged.partition(".")
    api.cookies.set("livecart_console", f"{body}.{signature[::-1]}", path="/console")
    assert (await api.get("/console")).status_code == 303
    api.cookies.clear()

    csrf = await _log_in(api)

    out = await api.post("/console/logout", data={"csrf": csrf})
    assert (out.status_code, out.headers["location"]) == (303, "/console/login")
    assert (await api.get("/console")).status_code == 303


async def test_a_console_user_logs_in_with_a_password_until_it_changes_or_they_are_removed(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with sessionmaker() as session:
        user, created = await set_console_user(session, "Minji", "gimjang-2026!", now=clock.now())
        assert created and user.name == "minji" and "gimjang" not in user.password_hash
        await session.commit()

    async def log_in(name: str, password: str) -> int:
        login = await api.get("/console/login")
        data = {"csrf": _csrf(login), "name": name, "password": password}
        return (await api.post("/console/login", data=data)).status_code

    assert await log_in("minji", "wrong-password") == 401
    assert await log_in("nobody", "gimjang-2026!") == 401
    assert await log_in("minji", API_TOKEN) == 401  # the token goes with an empty name
    assert await log_in(" MINJI ", "gimjang-2026!") == 303
    assert (await api.get("/console")).status_code == 200

    async with sessionmaker() as session:  # a new password ends the old sessions
        await set_console_user(session, "minji", "a-new-secret-1", now=clock.now())
        await session.commit()
    assert (await api.get("/console")).status_code == 303
    assert await log_in("minji", "a-new-secret-1") == 303
    async with sessionmaker() as session:
        await remove_console_user(session, "minji")
        await session.commit()
    assert (await api.get("/console/broadcasts/1/progress.json")).status_code == 401


async def test_a_show_created_through_the_form_is_stored_and_needs_the_csrf_token(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    _market, shop, _apple, _pear = await _market_with_a_shop(sessionmaker, clock)
    csrf = await _log_in(api)
    form = {
        "organiser": f"shop:{shop.slug}",
        "title": "<script>alert(1)</script> 가나 라이브",
        "starts_at": "2026-11-26T19:00",
        "ends_at": "2026-11-26T20:00",
        "stream_url": "https://youtube.com/live/abc",
        "products": "ganada/pear ₩15,000\napple-5kg",
        "sold_out_updates": "on",
    }
    assert (await api.post("/console/shows", data=form)).status_code == 403
    for wrong in ("wrong", "토큰"):
        assert (await api.post("/console/shows", data={**form, "csrf": wrong})).status_code == 403
    async with sessionmaker() as session:
        assert list(await session.scalars(select(Show))) == []

    created = await api.post("/console/shows", data={**form, "csrf": csrf})
    assert created.status_code == 303
    show_id = int(created.headers["location"].rsplit("/", 1)[1])
    async with sessionmaker() as session:
        show = await get_show(session, show_id)
        assert show.starts_at == datetime(2026, 11, 26, 10, 0, tzinfo=UTC)  # 19:00 in Seoul
        assert [(i.product.sku, i.live_price) for i in show.featured] == [
            ("pear", 15000),
            ("apple-5kg", None),
        ]
        assert show.sold_out_updates

    page = await api.get(f"/console/shows/{show_id}")
    assert "&lt;script&gt;" in page.text and "<script>alert" not in page.text
    calendar = await api.get("/console")
    assert f"/console/shows/{show_id}" in calendar.text

    backwards = {**form, "csrf": csrf, "ends_at": "2026-11-26T18:00", "title": "바뀐 제목"}
    refused = await api.post(f"/console/shows/{show_id}", data=backwards)
    assert refused.status_code == 422 and 'aria-invalid="true"' in refused.text
    for far in ({"starts_at": "0001-01-01T00:00"}, {"ends_at": "9999-12-31T23:59"}):
        bad = {**form, "csrf": csrf, **far}
        assert (await api.post(f"/console/shows/{show_id}", data=bad)).status_code == 422
    for products in ("ganada/durian", "ganada/pear ²", "ganada/pear 1 2"):
        bad = {**form, "csrf": csrf, "products": products}
        assert (await api.post(f"/console/shows/{show_id}", data=bad)).status_code == 422
    async with sessionmaker() as session:
        unchanged = await get_show(session, show_id)
        assert unchanged.title == form["title"] and len(unchanged.featured) == 2


async def test_a_broadcast_composed_in_the_console_is_previewed_sent_once_and_followed(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    market, _shop, _apple, _pear = await _market_with_a_shop(sessionmaker, clock)
    async with sessionmaker() as session:
        for user_id in (701, 702):
            fan = await make_customer(session, clock, user_id=user_id)
            await subscribe(session, fan, SubscriptionTarget.MARKET, market.id, now=clock.now())
        await session.commit()
    csrf = await _log_in(api)

    composed = await api.post(
        "/console/broadcasts",
        data={
            "csrf": csrf,
            "scope": f"market:{market.slug}",
            "segment": "subscribers",
            "text": "오늘 저녁 7시 <b>라이브</b>!",
        },
    )
    assert composed.status_code == 303
    page_url = composed.headers["location"]
    preview = await api.get(page_url)
    assert "오늘 저녁 7시 &lt;b&gt;라이브&lt;/b&gt;!" in preview.text
    assert re.search(r"2\s*명|reach 2 people", preview.text)
    async with sessionmaker() as session:
        assert list(await session.scalars(select(OutboxMessage))) == []  # nothing sent yet

    for _tap in range(2):  # a double tap on "send" sends once
        sent = await api.post(f"{page_url}/confirm", data={"csrf": csrf, "when": "now"})
        assert sent.status_code == 303
    progress = (await api.get(f"{page_url}/progress.json")).json()
    assert progress == {
        "status": "enqueued",
        "recipients": 2,
        "sent": 0,
        "failed": 0,
        "blocked": 0,
        "pending": 2,
        "done": False,
    }
    async with sessionmaker() as session:
        rows = {r.chat_id: r for r in await session.scalars(select(OutboxMessage))}
        await mark_sent(session, rows[701].id, now=clock.now(), telegram_message_id=9)
        await mark_dropped(session, rows[702].id, error="Forbidden: bot was blocked by the user")
        await session.commit()
    progress = (await api.get(f"{page_url}/progress.json")).json()
    assert (progress["sent"], progress["blocked"], progress["pending"], progress["done"]) == (
        1,
        1,
        0,
        True,
    )
    assert 'data-counter="sent">1<' in (await api.get(page_url)).text

    later = await api.post(
        "/console/broadcasts",
        data={"csrf": csrf, "scope": f"market:{market.slug}", "segment": "ordered_before",
              "language": "ko", "text": "내일 또 만나요"},
    )  # fmt: skip
    later_url = later.headers["location"]
    for far in ("0001-01-01T00:00", "9999-12-31T23:59"):  # a typo, not a server error
        odd = {"csrf": csrf, "when": "later", "send_at": far}
        refused = await api.post(f"{later_url}/confirm", data=odd)
        assert refused.status_code == 422 and "2100년" in refused.text
    past = {"csrf": csrf, "when": "later", "send_at": "2026-11-25T08:00"}  # 08:00 in Seoul
    assert (await api.post(f"{later_url}/confirm", data=past)).status_code == 422
    tomorrow = {"csrf": csrf, "when": "later", "send_at": "2026-11-26T19:00"}
    assert (await api.post(f"{later_url}/confirm", data=tomorrow)).status_code == 303
    scheduled = await api.get(later_url)
    assert "2026년 11월 26일 오후 7:00" in scheduled.text
    assert (await api.post(f"{later_url}/cancel", data={"csrf": csrf})).status_code == 303
    assert (await api.get(f"{later_url}/progress.json")).json()["status"] == "cancelled"


async def test_a_show_s_charts_and_csv_match_the_database(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    _market, shop, apple, pear = await _market_with_a_shop(sessionmaker, clock)
    async with sessionmaker() as session:
        await upsert_show(
            session,
            7,
            now=clock.now(),
            fields={
                "shop": shop.slug,
                "title": "가나 라이브",
                "starts_at": datetime(2026, 11, 26, 19, 0),
                "ends_at": datetime(2026, 11, 26, 20, 0),
                "stream_url": "https://youtube.com/live/abc",
            },
            featured=[FeaturedInput("pear", live_price=15000)],
        )
        fans = []
        for user_id in (801, 802, 803):  # two subscribe on the 25th, one on the 26th (Seoul)
            fan = await make_customer(session, clock, user_id=user_id)
            await subscribe(session, fan, SubscriptionTarget.SHOW, 7, now=clock.now())
            fans.append(fan)
            if user_id == 802:
                clock.set(datetime(2026, 11, 26, 1, 0, tzinfo=UTC))  # 10:00 on the 26th
        clock.set(datetime(2026, 11, 26, 10, 0, tzinfo=UTC))  # the start: "live now"
        assert await enqueue_due_reminders(session, now=clock.now(), offsets=[0]) == 3
        rows = list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.chat_id)))
        await mark_sent(session, rows[0].id, now=clock.now(), telegram_message_id=1)
        await mark_sent(session, rows[1].id, now=clock.now(), telegram_message_id=2)
        await mark_dropped(session, rows[2].id, error="Forbidden: bot was blocked by the user")
        token = await stream_link_token(
            session, show_id=7, customer_id=fans[0].id, source="show:7", now=clock.now()
        )
        clock.advance(timedelta(minutes=5))
        await follow_stream_link(session, token, now=clock.now())
        await follow_stream_link(session, token, now=clock.now())
        first = await make_order(session, clock, shop, pear, 2, customer=fans[0])
        await mark_paid(session, first, now=clock.now(), actor="test")
        clock.advance(timedelta(hours=1))  # 20:05 in Seoul
        second = await make_order(session, clock, shop, pear, 1, customer=fans[1])
        await mark_paid(session, second, now=clock.now(), actor="test")
        await make_order(session, clock, shop, pear, 1, customer=fans[2])  # never paid
        other = await make_order(session, clock, shop, apple, 1, customer=fans[2])  # not featured
        await mark_paid(session, other, now=clock.now(), actor="test")
        await unsubscribe_everything(session, fans[0], now=clock.now())  # still the 26th
        await session.commit()

    async with sessionmaker() as session:
        figures = await show_figures(session, await get_show(session, 7))
    assert [(d.isoformat(), n) for d, n in figures.subscribers_by_day] == [
        ("2026-11-25", 2),
        ("2026-11-26", 2),  # one more, one gone
    ]
    assert [
        (r.offset_seconds, r.sent, r.failed, r.blocked, r.pending) for r in figures.reminders
    ] == [(0, 2, 0, 1, 0)]
    assert [(h.isoformat(), n) for h, n in figures.stream_clickers_by_hour] == [
        ("2026-11-26T19:00:00", 1)
    ]
    assert [(h.isoformat(), n, r) for h, n, r in figures.orders_by_hour] == [
        ("2026-11-26T19:00:00", 1, 30000),  # two at the live price, on air
        ("2026-11-26T20:00:00", 1, 20000),
    ]
    assert [(p.sku, p.units, p.revenue) for p in figures.top_products] == [("pear", 3, 50000)]

    await _log_in(api)
    page = await api.get("/console/shows/7")
    assert page.status_code == 200 and page.text.count('<svg class="chart"') == 5
    exported = await api.get("/console/shows/7/orders.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert [(r["sku"], r["quantity"], r["line_total"]) for r in table] == [
        ("pear", "2", "30000"),
        ("pear", "1", "20000"),
    ]
    assert table[0]["placed_at"].startswith("2026-11-26T19:05")


def _client_at(app: FastAPI, address: str) -> httpx.AsyncClient:
    """A browser at `address`, as uvicorn's proxy headers resolve it behind the proxy."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://livecart.test")


async def _try_login(client: httpx.AsyncClient, name: str, password: str) -> int:
    login = await client.get("/console/login")
    data = {"csrf": _csrf(login), "name": name, "password": password}
    return (await client.post("/console/login", data=data)).status_code


async def test_ten_wrong_tries_lock_out_that_address_and_name_only(
    web_context: WebContext,
) -> None:
    app = create_app(web_context)
    async with _client_at(app, "203.0.113.7") as guesser, _client_at(app, "198.51.100.2") as staff:
        for _try in range(10):
            assert await _try_login(guesser, "", "guess") == 401
        assert await _try_login(guesser, "", API_TOKEN) == 429
        assert (await guesser.get("/console")).status_code == 303
        # the staff member at another address logs in; the guesser's other names still count
        assert await _try_login(staff, "", API_TOKEN) == 303
        assert await _try_login(guesser, "minji", "guess") == 401


async def test_with_redis_two_instances_share_the_count_of_wrong_tries(
    web_context: WebContext, redis_url: str
) -> None:
    name = f"guess-{uuid.uuid4().hex[:8]}"  # a fresh counter in the shared Redis
    apps = [create_app(replace(web_context, redis_url=redis_url)) for _ in range(2)]
    try:
        async with (
            _client_at(apps[0], "203.0.113.8") as one,
            _client_at(apps[1], "203.0.113.8") as other,
        ):
            for _try in range(5):
                assert await _try_login(one, name, "wrong") == 401
                assert await _try_login(other, name, "wrong") == 401
            assert await _try_login(one, name, "wrong") == 429
            assert await _try_login(other, name, "wrong") == 429
    finally:
        for app in apps:
            await cs.login_throttle_of(app).aclose()
