"""Vendors on their phones: every order alerts each of the shop's staff once; one tap moves it
on; every staff member's alert is edited in place; a late or forged tap changes nothing.

Without online payment configured (these tests), a checkout is paid by bank transfer: the
vendors' alert comes at once with "입금 확인". The customer is told exactly once per change.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections import Counter

import zxingcpp
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.models import Order, OrderStatus, Payment, PaymentStatus, Product
from tests.bot.conftest import Livecart, Person, bind_vendor, find_button, text_of
from tests.bot.test_customer_orders import wait_for_text

JSON = dict


async def make_vendor(
    livecart: Livecart, name: str, shop_slug: str = "ganada-fruit", role: str = "owner"
) -> Person:
    person = await livecart.person(name, "ko")
    await bind_vendor(
        livecart.runtime.services.sessionmaker,
        person,
        shop_slug,
        name=name,
        role=role,
        now=livecart.clock.now(),
    )
    return person


async def order_an_apple(customer: Person) -> None:
    shop_screen = (await customer.say("/start shop_ganada-fruit"))[-1]
    await customer.tap("부사 사과", shop_screen)
    await customer.tap(re.compile(r"^1"))
    await customer.tap("가게에서 찾기")
    await customer.share_phone("+82 10-1234-5678", expect=2)
    await customer.tap("주문 확정")
    await wait_for_text(customer, "^🧾")


async def alert_of(vendor: Person, pattern: str = "🔔", timeout: float = 10.0) -> JSON:
    messages = await vendor.client.wait_for_messages(
        vendor.user_id, predicate=lambda m: "🔔" in text_of(m), timeout=timeout
    )
    alerts = [m for m in messages if "🔔" in text_of(m)]
    assert len(alerts) == 1, [text_of(m) for m in alerts]
    return await wait_until(vendor, alerts[0]["message_id"], pattern, timeout)


async def wait_until(vendor: Person, message_id: int, pattern: str, timeout: float = 10.0) -> JSON:
    """The message, once its (edited) text matches."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        for message in await vendor.messages():
            if message["message_id"] == message_id and re.search(pattern, text_of(message)):
                return message
        if asyncio.get_running_loop().time() > deadline:
            current = [text_of(m) for m in await vendor.messages() if m["message_id"] == message_id]
            raise AssertionError(f"message {message_id} never matched {pattern!r}: {current}")
        await asyncio.sleep(0.05)


async def order_row(db: async_sessionmaker[AsyncSession]) -> Order:
    async with db() as session:
        order = await session.scalar(select(Order))
        assert order is not None
        return order


async def stock(db: async_sessionmaker[AsyncSession], sku: str) -> tuple[int, int]:
    async with db() as session:
        product = await session.scalar(select(Product).where(Product.sku == sku))
        assert product is not None
        return product.available, product.reserved


async def settle(livecart: Livecart) -> None:
    """Wait until the outbox has nothing left to send."""
    from catalog.models import OutboxMessage, OutboxStatus

    for _ in range(200):
        async with livecart.runtime.services.sessionmaker() as session:
            waiting = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
            )
        if not waiting:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the outbox never emptied")


