"""재입고 알림 end to end through the simulator: three customers wait for a sold-out box, the
vendor types "사과 2", the first two get held offers, one lets the hold lapse and the third is
offered; an unpaid order is reminded once and told once when it lapses, a paid one neither.
A held unit counts as the customer's on the product card and in the cart, and the vendor's
품절 takes it back: the customer is told once and keeps their place in line."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.models import Order, OrderStatus, Product, WaitlistEntry, WaitlistStatus
from catalog.orders import get_order, mark_paid
from livecart.runtime import expire_and_prune
from tests.bot.conftest import Livecart, Person, bind_vendor, text_of
from tests.bot.test_vendor_stock import api_product, press, product_rows

JSON = dict[str, Any]
OFFER = "다시 들어왔어요"
MISSED = "다음 분께 넘어갔어요"
NUDGE = "분 안에 결제하시면 주문이 확정돼요"
LAPSED = "상품은 다시 판매 중이에요"
WITHDRAWN = "다 팔렸어요. 다시 들어오면 알려 드릴게요"


async def apple(db: async_sessionmaker[AsyncSession]) -> Product:
    async with db() as session:
        found = await session.scalar(select(Product).where(Product.sku == "apple-5kg"))
        assert found is not None
        return found


async def wait_for(person: Person, text: str) -> JSON:
    found = await person.client.wait_for_messages(
        person.user_id, predicate=lambda m: text in text_of(m)
    )
    message: JSON = found[-1]
    return message


async def count(person: Person, text: str) -> int:
    return sum(text in text_of(m) for m in await person.bot_messages())


async def order_held_box(person: Person, offer: JSON, phone: str) -> None:
    """From the offer: order it, pick it up, share the phone, confirm."""
    await person.tap("지금 주문하기", offer)
    await person.tap("가게에서 찾기")
    await person.share_phone(phone, expect=2)
    await person.tap("주문 확정", await person.message_with_button("주문 확정"))
    await wait_for(person, "🧾")


async def test_three_wait_two_boxes_come_back_and_a_lapsed_hold_passes_to_the_third(
    livecart: Livecart, db: async_sessionmaker[AsyncSession]
) -> None:
    seller = await livecart.person("김가나")
    await bind_vendor(db, seller, "ganada-fruit", now=livecart.clock.now())
    await seller.say("사과 0")

    people = [await livecart.person(name) for name in ("영희", "철수", "민지")]
    for place, person in enumerate(people, start=1):
        product = (await person.say("/start product_ganada-fruit_apple-5kg"))[-1]
        assert "품절" in text_of(product)
        await person.tap("재입고 알림", product)
        joined = await wait_for(person, "알려 드릴게요")
        assert f"{place}번째" in text_of(joined)
        await person.tap(re.compile("^🔔 재입고 알림$"), product)  # a double tap: one place
        livecart.clock.advance(timedelta(seconds=1))
    assert (await api_product(livecart, "ganada-fruit", "apple-5kg"))["waiting"] == 3

    reply = (await seller.say("사과 2"))[-1]
    assert "부사 사과 5kg: 0 · 재입고 알림 손님 몫 2개 · 재입고 대기 1명" in text_of(reply)
    younghee, cheolsu, minji = people
    offer = await wait_for(younghee, OFFER)
    await wait_for(cheolsu, OFFER)
    api = await api_product(livecart, "ganada-fruit", "apple-5kg")
    assert (api["available"], api["reserved"], api["waiting"], api["waitlist_held"]) == (0, 2, 1, 2)

    # 영희 orders the box held for her (it is not reserved a second time)
    await order_held_box(younghee, offer, "01011112222")
    product = await apple(db)
    assert (product.available, product.reserved) == (0, 2)

    # 철수 lets his hold lapse: it passes to 민지; 영희's unpaid order gets its one reminder
    livecart.clock.advance(timedelta(minutes=11))
    await expire_and_prune(livecart.runtime)
    await expire_and_prune(livecart.runtime)  # again: nothing more
    await wait_for(cheolsu, MISSED)
    offer = await wait_for(minji, OFFER)
    await wait_for(younghee, NUDGE)
    await order_held_box(minji, offer, "01033334444")

    # 민지 pays; 영희 does not, and her box goes back on sale when the order lapses
    async with db() as session:
        paid = await session.scalar(select(Order).where(Order.phone == "+821033334444"))
        assert paid is not None
        await mark_paid(
            session, await get_order(session, paid.id), now=livecart.clock.now(), actor="t"
        )
        await session.commit()
    livecart.clock.advance(timedelta(minutes=16))
    await expire_and_prune(livecart.runtime)
    await wait_for(younghee, LAPSED)

    async with db() as session:
        orders = list(await session.scalars(select(Order).order_by(Order.id)))
        entries = list(
            await session.scalars(select(WaitlistEntry.status).order_by(WaitlistEntry.joined_at))
        )
    assert [o.status for o in orders] == [OrderStatus.EXPIRED, OrderStatus.PAID]
    assert entries == [WaitlistStatus.CLAIMED, WaitlistStatus.MISSED, WaitlistStatus.CLAIMED]
    product = await apple(db)
    assert (product.available, product.reserved) == (1, 0)  # 2 came in: 1 sold, 1 back on sale
    assert await count(younghee, NUDGE) == 1 and await count(younghee, LAPSED) == 1
    assert await count(minji, NUDGE) == 0 and await count(minji, LAPSED) == 0
    assert await count(cheolsu, OFFER) == 1 and await count(minji, OFFER) == 1


def labels(message: JSON) -> list[str]:
    return [b["text"] for row in message["reply_markup"]["inline_keyboard"] for b in row]


async def test_a_held_unit_counts_as_hers_until_the_vendor_says_sold_out_and_she_keeps_her_place(
    livecart: Livecart, db: async_sessionmaker[AsyncSession]
) -> None:
    seller = await livecart.person("김가나")
    await bind_vendor(db, seller, "ganada-fruit", now=livecart.clock.now())
    await seller.say("사과 0")
    younghee = await livecart.person("영희")
    card = (await younghee.say("/start product_ganada-fruit_apple-5kg"))[-1]
    await younghee.tap("재입고 알림", card)
    await seller.say("사과 1")  # held for 영희
    await wait_for(younghee, OFFER)
    await seller.say("사과 1")  # and one more on the shelf for anyone

    # 1 on the shelf + 1 held for her: she may take 2, in the card and in the cart
    card = (await younghee.say("/start product_ganada-fruit_apple-5kg"))[-1]
    assert {"1개 주문", "2"} <= set(labels(card)) and "3" not in labels(card)
    await younghee.tap("장바구니 담기", card)
    cart = (await younghee.say("/cart"))[-1]
    await younghee.tap("➕ 1", cart)
    cart = (await younghee.say("/cart"))[-1]
    assert "× 2" in text_of(cart) and "➕ 1" not in labels(cart)

    # the vendor taps 품절: both units go, hers too; she is told once and waits on
    stock_list = (await seller.say("/stock"))[-1]
    await press(seller, stock_list, product_rows(stock_list, "부사 사과 5kg")[3]["callback_data"])
    await wait_for(younghee, WITHDRAWN)
    api = await api_product(livecart, "ganada-fruit", "apple-5kg")
    assert (api["available"], api["reserved"], api["waiting"], api["waitlist_held"]) == (0, 0, 1, 0)
    await younghee.tap("주문하기", cart)
    await wait_for(younghee, "남은 수량이 모자라요")

    # her place was kept: the next box is offered to her
    livecart.clock.advance(timedelta(minutes=1))
    await seller.say("사과 1")
    await younghee.client.wait_for_messages(
        younghee.user_id, predicate=lambda m: OFFER in text_of(m), count=2
    )
    assert await count(younghee, WITHDRAWN) == 1
