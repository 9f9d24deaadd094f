"""The customer's cart, stored in the database so it survives restarts and any instance sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from catalog.errors import InvalidInput, NotFound
from catalog.models import CartItem, Customer, Product, Shop
from catalog.orders import MAX_LINE_QUANTITY
from catalog.pricing import live_prices, price_of


@dataclass(frozen=True)
class CartLine:
    item_id: int
    product: Product
    quantity: int
    unit_price: int  # the price in force now: a show's live price while it is on air

    @property
    def line_total(self) -> int:
        return self.unit_price * self.quantity


async def set_cart_quantity(
    session: AsyncSession, customer: Customer, product: Product, quantity: int, *, now: datetime
) -> int:
    """Set (not add) how many of a product are in the cart; 0 removes it. Returns the quantity.

    Setting an absolute number makes a repeated tap harmless: it sets the same number again.
    """
    if quantity < 0 or quantity > MAX_LINE_QUANTITY:
        raise InvalidInput(f"quantity must be 0 to {MAX_LINE_QUANTITY}", field="quantity")
    if product.is_hidden and quantity > 0:
        raise NotFound("product", product.sku)
    item = await session.scalar(
        select(CartItem).where(
            CartItem.customer_id == customer.id, CartItem.product_id == product.id
        )
    )
    if quantity == 0:
        if item is not None:
            await session.delete(item)
            await session.flush()
        return 0
    if item is not None:
        item.quantity = quantity
        await session.flush()
        return quantity
    try:
        async with session.begin_nested():
            session.add(
                CartItem(
                    customer_id=customer.id, product_id=product.id, quantity=quantity, added_at=now
                )
            )
            await session.flush()
    except IntegrityError:  # the same tap arrived twice at once: the row exists, set it
        item = await session.scalar(
            select(CartItem).where(
                CartItem.customer_id == customer.id, CartItem.product_id == product.id
            )
        )
        if item is None:
            raise
        item.quantity = quantity
        await session.flush()
    return quantity


async def add_to_cart(
    session: AsyncSession, customer: Customer, product: Product, quantity: int, *, now: datetime
) -> int:
    """Add units to the cart line (typed orders: "3번 2개" adds two more). Returns the new total."""
    if quantity < 1:
        raise InvalidInput("quantity must be at least 1", field="quantity")
    current = await session.scalar(
        select(CartItem.quantity).where(
            CartItem.customer_id == customer.id, CartItem.product_id == product.id
        )
    )
    return await set_cart_quantity(
        session, customer, product, min(MAX_LINE_QUANTITY, (current or 0) + quantity), now=now
    )


async def cart_lines(
    session: AsyncSession, customer: Customer, shop: Shop | None = None, *, now: datetime
) -> list[CartLine]:
    """The cart's lines in the order they were added, optionally of one shop, priced at `now`."""
    query = (
        select(CartItem)
        .where(CartItem.customer_id == customer.id)
        .options(selectinload(CartItem.product))
        .order_by(CartItem.added_at, CartItem.id)
    )
    if shop is not None:
        query = query.join(Product).where(Product.shop_id == shop.id)
    # a product the shop has hidden since is not offered any more (and can't block checkout)
    items = [i for i in await session.scalars(query) if not i.product.is_hidden]
    prices = await live_prices(session, (i.product_id for i in items), now)
    return [
        CartLine(
            item_id=i.id,
            product=i.product,
            quantity=i.quantity,
            unit_price=price_of(i.product, prices),
        )
        for i in items
    ]


async def clear_cart(session: AsyncSession, customer: Customer, shop: Shop | None = None) -> None:
    """Empty the cart (or one shop's part of it), e.g. after the order is placed."""
    query = delete(CartItem).where(CartItem.customer_id == customer.id)
    if shop is not None:
        query = query.where(
            CartItem.product_id.in_(select(Product.id).where(Product.shop_id == shop.id))
        )
    await session.execute(query.execution_options(synchronize_session=False))