async def test_two_staff_one_order_from_transfer_to_pickup(
    livecart: Livecart, db: async_sessionmaker[AsyncSession]
) -> None:
    owner = await make_vendor(livecart, "김가나")
    staff = await make_vendor(livecart, "이직원", role="staff")
    customer = await livecart.person("김영희", "ko")
    await order_an_apple(customer)
    placed = await customer.last()
    assert "입금자명" in text_of(placed)  # the bank account, the amount and the name to write

    # both staff get one alert, with "입금 확인" for the transfer
    owner_alert = await alert_of(owner, "입금")
    staff_alert = await alert_of(staff, "입금")
    assert "010-1234-5678" in text_of(owner_alert)  # the customer's phone, for the shop only
    await owner.tap("입금 확인", owner_alert)
    paid = await wait_for_text(customer, "결제 완료")
    # a paid pickup order: a QR the vendor scans, carrying the bot link with the order code
    order = await order_row(db)
    assert order.status is OrderStatus.PAID
    image = Image.open(io.BytesIO(await customer.client.file_bytes(paid["photo_file_id"])))
    decoded = zxingcpp.read_barcodes(image)
    assert [d.text for d in decoded] == [
        f"https://t.me/livecart_test_bot?start=pickup_{order.code}"
    ]
    # both alerts now offer 수락 (accept)
    owner_alert = await wait_until(owner, owner_alert["message_id"], "결제 완료")
    staff_alert = await wait_until(staff, staff_alert["message_id"], "결제 완료")
    find_button(staff_alert, "수락")

    # the staff member accepts; the owner's late tap is refused politely, naming who did it
    accept = find_button(owner_alert, "수락")["callback_data"]
    await staff.tap("수락", staff_alert)
    await wait_until(owner, owner_alert["message_id"], "이직원")
    # the owner tapped the old button just before their alert changed
    pressed = await owner.client.press(
        owner.user_id, owner_alert["message_id"], data=accept, forge=True
    )
    late = await owner.client.wait_for_callback_answer(pressed["callback_query_id"])
    assert "이직원" in (late.get("text") or "")
    await wait_for_text(customer, "준비하고")

    staff_alert = await wait_until(staff, staff_alert["message_id"], "이직원")
    await staff.tap("준비 완료", staff_alert)
    await wait_for_text(customer, "찾아가")

    # at the counter: the owner's phone camera opens the customer's QR link
    card = (await owner.say(f"/start pickup_{order.code}"))[-1]
    assert order.code in text_of(card)
    await owner.tap("전달 완료", card)
    await wait_for_text(customer, "감사")
    await settle(livecart)
    assert (await order_row(db)).status is OrderStatus.COMPLETED
    assert await stock(db, "apple-5kg") == (19, 0)

    # exactly one customer message per status change: placed, paid, accepted, ready, completed
    texts = [text_of(m) for m in await customer.bot_messages()]
    # (the checkout summary, edited to say "placed", is not a new message)
    per_order = [t for t in texts if order.code in t and not t.startswith("✅ 주문이 접수")]
    assert len(per_order) == 5, per_order
    # each vendor: one alert, edited in place (no second alert)
    for vendor in (owner, staff):
        alerts = [m for m in await vendor.bot_messages() if "🔔" in text_of(m)]
        assert len(alerts) == 1 or vendor is owner  # the owner also opened the pickup card
        assert alerts[0]["edits"] >= 3


async def test_refusal_returns_the_stock_and_tells_the_customer_once(
    livecart: Livecart, db: async_sessionmaker[AsyncSession]
) -> None:
    owner = await make_vendor(livecart, "김가나")
    customer = await livecart.person("김영희", "ko")
    await order_an_apple(customer)
    alert = await alert_of(owner, "입금")
    await owner.tap("입금 확인", alert)
    await wait_for_text(customer, "결제 완료")
    alert = await wait_until(owner, alert["message_id"], "결제 완료")
    await owner.tap("품절/거절", alert)
    await owner.tap("품절")
    refused = await wait_for_text(customer, "품절")
    assert "돌려드" in text_of(refused)
    await settle(livecart)
    order = await order_row(db)
    assert order.status is OrderStatus.REFUSED
    assert await stock(db, "apple-5kg") == (20, 0)
    async with db() as session:
        statuses = list(await session.scalars(select(Payment.status)))
    assert statuses == [PaymentStatus.REFUND_REQUESTED]  # a transfer goes back by the shop
    alert = await wait_until(owner, alert["message_id"], "돌려")
    await owner.tap("돌려보냈", alert)
    done = await wait_for_text(customer, "환불")
    assert "₩32,000" in text_of(done)
    await settle(livecart)
    async with db() as session:
        statuses = list(await session.scalars(select(Payment.status)))
    assert statuses == [PaymentStatus.REFUNDED]
    # the customer heard: placed, paid, refused (with the money note), refunded
    texts = [text_of(m) for m in await customer.bot_messages()]
    assert len([t for t in texts if order.code in t and not t.startswith("✅ 주문이")]) == 4, texts


async def test_customers_and_other_shops_cannot_act_on_an_order(
    livecart: Livecart, db: async_sessionmaker[AsyncSession]
) -> None:
    owner = await make_vendor(livecart, "김가나")
    other = await make_vendor(livecart, "박건어", shop_slug="park-dried-fish")
    customer = await livecart.person("김영희", "ko")
    await order_an_apple(customer)
    alert = await alert_of(owner, "입금")
    data = find_button(alert, "입금 확인")["callback_data"]
    await other.say("/start")
    for intruder in (customer, other):
        on_screen = await intruder.last()
        pressed = await intruder.client.press(
            intruder.user_id, on_screen["message_id"], data=data, forge=True
        )
        answer = await intruder.client.wait_for_callback_answer(pressed["callback_query_id"])
        assert "직원" in (answer.get("text") or "")
    # typing the order code or opening the pickup link shows nothing to them either
    for intruder in (customer, other):
        reply = (await intruder.say(f"/start pickup_{(await order_row(db)).code}"))[-1]
        assert "+821012345678" not in text_of(reply) and "010-1234-5678" not in text_of(reply)
    await settle(livecart)
    assert (await order_row(db)).status is OrderStatus.PENDING_PAYMENT
    counts = Counter(text_of(m)[:2] for m in await other.bot_messages())
    assert not any("🔔" in key for key in counts)
