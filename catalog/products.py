"""Products of a shop: create, update, list, delete, set stock."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from catalog.errors import DomainError, InvalidInput, NotFound
from catalog.models import (
    CartItem,
    Product,
    Shop,
    ShowProduct,
    WaitlistEntry,
    WaitlistStatus,
)
from catalog.pricing import on_air_live_prices
from catalog.stock import set_available, sync_low_stock
from catalog.waitlist import WithdrawReason, offer_restocked, withdraw_holds

SKU_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
PRODUCT_FIELDS = frozenset(
    {
        "name",
        "unit",
        "price",
        "description",
        "photo_url",
        "position",
        "is_hidden",
        "low_stock_threshold",
    }
)


class ProductInUse(DomainError):
    """A product holding reserved stock can't be deleted until those orders settle."""

    code = "product_in_use"


def check_sku(sku: str) -> str:
    """SKUs are ASCII so they fit deep links and callback data."""
    if not SKU_RE.match(sku):
        raise InvalidInput(
            "sku must be 1-64 characters of A-Z, a-z, 0-9, '_' and '-' (they go into deep links)",
            field="sku",
        )
    return sku


def _check_fields(fields: Mapping[str, Any]) -> None:
    unknown = set(fields) - PRODUCT_FIELDS - {"stock"}
    if unknown:
        raise InvalidInput(f"unknown product fields: {', '.join(sorted(unknown))}")
    if "price" in fields and (not isinstance(fields["price"], int) or fields["price"] < 0):
        raise InvalidInput("price must be a whole number of minor units, 0 or more", "price")
    if "stock" in fields and (not isinstance(fields["stock"], int) or fields["stock"] < 0):
        raise InvalidInput("stock must be a whole number, 0 or more", "stock")
    if "name" in fields and not str(fields["name"]).strip():
        raise InvalidInput("name must not be empty", "name")


async def upsert_product(
    session: AsyncSession,
    shop: Shop,
    *,
    sku: str,
    fields: Mapping[str, Any],
    now: datetime,
    actor: str = "admin",
) -> tuple[Product, bool]:
    """Create or update a product by (shop, sku); `stock` sets the available quantity.

    Returns (product, created). Reserved stock is never touched here.
    """
    check_sku(sku)
    _check_fields(fields)
    product = await session.scalar(
        select(Product).where(Product.shop_id == shop.id, Product.sku == sku)
    )
    created = product is None
    if product is None:
        if "name" not in fields or "price" not in fields:
            raise InvalidInput("a new product needs a name and a price")
        next_position = await session.scalar(
            select(func.coalesce(func.max(Product.position), 0) + 1).where(
                Product.shop_id == shop.id
            )
        )
        product = Product(
            shop_id=shop.id,
            sku=sku,
            available=0,
            reserved=0,
            position=int(next_position or 1),
            created_at=now,
            stock_version=0,
        )
        session.add(product)
    hiding = not created and fields.get("is_hidden") is True and not product.is_hidden
    showing = not created and fields.get("is_hidden") is False and product.is_hidden
    if hiding:  # like the vendor's 숨기기: held units are withdrawn, the line waits on
        await withdraw_holds(session, product.id, now=now)
    for key, value in fields.items():
        if key != "stock":
            setattr(product, key, value)
    product.updated_at = now
    await session.flush()
    if hiding or showing:
        if showing:
            await offer_restocked(session, [product.id], now=now)
        await session.refresh(product)
    if "stock" in fields:
        product = await set_available(
            session, product.id, int(fields["stock"]), now=now, actor=actor
        )
    elif "low_stock_threshold" in fields and not created:
        await sync_low_stock(session, [product.id], now=now)
        await session.refresh(product)
    return product, created


async def get_product(session: AsyncSession, shop: Shop, sku: str) -> Product:
    """The product by (shop, sku), or NotFound."""
    product = await session.scalar(
        select(Product).where(Product.shop_id == shop.id, Product.sku == sku)
    )
    if product is None:
        raise NotFound("product", sku)
    return product


async def get_product_by_id(session: AsyncSession, product_id: int) -> Product:
    """The product by id, or NotFound."""
    product = await session.get(Product, product_id)
    if product is None:
        raise NotFound("product", product_id)
    return product


async def list_products(
    session: AsyncSession, shop: Shop, *, include_hidden: bool = False
) -> list[Product]:
    """A shop's products in display order (the numbers customers type: "3번")."""
    query = select(Product).where(Product.shop_id == shop.id)
    if not include_hidden:
        query = query.where(Product.is_hidden.is_(False))
    return list(await session.scalars(query.order_by(Product.position, Product.id)))


