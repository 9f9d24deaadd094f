"""A customer's story: a stall's deep link, browse, order by buttons and by typing, share the
phone, confirm, see the order, cancel it; stock follows every step. In Korean and in English."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.models import Order, OrderStatus, Product
from tests.bot.conftest import Livecart, Person, text_of, words

MAX_WORDS = 60


async def stock(db: async_sessionmaker[AsyncSession], sku: str) -> tuple[int, int]:
    async with db() as session:
        product = await session.scalar(select(Product).where(Product.sku == sku))
        assert product is not None
        return product.available, product.reserved


async def wait_for_text(person: Person, pattern: str, timeout: float = 10.0) -> dict:
    messages = await person.client.wait_for_messages(
        person.user_id,
        predicate=lambda m: re.search(pattern, text_of(m)) is not None,
        timeout=timeout,
    )
    return messages[-1]


async def assert_short_messages(person: Person) -> None:
    for message in await person.bot_messages():
        assert words(text_of(message)) <= MAX_WORDS, text_of(message)


LABELS = {
    "ko": {
        "pickup": "가게에서 찾기",
        "confirm": "주문 확정",
        "waiting": "결제 대기",
        "cancel": "주문 취소",
        "yes_cancel": "네, 취소",
        "cancelled": "취소됨",
        "order_now": "주문하기",
        "seven_days": "7일",
    },
    "en": {
        "pickup": "Pick up",
        "confirm": "Confirm order",
        "waiting": "Waiting for payment",
        "cancel": "Cancel this order",
        "yes_cancel": "Yes, cancel it",
        "cancelled": "Cancelled",
        "order_now": "Order now",
        "seven_days": "7 days",
    },
}
ORDER_ONE = re.compile(r"^1|Order 1")


@pytest.mark.parametrize("language", ["ko", "en"])
async def test_from_a_stall_link_to_a_placed_order_takes_five_taps(
    livecart: Livecart, db: async_sessionmaker[AsyncSession], language: str
) -> None:
    label = LABELS[language]
    customer = await livecart.person("김영희", language)

    shop_screen = (await customer.say("/start shop_ganada-fruit"))[-1]
    assert "가나청과" in text_of(shop_screen)
    await customer.tap("부사 사과", shop_screen)  # 1
    await customer.tap(ORDER_ONE)  # 2: order one
    await customer.tap(label["pickup"])  # 3
    await customer.share_phone("+82 10-1234-5678", expect=2)  # 4: the contact button
    summary = await customer.message_with_button(label["confirm"])
    assert "₩32,000" in text_of(summary)
    assert "101-23-45678" in text_of(summary)  # seller identity before the contract
    assert label["seven_days"] in text_of(summary)  # the withdrawal right
    await customer.tap(label["confirm"], summary)  # 5

    assert customer.taps <= 5
    placed = await wait_for_text(customer, "^🧾")
    assert "₩32,000" in text_of(placed)
    # the contract confirmation names the seller and the terms (전자상거래법)
    assert "101-23-45678" in text_of(placed)
    assert label["seven_days"] in text_of(placed)
    assert await stock(db, "apple-5kg") == (19, 1)
    await assert_short_messages(customer)

    async with db() as session:
        order = await session.scalar(select(Order))
        assert order is not None
        assert order.status is OrderStatus.PENDING_PAYMENT
        assert order.phone == "+821012345678"


@pytest.mark.parametrize("language", ["ko", "en"])
async def test_typing_an_order_then_my_orders_and_cancel(
    livecart: Livecart, db: async_sessionmaker[AsyncSession], language: str
) -> None:
    label = LABELS[language]
    customer = await livecart.person("Alice", language)

    await customer.say("/start shop_park-dried-fish")
    added = await customer.say("2번 세 개")  # item 2: seaweed, three of them
    assert re.search(r"곱창김.*(× 3|3개)", text_of(added[-1]))
    await customer.tap(label["order_now"])
    await customer.tap(label["pickup"])
    await customer.say("010-9876-5432", expect=2)  # typed instead of the button
    await customer.tap(label["confirm"])
    await wait_for_text(customer, "^🧾")
    assert await stock(db, "seaweed-100") == (17, 3)

    orders_screen = (await customer.say("/orders"))[-1]
    await customer.tap(label["waiting"], orders_screen)
    await customer.tap(label["cancel"])
    await customer.tap(label["yes_cancel"])
    await wait_for_text(customer, label["cancelled"])
    assert await stock(db, "seaweed-100") == (20, 0)
    await assert_short_messages(customer)


async def test_a_double_tap_on_confirm_makes_one_order(
    livecart: Livecart, db: async_sessionmaker[AsyncSession]
) -> None:
    customer = await livecart.person("박민수", "ko", phone_number="+821011112222")
    await customer.say("/start product_ganada-fruit_tangerine-3kg")
    await customer.tap(re.compile(r"^2$"))
    await customer.tap("가게에서 찾기")
    await customer.share_phone("01011112222", expect=2)
    summary = await customer.message_with_button("주문 확정")
    button = next(
        b
        for row in summary["reply_markup"]["inline_keyboard"]
        for b in row
        if "주문 확정" in b["text"]
    )
    first = await customer.client.press(
        customer.user_id, summary["message_id"], data=button["callback_data"]
    )
    second = await customer.client.press(
        customer.user_id, summary["message_id"], data=button["callback_data"]
    )
    await customer.client.wait_for_callback_answer(first["callback_query_id"])
    await customer.client.wait_for_callback_answer(second["callback_query_id"])
    async with db() as session:
        orders = list(await session.scalars(select(Order)))
    assert len(orders) == 1
    assert await stock(db, "tangerine-3kg") == (28, 2)


@pytest.mark.parametrize("text", ["", "🍎", "9번 2개", "그냥 구경중", "/unknown", "x" * 4000])
async def test_anything_typed_gets_a_friendly_answer(livecart: Livecart, text: str) -> None:
    customer = await livecart.person()
    await customer.say("/start shop_ganada-fruit")
    if not text:
        return
    answers = await customer.say(text)
    assert text_of(answers[-1])
