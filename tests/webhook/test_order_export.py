"""Order export for accounting: a date range, cursor pages, JSON or CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from zoneinfo import ZoneInfo

import httpx
import openpyxl
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.clock import FrozenClock
from catalog.orders import mark_paid
from tests.factories import make_order, make_product, make_shop
from tests.webhook.conftest import AUTH


async def _five_orders_a_day_apart(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> list[str]:
    codes = []
    async with sessionmaker() as session:
        shop = await make_shop(session, clock)
        product = await make_product(session, clock, shop, stock=50)
        for day in range(5):
            codes.append((await make_order(session, clock, shop, product, day + 1)).code)
            clock.advance(timedelta(days=1))
        await session.commit()
    return codes


async def test_an_accountant_pages_through_a_date_range_as_json(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    codes = await _five_orders_a_day_apart(sessionmaker, clock)
    params = {"since": "2026-11-26T00:00:00+00:00", "until": "2026-11-29T00:00:00Z", "limit": 2}
    seen: list[str] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = await api.get("/api/v1/shops/ganada/orders", params=query, headers=AUTH)
        assert page.status_code == 200, page.text
        seen += [o["code"] for o in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [codes[3], codes[2], codes[1]]  # days 2 to 4, newest first


async def test_the_same_export_as_csv_has_one_row_per_line_and_a_cursor_header(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    codes = await _five_orders_a_day_apart(sessionmaker, clock)
    response = await api.get(
        "/api/v1/shops/ganada/orders", params={"format": "csv", "limit": 3}, headers=AUTH
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r["order_code"] for r in rows] == [codes[4], codes[3], codes[2]]
    assert rows[0]["name"] == "부사 사과 5kg" and rows[0]["quantity"] == "5"
    cursor = response.headers["X-Next-Cursor"]
    rest = await api.get(
        "/api/v1/shops/ganada/orders",
        params={"format": "csv", "limit": 3, "cursor": cursor},
        headers=AUTH,
    )
    rest_rows = list(csv.DictReader(io.StringIO(rest.content.decode("utf-8-sig"))))
    assert [r["order_code"] for r in rest_rows] == [codes[1], codes[0]]
    assert "X-Next-Cursor" not in rest.headers

    async with sessionmaker() as session:  # a shop may name a product anything
        shop = await make_shop(session, clock)
        trap = await make_product(session, clock, shop, sku="trap", name='=HYPERLINK("x")')
        await make_order(session, clock, shop, trap, 1)
        await session.commit()
    newest = await api.get(
        "/api/v1/shops/ganada/orders", params={"format": "csv", "limit": 1}, headers=AUTH
    )
    [row] = list(csv.DictReader(io.StringIO(newest.content.decode("utf-8-sig"))))
    assert row["name"] == '\'=HYPERLINK("x")'  # text in a spreadsheet, never a formula

    naive = await api.get(
        "/api/v1/shops/ganada/orders", params={"since": "2026-11-26T00:00:00"}, headers=AUTH
    )
    assert naive.status_code == 422
    for far in ({"since": "0001-01-01T00:00:00+09:00"}, {"until": "9999-12-31T23:59:59-09:00"}):
        refused = await api.get("/api/v1/shops/ganada/orders", params=far, headers=AUTH)
        assert refused.status_code == 422, far


async def test_the_excel_export_matches_the_orders_and_totals_only_paid_ones(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with sessionmaker() as session:
        shop = await make_shop(session, clock)  # Asia/Seoul
        apple = await make_product(session, clock, shop, stock=50)
        pear = await make_product(session, clock, shop, sku="pear", name="신고 배", price=15000)
        paid = await make_order(session, clock, shop, apple, 2)
        await mark_paid(session, paid, now=clock.now(), actor="test")
        clock.advance(timedelta(hours=1))
        unpaid = await make_order(
            session, clock, shop, pear, 1
        )  # unpaid: listed, not in the totals
        clock.advance(timedelta(days=3))
        await make_order(session, clock, shop, apple, 1)  # outside the period asked for
        await session.commit()
    placed_local = paid.created_at.astimezone(ZoneInfo("Asia/Seoul"))
    day = placed_local.date().isoformat()

    response = await api.get(
        "/api/v1/shops/ganada/orders.xlsx", params={"from": day, "to": day}, headers=AUTH
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("주문번호", "주문일시", "상태")
    assert [r[0] for r in rows[1:-1]] == [paid.code, unpaid.code]
    first = rows[1]
    assert first[1] == placed_local.replace(tzinfo=None)  # 18:00 in Seoul, as Excel shows it
    assert first[2] == "결제 완료" and first[7] == "부사 사과 5kg"
    assert (first[9], first[10], first[11], first[14]) == (32000, 2, 64000, paid.total)
    assert rows[2][2] == "결제 대기" and rows[2][11] == 15000
    assert rows[-1][0] == "합계 (결제된 주문)"
    assert (rows[-1][10], rows[-1][11], rows[-1][14]) == (2, 64000, paid.total)
    assert sheet.cell(row=2, column=12).number_format == '"₩"#,##0'
    assert sheet.cell(row=2, column=2).is_date

    bad = await api.get(
        "/api/v1/shops/ganada/orders.xlsx", params={"from": "yesterday"}, headers=AUTH
    )
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    for far in ({"to": "9999-12-31"}, {"from": "0001-01-01"}, {"from": "0001-01-01T00:00Z"}):
        refused = await api.get("/api/v1/shops/ganada/orders.xlsx", params=far, headers=AUTH)
        assert refused.status_code == 422, far
        assert refused.json()["type"].endswith("invalid_input") and "2100" in refused.text
    assert (await api.get("/api/v1/shops/ganada/orders.xlsx")).status_code == 401
