"""The REST admin API: shops, products with stock, orders; bearer auth; problem+json errors."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.clock import FrozenClock
from catalog.models import WaitlistEntry
from catalog.products import get_product
from catalog.shops import get_shop
from catalog.waitlist import join_waitlist
from tests.factories import make_customer, make_order
from tests.webhook.conftest import AUTH

SHOP = {
    "name": "가나청과",
    "legal_name": "가나청과",
    "representative": "김가나",
    "business_number": "123-45-67890",
    "mail_order_number": "2026-서울종로-0001",
    "address": "서울 종로구 창경궁로 88",
    "phone": "02-2267-0291",
    "email": "ganada@example.com",
}


async def _create_shop_with_apples(api: httpx.AsyncClient, stock: int = 10) -> None:
    assert (await api.put("/api/v1/shops/ganada", json=SHOP, headers=AUTH)).status_code == 201
    response = await api.put(
        "/api/v1/shops/ganada/products/apple-5kg",
        json={"name": "부사 사과 5kg", "price": 32000, "stock": stock, "unit": "상자"},
        headers=AUTH,
    )
    assert response.status_code == 201, response.text


async def test_an_admin_creates_a_shop_and_a_product_and_reads_them_back(
    api: httpx.AsyncClient,
) -> None:
    await _create_shop_with_apples(api)

    shop = (await api.get("/api/v1/shops/ganada", headers=AUTH)).json()
    assert shop["business_number"] == "123-45-67890"
    assert shop["deep_link_payload"] == "shop_ganada"
    product = (await api.get("/api/v1/shops/ganada/products/apple-5kg", headers=AUTH)).json()
    assert (product["available"], product["reserved"], product["price"]) == (10, 0, 32000)
    assert product["currency"] == "KRW"

    updated = await api.put(
        "/api/v1/shops/ganada/products/apple-5kg", json={"stock": 4}, headers=AUTH
    )
    assert updated.status_code == 200
    assert (updated.json()["available"], updated.json()["name"]) == (4, "부사 사과 5kg")


async def test_writes_without_a_valid_token_get_401_and_change_nothing(
    api: httpx.AsyncClient,
) -> None:
    await _create_shop_with_apples(api)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        put = await api.put(
            "/api/v1/shops/ganada/products/apple-5kg", json={"stock": 0}, headers=headers
        )
        assert put.status_code == 401
        assert put.headers["content-type"] == "application/problem+json"
        assert (
            await api.delete("/api/v1/shops/ganada/products/apple-5kg", headers=headers)
        ).status_code == 401
        assert (await api.put("/api/v1/shops/other", json=SHOP, headers=headers)).status_code == 401
    product = (await api.get("/api/v1/shops/ganada/products/apple-5kg", headers=AUTH)).json()
    assert product["available"] == 10
    assert (await api.get("/api/v1/shops/other", headers=AUTH)).status_code == 404


async def test_bad_input_is_a_problem_document_naming_the_field(api: httpx.AsyncClient) -> None:
    await _create_shop_with_apples(api)
    response = await api.put(
        "/api/v1/shops/ganada/products/apple-5kg", json={"price": -1}, headers=AUTH
    )
    assert response.status_code == 422
    body = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert body["status"] == 422 and body["errors"][0]["loc"][-1] == "price"

    new_without_price = await api.put(
        "/api/v1/shops/ganada/products/pear", json={"name": "배"}, headers=AUTH
    )
    assert new_without_price.status_code == 422
    assert new_without_price.json()["type"].endswith("/invalid_input")

    bad_slug = await api.put("/api/v1/shops/Bad_Slug!", json=SHOP, headers=AUTH)
    assert bad_slug.status_code in (404, 422)
    unknown_field = await api.put("/api/v1/shops/ganada", json={"colour": "red"}, headers=AUTH)
    assert unknown_field.status_code == 422


async def test_a_missing_shop_or_product_is_404_problem(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/shops/nowhere/products/x", headers=AUTH)
    assert response.status_code == 404
    assert response.json()["type"].endswith("/not_found")


async def test_product_stock_shows_reservations_and_delete_waits_for_them(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await _create_shop_with_apples(api)
    async with sessionmaker() as session:
        shop = await get_shop(session, "ganada")
        apple = await get_product(session, shop, "apple-5kg")
        await make_order(session, clock, shop, apple, 3)
        await session.commit()

    product = (await api.get("/api/v1/shops/ganada/products/apple-5kg", headers=AUTH)).json()
    assert (product["available"], product["reserved"]) == (7, 3)
    refused = await api.delete("/api/v1/shops/ganada/products/apple-5kg", headers=AUTH)
    assert refused.status_code == 409
    assert "3 units of 'apple-5kg' are reserved by unpaid orders" in refused.json()["detail"]

    orders = (await api.get("/api/v1/shops/ganada/orders", headers=AUTH)).json()
    assert [o["status"] for o in orders["items"]] == ["pending_payment"]
    assert orders["items"][0]["lines"][0]["quantity"] == 3
    paid = (await api.get("/api/v1/shops/ganada/orders?status=paid", headers=AUTH)).json()
    assert paid["items"] == []
    bad = await api.get("/api/v1/shops/ganada/orders?status=bogus", headers=AUTH)
    assert bad.status_code == 422


async def test_orders_page_with_a_cursor(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await _create_shop_with_apples(api, stock=100)
    async with sessionmaker() as session:
        shop = await get_shop(session, "ganada")
        apple = await get_product(session, shop, "apple-5kg")
        for _ in range(5):
            await make_order(session, clock, shop, apple, 1)
        await session.commit()
    first = (await api.get("/api/v1/shops/ganada/orders?limit=3", headers=AUTH)).json()
    second = (
        await api.get(
            f"/api/v1/shops/ganada/orders?limit=3&cursor={first['next_cursor']}", headers=AUTH
        )
    ).json()
    codes = [o["code"] for o in first["items"] + second["items"]]
    assert len(codes) == len(set(codes)) == 5
    assert second["next_cursor"] is None


async def test_deleting_an_unreserved_product(api: httpx.AsyncClient) -> None:
    await _create_shop_with_apples(api)
    assert (
        await api.delete("/api/v1/shops/ganada/products/apple-5kg", headers=AUTH)
    ).status_code == 204
    assert (
        await api.get("/api/v1/shops/ganada/products/apple-5kg", headers=AUTH)
    ).status_code == 404


async def test_health_and_openapi_are_public(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    assert (await api.get("/readyz")).status_code == 200
    spec = (await api.get("/openapi.json")).json()
    assert "/api/v1/shops/{shop}/products/{sku}" in spec["paths"]
    assert (await api.get("/docs")).status_code == 200


async def test_a_shop_sets_how_long_a_restock_is_held_and_the_api_shows_who_waits(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await _create_shop_with_apples(api, stock=0)
    assert (await api.get("/api/v1/shops/ganada", headers=AUTH)).json()[
        "waitlist_hold_minutes"
    ] == 10
    changed = await api.put(
        "/api/v1/shops/ganada", json={"waitlist_hold_minutes": 20}, headers=AUTH
    )
    assert changed.status_code == 200 and changed.json()["waitlist_hold_minutes"] == 20
    refused = await api.put("/api/v1/shops/ganada", json={"waitlist_hold_minutes": 0}, headers=AUTH)
    assert refused.status_code == 422

    async with sessionmaker() as session:
        shop = await get_shop(session, "ganada")
        apple = await get_product(session, shop, "apple-5kg")
        for user_id in (5_000_000_001, 5_000_000_002):
            customer = await make_customer(session, clock, user_id=user_id)
            await join_waitlist(session, customer, apple, now=clock.now())
        await session.commit()
    listed = (await api.get("/api/v1/shops/ganada/products", headers=AUTH)).json()
    assert (listed[0]["waiting"], listed[0]["waitlist_held"]) == (2, 0)

    # a stock sync brings one box: the first in line holds it for the shop's 20 minutes
    synced = await api.post(
        "/api/v1/shops/ganada/stock",
        json={"items": [{"sku": "apple-5kg", "delta": 1, "version": 1}]},
        headers=AUTH,
    )
    assert synced.json()["results"][0]["outcome"] == "applied"
    product = (await api.get("/api/v1/shops/ganada/products/apple-5kg", headers=AUTH)).json()
    assert (product["available"], product["reserved"]) == (0, 1)
    assert (product["waiting"], product["waitlist_held"]) == (1, 1)
    async with sessionmaker() as session:
        hold = await session.scalar(
            select(WaitlistEntry.hold_until).where(WaitlistEntry.offered_at.is_not(None))
        )
    assert hold == clock.now() + timedelta(minutes=20)
