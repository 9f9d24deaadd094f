"""Stock sync from other channels: versions, idempotency keys, per-item results, shop tokens."""

from __future__ import annotations

import asyncio
import random

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.clock import FrozenClock
from catalog.products import get_product
from catalog.shops import get_shop
from tests.factories import make_order, make_product, make_shop
from tests.webhook.conftest import AUTH


async def _shop_with_products(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, skus: list[str]
) -> None:
    async with sessionmaker() as session:
        shop = await make_shop(session, clock)
        await make_shop(session, clock, slug="other", name="다른가게")
        for sku in skus:
            await make_product(session, clock, shop, sku=sku, stock=10)
        await session.commit()


async def _shop_token(api: httpx.AsyncClient, shop: str = "ganada") -> dict[str, str]:
    response = await api.post(
        f"/api/v1/shops/{shop}/api-tokens", json={"name": "pos"}, headers=AUTH
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def _stock(sessionmaker: async_sessionmaker[AsyncSession], sku: str) -> tuple[int, int, int]:
    async with sessionmaker() as session:
        product = await get_product(session, await get_shop(session, "ganada"), sku)
        return product.available, product.reserved, product.stock_version


async def test_a_till_sets_stock_and_an_older_update_arriving_late_is_ignored(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await _shop_with_products(sessionmaker, clock, ["apple-5kg"])
    token = await _shop_token(api)
    newer = {"items": [{"sku": "apple-5kg", "set": 7, "version": 5}]}
    older = {"items": [{"sku": "apple-5kg", "set": 99, "version": 4}]}
    first = await api.post("/api/v1/shops/ganada/stock", json=newer, headers=token)
    assert first.status_code == 200, first.text
    assert first.json()["results"][0]["outcome"] == "applied"
    late = await api.post("/api/v1/shops/ganada/stock", json=older, headers=token)
    result = late.json()["results"][0]
    assert (result["outcome"], result["reason"], result["available"]) == (
        "stale",
        "stale_version",
        7,
    )
    assert await _stock(sessionmaker, "apple-5kg") == (7, 0, 5)


async def test_a_batch_applies_what_it_can_and_names_each_rejection(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await _shop_with_products(sessionmaker, clock, ["apple-5kg", "pear-3kg"])
    async with sessionmaker() as session:
        shop = await get_shop(session, "ganada")
        apple = await get_product(session, shop, "apple-5kg")
        await make_order(session, clock, shop, apple, 4)  # 4 reserved, 6 available
        await session.commit()
    body = {
        "items": [
            {"sku": "apple-5kg", "set": 3, "version": 1},  # on hand 3 < 4 reserved
            {"sku": "apple-5kg", "delta": -7, "version": 2},  # 6 sellable - 7 < 0
            {"sku": "pear-3kg", "delta": -2, "occurred_at": "2026-11-25T09:00:00+09:00"},
            {"sku": "no-such", "set": 1, "version": 1},
        ]
    }
    response = await api.post("/api/v1/shops/ganada/stock", json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    outcomes = [(r["sku"], r["outcome"], r.get("reason")) for r in response.json()["results"]]
    assert outcomes == [
        ("apple-5kg", "rejected", "below_reserved"),
        ("apple-5kg", "rejected", "below_reserved"),
        ("pear-3kg", "applied", None),
        ("no-such", "rejected", "unknown_sku"),
    ]
    assert await _stock(sessionmaker, "apple-5kg") == (6, 4, 0)
    assert (await _stock(sessionmaker, "pear-3kg"))[0] == 8
    on_hand = {"items": [{"sku": "apple-5kg", "set": 5, "version": 3}]}
    applied = (await api.post("/api/v1/shops/ganada/stock", json=on_hand, headers=AUTH)).json()
    assert applied["results"][0]["available"] == 1  # 5 on hand, 4 of them reserved


async def test_a_retried_request_with_its_idempotency_key_gets_the_first_answer_and_changes_nothing(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await _shop_with_products(sessionmaker, clock, ["apple-5kg"])
    token = await _shop_token(api)
    headers = {**token, "Idempotency-Key": "pos-42"}
    body = {"items": [{"sku": "apple-5kg", "delta": -3, "version": 1}]}
    first = await api.post("/api/v1/shops/ganada/stock", json=body, headers=headers)
    again = await api.post("/api/v1/shops/ganada/stock", json=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await _stock(sessionmaker, "apple-5kg") == (7, 0, 1)
    other = {"items": [{"sku": "apple-5kg", "delta": -1, "version": 2}]}
    reused = await api.post("/api/v1/shops/ganada/stock", json=other, headers=headers)
    assert reused.status_code == 422
    assert reused.json()["type"].endswith("idempotency_key_reused")


async def test_concurrent_retries_of_one_idempotency_key_apply_once(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await _shop_with_products(sessionmaker, clock, ["apple-5kg"])
    headers = {**AUTH, "Idempotency-Key": "burst"}
    body = {"items": [{"sku": "apple-5kg", "delta": -1, "version": 9}]}
    answers = await asyncio.gather(
        *(api.post("/api/v1/shops/ganada/stock", json=body, headers=headers) for _ in range(6))
    )
    assert {a.status_code for a in answers} == {200}
    assert len({a.text for a in answers}) == 1
    assert await _stock(sessionmaker, "apple-5kg") == (9, 0, 9)


async def test_eight_writers_with_interleaved_versions_end_with_the_newest(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    skus = ["apple-5kg", "pear-3kg", "grape-2kg"]
    await _shop_with_products(sessionmaker, clock, skus)
    versions = list(range(1, 81))
    random.Random(8).shuffle(versions)
    # each version's stock is the version itself: the newest (80) must win on every sku
    batches = [versions[i::8] for i in range(8)]

    async def writer(mine: list[int]) -> None:
        for version in mine:
            items = [{"sku": sku, "set": version, "version": version} for sku in reversed(skus)]
            response = await api.post(
                "/api/v1/shops/ganada/stock",
                json={"items": items},
                headers={**AUTH, "Idempotency-Key": f"v{version}"},
            )
            assert response.status_code == 200, response.text

    await asyncio.gather(*(writer(batch) for batch in batches))
    for sku in skus:
        assert await _stock(sessionmaker, sku) == (80, 0, 80)


async def test_a_shop_token_cannot_touch_another_shop_and_a_revoked_token_nothing(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await _shop_with_products(sessionmaker, clock, ["apple-5kg"])
    token = await _shop_token(api)
    body = {"items": [{"sku": "apple-5kg", "set": 1, "version": 1}]}
    assert (
        await api.post("/api/v1/shops/other/stock", json=body, headers=token)
    ).status_code == 403
    assert (await api.get("/api/v1/shops/other/orders", headers=token)).status_code == 403
    assert (await api.get("/api/v1/shops/ganada/orders", headers=token)).status_code == 200
    assert (await api.get("/api/v1/shops", headers=token)).status_code == 403
    listed = (await api.get("/api/v1/shops/ganada/api-tokens", headers=AUTH)).json()
    revoke = await api.delete(f"/api/v1/shops/ganada/api-tokens/{listed[0]['id']}", headers=AUTH)
    assert revoke.status_code == 204
    after = await api.post("/api/v1/shops/ganada/stock", json=body, headers=token)
    assert after.status_code == 401
