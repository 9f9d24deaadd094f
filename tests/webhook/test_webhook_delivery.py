"""Merchant webhooks end to end: a real receiver checks every signature with standardwebhooks,
answers 500 for a while, and sees each event exactly once after it recovers.

The receiver listens on 127.0.0.1, so these tests set LIVECART_WEBHOOK_ALLOW_PRIVATE_URLS
(`webhook_allow_private_urls`); the test of the guard itself runs without it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook, WebhookVerificationError

from catalog.clock import FrozenClock
from catalog.models import (
    OutboxMessage,
    Vendor,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
)
from catalog.orders import get_order, mark_paid
from catalog.products import get_product
from catalog.shops import get_shop
from catalog.webhook_events import claim_due_deliveries
from livecart.simulator.server import serve_app
from tests.factories import make_order, make_product, make_shop
from tests.webhook.conftest import API_TOKEN, AUTH
from webhook.context import WebContext
from webhook.delivery import WebhookDeliverer


@dataclass
class Receiver:
    """A merchant's server: verifies each delivery, fails while `failing`."""

    secret: str = ""
    failing: bool = False
    attempts: list[str] = field(default_factory=list)  # webhook-id of every request
    accepted: dict[str, dict[str, object]] = field(default_factory=dict)
    bad_signatures: int = 0
    base_url: str = ""

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hooks")
        async def hooks(request: Request) -> Response:
            body = await request.body()
            try:
                event = Webhook(self.secret).verify(body, dict(request.headers))
            except WebhookVerificationError:
                self.bad_signatures += 1
                return Response(status_code=400)
            message_id = request.headers["webhook-id"]
            self.attempts.append(message_id)
            if self.failing:
                return Response(status_code=500)
            self.accepted.setdefault(message_id, event)  # a repeat is ignored, as it should be
            return Response(status_code=204)

        return app


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    async with serve_app(found.app()) as running:
        found.base_url = running.base_url
        yield found


