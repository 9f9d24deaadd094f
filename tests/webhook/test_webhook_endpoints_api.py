"""Who may register which webhook endpoint, and which events reach a market's endpoint."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.clock import FrozenClock
from catalog.models import WebhookDelivery
from catalog.products import get_product
from catalog.shops import get_shop
from tests.factories import make_market, make_order, make_product, make_shop
from tests.webhook.conftest import AUTH

HOOK = {"url": "https://pos.example/hooks", "events": ["order.created"]}


async def _two_shops_in_a_market(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with sessionmaker() as session:
        market = await make_market(session, clock)
        for slug in ("ganada", "other"):
            shop = await make_shop(session, clock, slug=slug, market=market)
            await make_product(session, clock, shop)
        await session.commit()


async def test_a_shop_token_registers_for_its_own_shop_only_and_sees_only_its_endpoints(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await _two_shops_in_a_market(sessionmaker, clock)
    created = await api.post("/api/v1/shops/ganada/api-tokens", json={}, headers=AUTH)
    token = {"Authorization": f"Bearer {created.json()['token']}"}
    mine = await api.post(
        "/api/v1/webhook-endpoints", json={**HOOK, "shop": "ganada"}, headers=token
    )
    assert mine.status_code == 201, mine.text
    assert "secret" in mine.json()
    theirs = await api.post(
        "/api/v1/webhook-endpoints", json={**HOOK, "shop": "other"}, headers=AUTH
    )
    for body in ({**HOOK, "shop": "other"}, {**HOOK, "market": "gwangjang"}):
        refused = await api.post("/api/v1/webhook-endpoints", json=body, headers=token)
        assert refused.status_code == 403
    listed = (await api.get("/api/v1/webhook-endpoints", headers=token)).json()
    assert [e["id"] for e in listed] == [mine.json()["id"]]
    assert all("secret" not in e for e in listed)
    other_id = theirs.json()["id"]
    assert (
        await api.delete(f"/api/v1/webhook-endpoints/{other_id}", headers=token)
    ).status_code == 403
    deliveries = await api.get(f"/api/v1/webhook-endpoints/{other_id}/deliveries", headers=token)
    assert deliveries.status_code == 403
    both = {
        "url": "https://x.example/h",
        "events": ["order.created"],
        "shop": "ganada",
        "market": "gwangjang",
    }
    assert (await api.post("/api/v1/webhook-endpoints", json=both, headers=AUTH)).status_code == 422
    removed = await api.delete(f"/api/v1/webhook-endpoints/{mine.json()['id']}", headers=token)
    assert removed.status_code == 204


async def test_a_market_endpoint_hears_every_shop_of_the_market(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await _two_shops_in_a_market(sessionmaker, clock)
    response = await api.post(
        "/api/v1/webhook-endpoints", json={**HOOK, "market": "gwangjang"}, headers=AUTH
    )
    assert response.status_code == 201, response.text
    async with sessionmaker() as session:
        for slug in ("ganada", "other"):
            shop = await get_shop(session, slug)
            await make_order(session, clock, shop, await get_product(session, shop, "apple-5kg"))
        await session.commit()
        events = list(await session.scalars(select(WebhookDelivery.payload)))
    assert sorted(e["data"]["shop_id"] for e in events) == sorted(
        {e["data"]["shop_id"] for e in events}
    )
    assert [e["type"] for e in events] == ["order.created", "order.created"]


UNSAFE_URLS = [
    "http://127.0.0.1:5432/",
    "https://127.1/hooks",  # an old spelling of 127.0.0.1
    "https://[::1]/hooks",
    "https://[::ffff:10.0.0.5]/hooks",
    "https://169.254.169.254/latest/meta-data/",
    "https://10.0.0.5/hooks",
    "https://192.168.0.10/hooks",
    "https://224.0.0.1/hooks",
    "https://0.0.0.0/hooks",
    "http://localhost/hooks",
    "https://localhost./hooks",
    "https://api.localhost/hooks",
    "http://pos.example/hooks",  # plain http: only with LIVECART_WEBHOOK_ALLOW_PRIVATE_URLS
    "ftp://pos.example/hooks",
    "https://user:pw@pos.example/hooks",
]


async def test_webhook_urls_to_private_or_unsafe_places_are_refused(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with sessionmaker() as session:
        await make_shop(session, clock)
        await session.commit()
    for url in UNSAFE_URLS:
        body = {"url": url, "events": ["order.created"], "shop": "ganada"}
        refused = await api.post("/api/v1/webhook-endpoints", json=body, headers=AUTH)
        assert refused.status_code == 422, (url, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        assert "webhook URL" in refused.json()["detail"], url
    assert (await api.get("/api/v1/webhook-endpoints", headers=AUTH)).json() == []
