"""The pay page end to end over real HTTP: livecart and the fake PortOne as two servers.

A test plays the customer's browser: it opens the pay page, presses the button (the start
call, then what the browser SDK does at PortOne), pays at the fake checkout, and follows the
redirect back. The fake PortOne sends its signed webhook to livecart like PortOne would.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
import zxingcpp
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.clock import FrozenClock
from catalog.models import Order, OrderStatus, PaymentStatus
from catalog.orders import get_order
from catalog.payments import request_refunds
from livecart.fake_portone import FakePortOne
from livecart.simulator.server import serve_app
from tests.webhook.portone_world import (
    CHANNEL_KEY,
    CUSTOMER_CHAT,
    PAID_ONCE_MESSAGES,
    REFUND_MESSAGES,
    STORE_ID,
    placed_order,
    record,
)
from webhook.app import create_app
from webhook.context import WebContext
from webhook.payment_sync import settle_owed_refunds


@dataclass
class Shop:
    """livecart and the fake PortOne, both listening; a browser for each."""

    base_url: str
    browser: httpx.AsyncClient  # the customer's browser (no cookies needed)
    portone: FakePortOne
    ctx: WebContext

    async def press_pay(self, token: str) -> dict[str, object]:
        """The pay button: livecart opens an attempt, the SDK opens PortOne's checkout."""
        started = await self.browser.post(f"{self.base_url}/pay/{token}/start")
        assert started.status_code == 200, started.text
        request = started.json()
        opened = await self.browser.post(f"{self.portone.base_url}/checkout", json=request)
        assert opened.status_code == 200, opened.text
        page = await self.browser.get(f"{self.portone.base_url}/checkout/{request['paymentId']}")
        assert "Pay (demo)" in page.text
        return dict(request)

    async def pay_at_checkout(self, payment_id: str, *, button: str = "pay") -> httpx.Response:
        """Press "Pay (demo)" (or "Cancel") at the fake checkout; returns its redirect."""
        response = await self.browser.post(
            f"{self.portone.base_url}/checkout/{payment_id}/{button}"
        )
        assert response.status_code == 303, response.text
        return response


@pytest.fixture
async def shop(payment_context: WebContext, portone: FakePortOne) -> AsyncIterator[Shop]:
    async with serve_app(create_app(payment_context)) as running:
        payment_context.public_base_url = running.base_url
        portone.webhook_url = f"{running.base_url}/payments/portone/webhook"
        async with httpx.AsyncClient(timeout=10) as browser:
            yield Shop(running.base_url, browser, portone, payment_context)


async def token_of(sessionmaker: async_sessionmaker[AsyncSession], order: Order) -> str:
    async with sessionmaker() as session:
        fresh = await get_order(session, order.id)
    assert fresh.pay_token
    return fresh.pay_token