@pytest.fixture
def web_context(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> WebContext:
    """The receiver is on this machine: private URLs allowed, as in `livecart demo`."""
    return WebContext(
        sessionmaker=sessionmaker, clock=clock, api_token=API_TOKEN, webhook_allow_private_urls=True
    )


@pytest.fixture
async def deliverer(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> AsyncIterator[WebhookDeliverer]:
    async with httpx.AsyncClient() as client:
        yield WebhookDeliverer(
            sessionmaker,
            clock,
            client,
            lease_seconds=60,
            timeout_seconds=5,
            allow_private_urls=True,
        )


async def _shop_with_endpoint(
    api: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    receiver: Receiver,
) -> int:
    async with sessionmaker() as session:
        shop = await make_shop(session, clock)
        await make_product(session, clock, shop, stock=2)
        session.add(
            Vendor(shop_id=shop.id, telegram_user_id=7001, chat_id=7001, created_at=clock.now())
        )
        await session.commit()
    response = await api.post(
        "/api/v1/webhook-endpoints",
        json={
            "url": f"{receiver.base_url}/hooks",
            "shop": "ganada",
            "events": [
                "order.created",
                "order.paid",
                "order.status_changed",
                "stock.changed",
                "product.sold_out",
            ],
        },
        headers=AUTH,
    )
    assert response.status_code == 201, response.text
    receiver.secret = response.json()["secret"]
    assert receiver.secret.startswith("whsec_")
    return int(response.json()["id"])


async def _sell_both_boxes(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with sessionmaker() as session:
        shop = await get_shop(session, "ganada")
        product = await get_product(session, shop, "apple-5kg")
        order = await make_order(session, clock, shop, product, 2)
        await mark_paid(session, await get_order(session, order.id), now=clock.now(), actor="t")
        await session.commit()


async def test_deliveries_are_signed_retried_after_500_and_arrive_once_each_after_recovery(
    api: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    receiver: Receiver,
    deliverer: WebhookDeliverer,
) -> None:
    await _shop_with_endpoint(api, sessionmaker, clock, receiver)
    await _sell_both_boxes(sessionmaker, clock)
    receiver.failing = True
    sent = await deliverer.deliver_due()
    assert sent >= 5
    first_round = list(receiver.attempts)
    assert await deliverer.deliver_due() == 0  # backing off: nothing is due yet
    clock.advance(timedelta(hours=1))
    await deliverer.deliver_due()
    assert sorted(receiver.attempts[len(first_round) :]) == sorted(first_round)  # same ids
    receiver.failing = False
    clock.advance(timedelta(hours=2))
    while await deliverer.deliver_due():
        pass
    clock.advance(timedelta(hours=30))
    assert await deliverer.deliver_due() == 0
    assert receiver.bad_signatures == 0
    types = sorted(str(e["type"]) for e in receiver.accepted.values())
    assert types.count("order.created") == 1
    assert types.count("order.paid") == 1
    assert types.count("product.sold_out") == 1
    assert "stock.changed" in types and "order.status_changed" in types
    assert len(receiver.accepted) == len(first_round)  # every event, exactly once
    async with sessionmaker() as session:
        statuses = set(await session.scalars(select(WebhookDelivery.status)))
    assert statuses == {WebhookDeliveryStatus.DELIVERED}


async def test_a_worker_killed_mid_delivery_loses_no_event(
    api: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    receiver: Receiver,
    deliverer: WebhookDeliverer,
) -> None:
    await _shop_with_endpoint(api, sessionmaker, clock, receiver)
    await _sell_both_boxes(sessionmaker, clock)
    async with sessionmaker() as session, session.begin():  # a worker claims, then dies
        claimed = await claim_due_deliveries(session, now=clock.now(), limit=100, lease_seconds=60)
    assert claimed
    assert await deliverer.deliver_due() == 0  # the dead worker's lease still holds
    clock.advance(timedelta(seconds=61))
    assert await deliverer.deliver_due() == len(claimed)
    assert len(receiver.accepted) == len(claimed)


async def test_an_endpoint_failing_for_a_day_is_disabled_and_the_vendor_told_then_replayed(
    api: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    receiver: Receiver,
    deliverer: WebhookDeliverer,
) -> None:
    endpoint_id = await _shop_with_endpoint(api, sessionmaker, clock, receiver)
    await _sell_both_boxes(sessionmaker, clock)
    receiver.failing = True
    start = clock.now()
    while clock.now() - start < timedelta(hours=25):
        await deliverer.deliver_due()
        clock.advance(timedelta(minutes=30))
    async with sessionmaker() as session:
        endpoint = await session.get(WebhookEndpoint, endpoint_id)
        assert endpoint is not None and not endpoint.enabled
        alerts = list(
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == "webhook_disabled")
            )
        )
    assert [a.chat_id for a in alerts] == [7001]
    tries = receiver.attempts.count(receiver.attempts[0])
    assert tries >= 8  # backoff retried it all day long
    listed = await api.get(f"/api/v1/webhook-endpoints/{endpoint_id}/deliveries", headers=AUTH)
    assert listed.status_code == 200
    deliveries = listed.json()
    assert {d["status"] for d in deliveries} <= {"failed", "pending"}
    receiver.failing = False
    replay = await api.post(
        f"/api/v1/webhook-deliveries/{deliveries[0]['id']}/replay", headers=AUTH
    )
    assert replay.status_code == 200, replay.text
    while await deliverer.deliver_due():
        pass
    assert deliveries[0]["message_id"] in receiver.accepted
    endpoints = (await api.get("/api/v1/webhook-endpoints", headers=AUTH)).json()
    assert endpoints[0]["enabled"] is True


async def test_a_name_that_resolves_to_a_private_address_is_refused_at_delivery(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # DNS rebinding: a name registered as public points at 127.0.0.1 by the time of delivery
    dns = {"pos.example": ["93.184.216.34"], "rebind.example": ["93.184.216.34", "127.0.0.1"]}
    seen: list[httpx.Request] = []

    def merchant(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    async def resolver(host: str, port: int) -> list[str]:
        assert port == 443
        return dns[host]

    async with sessionmaker() as session:
        await make_shop(session, clock)
        await session.commit()
    for host in dns:
        body = {"url": f"https://{host}/hooks", "shop": "ganada", "events": ["order.created"]}
        registered = await api.post("/api/v1/webhook-endpoints", json=body, headers=AUTH)
        assert registered.status_code == 201, registered.text
    async with sessionmaker() as session:
        shop = await get_shop(session, "ganada")
        await make_order(session, clock, shop, await make_product(session, clock, shop))
        await session.commit()
    transport = httpx.MockTransport(merchant)
    async with httpx.AsyncClient(transport=transport) as client:
        guarded = WebhookDeliverer(sessionmaker, clock, client, resolver=resolver)
        assert await guarded.deliver_due() == 2

    # the public one went to the address that was checked, under its own name
    [request] = seen
    assert request.url.host == "93.184.216.34"
    assert request.headers["host"] == "pos.example"
    assert request.extensions["sni_hostname"] == "pos.example"
    async with sessionmaker() as session:
        rows = {
            url: (status, error)
            for url, status, error in (
                await session.execute(
                    select(
                        WebhookEndpoint.url, WebhookDelivery.status, WebhookDelivery.last_error
                    ).join(WebhookEndpoint)
                )
            ).all()
        }
    assert rows["https://pos.example/hooks"] == (WebhookDeliveryStatus.DELIVERED, "")
    status, error = rows["https://rebind.example/hooks"]
    assert status is WebhookDeliveryStatus.PENDING  # retried by the usual policy
    assert "rebind.example resolves to 127.0.0.1" in error
