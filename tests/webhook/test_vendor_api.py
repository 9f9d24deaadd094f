"""The admin API for vendors: invite links, the list of who runs a shop, removing someone;
the printable poster. Bearer auth everywhere, problem+json errors."""

from __future__ import annotations

import base64
import io
import re

import httpx
import pytest
import zxingcpp
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.clock import FrozenClock
from catalog.deep_links import parse_payload
from catalog.vendors import redeem_invite
from tests.factories import make_market, make_shop
from tests.webhook.conftest import AUTH
from webhook.context import WebContext

OWNER_ID, STAFF_ID = 7_100_000_001, 7_100_000_002


@pytest.fixture
async def ganada(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    async with sessionmaker() as session:
        market = await make_market(session, clock)
        await make_shop(session, clock, market=market)
        await make_shop(session, clock, slug="english-stall", name="Corner Stall", locale="en")
        await session.commit()


async def join(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, payload: str, user: int
) -> None:
    parsed = parse_payload(payload)
    assert parsed is not None and parsed.kind == "vendor"
    async with sessionmaker() as session:
        await redeem_invite(
            session, parsed.slug, telegram_user_id=user, chat_id=user, name="Kim", now=clock.now()
        )
        await session.commit()


async def test_an_admin_invites_an_owner_who_joins_and_is_listed(
    api: httpx.AsyncClient,
    web_context: WebContext,
    ganada: None,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    without_bot = await api.post("/api/v1/shops/ganada/vendor-invites", json={}, headers=AUTH)
    assert without_bot.status_code == 201, without_bot.text
    assert without_bot.json()["link"] is None  # the bot hasn't reached Telegram yet
    assert without_bot.json()["role"] == "owner"

    web_context.bot_username = "livecart_test_bot"
    response = await api.post(
        "/api/v1/shops/ganada/vendor-invites", json={"role": "owner"}, headers=AUTH
    )
    assert response.status_code == 201
    body = response.json()
    assert re.fullmatch(r"vendor_[A-Za-z0-9_-]{32}", body["payload"])
    assert body["link"] == f"https://t.me/livecart_test_bot?start={body['payload']}"
    assert body["expires_at"].startswith("2026-11-28T09:00")  # 72 hours after the frozen now

    await join(sessionmaker, clock, body["payload"], OWNER_ID)
    vendors = (await api.get("/api/v1/shops/ganada/vendors", headers=AUTH)).json()
    assert [(v["telegram_user_id"], v["role"]) for v in vendors] == [(OWNER_ID, "owner")]
    assert (await api.get("/api/v1/shops/english-stall/vendors", headers=AUTH)).json() == []


async def test_removing_staff_works_and_the_last_owner_is_a_409_problem(
    api: httpx.AsyncClient,
    ganada: None,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    for role, user in (("owner", OWNER_ID), ("staff", STAFF_ID)):
        made = await api.post(
            "/api/v1/shops/ganada/vendor-invites", json={"role": role}, headers=AUTH
        )
        await join(sessionmaker, clock, made.json()["payload"], user)
    owner, staff = (await api.get("/api/v1/shops/ganada/vendors", headers=AUTH)).json()

    removed = await api.delete(f"/api/v1/shops/ganada/vendors/{staff['id']}", headers=AUTH)
    assert removed.status_code == 204
    again = await api.delete(f"/api/v1/shops/ganada/vendors/{staff['id']}", headers=AUTH)
    assert again.status_code == 404
    assert again.headers["content-type"] == "application/problem+json"

    last = await api.delete(f"/api/v1/shops/ganada/vendors/{owner['id']}", headers=AUTH)
    assert last.status_code == 409
    assert last.json()["type"].endswith("/last_owner")
    # a vendor is only reached through their own shop
    other = await api.delete(f"/api/v1/shops/english-stall/vendors/{owner['id']}", headers=AUTH)
    assert other.status_code == 404


async def test_vendor_routes_need_the_token_and_an_existing_shop_and_a_known_role(
    api: httpx.AsyncClient, ganada: None
) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        assert (
            await api.post("/api/v1/shops/ganada/vendor-invites", json={}, headers=headers)
        ).status_code == 401
        assert (await api.get("/api/v1/shops/ganada/vendors", headers=headers)).status_code == 401
        assert (
            await api.delete("/api/v1/shops/ganada/vendors/1", headers=headers)
        ).status_code == 401
        assert (
            await api.get("/api/v1/shops/ganada/poster?bot=livecart_bot", headers=headers)
        ).status_code == 401
    missing = await api.post("/api/v1/shops/nowhere/vendor-invites", json={}, headers=AUTH)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    bad_role = await api.post(
        "/api/v1/shops/ganada/vendor-invites", json={"role": "admin"}, headers=AUTH
    )
    assert bad_role.status_code == 422


def qr_in(html: str) -> list[str]:
    match = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert match is not None
    image = Image.open(io.BytesIO(base64.b64decode(match.group(1))))
    assert image.width >= 1700  # 150 mm at 300 dpi
    return [result.text for result in zxingcpp.read_barcodes(image)]


async def test_the_poster_is_a_printable_page_whose_qr_opens_the_shop(
    api: httpx.AsyncClient, web_context: WebContext, ganada: None
) -> None:
    unknown_bot = await api.get("/api/v1/shops/ganada/poster", headers=AUTH)
    assert unknown_bot.status_code == 503

    web_context.bot_username = "livecart_test_bot"
    poster = await api.get("/api/v1/shops/ganada/poster", headers=AUTH)

    assert poster.status_code == 200
    assert poster.headers["content-type"].startswith("text/html")
    assert "@page { size: A4;" in poster.text
    assert "<h1>가나청과</h1>" in poster.text
    assert "광장시장" in poster.text  # the market
    assert qr_in(poster.text) == ["https://t.me/livecart_test_bot?start=shop_ganada"]

    english = await api.get("/api/v1/shops/english-stall/poster?bot=other_demo_bot", headers=AUTH)
    assert "Point your phone camera here to order right away" in english.text
    assert qr_in(english.text) == ["https://t.me/other_demo_bot?start=shop_english-stall"]
