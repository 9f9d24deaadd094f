"""An order is paid once, for the exact amount, however the provider's reports arrive."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.clock import FrozenClock
from catalog.errors import OrderNotPayable
from catalog.models import (
    Order,
    OrderStatus,
    OutboxMessage,
    Payment,
    PaymentEvent,
    PaymentProvider,
    PaymentStatus,
    Product,
    Vendor,
)
from catalog.orders import expire_unpaid_orders, get_order
from catalog.payments import (
    PaymentOutcome,
    PaymentResult,
    apply_provider_payment,
    list_order_payments,
    record_event,
    start_payment,
)
from tests.factories import make_customer, make_order, make_product, make_shop

PORTONE = PaymentProvider.PORTONE


async def _placed_order(session: AsyncSession, clock: FrozenClock) -> Order:
    """A pending 2 x 32,000 won order of a shop with two vendors; committed."""
    shop = await make_shop(session, clock)
    apple = await make_product(session, clock, shop, stock=10, price=32000)
    for user_id in (7001, 7002):
        session.add(
            Vendor(
                shop_id=shop.id, telegram_user_id=user_id, chat_id=user_id, created_at=clock.now()
            )
        )
    customer = await make_customer(session, clock)
    order = await make_order(session, clock, shop, apple, 2, customer=customer)
    await session.commit()
    return order


async def _report(
    session: AsyncSession,
    clock: FrozenClock,
    payment: Payment,
    status: PaymentStatus = PaymentStatus.PAID,
    amount: int | None = None,
    currency: str = "KRW",
) -> PaymentOutcome:
    outcome = await apply_provider_payment(
        session,
        provider=payment.provider,
        provider_payment_id=payment.provider_payment_id,
        status=status,
        amount=payment.amount if amount is None else amount,
        currency=currency,
        now=clock.now(),
        raw={"status": status.value.upper()},
    )
    await session.commit()
    return outcome


async def _kinds(session: AsyncSession) -> list[tuple[str, int]]:
    rows = (await session.scalars(select(OutboxMessage))).all()
    return sorted((m.kind, m.chat_id) for m in rows)


async def _stock(session: AsyncSession, order: Order) -> tuple[int, int]:
    row = (
        await session.execute(
            select(Product.available, Product.reserved).where(
                Product.id == order.lines[0].product_id
            )
        )
    ).one()
    return row.available, row.reserved


async def test_a_payment_is_started_for_exactly_the_order_total_under_numbered_ids(
    session: AsyncSession, clock: FrozenClock
) -> None:
    order = await _placed_order(session, clock)

    first = await start_payment(session, order, PORTONE, now=clock.now())
    second = await start_payment(session, order, PORTONE, now=clock.now())
    await session.commit()

    assert (first.amount, first.currency, first.status) == (64000, "KRW", PaymentStatus.PENDING)
    assert first.provider_payment_id == f"lc-{order.code}-1"
    assert second.provider_payment_id == f"lc-{order.code}-2"


async def test_no_payment_starts_for_an_order_that_is_paid_or_past_its_reservation(
    session: AsyncSession, clock: FrozenClock
) -> None:
    order = await _placed_order(session, clock)
    clock.advance(timedelta(minutes=15))

    with pytest.raises(OrderNotPayable):
        await start_payment(session, order, PORTONE, now=clock.now())


async def test_a_paid_report_with_the_exact_amount_pays_the_order_and_tells_everyone_once(
    session: AsyncSession, clock: FrozenClock
) -> None:
    order = await _placed_order(session, clock)
    payment = await start_payment(session, order, PORTONE, now=clock.now())
    await session.commit()

    outcome = await _report(session, clock, payment)

    assert outcome.result is PaymentResult.ORDER_PAID
    assert outcome.order is not None and outcome.order.status is OrderStatus.PAID
    assert outcome.payment is not None and outcome.payment.status is PaymentStatus.PAID
    assert outcome.payment.paid_at == clock.now()
    assert not outcome.refund_owed
    assert await _stock(session, order) == (8, 0)
    assert await _kinds(session) == [
        ("order_placed", 5_000_000_001),
        ("order_status", 5_000_000_001),
        ("vendor_order", 7001),
        ("vendor_order", 7002),
    ]


async def test_the_same_report_applied_again_changes_nothing(
    session: AsyncSession, clock: FrozenClock
) -> None:
    order = await _placed_order(session, clock)
    payment = await start_payment(session, order, PORTONE, now=clock.now())
    await session.commit()
    await _report(session, clock, payment)
    before = await _kinds(session)

    clock.advance(timedelta(minutes=1))
    again = [await _report(session, clock, payment) for _ in range(3)]

    assert {o.result for o in again} == {PaymentResult.UNCHANGED}
    assert await _kinds(session) == before
    assert (await get_order(session, order.id)).paid_at == clock.now() - timedelta(minutes=1)
    assert await _stock(session, order) == (8, 0)


@pytest.mark.parametrize(("amount", "currency"), [(1000, "KRW"), (64001, "KRW"), (64000, "USD")])
async def test_a_wrong_amount_or_currency_never_pays_and_the_money_is_owed_back(
    session: AsyncSession, clock: FrozenClock, amount: int, currency: str
) -> None:
    order = await _placed_order(session, clock)
    payment = await start_payment(session, order, PORTONE, now=clock.now())
    await session.commit()

    outcome = await _report(session, clock, payment, amount=amount, currency=currency)

    assert outcome.result is PaymentResult.REFUND_REQUESTED
    assert outcome.reason == "amount_mismatch"
    assert outcome.refund_owed
    assert (await get_order(session, order.id)).status is OrderStatus.PENDING_PAYMENT
    assert await _stock(session, order) == (8, 2)
    # a correct payment can still pay the order
    retry = await start_payment(session, order, PORTONE, now=clock.now())
    await session.commit()
    assert (await _report(session, clock, retry)).result is PaymentResult.ORDER_PAID


async def test_a_second_payment_for_a_paid_order_is_refunded_not_applied(
    session: AsyncSession, clock: FrozenClock
) -> None:
    order = await _placed_order(session, clock)
    first = await start_payment(session, order, PORTONE, now=clock.now())
    second = await start_payment(session, order, PORTONE, now=clock.now())
    await session.commit()
    await _report(session, clock, first)
    before = await _kinds(session)

    outcome = await _report(session, clock, second)

    assert outcome.result is PaymentResult.REFUND_REQUESTED
    assert outcome.reason == "order_already_paid"
    assert outcome.refund_owed
    # the customer only hears that this money goes back; nothing else changes
    assert await _kinds(session) == sorted([*before, ("refund_requested", 5_000_000_001)])
    assert await _stock(session, order) == (8, 0)


async def test_a_payment_after_expiry_is_refunded_and_the_order_stays_expired(
    session: AsyncSession, clock: FrozenClock
) -> None:
    order = await _placed_order(session, clock)
    payment = await start_payment(session, order, PORTONE, now=clock.now())
    await session.commit()
    clock.advance(timedelta(minutes=16))
    assert await expire_unpaid_orders(session, now=clock.now()) == 1
    await session.commit()

    outcome = await _report(session, clock, payment)
    assert outcome.result is PaymentResult.REFUND_REQUESTED
    assert outcome.reason == "order_closed"
    assert (await get_order(session, order.id)).status is OrderStatus.EXPIRED
    assert await _stock(session, order) == (10, 0)

    refunded = await _report(session, clock, payment, status=PaymentStatus.CANCELLED)
    assert refunded.result is PaymentResult.REFUNDED
    assert refunded.payment is not None and refunded.payment.status is PaymentStatus.REFUNDED
    assert refunded.payment.status_reason == "order_closed"


async def test_a_late_report_for_a_lapsed_but_not_yet_expired_order_still_pays_it(
    session: AsyncSession, clock: FrozenClock
) -> None:
    order = await _placed_order(session, clock)
    payment = await start_payment(session, order, PORTONE, now=clock.now())
    await session.commit()
    clock.advance(timedelta(minutes=20))  # the stock is still held: nothing was promised away

    assert (await _report(session, clock, payment)).result is PaymentResult.ORDER_PAID


async def test_pending_failed_and_cancelled_reports_never_pay(
    session: AsyncSession, clock: FrozenClock
) -> None:
    order = await _placed_order(session, clock)
    payment = await start_payment(session, order, PORTONE, now=clock.now())
    await session.commit()

    pending = await _report(session, clock, payment, status=PaymentStatus.PENDING)
    failed = await _report(session, clock, payment, status=PaymentStatus.FAILED)
    failed_again = await _report(session, clock, payment, status=PaymentStatus.FAILED)
    abandoned = await start_payment(session, order, PORTONE, now=clock.now())
    await session.commit()
    cancelled = await _report(session, clock, abandoned, status=PaymentStatus.CANCELLED)

    assert [o.result for o in (pending, failed, failed_again, cancelled)] == [
        PaymentResult.PENDING,
        PaymentResult.FAILED,
        PaymentResult.UNCHANGED,
        PaymentResult.CANCELLED,
    ]
    assert (await get_order(session, order.id)).status is OrderStatus.PENDING_PAYMENT
    # a failed card can be retried under the same payment id and then pays
    assert (await _report(session, clock, payment)).result is PaymentResult.ORDER_PAID


async def test_a_payment_livecart_never_started_changes_nothing(
    session: AsyncSession, clock: FrozenClock
) -> None:
    await _placed_order(session, clock)

    outcome = await apply_provider_payment(
        session,
        provider=PORTONE,
        provider_payment_id="someone-else-1",
        status=PaymentStatus.PAID,
        amount=64000,
        currency="KRW",
        now=clock.now(),
        raw={},
    )

    assert outcome.result is PaymentResult.UNKNOWN_PAYMENT
    assert await session.scalar(select(func.count()).select_from(Payment)) == 0


async def test_an_event_id_is_recorded_once_per_provider(
    session: AsyncSession, clock: FrozenClock
) -> None:
    now = clock.now()
    assert await record_event(session, PORTONE, "msg_1", now=now, type="Transaction.Paid")
    assert not await record_event(session, PORTONE, "msg_1", now=now)
    assert await record_event(session, PaymentProvider.FAKE, "msg_1", now=now)
    await session.commit()

    assert not await record_event(session, PORTONE, "msg_1", now=now)
    await session.commit()
    assert await session.scalar(select(func.count()).select_from(PaymentEvent)) == 2


async def test_the_same_event_recorded_concurrently_is_new_only_once(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async def record() -> bool:
        async with sessionmaker() as s:
            fresh = await record_event(s, PORTONE, "msg_race", now=clock.now())
            await s.commit()
            return fresh

    results = await asyncio.gather(*(record() for _ in range(5)))

    assert sorted(results) == [False, False, False, False, True]


async def test_two_payments_racing_for_one_order_pay_it_once_and_the_other_is_refunded(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with sessionmaker() as session:
        order = await _placed_order(session, clock)
        payments = [await start_payment(session, order, PORTONE, now=clock.now()) for _ in "ab"]
        await session.commit()

    async def report(payment: Payment) -> PaymentOutcome:
        async with sessionmaker() as s:
            return await _report(s, clock, payment)

    outcomes = await asyncio.gather(*(report(p) for p in payments))

    assert sorted(o.result.value for o in outcomes) == ["order_paid", "refund_requested"]
    async with sessionmaker() as session:
        statuses = sorted(p.status.value for p in await list_order_payments(session, order))
        assert statuses == ["paid", "refund_requested"]
        assert (await get_order(session, order.id)).status is OrderStatus.PAID
        assert await _stock(session, order) == (8, 0)
        assert await _kinds(session) == [
            ("order_placed", 5_000_000_001),
            ("order_status", 5_000_000_001),
            ("refund_requested", 5_000_000_001),
            ("vendor_order", 7001),
            ("vendor_order", 7002),
        ]


async def test_the_same_payment_reported_concurrently_pays_once(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with sessionmaker() as session:
        order = await _placed_order(session, clock)
        payment = await start_payment(session, order, PORTONE, now=clock.now())
        await session.commit()

    async def report() -> PaymentOutcome:
        async with sessionmaker() as s:
            return await _report(s, clock, payment)

    outcomes = await asyncio.gather(*(report() for _ in range(5)))

    assert sorted(o.result.value for o in outcomes) == ["order_paid"] + ["unchanged"] * 4
    async with sessionmaker() as session:
        assert len(await _kinds(session)) == 4
