"""What a product costs right now: its list price, or a show's live price while the show is on.

A campaign features products in a show with an optional live price (`ShowProduct.live_price`).
From the show's start until its end that price is the one shown and charged, in the chat, the
cart, the checkout summary and the order; if two shows on air feature the same product, the
lower live price wins. The price an order was placed at is kept on its lines (`unit_price`), so
the show ending later changes nothing already ordered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import Product, Show, ShowProduct


def on_air_live_prices(now: datetime) -> Select[int, int | None]:
    """The rule, in one query every reader shares: (product id, lowest live price) of the
    products featured with a live price in a show on air at `now`."""
    return (
        select(ShowProduct.product_id, func.min(ShowProduct.live_price).label("live_price"))
        .join(Show, Show.id == ShowProduct.show_id)
        .where(
            ShowProduct.live_price.is_not(None),
            Show.starts_at <= now,
            Show.ends_at > now,
        )
        .group_by(ShowProduct.product_id)
    )


async def live_prices(
    session: AsyncSession, product_ids: Iterable[int], now: datetime
) -> dict[int, int]:
    """{product id: live price} for the given products featured with a price in a show on air."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    rows = await session.execute(on_air_live_prices(now).where(ShowProduct.product_id.in_(ids)))
    return {product_id: int(price) for product_id, price in rows.all() if price is not None}


def price_of(product: Product, prices: Mapping[int, int]) -> int:
    """The product's price given the live prices in force (its list price if none)."""
    return prices.get(product.id, product.price)
