"""Edges found in review: the summary must be what is ordered, hidden products leave carts,
group chats are not a shop counter, forgotten customers stay forgotten."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.models import Customer, Order, Product
from tests.bot.conftest import API_TOKEN, Livecart, text_of


async def test_a_cart_changed_after_the_summary_is_shown_again_not_ordered(
    livecart: Livecart, db: async_sessionmaker[AsyncSession]
) -> None:
    customer = await livecart.person()
    await customer.say("/start product_ganada-fruit_tangerine-3kg")
    await customer.tap(re.compile(r"^1"))
    await customer.tap("가게에서 찾기")
    await customer.say("010-3333-4444", expect=2)
    summary = await customer.message_with_button("주문 확정")
    await customer.say("3번 2개")  # typed while the summary is open: now 3 in the cart
    answer = await customer.tap("주문 확정", summary)
    assert answer["show_alert"]
    async with db() as session:
        assert await session.scalar(select(Order)) is None
    fresh = await customer.message_with_button("주문 확정")
    assert "× 3" in text_of(fresh)
    await customer.tap("주문 확정", fresh)
    await customer.client.wait_for_messages(
        customer.user_id, predicate=lambda m: text_of(m).startswith("🧾")
    )
    async with db() as session:
        order = await session.scalar(select(Order))
    assert order is not None and order.total == 3 * 18000


async def test_a_product_hidden_while_in_the_cart_drops_out_and_checkout_goes_on(
    livecart: Livecart, db: async_sessionmaker[AsyncSession]
) -> None:
    customer = await livecart.person()
    await customer.say("/start shop_ganada-fruit")
    await customer.say("1번 1개")
    await customer.say("2번 1개")
    async with db() as session:
        await session.execute(
            update(Product).where(Product.sku == "pear-7-5kg").values(is_hidden=True)
        )
        await session.commit()
    cart = (await customer.say("/cart"))[-1]
    assert "사과" in text_of(cart) and "배" not in text_of(cart)


async def test_a_shop_with_an_unknown_locale_or_time_zone_is_refused(livecart: Livecart) -> None:
    async with httpx.AsyncClient(base_url=livecart.http_url) as http:
        auth = {"Authorization": f"Bearer {API_TOKEN}"}
        for body in ({"locale": "zz"}, {"timezone": "Mars/Base"}, {"currency": "XYZ"}):
            response = await http.put("/api/v1/shops/ganada-fruit", json=body, headers=auth)
            assert response.status_code == 422, (body, response.text)


async def test_messages_from_a_group_chat_are_ignored(
    livecart: Livecart, db: async_sessionmaker[AsyncSession]
) -> None:
    customer = await livecart.person()
    await customer.say("/start")
    group_update = {
        "update_id": 900001,
        "message": {
            "message_id": 5,
            "date": 1_700_000_000,
            "chat": {"id": -100123, "type": "supergroup", "title": "market chat"},
            "from": {"id": customer.user_id, "is_bot": False, "first_name": "x"},
            "text": "/orders",
        },
    }
    runtime = livecart.runtime
    assert runtime.dispatcher is not None and runtime.bot is not None
    await runtime.dispatcher.feed_raw_update(runtime.bot, group_update)
    async with db() as session:
        record = await session.scalar(
            select(Customer).where(Customer.telegram_user_id == customer.user_id)
        )
    assert record is not None and record.chat_id == customer.user_id