async def list_products_priced(
    session: AsyncSession, shop: Shop, now: datetime
) -> tuple[list[Product], dict[int, int]]:
    """`list_products` (visible ones) and their `pricing.live_prices` at `now`, in one query."""
    live = on_air_live_prices(now).subquery()
    rows = await session.execute(
        select(Product, live.c.live_price)
        .outerjoin(live, live.c.product_id == Product.id)
        .where(Product.shop_id == shop.id, Product.is_hidden.is_(False))
        .order_by(Product.position, Product.id)
    )
    products: list[Product] = []
    prices: dict[int, int] = {}
    for product, price in rows.all():
        products.append(product)
        if price is not None:
            prices[product.id] = int(price)
    return products, prices


@dataclass(frozen=True)
class ProductCard:
    """What a product's card shows besides the product itself, read in one round trip."""

    shop: Shop
    number: int | None  # its place in the shop's visible list (the "3번"); None if hidden
    in_cart: int  # units of it in the customer's cart
    held: int  # units held for the customer by a waitlist offer
    live_price: int | None  # the lowest live price of a show on air featuring it

    def prices(self, product: Product) -> dict[int, int]:
        """{product id: live price}, as `catalog.pricing.live_prices` gives it."""
        return {} if self.live_price is None else {product.id: self.live_price}


# made once: an alias of Product proxies every column (and its foreign keys), which costs
# more CPU than the query itself when built per call
_ME, _OTHER = aliased(Product, name="me"), aliased(Product, name="other")


async def product_card(
    session: AsyncSession, product: Product, customer_id: int | None, now: datetime
) -> ProductCard:
    """The product's shop, number, cart units, held units and live price in one query.

    The same answers as `get_shop_by_id`, `list_products` (its position in it), the cart
    row, `waitlist.held_units` and `pricing.live_prices`, one round trip instead of five:
    a product tap is the commonest update.
    """
    me, other = _ME, _OTHER
    number = (
        select(func.count())
        .select_from(other)
        .join(me, and_(me.id == product.id, me.is_hidden.is_(False), other.shop_id == me.shop_id))
        .where(
            other.is_hidden.is_(False),
            or_(
                other.position < me.position,
                and_(other.position == me.position, other.id <= me.id),
            ),
        )
        .scalar_subquery()
    )
    live_price = (
        on_air_live_prices(now)
        .where(ShowProduct.product_id == product.id)
        .with_only_columns(func.min(ShowProduct.live_price))
        .scalar_subquery()
    )
    columns: list[Any] = [Shop, number, live_price]
    if customer_id is not None:
        in_cart = (
            select(CartItem.quantity)
            .where(CartItem.customer_id == customer_id, CartItem.product_id == product.id)
            .scalar_subquery()
        )
        held = (
            select(func.count())
            .select_from(WaitlistEntry)
            .where(
                WaitlistEntry.customer_id == customer_id,
                WaitlistEntry.product_id == product.id,
                WaitlistEntry.status == WaitlistStatus.OFFERED,
            )
            .scalar_subquery()
        )
        columns += [in_cart, held]
    row = (await session.execute(select(*columns).where(Shop.id == product.shop_id))).first()
    if row is None:
        raise NotFound("shop", product.shop_id)
    shop, place, price = row[0], row[1], row[2]
    cart_units, held_units = (row[3], row[4]) if customer_id is not None else (None, 0)
    return ProductCard(
        shop=shop,
        number=int(place) if place else None,
        in_cart=int(cart_units or 0),
        held=int(held_units or 0),
        live_price=None if price is None else int(price),
    )


async def delete_product(session: AsyncSession, shop: Shop, sku: str, *, now: datetime) -> None:
    """Delete a product (order lines keep a copy); refused while unpaid orders reserve some
    of it. Units held for waiting customers don't stop it: those holds are withdrawn and the
    customers told once (undone with the refusal)."""
    product = await get_product(session, shop, sku)
    async with session.begin_nested():
        await withdraw_holds(session, product.id, now=now, reason=WithdrawReason.REMOVED)
        await session.flush()
        await session.refresh(product)
        if product.reserved > 0:
            raise ProductInUse(f"{product.reserved} units of {sku!r} are reserved by unpaid orders")
    await session.delete(product)
    await session.flush()
