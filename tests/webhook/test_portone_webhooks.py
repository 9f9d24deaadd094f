"""PortOne webhooks end to end: signed notifications over HTTP, a PortOne-shaped API server.

The fake PortOne is a real HTTP server: livecart reads payments from it and asks it to cancel,
exactly as it would talk to api.portone.io. Webhooks are signed with standardwebhooks, the
way PortOne signs them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse
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
from catalog.orders import RequestedLine, expire_unpaid_orders, get_order, place_order
from catalog.payments import list_order_payments, start_payment
from livecart.simulator.server import serve_app
from tests.factories import make_customer, make_product, make_shop
from webhook.app import create_app
from webhook.context import WebContext

API_SECRET = "test-portone-api-secret"
STORE_ID = "store-00000000-0000-0000-0000-000000000001"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"livecart-test-webhook-secret-32b").decode()
CUSTOMER_CHAT = 5_000_000_001
VENDOR_CHATS = (7001, 7002)


# --- a PortOne-shaped API ---------------------------------------------------------------


@dataclass
class FakePortOne:
    """Payments as PortOne would answer `GET /payments/{id}`, and the cancellations asked."""

    base_url: str = ""
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    cancellations: list[tuple[str, str]] = field(default_factory=list)
    lookups: int = 0
    delay_seconds: float = 0.0

    def pay(self, payment: Payment, *, amount: int | None = None, currency: str = "KRW") -> None:
        """The customer paid `payment` (by default its exact amount) at PortOne."""
        total = payment.amount if amount is None else amount
        now = datetime.now(UTC).isoformat()
        self.payments[payment.provider_payment_id] = {
            "status": "PAID",
            "id": payment.provider_payment_id,
            "transactionId": secrets.token_hex(8),
            "merchantId": "merchant-1",
            "storeId": STORE_ID,
            "method": {"type": "PaymentMethodEasyPay", "provider": "KAKAOPAY"},
            "channel": {
                "type": "LIVE",
                "id": "channel-1",
                "key": "channel-key-1",
                "name": "카카오페이",
                "pgProvider": "KAKAOPAY",
                "pgMerchantId": "CID1",
            },
            "version": "V2",
            "requestedAt": now,
            "updatedAt": now,
            "statusChangedAt": now,
            "orderName": "부사 사과 5kg 외",
            "amount": {
                "total": total,
                "taxFree": 0,
                "vat": total // 11,
                "supply": total - total // 11,
                "discount": 0,
                "paid": total,
                "cancelled": 0,
                "cancelledTaxFree": 0,
            },
            "currency": currency,
            "customer": {"name": "손님", "phoneNumber": "01012345678"},
            "isCulturalExpense": False,
            "origin": {"platformType": "MOBILE", "ipAddress": "203.0.113.7"},
            "paidAt": now,
            "pgTxId": secrets.token_hex(6),
            "receiptUrl": "https://receipt.example/1",
            "disputes": [],
        }

    def app(self) -> FastAPI:
        app = FastAPI()

        def unauthorized(authorization: str | None) -> JSONResponse | None:
            if authorization != f"PortOne {API_SECRET}":
                return JSONResponse({"type": "UNAUTHORIZED", "message": "bad secret"}, 401)
            return None

        @app.get("/payments/{payment_id}")
        async def get_payment(
            payment_id: str, authorization: str | None = Header(default=None)
        ) -> JSONResponse:
            self.lookups += 1
            if self.delay_seconds:
                await asyncio.sleep(self.delay_seconds)
            if refused := unauthorized(authorization):
                return refused
            payment = self.payments.get(payment_id)
            if payment is None:
                return JSONResponse({"type": "PAYMENT_NOT_FOUND", "message": "없음"}, 404)
            return JSONResponse(payment)

        @app.post("/payments/{payment_id}/cancel")
        async def cancel_payment(
            payment_id: str,
            body: dict[str, Any],
            authorization: str | None = Header(default=None),
        ) -> JSONResponse:
            if refused := unauthorized(authorization):
                return refused
            payment = self.payments.get(payment_id)
            if payment is None:
                return JSONResponse({"type": "PAYMENT_NOT_FOUND"}, 404)
            if payment["status"] == "CANCELLED":
                return JSONResponse({"type": "PAYMENT_ALREADY_CANCELLED"}, 409)
            self.cancellations.append((payment_id, str(body.get("reason", ""))))
            now = datetime.now(UTC).isoformat()
            payment.update(status="CANCELLED", cancelledAt=now)
            total = payment["amount"]["total"]
            return JSONResponse(
                {
                    "cancellation": {
                        "status": "SUCCEEDED",
                        "id": secrets.token_hex(6),
                        "totalAmount": total,
                        "taxFreeAmount": 0,
                        "vatAmount": total // 11,
                        "reason": body.get("reason", ""),
                        "requestedAt": now,
                        "cancelledAt": now,
                    }
                }
            )

        return app


@pytest.fixture
async def portone() -> AsyncIterator[FakePortOne]:
    fake = FakePortOne()
    async with serve_app(fake.app()) as running:
        fake.base_url = running.base_url
        yield fake


@pytest.fixture
def payment_context(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, portone: FakePortOne
) -> WebContext:
    return WebContext(
        sessionmaker=sessionmaker,
        clock=clock,
        api_token=None,
        portone_api_url=portone.base_url,
        portone_api_secret=API_SECRET,
        portone_webhook_secret=WEBHOOK_SECRET,
        portone_store_id=STORE_ID,
        portone_timeout_seconds=2.0,
    )


@pytest.fixture
async def http(payment_context: WebContext) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(payment_context), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://livecart.test") as client:
        yield client


# --- helpers ----------------------------------------------------------------------------


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


PAID_ONCE_MESSAGES = [
    ("order_placed", CUSTOMER_CHAT),
    ("order_status", CUSTOMER_CHAT),
    ("vendor_order", VENDOR_CHATS[0]),
    ("vendor_order", VENDOR_CHATS[1]),
]


# --- stories ----------------------------------------------------------------------------


async def test_the_fake_portone_answers_in_the_shape_the_official_sdk_reads(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, portone: FakePortOne
) -> None:
    from portone_server_sdk._generated.payment.payment import _deserialize_payment
    from portone_server_sdk.payment import PaidPayment

    _, [payment] = await placed_order(sessionmaker, clock)
    portone.pay(payment)
    async with httpx.AsyncClient(base_url=portone.base_url) as client:
        response = await client.get(
            f"/payments/{payment.provider_payment_id}",
            headers={"Authorization": f"PortOne {API_SECRET}"},
        )

    parsed = _deserialize_payment(response.json())
    assert isinstance(parsed, PaidPayment)
    assert (parsed.amount.total, parsed.currency) == (64000, "KRW")


async def test_a_valid_webhook_pays_the_order_once(
    http: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    portone: FakePortOne,
) -> None:
    order, [payment] = await placed_order(sessionmaker, clock)
    portone.pay(payment)

    response = await post(http, webhook(payment.provider_payment_id))

    assert response.status_code == 200, response.text
    assert response.json() == {"status": "applied", "outcome": "order_paid"}
    after = await record(sessionmaker, order)
    assert after.order_status is OrderStatus.PAID
    assert after.payments == {payment.provider_payment_id: PaymentStatus.PAID}
    assert after.messages == PAID_ONCE_MESSAGES
    assert portone.cancellations == []
    async with sessionmaker() as session:
        stored = await session.scalar(select(Payment).where(Payment.id == payment.id))
        assert stored is not None
        assert stored.raw["amount"]["total"] == 64000
        assert "customer" not in stored.raw  # no personal data kept from PortOne's answer


async def test_twenty_replays_of_a_webhook_change_nothing_more(
    http: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    portone: FakePortOne,
) -> None:
    order, [payment] = await placed_order(sessionmaker, clock)
    portone.pay(payment)
    signed = webhook(payment.provider_payment_id)
    assert (await post(http, signed)).json()["outcome"] == "order_paid"
    paid = await record(sessionmaker, order)

    replies = [await post(http, signed) for _ in range(20)]

    assert {r.status_code for r in replies} == {200}
    assert {r.json()["status"] for r in replies} == {"duplicate"}
    after = await record(sessionmaker, order)
    assert after == paid
    assert after.paid_changes == 1
    assert after.messages == PAID_ONCE_MESSAGES


async def test_another_notification_about_a_paid_payment_changes_nothing_either(
    http: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    portone: FakePortOne,
) -> None:
    order, [payment] = await placed_order(sessionmaker, clock)
    portone.pay(payment)
    await post(http, webhook(payment.provider_payment_id, type="Transaction.Ready"))

    late = await post(http, webhook(payment.provider_payment_id, type="Transaction.Ready"))

    assert late.json() == {"status": "applied", "outcome": "unchanged"}
    after = await record(sessionmaker, order)
    assert after.paid_changes == 1
    assert after.messages == PAID_ONCE_MESSAGES


@pytest.mark.parametrize(
    "forgery",
    ["wrong_secret", "tampered_body", "stale_timestamp", "future_timestamp", "no_signature"],
)
async def test_a_webhook_that_fails_verification_is_refused_and_changes_nothing(
    http: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    portone: FakePortOne,
    forgery: str,
) -> None:
    order, [payment] = await placed_order(sessionmaker, clock)
    portone.pay(payment)
    before = await record(sessionmaker, order)
    pid = payment.provider_payment_id
    if forgery == "wrong_secret":
        other = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        body, headers = webhook(pid, secret=other)
    elif forgery == "tampered_body":
        body, headers = webhook(pid)
        body = body.replace(b"Transaction.Paid", b"Transaction.Paid ")
    elif forgery == "stale_timestamp":
        body, headers = webhook(pid, at=datetime.now(UTC) - timedelta(minutes=5, seconds=30))
    elif forgery == "future_timestamp":
        body, headers = webhook(pid, at=datetime.now(UTC) + timedelta(minutes=6))
    else:
        body, headers = webhook(pid)
        del headers["webhook-signature"]

    response = await post(http, (body, headers))

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert await record(sessionmaker, order) == before
    assert before.order_status is OrderStatus.PENDING_PAYMENT
    assert portone.lookups == 0  # not even a lookup for a forged notification


async def test_a_rotated_key_is_accepted_when_any_signature_matches(
    http: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    portone: FakePortOne,
) -> None:
    order, [payment] = await placed_order(sessionmaker, clock)
    portone.pay(payment)
    body, headers = webhook(payment.provider_payment_id)
    forged = "v1," + base64.b64encode(secrets.token_bytes(32)).decode()
    headers["webhook-signature"] = f"{forged} {headers['webhook-signature']}"

    response = await post(http, (body, headers))

    assert response.json()["outcome"] == "order_paid"
    assert (await record(sessionmaker, order)).order_status is OrderStatus.PAID


async def test_a_wrong_amount_is_refused_refunded_and_leaves_the_order_unpaid(
    http: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    portone: FakePortOne,
) -> None:
    order, [payment] = await placed_order(sessionmaker, clock)
    portone.pay(payment, amount=640)

    response = await post(http, webhook(payment.provider_payment_id))

    assert response.status_code == 200
    assert response.json() == {
        "status": "applied",
        "outcome": "refund_requested",
        "refund": "refunded",
    }
    after = await record(sessionmaker, order)
    assert after.order_status is OrderStatus.PENDING_PAYMENT
    assert after.payments == {payment.provider_payment_id: PaymentStatus.REFUNDED}
    assert after.messages == [("order_placed", CUSTOMER_CHAT)]
    assert portone.cancellations == [(payment.provider_payment_id, "livecart: amount_mismatch")]


async def test_two_payments_racing_for_one_order_pay_it_once_and_refund_the_other(
    http: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    portone: FakePortOne,
) -> None:
    order, payments = await placed_order(sessionmaker, clock, payments=2)
    for payment in payments:
        portone.pay(payment)

    responses = await asyncio.gather(
        *(post(http, webhook(p.provider_payment_id)) for p in payments)
    )

    assert sorted(r.json()["outcome"] for r in responses) == ["order_paid", "refund_requested"]
    after = await record(sessionmaker, order)
    assert after.order_status is OrderStatus.PAID
    assert sorted(after.payments.values()) == [PaymentStatus.PAID, PaymentStatus.REFUNDED]
    assert after.paid_changes == 1
    assert after.messages == PAID_ONCE_MESSAGES
    [refunded] = [pid for pid, s in after.payments.items() if s is PaymentStatus.REFUNDED]
    assert portone.cancellations == [(refunded, "livecart: order_already_paid")]


async def test_a_payment_arriving_after_expiry_is_refunded_and_the_order_stays_expired(
    http: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    portone: FakePortOne,
) -> None:
    order, [payment] = await placed_order(sessionmaker, clock)
    clock.advance(timedelta(minutes=16))
    async with sessionmaker() as session:
        assert await expire_unpaid_orders(session, now=clock.now()) == 1
        await session.commit()
    portone.pay(payment)

    response = await post(http, webhook(payment.provider_payment_id))

    assert response.json()["outcome"] == "refund_requested"
    after = await record(sessionmaker, order)
    assert after.order_status is OrderStatus.EXPIRED
    assert after.payments == {payment.provider_payment_id: PaymentStatus.REFUNDED}
    assert portone.cancellations == [(payment.provider_payment_id, "livecart: order_closed")]
    # PortOne then says "Cancelled": already known, nothing more happens
    cancelled = await post(http, webhook(payment.provider_payment_id, type="Transaction.Cancelled"))
    assert cancelled.json()["outcome"] == "unchanged"
    assert len(portone.cancellations) == 1


async def test_a_provider_timeout_answers_503_so_portone_retries_and_the_retry_pays(
    http: httpx.AsyncClient,
    payment_context: WebContext,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    portone: FakePortOne,
) -> None:
    order, [payment] = await placed_order(sessionmaker, clock)
    portone.pay(payment)
    payment_context.portone_timeout_seconds = 0.2
    portone.delay_seconds = 1.0
    msg_id = "msg_retried"

    first = await post(http, webhook(payment.provider_payment_id, msg_id=msg_id))

    assert first.status_code == 503
    assert (await record(sessionmaker, order)).order_status is OrderStatus.PENDING_PAYMENT
    portone.delay_seconds = 0.0
    retry = await post(http, webhook(payment.provider_payment_id, msg_id=msg_id))
    assert retry.json()["outcome"] == "order_paid"


async def test_notifications_about_other_payments_are_acknowledged_and_ignored(
    http: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    portone: FakePortOne,
) -> None:
    order, _ = await placed_order(sessionmaker, clock)

    unknown = await post(http, webhook("not-a-livecart-payment"))

    assert unknown.status_code == 200
    assert unknown.json()["status"] == "ignored"
    assert (await record(sessionmaker, order)).order_status is OrderStatus.PENDING_PAYMENT


async def test_payments_answer_404_until_configured_and_for_unknown_providers(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    unconfigured = WebContext(sessionmaker=sessionmaker, clock=clock, api_token=None)
    transport = httpx.ASGITransport(app=create_app(unconfigured))
    async with httpx.AsyncClient(transport=transport, base_url="http://livecart.test") as client:
        body, headers = webhook("lc-ANY-1")
        portone = await client.post("/payments/portone/webhook", content=body, headers=headers)
        other = await client.post("/payments/stripe/webhook", content=body, headers=headers)

    assert portone.status_code == 404
    assert portone.headers["content-type"] == "application/problem+json"
    assert other.status_code == 404
