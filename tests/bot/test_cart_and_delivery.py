"""The cart by buttons (add, +, −, remove) and a delivery order with a typed address, which the
next checkout offers again with one tap."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.models import CartItem, Fulfilment, Order
from tests.bot.conftest import Livecart, find_button, text_of
from tests.bot.test_customer_orders import stock


async def cart_quantities(db: async_sessionmaker[AsyncSession]) -> list[int]:
    async with db() as session:
        return sorted(await session.scalars(select(CartItem.quantity)))


async def test_the_cart_changes_by_buttons_and_a_repeated_tap_changes_nothing_twice(
    livecart: Livecart, db: async_sessionmaker[AsyncSession]
) -> None:
    customer = await livecart.person()
    product = (await customer.say("/start product_park-dried-fish_seaweed-100"))[-1]
    add = find_button(product, "장바구니 담기")
    # a double tap: both presses leave before the screen changes
    first = await customer.client.press(
        customer.user_id, product["message_id"], data=add["callback_data"]
    )
    second = await customer.client.press(
        customer.user_id, product["message_id"], data=add["callback_data"]
    )
    for pressed in (first, second):
        await customer.client.wait_for_callback_answer(pressed["callback_query_id"])
    assert await cart_quantities(db) == [1]

    cart = (await customer.say("/cart"))[-1]
    assert "곱창김" in text_of(cart)
    await customer.tap("➕ 1", cart)
    await customer.tap("➕ 1")
    assert await cart_quantities(db) == [3]
    await customer.tap("➖ 1")
    assert await cart_quantities(db) == [2]
    await customer.tap("1번 빼기")
    assert await cart_quantities(db) == []
    assert "비어" in text_of(await customer.last())


async def test_a_delivery_order_takes_the_typed_address_and_offers_it_next_time(
    livecart: Livecart, db: async_sessionmaker[AsyncSession]
) -> None:
    customer = await livecart.person("정미숙", "ko", phone_number="+821055556666")
    await customer.say("/start product_sunhee-bindae_bindaetteok")
    await customer.tap(re.compile(r"^2$"))
    await customer.tap("택배로 받기")
    await customer.share_phone("+821055556666", expect=2)
    assert "주소" in text_of(await customer.last())
    await customer.say("서울", expect=1)  # too short: asked again, nothing lost
    assert "주소" in text_of(await customer.last())
    summary = (await customer.say("서울시 종로구 종로 1, 101호"))[-1]
    assert "서울시 종로구 종로 1, 101호" in text_of(summary)
    assert "₩5,000" in text_of(summary)  # the shop's delivery fee
    await customer.tap("주문 확정", summary)
    await customer.client.wait_for_messages(
        customer.user_id, predicate=lambda m: text_of(m).startswith("🧾")
    )
    async with db() as session:
        order = await session.scalar(select(Order))
    assert order is not None
    assert order.fulfilment is Fulfilment.DELIVERY
    assert order.address == "서울시 종로구 종로 1, 101호"
    assert order.total == 2 * 5000 + 5000
    assert await stock(db, "bindaetteok") == (48, 2)

    # the next order offers the saved address as a button
    await customer.say("/start product_sunhee-bindae_makgeolli")
    await customer.tap(re.compile(r"^1"))
    await customer.tap("택배로 받기")
    await customer.tap("종로구")
    summary = await customer.message_with_button("주문 확정")
    assert "서울시 종로구 종로 1, 101호" in text_of(summary)
