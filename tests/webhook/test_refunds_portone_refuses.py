"""Refunds PortOne won't make: refused for good, a person is told once and livecart stops
asking; "not now" (429, 5xx) is asked again; already cancelled for the amount is done.

livecart talks to the fake PortOne over real HTTP; the fake is steered through its /_test hooks.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.factory import build_i18n
from bot.notifications import RenderEnv
from bot.payment_notifications import PAYMENT_RENDERERS
from catalog.clock import FrozenClock
from catalog.models import Order, OutboxMessage, PaymentStatus
from catalog.orders import get_order
from catalog.payments import request_refunds
from livecart.fake_portone import FakePortOne
from tests.webhook.conftest import API_TOKEN, AUTH
from tests.webhook.portone_world import (
    VENDOR_CHATS,
    paid_at_portone,
    placed_order,
    post,
    record,
    webhook,
)
from webhook.context import WebContext
from webhook.payment_sync import settle_owed_refunds


async def refused_after_payment(
    http: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    portone: FakePortOne,
) -> tuple[Order, str]:
    """A customer paid 64,000 won through PortOne, then the shop refused the order."""
    order, [payment] = await placed_order(sessionmaker, clock)
    paid_at_portone(portone, payment)
    assert (await post(http, webhook(payment.provider_payment_id))).status_code == 200
    async with sessionmaker() as session:
        owed = await request_refunds(
            session, await get_order(session, order.id), reason="refused", now=clock.now()
        )
        await session.commit()
    assert len(owed) == 1
    return order, payment.provider_payment_id


async def vendor_alerts(sessionmaker: async_sessionmaker[AsyncSession]) -> list[int]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(OutboxMessage.chat_id).where(OutboxMessage.kind == "refund_failed")
        )
        return sorted(rows)


async def steer(portone: FakePortOne, hook: str, body: dict[str, object]) -> None:
    async with httpx.AsyncClient(base_url=portone.base_url) as client:
        assert (await client.post(f"/_test/{hook}", json=body)).status_code == 200


async def test_a_refund_portone_refuses_is_left_to_a_person_who_hears_once(
    http: httpx.AsyncClient,
    payment_context: WebContext,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    portone: FakePortOne,
) -> None:
    order, payment_id = await refused_after_payment(http, sessionmaker, clock, portone)
    await steer(
        portone,
        "fail-cancels",
        {"count": 99, "status": 400, "type": "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT"},
    )

    assert await settle_owed_refunds(payment_context) == 0

    assert portone.cancel_calls == 1
    assert await vendor_alerts(sessionmaker) == sorted(VENDOR_CHATS)
    # later runs, and PortOne repeating its webhook, don't ask again nor tell again
    assert await settle_owed_refunds(payment_context) == 0
    assert (await post(http, webhook(payment_id))).status_code == 200
    assert portone.cancel_calls == 1
    assert await vendor_alerts(sessionmaker) == sorted(VENDOR_CHATS)
    assert (await record(sessionmaker, order)).payments == {
        payment_id: PaymentStatus.REFUND_REQUESTED
    }
    async with sessionmaker() as session:
        alert = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.kind == "refund_failed").limit(1)
        )
        assert alert is not None
        i18n = build_i18n("ko")
        with i18n.context(), i18n.use_locale("ko"):
            text = await PAYMENT_RENDERERS["refund_failed"](session, alert, "ko", RenderEnv())
    assert text is not None
    assert text.text == (
        f"⚠️ 환불이 되지 않았어요: 주문 {order.code}, ₩64,000. "
        "PortOne 관리자 화면에서 직접 환불해 주세요."
    )
    payment_context.api_token = API_TOKEN
    listed = (await http.get("/api/v1/shops/ganada/orders", headers=AUTH)).json()["items"]
    assert "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT" in listed[0]["refund_problem"]

    # the vendor refunds it in PortOne's console; PortOne's webhook completes the record
    portone.cancel_by_hand(payment_id)
    cancelled = webhook(payment_id, type="Transaction.Cancelled")
    assert (await post(http, cancelled)).status_code == 200
    assert (await record(sessionmaker, order)).payments == {payment_id: PaymentStatus.REFUNDED}
    listed = (await http.get("/api/v1/shops/ganada/orders", headers=AUTH)).json()["items"]
    assert listed[0]["refund_problem"] is None
    assert portone.cancel_calls == 1


async def test_a_refund_portone_cannot_make_now_is_asked_again_and_made(
    http: httpx.AsyncClient,
    payment_context: WebContext,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    portone: FakePortOne,
) -> None:
    order, payment_id = await refused_after_payment(http, sessionmaker, clock, portone)
    await steer(portone, "fail-cancels", {"count": 1, "status": 429, "type": "TOO_MANY_REQUESTS"})

    assert await settle_owed_refunds(payment_context) == 0
    assert await settle_owed_refunds(payment_context) == 1

    assert portone.cancel_calls == 2
    assert (await record(sessionmaker, order)).payments == {payment_id: PaymentStatus.REFUNDED}
    assert await vendor_alerts(sessionmaker) == []


@pytest.mark.parametrize(("cancelled", "refunded"), [(64000, True), (30000, False)])
async def test_a_payment_already_cancelled_at_portone_is_done_only_for_the_amount_owed(
    http: httpx.AsyncClient,
    payment_context: WebContext,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    portone: FakePortOne,
    cancelled: int,
    refunded: bool,
) -> None:
    order, payment_id = await refused_after_payment(http, sessionmaker, clock, portone)
    # someone cancelled it in PortOne's console before livecart's job came round
    await steer(portone, f"payments/{payment_id}", {"status": "CANCELLED", "cancelled": cancelled})

    assert await settle_owed_refunds(payment_context) == int(refunded)

    after = await record(sessionmaker, order)
    if refunded:
        assert after.payments == {payment_id: PaymentStatus.REFUNDED}
        assert await vendor_alerts(sessionmaker) == []
    else:
        assert after.payments == {payment_id: PaymentStatus.REFUND_REQUESTED}
        assert await vendor_alerts(sessionmaker) == sorted(VENDOR_CHATS)
