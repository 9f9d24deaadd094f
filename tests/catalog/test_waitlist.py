"""Waitlists (재입고 알림) at the catalog level: the line's order, holds as reservations,
claimed once, passed on when they lapse or the customer leaves, entries lapsing after 30 days;
and unpaid orders reminded once before they lapse."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.clock import FrozenClock
from catalog.customers import forget_customer
from catalog.errors import OutOfStock
from catalog.models import (
    Customer,
    Fulfilment,
    Order,
    OrderStatus,
    OutboxMessage,
    Product,
    WaitlistEntry,
    WaitlistStatus,
)
from catalog.orders import (
    RequestedLine,
    expire_unpaid_orders,
    mark_paid,
    nudge_unpaid_orders,
    place_order,
)
from catalog.products import ProductInUse, delete_product
from catalog.stock import adjust_available, set_available, set_hidden
from catalog.stock_sync import StockUpdate, apply_stock_updates
from catalog.waitlist import (
    JoinOutcome,
    join_waitlist,
    leave_waitlist,
    run_waitlists,
    sellable_for,
    waiting_counts,
    withdraw_holds,
)
from tests.factories import make_customer, make_product, make_shop


async def stock(session: AsyncSession, product: Product) -> tuple[int, int]:
    await session.refresh(product)
    return product.available, product.reserved


async def statuses(session: AsyncSession, product: Product) -> list[WaitlistStatus]:
    rows = await session.scalars(
        select(WaitlistEntry.status)
        .where(WaitlistEntry.product_id == product.id)
        .order_by(WaitlistEntry.joined_at, WaitlistEntry.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def messages(session: AsyncSession, kind: str, chat_id: int | None = None) -> int:
    query = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == kind)
    if chat_id is not None:
        query = query.where(OutboxMessage.chat_id == chat_id)
    return int(await session.scalar(query) or 0)


async def customers(session: AsyncSession, clock: FrozenClock, n: int) -> list[Customer]:
    return [await make_customer(session, clock, user_id=5_000_000_001 + i) for i in range(n)]


async def order_one(
    session: AsyncSession, clock: FrozenClock, product: Product, customer: Customer | None
) -> Order:
    shop = await make_shop(session, clock)  # the same shop (upserted by slug)
    return await place_order(
        session,
        shop=shop,
        customer=customer,
        lines=[RequestedLine(product.id, 1)],
        fulfilment=Fulfilment.PICKUP,
        now=clock.now(),
    )


async def test_a_double_tap_keeps_one_place_and_one_tap_leaves(
    session: AsyncSession, clock: FrozenClock
) -> None:
    shop = await make_shop(session, clock)
    apple = await make_product(session, clock, shop, stock=0)
    anna, ben = await customers(session, clock, 2)

    assert await join_waitlist(session, anna, apple, now=clock.now()) is JoinOutcome.JOINED
    assert await join_waitlist(session, anna, apple, now=clock.now()) is JoinOutcome.ALREADY
    assert await join_waitlist(session, ben, apple, now=clock.now()) is JoinOutcome.JOINED
    assert await statuses(session, apple) == [WaitlistStatus.WAITING] * 2
    assert (await waiting_counts(session, [apple.id], now=clock.now()))[apple.id].waiting == 2

    assert await leave_waitlist(session, anna, apple.id, now=clock.now())
    assert not await leave_waitlist(session, anna, apple.id, now=clock.now())  # second tap
    await set_available(session, apple.id, 1, now=clock.now(), actor="t")
    assert await stock(session, apple) == (0, 1)  # held for ben, the one still waiting
    assert await messages(session, "waitlist_offer", ben.chat_id) == 1
    assert await messages(session, "waitlist_offer", anna.chat_id) == 0

    # a product in stock with nobody waiting needs no alert
    pear = await make_product(session, clock, shop, sku="pear", name="배", stock=3)
    assert await join_waitlist(session, anna, pear, now=clock.now()) is JoinOutcome.IN_STOCK


async def test_a_hold_is_claimed_once_by_its_customers_order_and_never_reserved_twice(
    session: AsyncSession, clock: FrozenClock
) -> None:
    shop = await make_shop(session, clock)
    apple = await make_product(session, clock, shop, stock=0)
    anna, ben = await customers(session, clock, 2)
    await join_waitlist(session, anna, apple, now=clock.now())
    await join_waitlist(session, ben, apple, now=clock.now())

    await set_available(session, apple.id, 1, now=clock.now(), actor="t")
    assert await stock(session, apple) == (0, 1)
    order = await order_one(session, clock, apple, anna)  # the held unit: no second reserve
    assert await stock(session, apple) == (0, 1)
    assert await statuses(session, apple) == [WaitlistStatus.CLAIMED, WaitlistStatus.WAITING]

    # the hold is gone: the lapse job has nothing to release, and paying sells the one unit
    clock.advance(timedelta(minutes=11))
    await run_waitlists(session, now=clock.now())
    assert await stock(session, apple) == (0, 1)
    await mark_paid(session, order, now=clock.now(), actor="t")
    assert await stock(session, apple) == (0, 0)
    assert await statuses(session, apple) == [WaitlistStatus.CLAIMED, WaitlistStatus.WAITING]


async def test_an_unclaimed_hold_passes_on_and_an_expired_order_goes_to_the_line_too(
    session: AsyncSession, clock: FrozenClock
) -> None:
    shop = await make_shop(session, clock, waitlist_hold_minutes=5)
    apple = await make_product(session, clock, shop, stock=0)
    anna, ben, cleo = await customers(session, clock, 3)
    for customer in (anna, ben, cleo):
        await join_waitlist(session, customer, apple, now=clock.now())
        clock.advance(timedelta(seconds=1))

    # a stock sync brings one unit: anna (first) holds it for the shop's 5 minutes
    await apply_stock_updates(
        session, shop, [StockUpdate(sku=apple.sku, version=1, delta=1)], now=clock.now()
    )
    assert await stock(session, apple) == (0, 1)
    clock.advance(timedelta(minutes=4))
    await run_waitlists(session, now=clock.now())
    assert (await statuses(session, apple))[0] is WaitlistStatus.OFFERED  # not yet lapsed

    clock.advance(timedelta(minutes=1))
    await run_waitlists(session, now=clock.now())
    await run_waitlists(session, now=clock.now())  # again: passed on once
    assert await statuses(session, apple) == [
        WaitlistStatus.MISSED,
        WaitlistStatus.OFFERED,
        WaitlistStatus.WAITING,
    ]
    assert await messages(session, "waitlist_missed", anna.chat_id) == 1
    assert await stock(session, apple) == (0, 1)

    # ben orders but never pays: when the order expires the unit goes to cleo
    await order_one(session, clock, apple, ben)
    clock.advance(timedelta(minutes=16))
    await expire_unpaid_orders(session, now=clock.now())
    assert await statuses(session, apple) == [
        WaitlistStatus.MISSED,
        WaitlistStatus.CLAIMED,
        WaitlistStatus.OFFERED,
    ]
    assert await stock(session, apple) == (0, 1)
    assert await messages(session, "waitlist_offer", cleo.chat_id) == 1


async def test_a_waitlist_entry_lapses_after_30_days(
    session: AsyncSession, clock: FrozenClock
) -> None:
    shop = await make_shop(session, clock)
    apple = await make_product(session, clock, shop, stock=0)
    (anna,) = await customers(session, clock, 1)
    await join_waitlist(session, anna, apple, now=clock.now())

    clock.advance(timedelta(days=30))
    await set_available(session, apple.id, 5, now=clock.now(), actor="t")
    assert await stock(session, apple) == (5, 0)  # nobody offered: the entry ran out
    await run_waitlists(session, now=clock.now())
    assert await statuses(session, apple) == [WaitlistStatus.LAPSED]
    assert await messages(session, "waitlist_offer") == 0


async def test_an_unpaid_order_is_nudged_once_and_a_paid_one_never(
    session: AsyncSession, clock: FrozenClock
) -> None:
    shop = await make_shop(session, clock)
    apple = await make_product(session, clock, shop, stock=5)
    anna, ben = await customers(session, clock, 2)
    unpaid = await order_one(session, clock, apple, anna)
    paid = await order_one(session, clock, apple, ben)
    await mark_paid(session, paid, now=clock.now(), actor="t")

    clock.advance(timedelta(minutes=9))
    assert await nudge_unpaid_orders(session, now=clock.now()) == 0  # 6 minutes left: too early
    clock.advance(timedelta(minutes=1))
    assert await nudge_unpaid_orders(session, now=clock.now()) == 1
    clock.advance(timedelta(minutes=2))
    assert await nudge_unpaid_orders(session, now=clock.now()) == 0  # never twice
    clock.advance(timedelta(minutes=3))
    assert await expire_unpaid_orders(session, now=clock.now()) == 1
    assert await expire_unpaid_orders(session, now=clock.now()) == 0

    await session.refresh(unpaid)
    assert unpaid.status is OrderStatus.EXPIRED and unpaid.payment_nudged_at is not None
    assert await messages(session, "payment_nudge", anna.chat_id) == 1
    assert await messages(session, "payment_nudge", ben.chat_id) == 0
    lapse = await session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.dedupe_key.like("order:%:expired"))
    )
    assert lapse == 1
    assert await stock(session, apple) == (4, 0)


async def test_concurrent_restocks_sweeps_and_outside_buyers_never_jump_the_line(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with sessionmaker() as session:
        shop = await make_shop(session, clock)
        apple = await make_product(session, clock, shop, stock=0)
        waiting = await customers(session, clock, 5)
        for customer in waiting:
            await join_waitlist(session, customer, apple, now=clock.now())
            clock.advance(timedelta(seconds=1))
        outsiders = [
            await make_customer(session, clock, user_id=6_000_000_001 + i) for i in range(3)
        ]
        await session.commit()
        product_id = apple.id

    async def restock() -> str:
        async with sessionmaker() as session:
            await adjust_available(session, product_id, 1, now=clock.now(), actor="t")
            await session.commit()
            return "restocked"

    async def sweep() -> str:
        async with sessionmaker() as session:
            await run_waitlists(session, now=clock.now())
            await session.commit()
            return "swept"

    async def buy(customer: Customer) -> str:
        async with sessionmaker() as session:
            try:
                product = await session.get(Product, product_id)
                assert product is not None
                await order_one(session, clock, product, customer)
                await session.commit()
                return "bought"
            except OutOfStock:
                await session.rollback()
                return "sold out"

    results = await asyncio.gather(
        *(restock() for _ in range(4)), *(sweep() for _ in range(2)), *map(buy, outsiders)
    )
    assert results.count("sold out") == 3  # every restocked unit was held for the line first
    async with sessionmaker() as session:
        product = await session.get(Product, product_id)
        assert product is not None
        assert await stock(session, product) == (0, 4)
        line = await statuses(session, product)
        offers = await messages(session, "waitlist_offer")
    assert line == [WaitlistStatus.OFFERED] * 4 + [WaitlistStatus.WAITING]
    assert offers == 4


async def test_a_customer_who_asks_to_be_forgotten_leaves_every_line_and_their_hold_passes_on(
    session: AsyncSession, clock: FrozenClock
) -> None:
    shop = await make_shop(session, clock)
    apple = await make_product(session, clock, shop, stock=0)
    anna, ben = await customers(session, clock, 2)
    await join_waitlist(session, anna, apple, now=clock.now())
    await join_waitlist(session, ben, apple, now=clock.now())
    await set_available(session, apple.id, 1, now=clock.now(), actor="t")

    await forget_customer(session, anna, now=clock.now())
    assert await statuses(session, apple) == [WaitlistStatus.LEFT, WaitlistStatus.OFFERED]
    assert await stock(session, apple) == (0, 1)


async def test_a_sold_out_withdraws_holds_keeps_the_line_and_leaves_orders_their_units(
    session: AsyncSession, clock: FrozenClock
) -> None:
    shop = await make_shop(session, clock)
    apple = await make_product(session, clock, shop, stock=0)
    anna, ben = await customers(session, clock, 2)
    await join_waitlist(session, anna, apple, now=clock.now())
    clock.advance(timedelta(seconds=1))
    await join_waitlist(session, ben, apple, now=clock.now())
    await set_available(session, apple.id, 2, now=clock.now(), actor="t")
    order = await order_one(session, clock, apple, anna)  # anna's hold is her order's now
    assert (await sellable_for(session, ben.id, [apple]))[apple.id] == 1

    # 품절: ben's held unit goes (not re-offered), anna's order keeps hers; ben is told once
    await set_available(session, apple.id, 0, now=clock.now(), actor="t")
    assert await stock(session, apple) == (0, 1)
    assert await statuses(session, apple) == [WaitlistStatus.CLAIMED, WaitlistStatus.WAITING]
    assert await messages(session, "waitlist_withdrawn", ben.chat_id) == 1
    assert await messages(session, "waitlist_withdrawn", anna.chat_id) == 0
    assert await withdraw_holds(session, apple.id, now=clock.now()) == 0  # nothing twice

    # ben kept his place: the next unit is his again
    clock.advance(timedelta(minutes=1))
    await set_available(session, apple.id, 1, now=clock.now(), actor="t")
    assert await statuses(session, apple) == [WaitlistStatus.CLAIMED, WaitlistStatus.OFFERED]

    # asking for more than is held for him names what he can have: his held unit
    try:
        await place_order(
            session,
            shop=shop,
            customer=ben,
            lines=[RequestedLine(apple.id, 2)],
            fulfilment=Fulfilment.PICKUP,
            now=clock.now(),
        )
    except OutOfStock as short:
        assert [(s.available, s.requested) for s in short.shortages] == [(1, 2)]
    else:
        raise AssertionError("only one unit is ben's")
    assert await statuses(session, apple) == [WaitlistStatus.CLAIMED, WaitlistStatus.OFFERED]

    # a sync's "0 on hand" below the order's unit is refused and withdraws nothing
    refused = await apply_stock_updates(
        session, shop, [StockUpdate(sku="apple-5kg", version=1, set=0)], now=clock.now()
    )
    assert refused[0]["reason"] == "below_reserved"
    assert await statuses(session, apple) == [WaitlistStatus.CLAIMED, WaitlistStatus.OFFERED]
    assert await messages(session, "waitlist_withdrawn") == 1
    # once the order is paid, "0 on hand" is a sold-out like the vendor's
    await mark_paid(session, order, now=clock.now(), actor="t")
    applied = await apply_stock_updates(
        session, shop, [StockUpdate(sku="apple-5kg", version=2, set=0)], now=clock.now()
    )
    assert applied[0]["outcome"] == "applied"
    assert await stock(session, apple) == (0, 0)
    assert await messages(session, "waitlist_withdrawn", ben.chat_id) == 2

    # hiding withdraws too (the unit stays in stock, hidden); showing it offers it again
    clock.advance(timedelta(minutes=1))
    await set_available(session, apple.id, 1, now=clock.now(), actor="t")
    await set_hidden(session, apple.id, True, now=clock.now(), actor="t")
    assert await stock(session, apple) == (1, 0)
    assert await statuses(session, apple) == [WaitlistStatus.CLAIMED, WaitlistStatus.WAITING]
    clock.advance(timedelta(minutes=1))
    await set_hidden(session, apple.id, False, now=clock.now(), actor="t")
    assert await stock(session, apple) == (0, 1)


async def test_a_sold_out_and_the_held_customers_order_at_once_settle_the_hold_once(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with sessionmaker() as session:
        shop = await make_shop(session, clock)
        apple = await make_product(session, clock, shop, stock=0)
        (anna,) = await customers(session, clock, 1)
        await join_waitlist(session, anna, apple, now=clock.now())
        await set_available(session, apple.id, 1, now=clock.now(), actor="t")
        await session.commit()
        product_id = apple.id

    async def sold_out() -> str:
        async with sessionmaker() as session:
            await set_available(session, product_id, 0, now=clock.now(), actor="t")
            await session.commit()
            return "sold out"

    async def order() -> str:
        async with sessionmaker() as session:
            try:
                product = await session.get(Product, product_id)
                customer = await session.get(Customer, anna.id)
                assert product is not None
                await order_one(session, clock, product, customer)
                await session.commit()
                return "ordered"
            except OutOfStock:
                await session.rollback()
                return "too late"

    results = await asyncio.gather(sold_out(), order())
    async with sessionmaker() as session:
        product = await session.get(Product, product_id)
        assert product is not None
        line = await statuses(session, product)
        told = await messages(session, "waitlist_withdrawn")
        placed = int(await session.scalar(select(func.count()).select_from(Order)) or 0)
        if results[1] == "ordered":  # the order claimed the hold first: it keeps the unit
            assert (await stock(session, product), line, told, placed) == (
                (0, 1),
                [WaitlistStatus.CLAIMED],
                0,
                1,
            )
        else:  # withdrawn first: the unit is gone, anna waits on and is told once
            assert (await stock(session, product), line, told, placed) == (
                (0, 0),
                [WaitlistStatus.WAITING],
                1,
                0,
            )


async def test_deleting_a_product_withdraws_its_holds_but_waits_for_unpaid_orders(
    session: AsyncSession, clock: FrozenClock
) -> None:
    shop = await make_shop(session, clock)
    apple = await make_product(session, clock, shop, stock=0)
    anna, ben = await customers(session, clock, 2)
    await join_waitlist(session, anna, apple, now=clock.now())
    await join_waitlist(session, ben, apple, now=clock.now())
    await set_available(session, apple.id, 2, now=clock.now(), actor="t")
    order = await order_one(session, clock, apple, anna)

    try:
        await delete_product(session, shop, "apple-5kg", now=clock.now())
    except ProductInUse as refused:
        assert "1 units of 'apple-5kg' are reserved by unpaid orders" in str(refused)
    else:
        raise AssertionError("an unpaid order's unit must stop the delete")
    assert await stock(session, apple) == (0, 2)  # ben's hold is kept with the refusal
    assert await messages(session, "waitlist_withdrawn") == 0

    await mark_paid(session, order, now=clock.now(), actor="t")
    await delete_product(session, shop, "apple-5kg", now=clock.now())
    assert await session.get(Product, apple.id) is None
    assert await messages(session, "waitlist_withdrawn", ben.chat_id) == 1
