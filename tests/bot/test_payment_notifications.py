"""Refund messages read plainly: the order, the sum in the shop's money, why, and how long."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.factory import build_i18n
from bot.notifications import RenderEnv
from bot.payment_notifications import PAYMENT_RENDERERS
from catalog.clock import FrozenClock
from catalog.models import OutboxMessage, PaymentProvider, PaymentStatus
from catalog.orders import expire_unpaid_orders, get_order
from catalog.payments import apply_provider_payment, request_refunds
from tests.webhook.portone_world import CUSTOMER_CHAT, placed_order


async def rendered(session: AsyncSession, kind: str) -> str:
    row = await session.scalar(select(OutboxMessage).where(OutboxMessage.kind == kind))
    assert row is not None and row.chat_id == CUSTOMER_CHAT
    i18n = build_i18n("ko")
    with i18n.context(), i18n.use_locale("en"):
        outgoing = await PAYMENT_RENDERERS[kind](session, row, "en", RenderEnv())
    assert outgoing is not None
    return outgoing.text


async def test_a_late_payment_tells_the_customer_the_money_goes_back_and_then_that_it_has(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    order, [payment] = await placed_order(sessionmaker, clock)
    async with sessionmaker() as session:
        clock.advance(timedelta(minutes=16))
        await expire_unpaid_orders(session, now=clock.now())
        for status in (PaymentStatus.PAID, PaymentStatus.CANCELLED):
            await apply_provider_payment(
                session,
                provider=PaymentProvider.PORTONE,
                provider_payment_id=payment.provider_payment_id,
                status=status,
                amount=64000,
                currency="KRW",
                now=clock.now(),
                raw={},
            )
        await session.commit()

        requested = await rendered(session, "refund_requested")
        done = await rendered(session, "refund_done")

    assert requested == (
        f"Order {order.code}: we are returning the ₩64,000 you paid "
        "(the time to pay had run out). It can take 3–7 days, depending on your card company."
    )
    assert done == f"Your refund is done: ₩64,000 (order {order.code})."


async def test_refunds_requested_with_an_order_change_are_told_in_its_status_message(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    order, [payment] = await placed_order(sessionmaker, clock)
    async with sessionmaker() as session:
        await apply_provider_payment(
            session,
            provider=PaymentProvider.PORTONE,
            provider_payment_id=payment.provider_payment_id,
            status=PaymentStatus.PAID,
            amount=64000,
            currency="KRW",
            now=clock.now(),
            raw={},
        )
        paid = await get_order(session, order.id)
        first = await request_refunds(session, paid, reason="refused", now=clock.now())
        again = await request_refunds(session, paid, reason="refused", now=clock.now())
        await session.commit()
        kinds = list(await session.scalars(select(OutboxMessage.kind)))

    assert [p.status for p in first] == [PaymentStatus.REFUND_REQUESTED]
    assert again == []
    # the order's refusal or cancellation message says the money goes back: no second message
    assert kinds.count("refund_requested") == 0
