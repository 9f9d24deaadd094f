"""A vendor fixes stock from the phone (/stock buttons and typing "사과 20"); customers and the
REST API see the change at once; forged buttons change nothing; vendors hear when stock runs
low, when a paid order waits, and at closing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import StockAction, StockCb
from catalog.models import Product, Shop
from catalog.orders import mark_paid
from livecart.runtime import vendor_alerts
from tests.bot.conftest import API_TOKEN, Livecart, Person, bind_vendor, text_of
from tests.factories import make_order

JSON = dict[str, Any]


async def make_vendor(db: async_sessionmaker[AsyncSession], person: Person, slug: str) -> Shop:
    return await bind_vendor(db, person, slug)


async def product(db: async_sessionmaker[AsyncSession], sku: str) -> Product:
    async with db() as session:
        found = await session.scalar(select(Product).where(Product.sku == sku))
        assert found is not None
        return found


async def current(person: Person, message: JSON) -> JSON:
    """The message as the chat shows it now (after edits)."""
    for candidate in await person.bot_messages():
        if candidate["message_id"] == message["message_id"]:
            return candidate
    raise AssertionError("the message is gone")


def product_rows(message: JSON, name: str) -> list[JSON]:
    """The five buttons of one product on the stock list: −, name, +, sold out, hide/show."""
    rows = message["reply_markup"]["inline_keyboard"]
    for i, row in enumerate(rows):
        if len(row) == 3 and row[1]["text"].startswith(name):
            return [*row, *rows[i + 1]]
    raise AssertionError(f"{name} is not on the stock list: {text_of(message)}")


async def press(person: Person, message: JSON, data: str, *, forge: bool = False) -> JSON:
    pressed = await person.client.press(
        person.user_id, message["message_id"], data=data, forge=forge
    )
    answer: JSON = await person.client.wait_for_callback_answer(pressed["callback_query_id"])
    return answer


async def api_product(livecart: Livecart, shop: str, sku: str) -> JSON:
    async with httpx.AsyncClient(base_url=livecart.http_url) as http:
        response = await http.get(
            f"/api/v1/shops/{shop}/products/{sku}",
            headers={"Authorization": f"Bearer {API_TOKEN}"},
        )
    response.raise_for_status()
    data: JSON = response.json()
    return data


async def test_a_vendor_taps_plus_and_sold_out_then_types_a_figure_and_everyone_sees_it(
    livecart: Livecart, db: async_sessionmaker[AsyncSession]
) -> None:
    seller = await livecart.person("김가나")
    await make_vendor(db, seller, "ganada-fruit")

    screen = (await seller.say("/stock"))[-1]
    assert "부사 사과 5kg: 20" in text_of(screen)
    await press(seller, screen, product_rows(screen, "부사 사과")[2]["callback_data"])  # +
    screen = await current(seller, screen)
    assert "부사 사과 5kg: 21" in text_of(screen)
    assert (await api_product(livecart, "ganada-fruit", "apple-5kg"))["available"] == 21

    sold_out = product_rows(screen, "부사 사과")[3]
    assert sold_out["text"] == "품절"
    answer = await press(seller, screen, sold_out["callback_data"])
    assert "부사 사과 5kg: 0" in answer["text"]
    screen = await current(seller, screen)
    assert "부사 사과 5kg: 0" in text_of(screen)
    minus = product_rows(screen, "부사 사과")[0]["callback_data"]
    await press(seller, screen, minus)  # at 0 already: stays 0
    assert (await product(db, "apple-5kg")).available == 0

    reply = (await seller.say("사과 20"))[-1]
    assert "부사 사과 5kg: 20" in text_of(reply)
    assert (await api_product(livecart, "ganada-fruit", "apple-5kg"))["available"] == 20

    customer = await livecart.person("손님")
    shop_screen = (await customer.say("/start shop_ganada-fruit"))[-1]
    await customer.tap("부사 사과", shop_screen)
    assert "20개 남음" in text_of(await customer.last())

    # hiding takes a product off the customers' list, and showing brings it back
    hide = product_rows(screen, "한라봉")[4]
    await press(seller, screen, hide["callback_data"])
    assert (await product(db, "hallabong-3kg")).is_hidden
    shop_screen = (await customer.say("/start shop_ganada-fruit"))[-1]
    assert "한라봉" not in str(shop_screen["reply_markup"])
    screen = await current(seller, screen)
    await press(seller, screen, product_rows(screen, "한라봉")[4]["callback_data"])
    assert not (await product(db, "hallabong-3kg")).is_hidden


async def test_the_stock_list_shows_what_unpaid_orders_hold(
    livecart: Livecart, db: async_sessionmaker[AsyncSession]
) -> None:
    seller = await livecart.person("김가나")
    shop = await make_vendor(db, seller, "ganada-fruit")
    async with db() as session:
        apple = await session.scalar(select(Product).where(Product.sku == "apple-5kg"))
        assert apple is not None
        await make_order(session, livecart.clock, shop, apple, 2)
        await session.commit()
    screen = (await seller.say("/stock"))[-1]
    assert "부사 사과 5kg: 18 · 결제 대기 2개" in text_of(screen)


async def test_a_customer_forging_a_stock_button_is_refused_and_nothing_changes(
    livecart: Livecart, db: async_sessionmaker[AsyncSession]
) -> None:
    seller = await livecart.person("김가나")
    ganada = await make_vendor(db, seller, "ganada-fruit")
    apple = await product(db, "apple-5kg")
    seaweed = await product(db, "seaweed-100")  # another shop's product
    customer = await livecart.person("손님")
    home = (await customer.say("/start"))[-1]

    forged = StockCb(action=StockAction.SOLD_OUT, shop=ganada.id, product=apple.id).pack()
    answer = await press(customer, home, forged, forge=True)
    assert answer["show_alert"] and answer["text"]
    assert (await product(db, "apple-5kg")).available == 20

    # a vendor can't reach another shop's product through their own shop's id either
    screen = (await seller.say("/stock"))[-1]
    cross = StockCb(action=StockAction.SOLD_OUT, shop=ganada.id, product=seaweed.id).pack()
    await press(seller, screen, cross, forge=True)
    assert (await product(db, "seaweed-100")).available == 20


async def test_text_that_is_not_a_vendors_product_goes_on_to_the_customer_routers(
    livecart: Livecart, db: async_sessionmaker[AsyncSession]
) -> None:
    seller = await livecart.person("김가나")
    await make_vendor(db, seller, "ganada-fruit")
    customer = await livecart.person("손님")

    added = (await customer.say("사과 2"))[-1]  # a customer ordering, not setting stock
    assert text_of(added).startswith("🛒")
    assert (await product(db, "apple-5kg")).available == 20

    answer = (await seller.say("막걸리 3"))[-1]  # someone else's product: the vendor shops
    assert text_of(answer).startswith("🛒")
    assert (await product(db, "makgeolli")).available == 40


async def test_vendors_hear_of_low_stock_a_waiting_order_and_the_days_figures(
    livecart: Livecart, db: async_sessionmaker[AsyncSession]
) -> None:
    seller = await livecart.person("김가나", "en")
    shop = await make_vendor(db, seller, "ganada-fruit")
    async with db() as session:
        apple = await session.scalar(select(Product).where(Product.sku == "apple-5kg"))
        assert apple is not None
        apple.low_stock_threshold = 5
        await session.commit()

    await seller.say("사과 6")
    clock = livecart.clock
    clock.set(datetime(2026, 11, 25, 10, 0, tzinfo=UTC))  # 19:00 in Seoul
    async with db() as session:
        apple = await session.get(Product, apple.id)
        assert apple is not None
        order = await make_order(session, clock, shop, apple, 2)  # 6 -> 4: low
        await mark_paid(session, order, now=clock.now(), actor="test")
        await session.commit()
    livecart.runtime.sender.wake()  # type: ignore[union-attr]

    low = await seller.client.wait_for_messages(
        seller.user_id, predicate=lambda m: text_of(m).startswith("⚠️")
    )
    assert "only 4 left" in text_of(low[-1])
    await seller.tap("See stock", low[-1])
    assert "부사 사과 5kg: 4" in text_of(await current(seller, low[-1]))

    clock.advance(timedelta(minutes=10))
    await vendor_alerts(livecart.runtime)
    await vendor_alerts(livecart.runtime)  # again: no second reminder
    waiting = await seller.client.wait_for_messages(
        seller.user_id, predicate=lambda m: text_of(m).startswith("⏰")
    )
    assert order.code in text_of(waiting[-1])

    clock.set(datetime(2026, 11, 25, 11, 30, tzinfo=UTC))  # 20:30 in Seoul: closed
    await vendor_alerts(livecart.runtime)
    await vendor_alerts(livecart.runtime)
    summary = await seller.client.wait_for_messages(
        seller.user_id, predicate=lambda m: text_of(m).startswith("📊")
    )
    text = text_of(summary[-1])
    assert "Orders paid: 1" in text
    assert "₩64,000" in text
    assert "부사 사과 5kg × 2" in text
    assert "Waiting to be accepted: 1" in text

    messages = [text_of(m) for m in await seller.bot_messages()]
    assert sum(m.startswith("⏰") for m in messages) == 1
    assert sum(m.startswith("📊") for m in messages) == 1
