"""The rest of a customer's rights and comforts: seller info, privacy and forgetting, language,
and the bot carrying on through Telegram's hiccups."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from catalog.clock import FrozenClock
from catalog.models import Customer, Order, OrderStatus
from tests.bot.conftest import Livecart, Person, running_livecart, text_of


async def _place_pickup_order(customer: Person, phone: str = "010-2222-3333") -> None:
    await customer.say("/start product_ganada-fruit_apple-5kg")
    await customer.tap(re.compile(r"^1|Order 1"))
    await customer.tap(re.compile("가게에서 찾기|Pick up"))
    await customer.say(phone, expect=2)
    await customer.tap(re.compile("주문 확정|Confirm order"))
    await customer.client.wait_for_messages(
        customer.user_id, predicate=lambda m: text_of(m).startswith("🧾")
    )


async def test_the_seller_identity_is_one_command_away(livecart: Livecart) -> None:
    customer = await livecart.person()
    await customer.say("/start shop_ganada-fruit")
    answers = await customer.say("/info", expect=3)
    identity = text_of(answers[0])
    for fact in ("가나청과", "김가나", "101-23-45678", "2026-서울종로-0101", "02-2267-0101"):
        assert fact in identity
    assert "7일" in text_of(answers[1])


async def test_forgetting_a_customer_keeps_the_order_record_without_their_details(
    livecart: Livecart, db: async_sessionmaker[AsyncSession]
) -> None:
    customer = await livecart.person("이말순", "ko")
    await _place_pickup_order(customer)
    orders_screen = (await customer.say("/orders"))[-1]
    await customer.tap("결제 대기", orders_screen)
    await customer.tap("주문 취소")
    await customer.tap(re.compile("네|예"))
    # the cancellation notice comes through the outbox, after the tap's own answer
    await customer.client.wait_for_messages(
        customer.user_id, predicate=lambda m: re.fullmatch(r"주문 \w+: 취소됨", text_of(m))
    )

    privacy = (await customer.say("/privacy"))[-1]
    assert "5년" in text_of(privacy)
    await customer.tap("내 정보 지우기", privacy)
    await customer.tap(re.compile("네|예"))

    async with db() as session:
        record = await session.scalar(
            select(Customer).where(Customer.telegram_user_id == customer.user_id)
        )
        order = await session.scalar(select(Order).options(selectinload(Order.lines)))
    assert record is not None and record.forgotten_at is not None
    assert (record.phone, record.name, record.address) == (None, "", None)
    assert order is not None and order.status is OrderStatus.CANCELLED
    assert order.phone is None and order.recipient_name == ""
    assert order.lines and order.total == 32000  # the contract record stays


async def test_switching_language_changes_every_later_message(livecart: Livecart) -> None:
    customer = await livecart.person("Kim", "ko")
    home = (await customer.say("/start"))[-1]
    assert "장바구니" in str(home["reply_markup"])
    chooser = (await customer.say("/language"))[-1]
    await customer.tap("English", chooser)
    home = (await customer.say("/start"))[-1]
    assert "My cart" in str(home["reply_markup"])


async def test_telegram_errors_and_rate_limits_do_not_lose_an_answer(livecart: Livecart) -> None:
    customer = await livecart.person()
    # the next 3 Bot API calls fail with 502, the next 2 sends get 429 retry_after=1
    await livecart.client.inject_faults(server_errors=3, rate_limit_burst=2, retry_after=1)
    answers = await customer.say("/start shop_sunhee-bindae", timeout=30)
    assert any("순희네" in text_of(m) for m in answers) or "순희네" in text_of(
        await customer.last()
    )


async def test_the_order_message_waits_out_a_429_and_arrives_once(
    livecart: Livecart, db: async_sessionmaker[AsyncSession]
) -> None:
    customer = await livecart.person()
    await customer.say("/start product_ganada-fruit_apple-5kg")
    await customer.tap(re.compile(r"^1"))
    await customer.tap("가게에서 찾기")
    await customer.say("010-2222-3333", expect=2)
    await livecart.client.inject_faults(rate_limit_burst=1, retry_after=1)
    await customer.tap("주문 확정")
    await customer.client.wait_for_messages(
        customer.user_id, predicate=lambda m: text_of(m).startswith("🧾"), timeout=20
    )
    placed = [m for m in await customer.bot_messages() if text_of(m).startswith("🧾")]
    assert len(placed) == 1
    stats = await livecart.client.stats()
    assert stats["retry_after_ignored"] == 0


@pytest.fixture
async def redis_livecart(
    database_url: str, clock: FrozenClock, redis_url: str
) -> AsyncIterator[Livecart]:
    async with running_livecart(database_url, clock, redis_url=redis_url) as app:
        yield app


async def test_with_redis_the_checkout_state_lives_in_redis(
    redis_livecart: Livecart, redis_url: str
) -> None:
    from redis.asyncio import Redis

    customer = await redis_livecart.person("Redis", "en")
    await _place_pickup_order(customer)
    client = Redis.from_url(redis_url)
    try:
        keys = [k.decode() async for k in client.scan_iter(match=f"fsm:*{customer.user_id}*")]
    finally:
        await client.aclose()
    assert keys, "no FSM keys for this user in Redis"
