"""Orders reserve stock atomically, move through the state machine, and expire."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.clock import FrozenClock
from catalog.errors import InvalidInput, InvalidTransition, OrderNotCancellable, OutOfStock
from catalog.models import (
    Fulfilment,
    Order,
    OrderStatus,
    OutboxMessage,
    PaymentProvider,
    PaymentStatus,
    Product,
    Vendor,
)
from catalog.orders import (
    RequestedLine,
    cancel_by_customer,
    change_status,
    expire_unpaid_orders,
    get_order,
    mark_paid,
    place_order,
)
from catalog.payments import apply_provider_payment, list_order_payments, start_payment
from tests.factories import make_customer, make_order, make_product, make_shop


async def _stock(session: AsyncSession, product_id: int) -> tuple[int, int]:
    row = (
        await session.execute(
            select(Product.available, Product.reserved).where(Product.id == product_id)
        )
    ).one()
    return row.available, row.reserved


async def test_placing_an_order_reserves_its_stock_and_snapshots_the_lines(
    session: AsyncSession, clock: FrozenClock
) -> None:
    shop = await make_shop(session, clock)
    apple = await make_product(session, clock, shop, stock=10, price=32000)
    customer = await make_customer(session, clock)

    order = await place_order(
        session,
        shop=shop,
        customer=customer,
        lines=[RequestedLine(apple.id, 3)],
        fulfilment=Fulfilment.PICKUP,
        now=clock.now(),
    )
    await session.commit()

    assert order.status is OrderStatus.PENDING_PAYMENT
    assert order.total == 96000
    assert order.expires_at == clock.now() + timedelta(minutes=15)
    assert [(line.name, line.unit_price, line.quantity) for line in order.lines] == [
        ("부사 사과 5kg", 32000, 3)
    ]
    assert order.terms_shown["business_number"] == "123-45-67890"
    assert await _stock(session, apple.id) == (7, 3)
    outbox = (await session.scalars(select(OutboxMessage))).all()
    assert [(m.kind, m.chat_id) for m in outbox] == [("order_placed", customer.chat_id)]


async def test_the_line_snapshot_stays_true_when_the_product_changes_later(
    session: AsyncSession, clock: FrozenClock
) -> None:
    shop = await make_shop(session, clock)
    apple = await make_product(session, clock, shop, price=32000)
    order = await place_order(
        session,
        shop=shop,
        customer=None,
        lines=[RequestedLine(apple.id, 1)],
        fulfilment=Fulfilment.PICKUP,
        now=clock.now(),
    )
    apple.price = 40000
    apple.name = "새 이름"
    await session.commit()
    reloaded = await get_order(session, order.id)
    assert (reloaded.lines[0].name, reloaded.lines[0].unit_price) == ("부사 사과 5kg", 32000)


async def test_an_order_short_of_two_products_fails_whole_and_names_both(
    session: AsyncSession, clock: FrozenClock
) -> None:
    shop = await make_shop(session, clock)
    apple = await make_product(session, clock, shop, sku="apple", stock=5)
    pear = await make_product(session, clock, shop, sku="pear", name="배", stock=1)
    kimchi = await make_product(session, clock, shop, sku="kimchi", name="김치", stock=0)

    with pytest.raises(OutOfStock) as raised:
        await place_order(
            session,
            shop=shop,
            customer=None,
            lines=[
                RequestedLine(apple.id, 2),
                RequestedLine(pear.id, 2),
                RequestedLine(kimchi.id, 1),
            ],
            fulfilment=Fulfilment.PICKUP,
            now=clock.now(),
        )
    await session.commit()  # the edge may still commit: the savepoint left nothing behind

    assert {s.sku for s in raised.value.shortages} == {"pear", "kimchi"}
    assert await _stock(session, apple.id) == (5, 0)
    assert await session.scalar(select(func.count()).select_from(Order)) == 0


async def test_the_same_checkout_token_twice_makes_one_order(
    session: AsyncSession, clock: FrozenClock
) -> None:
    shop = await make_shop(session, clock)
    apple = await make_product(session, clock, shop, stock=10)
    kwargs = dict(
        shop=shop,
        customer=None,
        lines=[RequestedLine(apple.id, 2)],
        fulfilment=Fulfilment.PICKUP,
        now=clock.now(),
        checkout_token="chk-1",
    )
    first = await place_order(session, **kwargs)  # type: ignore[arg-type]
    second = await place_order(session, **kwargs)  # type: ignore[arg-type]
    await session.commit()
    assert first.id == second.id
    assert await _stock(session, apple.id) == (8, 2)


async def test_delivery_without_an_address_is_refused(
    session: AsyncSession, clock: FrozenClock
) -> None:
    shop = await make_shop(session, clock)
    apple = await make_product(session, clock, shop)
    with pytest.raises(InvalidInput):
        await place_order(
            session,
            shop=shop,
            customer=None,
            lines=[RequestedLine(apple.id, 1)],
            fulfilment=Fulfilment.DELIVERY,
            now=clock.now(),
        )


async def test_paying_sells_the_reserved_units_and_alerts_every_vendor(
    session: AsyncSession, clock: FrozenClock
) -> None:
    shop = await make_shop(session, clock)
    apple = await make_product(session, clock, shop, stock=10)
    for user_id in (7001, 7002):
        session.add(
            Vendor(
                shop_id=shop.id, telegram_user_id=user_id, chat_id=user_id, created_at=clock.now()
            )
        )
    customer = await make_customer(session, clock)
    order = await make_order(session, clock, shop, apple, 4, customer=customer)
    order = await mark_paid(session, order, now=clock.now(), actor="test")
    await session.commit()

    assert order.status is OrderStatus.PAID
    assert await _stock(session, apple.id) == (6, 0)
    kinds = sorted(
        (m.kind, m.chat_id) for m in (await session.scalars(select(OutboxMessage))).all()
    )
    assert kinds == [
        ("order_placed", customer.chat_id),
        ("order_status", customer.chat_id),
        ("vendor_order", 7001),
        ("vendor_order", 7002),
    ]


async def test_the_state_machine_refuses_skipping_steps(
    session: AsyncSession, clock: FrozenClock
) -> None:
    shop = await make_shop(session, clock)
    apple = await make_product(session, clock, shop)
    order = await make_order(session, clock, shop, apple, 1)
    with pytest.raises(InvalidTransition):
        await change_status(session, order, OrderStatus.SHIPPED, now=clock.now(), actor="test")
    with pytest.raises(InvalidTransition):
        await change_status(session, order, OrderStatus.COMPLETED, now=clock.now(), actor="test")


async def test_a_customer_cancels_before_acceptance_and_the_stock_comes_back(
    session: AsyncSession, clock: FrozenClock
) -> None:
    shop = await make_shop(session, clock)
    apple = await make_product(session, clock, shop, stock=10)
    customer = await make_customer(session, clock)
    order = await make_order(session, clock, shop, apple, 3, customer=customer)
    order = await cancel_by_customer(session, order, customer, now=clock.now())
    await session.commit()
    assert order.status is OrderStatus.CANCELLED
    assert await _stock(session, apple.id) == (10, 0)


async def test_a_paid_order_cancelled_by_the_customer_returns_stock_and_owes_a_refund(
    session: AsyncSession, clock: FrozenClock
) -> None:
    shop = await make_shop(session, clock)
    apple = await make_product(session, clock, shop, stock=10)
    customer = await make_customer(session, clock)
    order = await make_order(session, clock, shop, apple, 3, customer=customer)
    payment = await start_payment(session, order, PaymentProvider.PORTONE, now=clock.now())
    await apply_provider_payment(
        session,
        provider=PaymentProvider.PORTONE,
        provider_payment_id=payment.provider_payment_id,
        status=PaymentStatus.PAID,
        amount=order.total,
        currency=order.currency,
        now=clock.now(),
        raw={},
    )
    assert await _stock(session, apple.id) == (7, 0)
    order = await cancel_by_customer(session, order, customer, now=clock.now())
    assert order.status is OrderStatus.CANCELLED
    assert await _stock(session, apple.id) == (10, 0)
    payments = await list_order_payments(session, order)
    assert [p.status for p in payments] == [PaymentStatus.REFUND_REQUESTED]


async def test_an_accepted_order_is_no_longer_cancellable_by_the_customer(
    session: AsyncSession, clock: FrozenClock
) -> None:
    shop = await make_shop(session, clock)
    apple = await make_product(session, clock, shop, stock=10)
    customer = await make_customer(session, clock)
    order = await make_order(session, clock, shop, apple, 1, customer=customer)
    order = await mark_paid(session, order, now=clock.now(), actor="test")
    order = await change_status(session, order, OrderStatus.ACCEPTED, now=clock.now(), actor="v")
    with pytest.raises(OrderNotCancellable):
        await cancel_by_customer(session, order, customer, now=clock.now())


async def test_unpaid_orders_expire_after_the_reservation_window_and_release_stock(
    session: AsyncSession, clock: FrozenClock
) -> None:
    shop = await make_shop(session, clock)
    apple = await make_product(session, clock, shop, stock=10)
    customer = await make_customer(session, clock)
    order = await place_order(
        session,
        shop=shop,
        customer=customer,
        lines=[RequestedLine(apple.id, 4)],
        fulfilment=Fulfilment.PICKUP,
        now=clock.now(),
        reservation_minutes=15,
    )
    await session.commit()

    clock.advance(timedelta(minutes=14, seconds=59))
    assert await expire_unpaid_orders(session, now=clock.now()) == 0
    clock.advance(timedelta(seconds=1))
    assert await expire_unpaid_orders(session, now=clock.now()) == 1
    await session.commit()

    assert (await get_order(session, order.id)).status is OrderStatus.EXPIRED
    assert await _stock(session, apple.id) == (10, 0)
    with pytest.raises(InvalidTransition):
        await mark_paid(session, await get_order(session, order.id), now=clock.now(), actor="late")


async def test_a_payment_and_the_expiry_racing_apply_only_one(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with sessionmaker() as session:
        shop = await make_shop(session, clock)
        apple = await make_product(session, clock, shop, stock=10)
        order = await make_order(session, clock, shop, apple, 4)
        await session.commit()
    clock.advance(timedelta(minutes=16))

    async def pay() -> str:
        async with sessionmaker() as s:
            try:
                await mark_paid(s, await get_order(s, order.id), now=clock.now(), actor="pay")
                await s.commit()
                return "paid"
            except InvalidTransition:
                await s.rollback()
                return "refused"

    async def expire() -> str:
        async with sessionmaker() as s:
            count = await expire_unpaid_orders(s, now=clock.now())
            await s.commit()
            return "expired" if count else "nothing"

    results = await asyncio.gather(pay(), expire())
    async with sessionmaker() as session:
        final = await get_order(session, order.id)
        available, reserved = await _stock(session, apple.id)
    assert sorted(results) in (["expired", "refused"], ["nothing", "paid"])
    if final.status is OrderStatus.PAID:
        assert (available, reserved) == (6, 0)
    else:
        assert final.status is OrderStatus.EXPIRED
        assert (available, reserved) == (10, 0)


async def test_an_order_open_when_its_customer_was_forgotten_loses_their_details_on_closing(
    session: AsyncSession, clock: FrozenClock
) -> None:
    from catalog.customers import forget_customer

    shop = await make_shop(session, clock)
    apple = await make_product(session, clock, shop, stock=10)
    customer = await make_customer(session, clock)
    order = await place_order(
        session,
        shop=shop,
        customer=customer,
        lines=[RequestedLine(apple.id, 1)],
        fulfilment=Fulfilment.DELIVERY,
        address="서울시 종로구 종로 1",
        phone="+821012345678",
        recipient_name="손님",
        now=clock.now(),
    )
    await forget_customer(session, customer, now=clock.now())
    kept = await get_order(session, order.id)
    assert kept.address == "서울시 종로구 종로 1"  # still needed to deliver
    closed = await change_status(
        session, kept, OrderStatus.CANCELLED, now=clock.now(), actor="customer"
    )
    assert (closed.recipient_name, closed.phone, closed.address) == ("", None, None)
    assert closed.lines[0].quantity == 1  # the record stays
