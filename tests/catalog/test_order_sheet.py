"""The orders workbook on its own: what people typed stays text in the cells."""

from __future__ import annotations

import io

import openpyxl
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.clock import FrozenClock
from catalog.order_sheet import Period, orders_in_period, orders_workbook
from tests.factories import make_order, make_product, make_shop


async def test_a_product_named_like_a_formula_stays_plain_text_in_the_sheet(
    session: AsyncSession, clock: FrozenClock
) -> None:
    shop = await make_shop(session, clock)
    name = '=HYPERLINK("http://x")'
    product = await make_product(session, clock, shop, name=name, unit="=1+1")
    await make_order(session, clock, shop, product, 1)
    orders = await orders_in_period(session, shop, Period(None, None))

    sheet = openpyxl.load_workbook(io.BytesIO(orders_workbook(orders, shop))).active
    cell, unit = sheet.cell(row=2, column=8), sheet.cell(row=2, column=9)
    assert (cell.value, cell.data_type) == (name, "s")
    assert (unit.value, unit.data_type) == ("=1+1", "s")