async def test_a_customer_pays_on_the_pay_page_and_the_order_is_paid_exactly_once(
    shop: Shop, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    order, _ = await placed_order(sessionmaker, clock, payments=0)
    token = await token_of(sessionmaker, order)

    page = await shop.browser.get(f"{shop.base_url}/pay/{token}")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="ko">' in page.text
    assert "₩64,000" in page.text and order.code in page.text and "가나청과" in page.text
    assert 'id="pay-button"' in page.text
    assert f"{shop.portone.base_url}/browser-sdk.js" in page.text
    assert f"/pay/{token}/qr.svg" in page.text

    request = await shop.press_pay(token)

    payment_id = str(request["paymentId"])
    assert request == {
        "storeId": STORE_ID,
        "channelKey": CHANNEL_KEY,
        "paymentId": payment_id,
        "orderName": "부사 사과 5kg",
        "totalAmount": 64000,
        "currency": "CURRENCY_KRW",
        "payMethod": "CARD",
        "redirectUrl": f"{shop.base_url}/pay/{token}/done",
    }
    redirect = await shop.pay_at_checkout(payment_id)
    assert shop.portone.webhooks_sent == [(payment_id, 200)]
    paid = await record(sessionmaker, order)
    assert paid.order_status is OrderStatus.PAID
    assert paid.payments == {payment_id: PaymentStatus.PAID}

    done = await shop.browser.get(redirect.headers["location"])
    assert done.status_code == 200
    assert "결제됐어요" in done.text

    # PortOne may notify again and the browser may come back again: nothing more happens
    replays = [await shop.portone.send_webhook(payment_id, "Transaction.Paid") for _ in range(20)]
    again = await shop.browser.get(redirect.headers["location"])
    assert set(replays) == {200}
    assert "결제됐어요" in again.text
    after = await record(sessionmaker, order)
    assert after == paid
    assert after.paid_changes == 1
    assert after.messages == PAID_ONCE_MESSAGES
    assert shop.portone.cancellations == []
    # and the page now says the order is paid, with no button
    closed = await shop.browser.get(f"{shop.base_url}/pay/{token}")
    assert "결제된 주문이에요" in closed.text and "pay-button" not in closed.text


async def test_the_done_page_finds_the_payment_at_portone_when_no_webhook_came(
    shop: Shop, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    order, _ = await placed_order(sessionmaker, clock, payments=0)
    token = await token_of(sessionmaker, order)
    shop.portone.webhook_url = None  # PortOne's webhook is late (or lost)
    request = await shop.press_pay(token)

    redirect = await shop.pay_at_checkout(str(request["paymentId"]))
    assert (await record(sessionmaker, order)).order_status is OrderStatus.PENDING_PAYMENT
    done = await shop.browser.get(redirect.headers["location"])

    assert "결제됐어요" in done.text
    after = await record(sessionmaker, order)
    assert after.order_status is OrderStatus.PAID
    assert after.messages == PAID_ONCE_MESSAGES


async def test_a_customer_who_cancels_at_checkout_can_try_again_and_pay(
    shop: Shop, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    order, _ = await placed_order(sessionmaker, clock, payments=0)
    token = await token_of(sessionmaker, order)
    first = await shop.press_pay(token)

    back = await shop.pay_at_checkout(str(first["paymentId"]), button="cancel")
    done = await shop.browser.get(back.headers["location"])

    assert "결제가 되지 않았어요" in done.text and f"/pay/{token}" in done.text
    assert (await record(sessionmaker, order)).order_status is OrderStatus.PENDING_PAYMENT
    second = await shop.press_pay(token)
    assert second["paymentId"] != first["paymentId"]
    await shop.pay_at_checkout(str(second["paymentId"]))
    after = await record(sessionmaker, order)
    assert after.order_status is OrderStatus.PAID
    assert after.payments == {
        str(first["paymentId"]): PaymentStatus.FAILED,
        str(second["paymentId"]): PaymentStatus.PAID,
    }


async def test_a_wrong_amount_paid_at_portone_leaves_the_order_unpaid_and_is_refunded(
    shop: Shop, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    order, _ = await placed_order(sessionmaker, clock, payments=0)
    token = await token_of(sessionmaker, order)
    request = await shop.press_pay(token)
    payment_id = str(request["paymentId"])

    # a tampered browser (or a PG bug) settles 640 won instead of 64,000
    changed = await shop.browser.post(
        f"{shop.portone.base_url}/_test/payments/{payment_id}",
        json={"status": "PAID", "amount": 640, "webhook": True},
    )

    assert changed.json()["webhook"] == 200
    after = await record(sessionmaker, order)
    assert after.order_status is OrderStatus.PENDING_PAYMENT
    assert after.payments == {payment_id: PaymentStatus.REFUNDED}
    assert after.messages == [("order_placed", CUSTOMER_CHAT), *REFUND_MESSAGES]
    assert shop.portone.cancellations == [(payment_id, "livecart: amount_mismatch")]


async def test_two_payments_racing_for_one_order_pay_it_once_and_the_other_is_refunded(
    shop: Shop, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    order, _ = await placed_order(sessionmaker, clock, payments=0)
    token = await token_of(sessionmaker, order)
    # the customer pressed the button on the phone and on the computer
    one, two = [await shop.press_pay(token) for _ in range(2)]

    await asyncio.gather(
        shop.pay_at_checkout(str(one["paymentId"])), shop.pay_at_checkout(str(two["paymentId"]))
    )

    after = await record(sessionmaker, order)
    assert after.order_status is OrderStatus.PAID
    assert after.paid_changes == 1
    assert sorted(after.payments.values()) == [PaymentStatus.PAID, PaymentStatus.REFUNDED]
    [refunded] = [pid for pid, status in after.payments.items() if status is PaymentStatus.REFUNDED]
    assert shop.portone.cancellations == [(refunded, "livecart: order_already_paid")]
    assert shop.portone.payments[refunded]["status"] == "CANCELLED"
    assert after.messages == sorted(PAID_ONCE_MESSAGES + REFUND_MESSAGES)


async def test_the_refund_job_retries_a_refund_portone_failed_once(
    shop: Shop, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    order, _ = await placed_order(sessionmaker, clock, payments=0)
    token = await token_of(sessionmaker, order)
    request = await shop.press_pay(token)
    payment_id = str(request["paymentId"])
    await shop.pay_at_checkout(payment_id)
    # the shop can't fill the paid order: the lead's refusal flow asks for the money back
    async with sessionmaker() as session:
        paid = await get_order(session, order.id)
        owed = await request_refunds(session, paid, reason="refused", now=clock.now())
        await session.commit()
    assert [p.provider_payment_id for p in owed] == [payment_id]
    await shop.browser.post(f"{shop.portone.base_url}/_test/fail-cancels", json={"count": 1})

    first = await settle_owed_refunds(shop.ctx)

    assert first == 0
    still = await record(sessionmaker, order)
    assert still.payments == {payment_id: PaymentStatus.REFUND_REQUESTED}
    # (a refusal tells the customer in its own status message, not in a refund_requested one)
    assert ("refund_requested", CUSTOMER_CHAT) not in still.messages
    assert ("refund_done", CUSTOMER_CHAT) not in still.messages
    second = await settle_owed_refunds(shop.ctx)
    assert second == 1
    after = await record(sessionmaker, order)
    assert after.payments == {payment_id: PaymentStatus.REFUNDED}
    assert after.messages == sorted([*PAID_ONCE_MESSAGES, ("refund_done", CUSTOMER_CHAT)])
    assert shop.portone.cancellations == [(payment_id, "livecart: refused")]
    assert await settle_owed_refunds(shop.ctx) == 0  # nothing owed any more


async def test_an_unknown_pay_link_is_a_404_page(shop: Shop) -> None:
    for path in ("/pay/not-a-token", "/pay/not-a-token/qr.svg", "/pay/not-a-token/qr.png"):
        response = await shop.browser.get(shop.base_url + path)
        assert response.status_code == 404, path
    page = await shop.browser.get(f"{shop.base_url}/pay/not-a-token")
    assert page.headers["content-type"].startswith("text/html")
    assert "쓸 수 없어요" in page.text
    start = await shop.browser.post(f"{shop.base_url}/pay/not-a-token/start")
    assert start.status_code == 404
    assert start.headers["content-type"] == "application/problem+json"


async def test_an_expired_order_shows_its_status_and_no_pay_button(
    shop: Shop, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    order, _ = await placed_order(sessionmaker, clock, payments=0)
    token = await token_of(sessionmaker, order)
    clock.advance(timedelta(minutes=16))

    page = await shop.browser.get(f"{shop.base_url}/pay/{token}")
    start = await shop.browser.post(f"{shop.base_url}/pay/{token}/start")

    assert page.status_code == 200
    assert "결제 시간이 지났어요" in page.text and "pay-button" not in page.text
    assert start.status_code == 409


async def test_the_qr_codes_carry_exactly_the_pay_link(
    shop: Shop, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    order, _ = await placed_order(sessionmaker, clock, payments=0)
    token = await token_of(sessionmaker, order)

    png = await shop.browser.get(f"{shop.base_url}/pay/{token}/qr.png")
    svg = await shop.browser.get(f"{shop.base_url}/pay/{token}/qr.svg")

    assert png.headers["content-type"] == "image/png"
    decoded = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))]
    assert decoded == [f"{shop.base_url}/pay/{token}"]
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.startswith("<svg")


async def test_the_pay_page_has_no_button_when_payments_are_not_configured(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    order, _ = await placed_order(sessionmaker, clock, payments=0)
    token = await token_of(sessionmaker, order)
    ctx = WebContext(sessionmaker=sessionmaker, clock=clock, api_token=None)
    transport = httpx.ASGITransport(app=create_app(ctx))
    async with httpx.AsyncClient(transport=transport, base_url="http://livecart.test") as client:
        page = await client.get(f"/pay/{token}")
        start = await client.post(f"/pay/{token}/start")

    assert page.status_code == 200 and "₩64,000" in page.text
    assert "pay-button" not in page.text and "온라인 결제를 할 수 없어요" in page.text
    assert start.status_code == 404
