"""The world of the PortOne tests: secrets shared with the fake PortOne, a placed order, a
signed webhook, and a record of what an order looks like after the fact."""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

from catalog.clock import FrozenClock
from catalog.models import (
    Fulfilment,
    Order,
    OrderStatus,
    OrderStatusChange,
    OutboxMessage,
    Payment,
    PaymentProvider,
    PaymentStatus,
    Vendor,
)
from catalog.orders import RequestedLine, get_order, place_order
from catalog.payments import list_order_payments, start_payment
from livecart.fake_portone import FakePortOne
from tests.factories import make_customer, make_product, make_shop

API_SECRET = "test-portone-api-secret"
STORE_ID = "store-00000000-0000-0000-0000-000000000001"
CHANNEL_KEY = "channel-key-00000000-0000-0000-0000-000000000001"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"livecart-test-webhook-secret-32b").decode()
CUSTOMER_CHAT = 5_000_000_001
VENDOR_CHATS = (7001, 7002)

PAID_ONCE_MESSAGES = [
    ("order_placed", CUSTOMER_CHAT),
    ("order_status", CUSTOMER_CHAT),
    ("vendor_order", VENDOR_CHATS[0]),
    ("vendor_order", VENDOR_CHATS[1]),
]
REFUND_MESSAGES = [("refund_done", CUSTOMER_CHAT), ("refund_requested", CUSTOMER_CHAT)]


def fake_portone() -> FakePortOne:
    return FakePortOne(
        api_secret=API_SECRET,
        webhook_secret=WEBHOOK_SECRET,
        store_id=STORE_ID,
        channel_key=CHANNEL_KEY,
        webhook_timeout=5.0,
    )


def paid_at_portone(
    portone: FakePortOne, payment: Payment, *, amount: int | None = None, currency: str = "KRW"
) -> None:
    """The customer paid `payment` at PortOne (by default exactly the amount asked)."""
    portone.open(payment.provider_payment_id, total=payment.amount, order_name="부사 사과 5kg")
    portone.pay(payment.provider_payment_id, amount=amount, currency=currency)


def webhook(
    payment_id: str,
    *,
    msg_id: str | None = None,
    at: datetime | None = None,
    secret: str = WEBHOOK_SECRET,
    type: str = "Transaction.Paid",
) -> tuple[bytes, dict[str, str]]:
    """A PortOne V2 webhook (2024-04-25) for `payment_id`, signed as PortOne signs it."""
    body = json.dumps(
        {
            "type": type,
            "timestamp": datetime.now(UTC).isoformat(),
            "data": {"paymentId": payment_id, "storeId": STORE_ID, "transactionId": "tx-1"},
        },
        ensure_ascii=False,
    ).encode()
    msg_id = msg_id or f"msg_{secrets.token_hex(12)}"
    at = at or datetime.now(UTC)
    return body, {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body.decode()),
        "content-type": "application/json",
    }


async def post(http: httpx.AsyncClient, signed: tuple[bytes, dict[str, str]]) -> httpx.Response:
    body, headers = signed
    return await http.post("/payments/portone/webhook", content=body, headers=headers)


async def placed_order(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, payments: int = 1
) -> tuple[Order, list[Payment]]:
    """A pending 2 x 32,000 won order of a shop with two vendors, and its payment attempts."""
    async with sessionmaker() as session:
        shop = await make_shop(session, clock)
        apple = await make_product(session, clock, shop, stock=10, price=32000)
        for chat in VENDOR_CHATS:
            session.add(
                Vendor(shop_id=shop.id, telegram_user_id=chat, chat_id=chat, created_at=clock.now())
            )
        customer = await make_customer(session, clock, user_id=CUSTOMER_CHAT)
        order = await place_order(
            session,
            shop=shop,
            customer=customer,
            lines=[RequestedLine(apple.id, 2)],
            fulfilment=Fulfilment.PICKUP,
            now=clock.now(),
        )
        started = [
            await start_payment(session, order, PaymentProvider.PORTONE, now=clock.now())
            for _ in range(payments)
        ]
        await session.commit()
    return order, started


@dataclass(frozen=True)
class Record:
    order_status: OrderStatus
    payments: dict[str, PaymentStatus]
    messages: list[tuple[str, int]]
    paid_changes: int


async def record(sessionmaker: async_sessionmaker[AsyncSession], order: Order) -> Record:
    async with sessionmaker() as session:
        fresh = await get_order(session, order.id)
        payments = await list_order_payments(session, fresh)
        messages = (await session.scalars(select(OutboxMessage))).all()
        paid_changes = await session.scalar(
            select(func.count())
            .select_from(OrderStatusChange)
            .where(OrderStatusChange.order_id == order.id, OrderStatusChange.to_status == "paid")
        )
    return Record(
        order_status=fresh.status,
        payments={p.provider_payment_id: p.status for p in payments},
        messages=sorted((m.kind, m.chat_id) for m in messages),
        paid_changes=int(paid_changes or 0),
    )
