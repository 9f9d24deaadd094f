"""Stock updates from another channel (a stall's till, a live-commerce platform).

Each item of a batch is applied on its own (per-item results; the rest of the batch applies
when one sku is rejected). Every item carries a version (or the time it happened): a version
not newer than the one applied is ignored as `stale`, decided inside the conditional UPDATE,
so concurrent writers can't lose an update. A request with an `Idempotency-Key` is answered
once; the same key again returns the stored answer.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.errors import IdempotencyKeyReused, InvalidInput
from catalog.models import IdempotencyRecord, Product, Shop
from catalog.stock import MAX_STOCK, sync_low_stock
from catalog.waitlist import offer_restocked, withdraw_holds
from catalog.webhook_events import emit_stock_events


class ItemOutcome(enum.StrEnum):
    APPLIED = "applied"
    STALE = "stale"  # a newer (or the same) version was applied already: ignored
    REJECTED = "rejected"


@dataclass(frozen=True)
class StockUpdate:
    """`set` is the units on hand (sold-but-unpaid reserved units included); `delta` adds to
    what can be sold. Exactly one of them; `version` grows with every change of the sku."""

    sku: str
    version: int
    set: int | None = None
    delta: int | None = None


def version_of(version: int | None, occurred_at: datetime | None) -> int:
    """A version from an integer or from the time the change happened (microseconds)."""
    if version is not None:
        return version
    if occurred_at is None or occurred_at.tzinfo is None:
        raise InvalidInput("each item needs a version or an aware occurred_at", "version")
    return int(occurred_at.timestamp() * 1_000_000)


class _NotApplied(Exception):
    """Rolls a sold-out's withdrawn holds back when the update itself does not apply."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer


async def _apply_one(
    session: AsyncSession, shop: Shop, item: StockUpdate, *, now: datetime
) -> tuple[dict[str, Any], int | None]:
    if item.set != 0:
        return await _apply_update(session, shop, item, now=now)
    # `set: 0` is a sold-out: units held for waiting customers go too, but only if the
    # update applies (not stale, no order reserving units), hence the savepoint
    product_id = await session.scalar(
        select(Product.id).where(Product.shop_id == shop.id, Product.sku == item.sku)
    )
    if product_id is None:
        return await _apply_update(session, shop, item, now=now)
    try:
        async with session.begin_nested():
            await withdraw_holds(session, product_id, now=now)
            await session.flush()  # the messages belong to the savepoint too
            answer, applied = await _apply_update(session, shop, item, now=now)
            if applied is None:
                raise _NotApplied(answer)
    except _NotApplied as not_applied:
        return not_applied.answer, None
    return answer, applied


async def _apply_update(
    session: AsyncSession, shop: Shop, item: StockUpdate, *, now: datetime
) -> tuple[dict[str, Any], int | None]:
    if item.set is not None:
        new_available = item.set - Product.reserved
        allowed = Product.reserved <= item.set
    else:
        new_available = Product.available + (item.delta or 0)
        allowed = and_(new_available >= 0, new_available <= MAX_STOCK)
    moved = (
        await session.execute(
            update(Product)
            .where(
                Product.shop_id == shop.id,
                Product.sku == item.sku,
                Product.stock_version < item.version,
                allowed,
            )
            .values(available=new_available, stock_version=item.version, updated_at=now)
            .returning(Product.id, Product.available, Product.reserved, Product.stock_version)
            .execution_options(synchronize_session=False)
        )
    ).first()
    if moved is not None:
        result = {
            "sku": item.sku,
            "outcome": ItemOutcome.APPLIED.value,
            "available": moved.available,
            "reserved": moved.reserved,
            "version": moved.stock_version,
        }
        return result, int(moved.id)
    current = (
        await session.execute(
            select(Product.available, Product.reserved, Product.stock_version).where(
                Product.shop_id == shop.id, Product.sku == item.sku
            )
        )
    ).first()
    if current is None:
        return {
            "sku": item.sku,
            "outcome": ItemOutcome.REJECTED.value,
            "reason": "unknown_sku",
        }, None
    base = {
        "sku": item.sku,
        "available": current.available,
        "reserved": current.reserved,
        "version": current.stock_version,
    }
    if current.stock_version >= item.version:
        return {**base, "outcome": ItemOutcome.STALE.value, "reason": "stale_version"}, None
    reason = "below_reserved" if item.set is not None or (item.delta or 0) < 0 else "above_max"
    return {**base, "outcome": ItemOutcome.REJECTED.value, "reason": reason}, None


async def apply_stock_updates(
    session: AsyncSession, shop: Shop, items: Sequence[StockUpdate], *, now: datetime
) -> list[dict[str, Any]]:
    """Apply each update whose version is newer than the product's; per-item results in the
    order given.

    Rows are touched in sku order (the same order for every writer: no deadlocks on
    PostgreSQL). A `set` below the units reserved by unpaid orders, a `delta` that would take
    sellable stock below 0 (into what is reserved), or an unknown sku is rejected for that
    sku only. A `set` of 0 is a sold-out: units held for waiting customers are withdrawn too
    (they wait on, told once). Low-stock alerts and `stock.changed` / `product.sold_out`
    events follow.
    """
    order = sorted(range(len(items)), key=lambda i: items[i].sku)
    results: list[dict[str, Any]] = [{} for _ in items]
    changed: set[int] = set()
    for index in order:
        results[index], product_id = await _apply_one(session, shop, items[index], now=now)
        if product_id is not None:
            changed.add(product_id)
    if changed:
        await sync_low_stock(session, changed, now=now)
        await emit_stock_events(session, changed, now=now)
        await offer_restocked(session, changed, now=now)
    return results


async def apply_stock_batch(
    session: AsyncSession,
    shop: Shop,
    items: Sequence[StockUpdate],
    *,
    now: datetime,
    idempotency_key: str | None = None,
    request_hash: str = "",
) -> tuple[dict[str, Any], bool]:
    """Apply a batch once per `idempotency_key`: the same key and body return the first answer,
    the same key with another body raises IdempotencyKeyReused. Returns the answer and
    whether it is a replay.

    The key is claimed before any stock moves: a concurrent duplicate waits on the unique
    index (PostgreSQL) or on the write lock (SQLite), then reads the stored answer.
    """
    record: IdempotencyRecord | None = None
    if idempotency_key is not None:
        stored = await _stored_answer(session, shop, idempotency_key, request_hash)
        if stored is not None:
            return stored, True
        record = IdempotencyRecord(
            shop_id=shop.id,
            key=idempotency_key,
            request_hash=request_hash,
            status_code=200,
            response={},
            created_at=now,
        )
        try:
            async with session.begin_nested():
                session.add(record)
                await session.flush()
        except IntegrityError:
            stored = await _stored_answer(session, shop, idempotency_key, request_hash)
            if stored is None:  # pragma: no cover - the winner's row is committed by now
                raise
            return stored, True
    answer: dict[str, Any] = {"results": await apply_stock_updates(session, shop, items, now=now)}
    if record is not None:
        record.response = answer
        await session.flush()
    return answer, False


async def _stored_answer(
    session: AsyncSession, shop: Shop, key: str, request_hash: str
) -> dict[str, Any] | None:
    record = await session.scalar(
        select(IdempotencyRecord)
        .where(IdempotencyRecord.shop_id == shop.id, IdempotencyRecord.key == key)
        .execution_options(populate_existing=True)
    )
    if record is None:
        return None
    if record.request_hash != request_hash:
        raise IdempotencyKeyReused(key)
    return dict(record.response)
