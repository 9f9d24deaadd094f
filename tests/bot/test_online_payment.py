"""Paying in the chat with PortOne (a fake PortOne at the HTTP level): one message with the Pay
button and a QR of the same link; the pay page, the checkout and the signed webhook pay the
order once; a refusal by the shop refunds through PortOne's cancel API and tells the customer.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.clock import FrozenClock
from catalog.models import Order, OrderStatus, Payment, PaymentStatus
from livecart.fake_portone import FakePortOne
from livecart.simulator.server import serve_app
from tests.bot.conftest import Livecart, find_button, running_livecart, text_of
from tests.bot.test_customer_orders import wait_for_text
from tests.bot.test_vendor_orders import (
    alert_of,
    make_vendor,
    order_an_apple,
    settle,
    stock,
    wait_until,
)
from tests.webhook.portone_world import API_SECRET, CHANNEL_KEY, STORE_ID, WEBHOOK_SECRET
from webhook.payment_sync import settle_owed_refunds

PUBLIC = "https://pay.livecart.example"  # what the links say; the test maps it to the server


@dataclass
class PayWorld:
    livecart: Livecart
    portone: FakePortOne
    portone_url: str
    browser: httpx.AsyncClient

    def local(self, url: str) -> str:
        assert url.startswith(PUBLIC), url
        return self.livecart.http_url + url.removeprefix(PUBLIC)


@pytest.fixture
async def world(database_url: str, clock: FrozenClock) -> AsyncIterator[PayWorld]:
    portone = FakePortOne(
        api_secret=API_SECRET,
        webhook_secret=WEBHOOK_SECRET,
        store_id=STORE_ID,
        channel_key=CHANNEL_KEY,
    )
    async with serve_app(portone.app()) as fake:
        portone.base_url = fake.base_url
        async with running_livecart(
            database_url,
            clock,
            public_base_url=PUBLIC,
            portone_api_url=fake.base_url,
            portone_api_secret=API_SECRET,
            portone_webhook_secret=WEBHOOK_SECRET,
            portone_store_id=STORE_ID,
            portone_channel_key=CHANNEL_KEY,
            portone_browser_sdk_url=f"{fake.base_url}/browser-sdk.js",
        ) as livecart:
            portone.webhook_url = f"{livecart.http_url}/payments/portone/webhook"
            async with httpx.AsyncClient(timeout=10) as browser:
                yield PayWorld(livecart, portone, fake.base_url, browser)


async def test_pay_by_the_button_or_the_qr_then_the_shop_refuses_and_refunds(
    world: PayWorld,
) -> None:
    livecart = world.livecart
    db: async_sessionmaker[AsyncSession] = livecart.runtime.services.sessionmaker
    owner = await make_vendor(livecart, "김가나")
    customer = await livecart.person("김영희", "ko")
    await order_an_apple(customer)

    # one message: the order, a Pay button and a QR code of the very same link
    placed = await customer.last()
    assert placed["photo_file_id"], placed
    pay = find_button(placed, "결제하기")
    image = Image.open(io.BytesIO(await customer.client.file_bytes(placed["photo_file_id"])))
    [decoded] = zxingcpp.read_barcodes(image)
    assert decoded.text == pay["url"]
    async with db() as session:
        order = await session.scalar(select(Order))
        assert order is not None
    assert pay["url"] == f"{PUBLIC}/pay/{order.pay_token}"
    assert order.code not in pay["url"]  # the link carries an opaque token, never the order
    # no vendor hears of an unpaid card order
    assert not [m for m in await owner.bot_messages() if "🔔" in text_of(m)]

    # the phone opens the link: the pay page, PortOne's checkout, "Pay"
    page = await world.browser.get(world.local(pay["url"]))
    assert "₩32,000" in page.text
    started = await world.browser.post(world.local(pay["url"]) + "/start")
    request = started.json()
    assert request["totalAmount"] == 32000
    opened = await world.browser.post(f"{world.portone_url}/checkout", json=request)
    assert opened.status_code == 200
    paid = await world.browser.post(f"{world.portone_url}/checkout/{request['paymentId']}/pay")
    assert paid.status_code == 303
    assert world.portone.webhooks_sent == [(request["paymentId"], 200)]

    await wait_for_text(customer, "결제 완료")
    alert = await alert_of(owner, "결제 완료")
    await owner.tap("품절/거절", alert)
    await owner.tap("품절")
    refused = await wait_for_text(customer, "품절")
    assert "돌려드" in text_of(refused)
    assert await stock(db, "apple-5kg") == (20, 0)

    # the refund job gives the money back through PortOne's cancel API
    assert await settle_owed_refunds(livecart.runtime.web) == 1
    assert world.portone.cancellations == [(request["paymentId"], "livecart: refused")]
    done = await wait_for_text(customer, "환불이 끝났어요")
    assert "₩32,000" in text_of(done)
    await settle(livecart)
    async with db() as session:
        statuses = list(await session.scalars(select(Payment.status)))
        order = await session.scalar(select(Order))
    assert statuses == [PaymentStatus.REFUNDED]
    assert order is not None and order.status is OrderStatus.REFUSED
    # the customer: placed, paid, refused (saying the money goes back), refunded — once each
    texts = [text_of(m) for m in await customer.bot_messages()]
    mine = [t for t in texts if order.code in t and not t.startswith("✅ 주문이")]
    assert len(mine) == 4, mine
    await wait_until(owner, alert["message_id"], "거절")
