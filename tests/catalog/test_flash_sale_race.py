"""The flash sale: 200 customers race for 50 units; exactly 50 are sold, none oversold."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.clock import FrozenClock
from catalog.errors import OutOfStock
from catalog.models import Fulfilment, Order, OrderLine, OrderStatus, Product
from catalog.orders import RequestedLine, expire_unpaid_orders, place_order
from catalog.shops import get_shop
from tests.factories import make_customer, make_product, make_shop

CUSTOMERS = 200
UNITS = 50


async def test_two_hundred_customers_race_for_fifty_units_and_exactly_fifty_sell(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with sessionmaker() as session:
        shop = await make_shop(session, clock)
        product = await make_product(session, clock, shop, sku="hanwoo", stock=UNITS)
        customers = [
            await make_customer(session, clock, user_id=9_000_000_000 + i) for i in range(CUSTOMERS)
        ]
        await session.commit()
        product_id, shop_slug = product.id, shop.slug

    async def buy(customer_index: int) -> str:
        async with sessionmaker() as session:
            try:
                await place_order(
                    session,
                    shop=await get_shop(session, shop_slug),
                    customer=customers[customer_index],
                    lines=[RequestedLine(product_id, 1)],
                    fulfilment=Fulfilment.PICKUP,
                    now=clock.now(),
                )
                await session.commit()
                return "ok"
            except OutOfStock:
                await session.rollback()
                return "sold out"

    results = await asyncio.gather(*(buy(i) for i in range(CUSTOMERS)))

    assert results.count("ok") == UNITS
    assert results.count("sold out") == CUSTOMERS - UNITS
    async with sessionmaker() as session:
        stock = (
            await session.execute(
                select(Product.available, Product.reserved).where(Product.id == product_id)
            )
        ).one()
        ordered = await session.scalar(select(func.sum(OrderLine.quantity)))
        assert (stock.available, stock.reserved) == (0, UNITS)
        assert ordered == UNITS

        # nobody pays: once the window lapses every unit goes back on the shelf
        clock.advance(timedelta(minutes=15))
        expired = 0
        while batch := await expire_unpaid_orders(session, now=clock.now()):
            expired += batch
        await session.commit()
        stock = (
            await session.execute(
                select(Product.available, Product.reserved).where(Product.id == product_id)
            )
        ).one()
        statuses = set(await session.scalars(select(Order.status)))
    assert expired == UNITS
    assert (stock.available, stock.reserved) == (UNITS, 0)
    assert statuses == {OrderStatus.EXPIRED}
