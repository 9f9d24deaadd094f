"""PUT/GET/DELETE /api/v1/shops/{shop}/products/{sku}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from catalog.models import Product, Shop
from catalog.products import delete_product, get_product, list_products, upsert_product
from catalog.waitlist import WaitCounts, waiting_counts
from webhook.deps import Authorized, NowDep, SessionDep, ShopDep
from webhook.schemas import ProductIn, ProductOut

router = APIRouter(
    prefix="/api/v1/shops/{shop}/products", tags=["products"], dependencies=[Authorized]
)

SkuPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", examples=["apple-5kg"])]


def product_out(product: Product, shop: Shop, counts: WaitCounts | None = None) -> ProductOut:
    data = {c: getattr(product, c) for c in ProductOut.model_fields if hasattr(product, c)}
    data["currency"] = shop.currency
    counts = counts or WaitCounts()
    data.update(waiting=counts.waiting, waitlist_held=counts.held)
    return ProductOut.model_validate(data)


@router.get("", response_model=list[ProductOut])
async def list_shop_products(shop: ShopDep, session: SessionDep, now: NowDep) -> list[ProductOut]:
    """The shop's products in display order, hidden ones included, with how many customers
    wait for each."""
    products = await list_products(session, shop, include_hidden=True)
    counts = await waiting_counts(session, [p.id for p in products], now=now)
    return [product_out(p, shop, counts.get(p.id)) for p in products]


@router.put(
    "/{sku}",
    response_model=ProductOut,
    responses={201: {"model": ProductOut, "description": "created"}},
)
async def put_product(
    sku: SkuPath,
    body: ProductIn,
    shop: ShopDep,
    session: SessionDep,
    now: NowDep,
    response: Response,
) -> ProductOut:
    """Create the product or update the fields given; `stock` sets available units."""
    product, created = await upsert_product(
        session,
        shop,
        sku=sku,
        fields=body.model_dump(exclude_unset=True, exclude_none=True),
        now=now,
    )
    response.status_code = 201 if created else 200
    counts = await waiting_counts(session, [product.id], now=now)
    return product_out(product, shop, counts.get(product.id))


@router.get("/{sku}", response_model=ProductOut)
async def get_product_route(
    sku: SkuPath, shop: ShopDep, session: SessionDep, now: NowDep
) -> ProductOut:
    """One product with `available` and `reserved` stock and how many customers wait for it."""
    product = await get_product(session, shop, sku)
    counts = await waiting_counts(session, [product.id], now=now)
    return product_out(product, shop, counts.get(product.id))


@router.delete("/{sku}", status_code=204)
async def delete_product_route(
    sku: SkuPath, shop: ShopDep, session: SessionDep, now: NowDep
) -> Response:
    """Delete a product; 409 while unpaid orders reserve some of it. Units held for waiting
    customers are withdrawn (they are told) and don't stop the delete."""
    await delete_product(session, shop, sku, now=now)
    return Response(status_code=204)
