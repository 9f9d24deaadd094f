"""Order export for accounting: a date range, cursor pages, JSON or CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.clock import FrozenClock
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
    naive = await api.get(
        "/api/v1/shops/ganada/orders", params={"since": "2026-11-26T00:00:00"}, headers=AUTH
    )
    assert naive.status_code == 422
