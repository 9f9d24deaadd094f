"""CSV import and export: all or nothing, bad rows by line number, re-import updates in place."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.clock import FrozenClock
from catalog.models import Market, Product, Shop
from catalog.product_csv import HEADER, CsvImportError, export_products, import_products

DEMO_CSV = Path(__file__).resolve().parents[2] / "livecart" / "data" / "demo_market.csv"

GOOD = """market,shop,sku,name,unit,price,stock,description,photo_url
gwangjang,ganada,apple-5kg,부사 사과 5kg,상자,"32,000",10,아삭한 사과,https://example.com/a.jpg
gwangjang,ganada,pear,신고 배,개,4500,0,,
,solo-stall,kimchi,포기김치 3kg,통,25000,5,,
"""


async def test_a_good_file_creates_markets_shops_and_products(
    session: AsyncSession, clock: FrozenClock
) -> None:
    summary = await import_products(session, GOOD, now=clock.now())
    await session.commit()
    assert (summary.created, summary.updated) == (3, 0)
    assert sorted(summary.shops_created) == ["ganada", "solo-stall"]
    apple = await session.scalar(select(Product).where(Product.sku == "apple-5kg"))
    assert apple is not None
    assert (apple.price, apple.available, apple.unit) == (32000, 10, "상자")
    assert await session.scalar(select(func.count()).select_from(Market)) == 1
    solo = await session.scalar(select(Shop).where(Shop.slug == "solo-stall"))
    assert solo is not None and solo.market_id is None


async def test_reimporting_updates_in_place(session: AsyncSession, clock: FrozenClock) -> None:
    await import_products(session, GOOD, now=clock.now())
    changed = GOOD.replace('"32,000",10', "30000,7")
    summary = await import_products(session, changed, now=clock.now())
    await session.commit()
    assert (summary.created, summary.updated) == (0, 3)
    apple = await session.scalar(select(Product).where(Product.sku == "apple-5kg"))
    assert apple is not None and (apple.price, apple.available) == (30000, 7)
    assert await session.scalar(select(func.count()).select_from(Product)) == 3


async def test_bad_rows_are_named_by_line_and_nothing_is_imported(
    session: AsyncSession, clock: FrozenClock
) -> None:
    bad = (
        GOOD
        + "gwangjang,ganada,bad sku,이름,개,100,1,,\n"
        + "gwangjang,ganada,ok-2,,개,100,1,,\n"
        + "gwangjang,ganada,ok-3,떡,개,-5,1,,\n"
        + "gwangjang,ganada,apple-5kg,중복,개,100,1,,\n"
        + "gwangjang,ganada,ok-4,떡,개,100,1,,ftp://x\n"
    )
    with pytest.raises(CsvImportError) as raised:
        await import_products(session, bad, now=clock.now())
    await session.commit()
    assert [line for line, _message in raised.value.problems] == [5, 6, 7, 8, 9]
    assert "sku" in raised.value.problems[0][1]
    assert "repeats line 2" in raised.value.problems[3][1]
    assert await session.scalar(select(func.count()).select_from(Product)) == 0
    assert await session.scalar(select(func.count()).select_from(Shop)) == 0


async def test_a_missing_column_is_refused(session: AsyncSession, clock: FrozenClock) -> None:
    with pytest.raises(CsvImportError) as raised:
        await import_products(session, "shop,sku,name\nx,y,z\n", now=clock.now())
    assert "missing column" in raised.value.problems[0][1]


async def test_export_has_the_documented_header_and_round_trips(
    session: AsyncSession, clock: FrozenClock
) -> None:
    await import_products(session, DEMO_CSV.read_text(encoding="utf-8"), now=clock.now())
    await session.commit()
    exported = await export_products(session)
    assert exported.splitlines()[0] == ",".join(HEADER)
    assert len(exported.splitlines()) == 1 + 10
    summary = await import_products(session, exported, now=clock.now())
    assert (summary.created, summary.updated) == (0, 10)
