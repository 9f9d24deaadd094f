"""Stock moves as conditional UPDATEs: never read-then-write, so nothing is ever oversold."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.errors import OutOfStock, Shortage
from catalog.models import Product


async def reserve_stock(session: AsyncSession, quantities: Mapping[int, int]) -> None:
    """Move `quantities` (product id -> units) from available to reserved, all or nothing.

    Rows are updated in product id order so concurrent orders lock them in the same order
    (no deadlocks on PostgreSQL). Every shortage is collected and raised once as OutOfStock;
    the caller runs this inside a savepoint so a failure leaves nothing behind.
    """
    shortages: list[Shortage] = []
    for product_id in sorted(quantities):
        quantity = quantities[product_id]
        result = await session.execute(
            update(Product)
            .where(Product.id == product_id, Product.available >= quantity)
            .values(available=Product.available - quantity, reserved=Product.reserved + quantity)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
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
