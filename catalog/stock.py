"""Stock moves as conditional UPDATEs: never read-then-write, so nothing is ever oversold.

Every move also keeps the low-stock state: when `available` falls to or below a product's
`low_stock_threshold` the shop's vendors are alerted once (`low_stock_alerted` is set by a
compare-and-set), and the flag is cleared when stock rises above the threshold again.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from datetime import datetime

from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.errors import InvalidInput, NotFound, OutOfStock, Shortage
from catalog.models import Product, Vendor
from catalog.outbox import enqueue_notification
from catalog.webhook_events import emit_stock_events

log = logging.getLogger(__name__)

#: the most units one product can be set to (the REST API's limit too)
MAX_STOCK = 1_000_000


async def reserve_stock(
    session: AsyncSession, quantities: Mapping[int, int], *, now: datetime
) -> None:
    """Move `quantities` (product id -> units) from available to reserved, all or nothing.

    Rows are updated in product id order so concurrent orders lock them in the same order
    (no deadlocks on PostgreSQL). Every shortage is collected and raised once as OutOfStock;
    the caller runs this inside a savepoint so a failure leaves nothing behind. A product that
    falls to its low-stock threshold alerts its vendors, once per crossing.
    """
    shortages: list[Shortage] = []
    low: list[int] = []
    for product_id in sorted(quantities):
        quantity = quantities[product_id]
        # RETURNING tells whether the row moved and whether it just went low, in one trip:
        # the flash-sale hot path pays for a low-stock query only when a threshold is crossed
        moved = (
            await session.execute(
                update(Product)
                .where(Product.id == product_id, Product.available >= quantity)
                .values(
                    available=Product.available - quantity, reserved=Product.reserved + quantity
                )
                .returning(
                    Product.available, Product.low_stock_threshold, Product.low_stock_alerted
                )
                .execution_options(synchronize_session=False)
            )
        ).first()
        if moved is not None:
            if _goes_low(moved.available, moved.low_stock_threshold, moved.low_stock_alerted):
                low.append(product_id)
        else:
            row = (
                await session.execute(
                    select(Product.sku, Product.name, Product.available).where(
                        Product.id == product_id
                    )
                )
            ).one()
            shortages.append(
                Shortage(
                    product_id=product_id,
                    sku=row.sku,
                    name=row.name,
                    requested=quantity,
                    available=row.available,
                )
            )
    if shortages:
        raise OutOfStock(shortages)
    if low:
        await alert_low_stock(session, low, now=now)
    await emit_stock_events(session, quantities.keys(), now=now)


async def release_reservation(session: AsyncSession, quantities: Mapping[int, int]) -> None:
    """Return reserved units to available (an unpaid order expired, was cancelled or refused)."""
    for product_id in sorted(quantities):
        quantity = quantities[product_id]
        await session.execute(
            update(Product)
            .where(Product.id == product_id)
            .values(available=Product.available + quantity, reserved=Product.reserved - quantity)
            .execution_options(synchronize_session=False)
        )
    await clear_low_stock(session, quantities.keys())


async def commit_reservation(session: AsyncSession, quantities: Mapping[int, int]) -> None:
    """Reserved units leave the shelf: the order is paid."""
    for product_id in sorted(quantities):
        await session.execute(
            update(Product)
            .where(Product.id == product_id)
            .values(reserved=Product.reserved - quantities[product_id])
            .execution_options(synchronize_session=False)
        )


async def restock(session: AsyncSession, quantities: Mapping[int, int]) -> None:
    """Sold units come back to the shelf (a paid order was cancelled or refused)."""
    for product_id in sorted(quantities):
        await session.execute(
            update(Product)
            .where(Product.id == product_id)
            .values(available=Product.available + quantities[product_id])
            .execution_options(synchronize_session=False)
        )
    await clear_low_stock(session, quantities.keys())


# --- low stock ------------------------------------------------------------------------------


def _goes_low(available: int, threshold: int, alerted: bool) -> bool:
    return not alerted and threshold > 0 and available <= threshold


async def alert_low_stock(
    session: AsyncSession, product_ids: Collection[int], *, now: datetime
) -> list[int]:
    """Alert the vendors of each product at or below its threshold that was not alerted yet.

    The flag is compared-and-set in SQL, so two sales crossing the threshold at once alert
    once. Returns the ids of the products alerted now.
    """
    if not product_ids:
        return []
    flagged = (
        await session.execute(
            update(Product)
            .where(
                Product.id.in_(sorted(product_ids)),
                Product.low_stock_alerted.is_(False),
                Product.low_stock_threshold > 0,
                Product.available <= Product.low_stock_threshold,
            )
            .values(low_stock_alerted=True)
            .returning(
                Product.id,
                Product.shop_id,
                Product.name,
                Product.available,
                Product.low_stock_threshold,
            )
            .execution_options(synchronize_session=False)
        )
    ).all()
    for row in flagged:
        vendors = await session.scalars(
            select(Vendor).where(Vendor.shop_id == row.shop_id).order_by(Vendor.id)
        )
        for vendor in vendors:
            await enqueue_notification(
                session,
                chat_id=vendor.chat_id,
                kind="vendor_low_stock",
                data={
                    "product_id": row.id,
                    "shop_id": row.shop_id,
                    "name": row.name,
                    "available": row.available,
                    "threshold": row.low_stock_threshold,
                },
                ref=f"product:{row.id}",
                now=now,
            )
    return [row.id for row in flagged]


async def clear_low_stock(session: AsyncSession, product_ids: Collection[int]) -> None:
    """Products back above their threshold may alert again the next time they run low."""
    if not product_ids:
        return
    await session.execute(
        update(Product)
        .where(
            Product.id.in_(sorted(product_ids)),
            Product.low_stock_alerted.is_(True),
            Product.available > Product.low_stock_threshold,
        )
        .values(low_stock_alerted=False)
        .execution_options(synchronize_session=False)
    )


async def sync_low_stock(
    session: AsyncSession, product_ids: Collection[int], *, now: datetime
) -> None:
    """Bring the low-stock flag of these products in line with their stock (alerting if low)."""
    await clear_low_stock(session, product_ids)
    await alert_low_stock(session, product_ids, now=now)


# --- vendors and admins changing stock ------------------------------------------------------


async def _fresh_product(session: AsyncSession, product_id: int) -> Product:
    product = await session.scalar(
        select(Product).where(Product.id == product_id).execution_options(populate_existing=True)
    )
    if product is None:
        raise NotFound("product", product_id)
    return product


async def _changed_stock(
    session: AsyncSession, product_id: int, available: object, *, now: datetime, actor: str
) -> Product:
    moved = (
        await session.execute(
            update(Product)
            .where(Product.id == product_id)
            .values(available=available, updated_at=now)
            .returning(Product.available)
            .execution_options(synchronize_session=False)
        )
    ).first()
    if moved is None:
        raise NotFound("product", product_id)
    log.info("product %s: %s available, set by %s", product_id, moved.available, actor)
    await sync_low_stock(session, [product_id], now=now)
    await emit_stock_events(session, [product_id], now=now)
    from catalog.waitlist import offer_restocked  # the waitlist builds on stock

    await offer_restocked(session, [product_id], now=now)
    return await _fresh_product(session, product_id)


async def set_available(
    session: AsyncSession, product_id: int, value: int, *, now: datetime, actor: str
) -> Product:
    """Set how many units can be sold now (reserved units are not touched); returns the product.

    A repeated call sets the same figure. Low-stock state follows: falling to the threshold
    alerts the vendors once, rising above it re-arms the alert. Setting 0 is the vendor's
    "sold out": units held for waiting customers are withdrawn too (they wait on, told once).
    """
    if not 0 <= value <= MAX_STOCK:
        raise InvalidInput(f"stock must be between 0 and {MAX_STOCK}", "stock")
    if value == 0:
        from catalog.waitlist import withdraw_holds

        # 품절: nothing is left to sell, held units included; orders keep what they reserved
        await withdraw_holds(session, product_id, now=now)
    return await _changed_stock(session, product_id, value, now=now, actor=actor)


async def adjust_available(
    session: AsyncSession, product_id: int, delta: int, *, now: datetime, actor: str
) -> Product:
    """Add `delta` units (negative takes away) in one SQL update; returns the product.

    The addition happens in the database, so concurrent taps each count; the result is kept
    between 0 and MAX_STOCK (taking away more than there is leaves 0).
    """
    if abs(delta) > MAX_STOCK:
        raise InvalidInput(f"a change must be at most {MAX_STOCK} units", "delta")
    target = Product.available + delta
    clamped = case((target < 0, 0), (target > MAX_STOCK, MAX_STOCK), else_=target)
    return await _changed_stock(session, product_id, clamped, now=now, actor=actor)


async def set_hidden(
    session: AsyncSession, product_id: int, hidden: bool, *, now: datetime, actor: str
) -> Product:
    """Hide a product from customers (or show it again); its stock is kept as it is.

    Hiding withdraws units held for waiting customers like a sold-out (they wait on, told
    once); showing it again offers its stock to the line."""
    from catalog.waitlist import offer_restocked, withdraw_holds

    withdrawn = await withdraw_holds(session, product_id, now=now) if hidden else 0
    result = await session.execute(
        update(Product)
        .where(Product.id == product_id)
        .values(is_hidden=hidden, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise NotFound("product", product_id)
    log.info("product %s: hidden=%s, set by %s", product_id, hidden, actor)
    if withdrawn:
        await clear_low_stock(session, [product_id])
        await emit_stock_events(session, [product_id], now=now, may_sell_out=False)
    if not hidden:
        await offer_restocked(session, [product_id], now=now)
    return await _fresh_product(session, product_id)
