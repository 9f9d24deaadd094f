"""A vendor taps "📊 엑셀로 받기" under the stock list and gets the month's orders as an .xlsx
document in the chat (sent through the outbox and the simulator's sendDocument)."""

from __future__ import annotations

import io
from datetime import timedelta

import openpyxl
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.factory import build_i18n
from bot.notifications import RenderEnv
from bot.routers.vendor_export import SHEET_KIND
from bot.vendor_notifications import render_vendor_orders_sheet
from catalog.clock import FrozenClock
from catalog.models import OutboxMessage, Product, Vendor
from catalog.order_sheet import month_period
from catalog.orders import mark_paid
from catalog.outbox import enqueue_notification
from tests.bot.conftest import Livecart, bind_vendor, text_of
from tests.factories import make_order, make_product, make_shop


async def test_a_vendor_gets_this_months_orders_as_an_excel_document(
    livecart: Livecart, db: async_sessionmaker[AsyncSession]
) -> None:
    seller = await livecart.person("김가나")
    shop = await bind_vendor(db, seller, "ganada-fruit")
    clock = livecart.clock
    async with db() as session:
        apple = await session.scalar(
            select(Product).where(Product.shop_id == shop.id).order_by(Product.id)
        )
        assert apple is not None
        last_month = await make_order(session, clock, shop, apple, 1)
        last_month.created_at -= timedelta(days=40)  # not in this month's file
        paid = await make_order(session, clock, shop, apple, 3)
        await mark_paid(session, paid, now=clock.now(), actor="test")
        pending = await make_order(session, clock, shop, apple, 1)
        await session.commit()

    await seller.say("/stock")
    await seller.tap("📊")
    await seller.tap("이번 달")
    await seller.tap("이번 달")  # a double tap: still one file
    (document,) = await livecart.client.wait_for_messages(
        seller.user_id, predicate=lambda m: bool(m.get("document_file_id"))
    )
    assert document["document"]["file_name"] == "ganada-fruit-orders-20261101-20261130.xlsx"
    # the vendor's language; the month's two orders, not last month's
    assert text_of(document) == f"📊 {shop.name}: 주문 2건, 2026. 11. 1. – 2026. 11. 30."

    content = await livecart.client.file_bytes(document["document_file_id"])
    rows = list(openpyxl.load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))
    assert [row[0] for row in rows[1:-1]] == [paid.code, pending.code]
    assert rows[1][10] == 3 and rows[1][11] == 3 * apple.price
    assert rows[-1][11] == 3 * apple.price  # only the paid order counts in the totals
    async with db() as session:
        sheets = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == SHEET_KIND)
        )
        assert len(list(sheets)) == 1


async def test_a_month_with_too_many_orders_gets_a_clear_message_instead_of_a_file(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with sessionmaker() as session:
        shop = await make_shop(session, clock)
        apple = await make_product(session, clock, shop, stock=10)
        for _order in range(3):
            await make_order(session, clock, shop, apple, 1)
        period = month_period(clock.now(), shop.timezone)
        row = await enqueue_notification(
            session,
            chat_id=1,
            kind=SHEET_KIND,
            data={"shop_id": shop.id, "since": period.since.isoformat(), "until": None},
            now=clock.now(),
        )
        session.add(Vendor(shop_id=shop.id, telegram_user_id=1, chat_id=1, name="김가나",
                           role="owner", created_at=clock.now()))  # fmt: skip
        await session.commit()
        i18n = build_i18n("ko")
        with i18n.context(), i18n.use_locale("ko"):
            refused = await render_vendor_orders_sheet(
                session, row, "ko", RenderEnv(), max_orders=2
            )
    assert refused is not None and refused.document is None
    assert refused.text.startswith(f"📊 {shop.name}, 2026. 11. 1.: 주문이 2건보다 많아서")
