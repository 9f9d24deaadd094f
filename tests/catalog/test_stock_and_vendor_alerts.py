"""Vendors fix stock; they hear once when it runs low, once when a paid order waits too long,
and once a day at closing with the day's figures."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.clock import FrozenClock
from catalog.errors import InvalidInput
from catalog.models import OrderStatus, OutboxMessage, Product, Shop, Vendor
from catalog.orders import change_status, expire_unpaid_orders, get_order, mark_paid
from catalog.stock import adjust_available, set_available, set_hidden
from catalog.vendor_alerts import daily_summary, remind_unaccepted_orders, send_daily_summaries
from tests.factories import make_order, make_product, make_shop


async def add_vendor(session: AsyncSession, clock: FrozenClock, shop: Shop, user_id: int) -> Vendor:
    vendor = Vendor(
        shop_id=shop.id,
        telegram_user_id=user_id,
        chat_id=user_id,
        name="사장님",
        role="owner",
        created_at=clock.now(),
    )
    session.add(vendor)
    await session.flush()
    return vendor


async def outbox(session: AsyncSession, kind: str) -> list[OutboxMessage]:
    return list(
        await session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        )
    )


async def test_a_vendor_sets_adds_takes_away_and_hides_but_never_goes_below_zero(
    session: AsyncSession, clock: FrozenClock
) -> None:
    shop = await make_shop(session, clock)
    apple = await make_product(session, clock, shop, stock=5)
    now = clock.now()

    assert (await set_available(session, apple.id, 12, now=now, actor="t")).available == 12
    assert (await adjust_available(session, apple.id, 1, now=now, actor="t")).available == 13
    assert (await adjust_available(session, apple.id, -100, now=now, actor="t")).available == 0
    assert (await adjust_available(session, apple.id, -1, now=now, actor="t")).available == 0
    with pytest.raises(InvalidInput):
        await set_available(session, apple.id, -1, now=now, actor="t")
    hidden = await set_hidden(session, apple.id, True, now=now, actor="t")
    assert hidden.is_hidden and hidden.available == 0
    assert not (await set_hidden(session, apple.id, False, now=now, actor="t")).is_hidden


async def test_twenty_vendors_tapping_at_once_lose_no_update(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with sessionmaker() as session:
        shop = await make_shop(session, clock)
        product_id = (await make_product(session, clock, shop, stock=50)).id
        await session.commit()

    async def tap(delta: int) -> None:
        async with sessionmaker() as session:
            await adjust_available(session, product_id, delta, now=clock.now(), actor="t")
            await session.commit()

    await asyncio.gather(*(tap(+1 if i % 3 else -1) for i in range(30)))
    async with sessionmaker() as session:
        available = await session.scalar(select(Product.available).where(Product.id == product_id))
    assert available == 50 + 20 - 10


async def test_low_stock_alerts_once_per_crossing_for_sales_and_vendor_changes(
    session: AsyncSession, clock: FrozenClock
) -> None:
    shop = await make_shop(session, clock)
    await add_vendor(session, clock, shop, 7001)
    await add_vendor(session, clock, shop, 7002)
    apple = await make_product(session, clock, shop, stock=6, low_stock_threshold=2)
    now = clock.now()

    await make_order(session, clock, shop, apple, 3)  # 6 -> 3: still above
    assert await outbox(session, "vendor_low_stock") == []
    await make_order(session, clock, shop, apple, 1)  # 3 -> 2: crossed
    alerts = await outbox(session, "vendor_low_stock")
    assert sorted(a.chat_id for a in alerts) == [7001, 7002]
    assert alerts[0].payload["available"] == 2
    await make_order(session, clock, shop, apple, 1)  # 2 -> 1: already told
    await adjust_available(session, apple.id, -1, now=now, actor="vendor")  # 1 -> 0
    assert len(await outbox(session, "vendor_low_stock")) == 2

    await set_available(session, apple.id, 10, now=now, actor="vendor")  # restocked: re-armed
    await session.refresh(apple)
    assert apple.low_stock_alerted is False
    await make_order(session, clock, shop, apple, 8)  # 10 -> 2: crossed again
    assert len(await outbox(session, "vendor_low_stock")) == 4


async def test_unpaid_orders_expiring_above_the_threshold_rearm_the_alert(
    session: AsyncSession, clock: FrozenClock
) -> None:
    shop = await make_shop(session, clock)
    await add_vendor(session, clock, shop, 7001)
    apple = await make_product(session, clock, shop, stock=4, low_stock_threshold=2)
    await make_order(session, clock, shop, apple, 3)  # 4 -> 1: alert
    clock.advance(timedelta(minutes=16))
    assert await expire_unpaid_orders(session, now=clock.now()) == 1  # back to 4
    await session.refresh(apple)
    assert (apple.available, apple.low_stock_alerted) == (4, False)
    await make_order(session, clock, shop, apple, 2)  # 4 -> 2: alert again
    assert len(await outbox(session, "vendor_low_stock")) == 2


async def test_two_sales_crossing_the_threshold_together_alert_once(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with sessionmaker() as session:
        shop = await make_shop(session, clock)
        await add_vendor(session, clock, shop, 7001)
        apple = await make_product(session, clock, shop, stock=12, low_stock_threshold=5)
        await session.commit()

    async def buy() -> None:
        async with sessionmaker() as session:
            await make_order(session, clock, shop, apple, 1)
            await session.commit()

    await asyncio.gather(*(buy() for _ in range(10)))
    async with sessionmaker() as session:
        assert len(await outbox(session, "vendor_low_stock")) == 1


async def test_a_paid_order_left_unaccepted_reminds_the_vendors_once(
    session: AsyncSession, clock: FrozenClock
) -> None:
    shop = await make_shop(session, clock)
    await add_vendor(session, clock, shop, 7001)
    await add_vendor(session, clock, shop, 7002)
    apple = await make_product(session, clock, shop, stock=10)
    waiting = await mark_paid(
        session, await make_order(session, clock, shop, apple), now=clock.now(), actor="t"
    )
    accepted = await mark_paid(
        session, await make_order(session, clock, shop, apple), now=clock.now(), actor="t"
    )
    await change_status(session, accepted, OrderStatus.ACCEPTED, now=clock.now(), actor="t")
    await make_order(session, clock, shop, apple)  # unpaid: not the vendor's turn yet

    clock.advance(timedelta(minutes=9))
    assert await remind_unaccepted_orders(session, now=clock.now(), minutes=10) == 0
    clock.advance(timedelta(minutes=1))
    assert await remind_unaccepted_orders(session, now=clock.now(), minutes=10) == 1
    clock.advance(timedelta(minutes=30))
    assert await remind_unaccepted_orders(session, now=clock.now(), minutes=10) == 0

    reminders = await outbox(session, "vendor_order_waiting")
    assert sorted(r.chat_id for r in reminders) == [7001, 7002]
    assert {r.payload["order_id"] for r in reminders} == {waiting.id}
    assert (await get_order(session, waiting.id)).vendor_reminded_at is not None


async def test_the_daily_summary_goes_once_a_day_after_closing_with_the_days_figures(
    session: AsyncSession, clock: FrozenClock
) -> None:
    clock.set(datetime(2026, 11, 25, 0, 30, tzinfo=UTC))  # 09:30 in Seoul
    shop = await make_shop(session, clock, closing_time="20:00")
    vendor = await add_vendor(session, clock, shop, 7001)
    apple = await make_product(session, clock, shop, stock=50)
    pear = await make_product(
        session, clock, shop, sku="pear", name="신고 배", price=45000, stock=20
    )
    kiwi = await make_product(session, clock, shop, sku="kiwi", name="키위", price=10000)
    now = clock.now()

    async def paid(product: Product, quantity: int) -> int:
        order = await make_order(session, clock, shop, product, quantity)
        return (await mark_paid(session, order, now=clock.now(), actor="t")).id

    await paid(apple, 3)  # 96,000
    await paid(pear, 1)  # 45,000
    kept = await paid(kiwi, 2)  # 20,000, then accepted
    await change_status(
        session, await get_order(session, kept), OrderStatus.ACCEPTED, now=now, actor="t"
    )
    refused = await paid(apple, 5)  # paid, then refused: not revenue
    await change_status(
        session, await get_order(session, refused), OrderStatus.REFUSED, now=now, actor="t"
    )
    await make_order(session, clock, shop, pear, 4)  # never paid
    clock.set(datetime(2026, 11, 24, 14, 0, tzinfo=UTC))  # 23:00 the day before in Seoul
    await paid(pear, 9)  # yesterday's

    clock.set(datetime(2026, 11, 25, 10, 59, tzinfo=UTC))  # 19:59 in Seoul
    assert await send_daily_summaries(session, now=clock.now()) == 0
    clock.set(datetime(2026, 11, 25, 11, 0, tzinfo=UTC))  # 20:00
    assert await send_daily_summaries(session, now=clock.now()) == 1
    clock.advance(timedelta(hours=3, minutes=30))  # 23:30, still the 25th
    assert await send_daily_summaries(session, now=clock.now()) == 0
    clock.advance(timedelta(hours=1))  # 00:30 on the 26th: before closing
    assert await send_daily_summaries(session, now=clock.now()) == 0
    clock.advance(timedelta(hours=20))  # 20:30 on the 26th
    assert await send_daily_summaries(session, now=clock.now()) == 1

    rows = await outbox(session, "vendor_daily_summary")
    assert [r.payload for r in rows] == [
        {"shop_id": shop.id, "date": "2026-11-25"},
        {"shop_id": shop.id, "date": "2026-11-26"},
    ]
    assert rows[0].dedupe_key == f"daily:{shop.id}:2026-11-25:{vendor.id}"

    summary = await daily_summary(session, shop, date(2026, 11, 25))
    assert summary.orders_paid == 4
    assert summary.revenue == 96_000 + 45_000 + 20_000
    assert summary.top_products == (("부사 사과 5kg", 3), ("키위", 2), ("신고 배", 1))
    assert summary.waiting == 3  # apple, pear and yesterday's pear are still to accept
    assert (await daily_summary(session, shop, date(2026, 11, 24))).orders_paid == 1


async def test_shops_without_vendors_get_no_summary(
    session: AsyncSession, clock: FrozenClock
) -> None:
    await make_shop(session, clock)
    clock.set(datetime(2026, 11, 25, 13, 0, tzinfo=UTC))  # 22:00 in Seoul
    assert await send_daily_summaries(session, now=clock.now()) == 0
    count = await session.scalar(select(func.count()).select_from(OutboxMessage))
    assert count == 0
