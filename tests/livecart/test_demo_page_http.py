"""The demo chat page over HTTP (no browser): the page, its script and style, who the phones
are, and the simulator endpoints the page calls; and the seeding that makes the vendor phone an
owner of the demo shop and the staff phone a member of the market's campaign team."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.campaign_staff import staff_markets
from catalog.clock import FrozenClock
from catalog.models import Vendor, VendorInvite
from catalog.shops import get_shop
from catalog.shows import get_show, upcoming_shows
from livecart.demo import seed_demo_market
from livecart.demo_page import (
    DEMO_PHONES,
    DEMO_SHOP,
    build_demo_router,
    seed_demo_people,
    seed_demo_show,
)
from livecart.simulator import Simulator, create_simulator_app

PHONE_IDS = {phone.role: phone.user_id for phone in DEMO_PHONES}


@pytest.fixture
async def page_client() -> AsyncIterator[tuple[httpx.AsyncClient, Simulator]]:
    simulator = Simulator()
    simulator.register_bot("1000000001:demo-page-test", "demo_page_bot", "livecart")
    for phone in DEMO_PHONES:
        simulator.create_user(
            phone.first_name, user_id=phone.user_id, phone_number=phone.phone_number
        )
    app = FastAPI()
    app.include_router(build_demo_router(simulator_path="/sim"))
    app.mount("/sim", create_simulator_app(simulator))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://demo.test") as client:
        yield client, simulator
    await simulator.aclose()


def page_config(html: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="demo-config">(.*?)</script>', html)
    assert found, html
    config: dict[str, object] = json.loads(found[1])
    return config


async def test_the_page_shows_three_phones_in_korean_first_and_in_english_on_request(
    page_client: tuple[httpx.AsyncClient, Simulator],
) -> None:
    client, _simulator = page_client
    korean = await client.get("/demo")
    assert korean.status_code == 200
    assert korean.headers["content-type"].startswith("text/html")
    assert '<html lang="ko">' in korean.text
    assert "휴대폰 세 대" in korean.text
    for role, user_id in PHONE_IDS.items():
        assert f'id="phone-{role}"' in korean.text
        assert f'data-user-id="{user_id}"' in korean.text
    # every control is a real button or a labelled input; nothing from another origin
    assert korean.text.count('<form class="composer">') == 3
    assert 'for="input-customer"' in korean.text
    assert "https://" not in korean.text
    config = page_config(korean.text)
    assert config["control"] == "/sim/control"
    assert config["text"]["send"] == "보내기"  # type: ignore[index]
    assert [p["role"] for p in config["phones"]] == ["customer", "vendor", "staff"]  # type: ignore[attr-defined]

    english = await client.get("/demo", params={"lang": "en"})
    assert '<html lang="en">' in english.text
    assert "three phones, one bot" in english.text
    assert page_config(english.text)["text"]["send"] == "Send"  # type: ignore[index]
    # a language we don't speak falls back to Korean, not to an error
    assert '<html lang="ko">' in (await client.get("/demo", params={"lang": "xx"})).text

    phones = (await client.get("/demo/phones", params={"lang": "en"})).json()
    assert {p["role"]: p["user_id"] for p in phones} == PHONE_IDS
    customer = phones[0]
    assert {"label": "Language", "text": "/language"} in customer["shortcuts"]

    script = await client.get("/demo/demo.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "EventSource" in script.text and ".innerHTML" not in script.text
    style = await client.get("/demo/demo.css")
    assert style.headers["content-type"].startswith("text/css")
    assert ":focus-visible" in style.text


async def test_what_the_page_calls_on_the_simulator_answers_for_the_phones(
    page_client: tuple[httpx.AsyncClient, Simulator],
) -> None:
    """The page reads a phone's chat, sends as that phone, and follows the event stream."""
    client, simulator = page_client
    customer = PHONE_IDS["customer"]
    sent = await client.post(f"/sim/control/users/{customer}/text", json={"text": "/start"})
    assert sent.status_code == 200
    [message] = (await client.get(f"/sim/control/chats/{customer}/messages")).json()
    assert message["plain_text"] == "/start" and message["from_bot"] is False
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert "caption_entities" in message  # captions are rendered with their formatting
    # a bad action is a readable 4xx the page shows in the phone, never a crash
    empty = await client.post(f"/sim/control/users/{customer}/text", json={"text": " "})
    assert empty.status_code == 400 and empty.json()["detail"]
    # a stranger's chat is simply empty; the page only ever asks for its three phones
    assert (await client.get("/sim/control/chats/1/messages")).json() == []
    simulator.events.close()  # ends the stream so the request below completes
    events = await client.get("/sim/control/events")
    assert events.headers["content-type"].startswith("text/event-stream")


async def test_seeding_makes_the_vendor_an_owner_the_staff_campaign_staff_and_a_show_tomorrow(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    for _run in range(2):  # a demo database kept between runs is seeded again, unchanged
        async with sessionmaker() as session:
            await seed_demo_market(session, now=clock.now())
            await seed_demo_people(session, now=clock.now())
            await seed_demo_show(session, now=clock.now())
            await session.commit()
    async with sessionmaker() as session:
        [vendor] = list(await session.scalars(select(Vendor)))
        invites = list(await session.scalars(select(VendorInvite)))
        markets = await staff_markets(session, PHONE_IDS["staff"])
        shop = await get_shop(session, DEMO_SHOP)
        [show] = await upcoming_shows(session, now=clock.now())
        featured = await get_show(session, show.id)
    assert vendor.telegram_user_id == PHONE_IDS["vendor"] == vendor.chat_id
    assert vendor.role == "owner"
    assert vendor.shop_id == shop.id
    assert len(invites) == 1 and invites[0].used_by_user_id == PHONE_IDS["vendor"]
    assert [market.slug for market in markets] == ["gwangjang"]
    assert show.market_id == markets[0].id and len(featured.featured) == 3
