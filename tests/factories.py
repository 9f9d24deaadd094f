"""Factories that build real rows through the catalog services."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from catalog.clock import FrozenClock
from catalog.customers import ensure_customer
from catalog.models import Customer, Fulfilment, Market, Order, Product, Shop
from catalog.orders import RequestedLine, place_order
from catalog.products import upsert_product
from catalog.shops import upsert_market, upsert_shop

SELLER = {
    "legal_name": "가나청과",
    "representative": "김가나",
    "business_number": "123-45-67890",
    "mail_order_number": "2026-서울종로-0001",
    "address": "서울특별시 종로구 창경궁로 88 광장시장 A동 12호",
    "phone": "02-2267-0291",
    "email": "ganada@example.com",
    "delivery_terms": "택배 2~3일, 배송비 3,000원",
    "cancellation_terms": "받은 날부터 7일 안에 청약철회할 수 있어요.",
    "refund_terms": "반품 받은 날부터 3영업일 안에 환불해요.",
}


async def make_market(
    session: AsyncSession, clock: FrozenClock, slug: str = "gwangjang", name: str = "광장시장"
) -> Market:
    return await upsert_market(session, slug=slug, name=name, now=clock.now())


async def make_shop(
    session: AsyncSession,
    clock: FrozenClock,
    slug: str = "ganada",
    name: str = "가나청과",
    market: Market | None = None,
    **fields: Any,
) -> Shop:
    data: dict[str, Any] = {"name": name, **SELLER, **fields}
    shop, _ = await upsert_shop(
        session,
        slug=slug,
        now=clock.now(),
        market_slug=market.slug if market else None,
        fields=data,
    )
    return shop


async def make_product(
    session: AsyncSession,
    clock: FrozenClock,
    shop: Shop,
    sku: str = "apple-5kg",
    name: str = "부사 사과 5kg",
    price: int = 32000,
    stock: int = 10,
    **fields: Any,
) -> Product:
    product, _ = await upsert_product(
        session,
        shop,
        sku=sku,
        fields={"name": name, "price": price, "stock": stock, "unit": "상자", **fields},
        now=clock.now(),
    )
    return product


async def make_customer(
    session: AsyncSession, clock: FrozenClock, user_id: int = 5_000_000_001, language: str = "ko"
) -> Customer:
    return await ensure_customer(
        session,
        telegram_user_id=user_id,
        chat_id=user_id,
        name="손님",
        language=language,
        now=clock.now(),
    )


async def make_order(
    session: AsyncSession,
    clock: FrozenClock,
    shop: Shop,
    product: Product,
    quantity: int = 1,
    *,
    customer: Customer | None = None,
) -> Order:
    """A pending pickup order of one product, placed through the catalog service."""
    return await place_order(
        session,
        shop=shop,
        customer=customer,
        lines=[RequestedLine(product.id, quantity)],
        fulfilment=Fulfilment.PICKUP,
        now=clock.now(),
    )
