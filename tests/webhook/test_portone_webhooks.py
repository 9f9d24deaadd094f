"""PortOne webhooks end to end: signed notifications over HTTP, a PortOne-shaped API server.

The fake PortOne (livecart/fake_portone.py) is a real HTTP server: livecart reads payments
from it and asks it to cancel, exactly as it would talk to api.portone.io. Webhooks are signed
with standardwebhooks, the way PortOne signs them.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.clock import FrozenClock
from catalog.models import OrderStatus, Payment, PaymentStatus
from catalog.orders import expire_unpaid_orders
from livecart.fake_portone import FakePortOne
from tests.webhook.portone_world import (
    API_SECRET,
    CUSTOMER_CHAT,
    PAID_ONCE_MESSAGES,
    REFUND_MESSAGES,
    paid_at_portone,
    placed_order,
    post,
    record,
    webhook,
)
from webhook.app import create_app
from webhook.context import WebContext
from webhook.payment_sync import recheck_pending_payments

# --- stories ----------------------------------------------------------------------------


async def test_the_fake_portone_answers_in_the_shape_the_official_sdk_reads(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, portone: FakePortOne
) -> None:
    from portone_server_sdk._generated.payment.payment import _deserialize_payment
    from portone_server_sdk.payment import PaidPayment

    _, [payment] = await placed_order(sessionmaker, clock)
    paid_at_portone(portone, payment)
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
    paid_at_portone(portone, payment)

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
    paid_at_portone(portone, payment)
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
    paid_at_portone(portone, payment)
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
    paid_at_portone(portone, payment)
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
    paid_at_portone(portone, payment)
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
    paid_at_portone(portone, payment, amount=640)

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
    # the customer hears the money goes back, then that it has; nothing about a paid order
    assert after.messages == [("order_placed", CUSTOMER_CHAT), *REFUND_MESSAGES]
    assert portone.cancellations == [(payment.provider_payment_id, "livecart: amount_mismatch")]


async def test_two_payments_racing_for_one_order_pay_it_once_and_refund_the_other(
    http: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    portone: FakePortOne,
) -> None:
    order, payments = await placed_order(sessionmaker, clock, payments=2)
    for payment in payments:
        paid_at_portone(portone, payment)

    responses = await asyncio.gather(
        *(post(http, webhook(p.provider_payment_id)) for p in payments)
    )

    assert sorted(r.json()["outcome"] for r in responses) == ["order_paid", "refund_requested"]
    after = await record(sessionmaker, order)
    assert after.order_status is OrderStatus.PAID
    assert sorted(after.payments.values()) == [PaymentStatus.PAID, PaymentStatus.REFUNDED]
    assert after.paid_changes == 1
    assert after.messages == sorted(PAID_ONCE_MESSAGES + REFUND_MESSAGES)
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
    paid_at_portone(portone, payment)

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
    paid_at_portone(portone, payment)
    payment_context.portone_timeout_seconds = 0.2
    portone.delay_seconds = 1.0
    msg_id = "msg_retried"

    first = await post(http, webhook(payment.provider_payment_id, msg_id=msg_id))

    assert first.status_code == 503
    assert (await record(sessionmaker, order)).order_status is OrderStatus.PENDING_PAYMENT
    portone.delay_seconds = 0.0
    payment_context.portone_timeout_seconds = 10.0  # PortOne is back; a loaded CI is no timeout
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


async def test_a_payment_whose_webhook_never_came_is_read_back_and_pays_the_order_once(
    payment_context: WebContext,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    portone: FakePortOne,
) -> None:
    # two attempts at one order: the customer paid with the first, abandoned the second
    order, [payment, abandoned] = await placed_order(sessionmaker, clock, payments=2)
    assert await recheck_pending_payments(payment_context) == 0  # just started: not yet
    assert portone.lookups == 0

    paid_at_portone(portone, payment)  # ...and its webhook is lost
    clock.advance(timedelta(minutes=2))
    assert await recheck_pending_payments(payment_context) == 1
    looked_up = portone.lookups

    after = await record(sessionmaker, order)
    assert after.order_status is OrderStatus.PAID
    assert after.messages == PAID_ONCE_MESSAGES
    assert after.payments[abandoned.provider_payment_id] is PaymentStatus.PENDING
    # the abandoned one was just looked at: left for a minute; the paid one, for good
    assert await recheck_pending_payments(payment_context) == 0
    assert portone.lookups == looked_up
    clock.advance(timedelta(minutes=2))
    assert await recheck_pending_payments(payment_context) == 0
    assert portone.lookups == looked_up + 1  # only the abandoned one, again
    assert (await record(sessionmaker, order)).messages == PAID_ONCE_MESSAGES
