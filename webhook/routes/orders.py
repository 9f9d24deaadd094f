"""GET /api/v1/shops/{shop}/orders."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from catalog.errors import InvalidInput
from catalog.models import OrderStatus
from catalog.orders import list_orders
from webhook.deps import Authorized, SessionDep, ShopDep
from webhook.schemas import OrderOut, OrderPage

router = APIRouter(prefix="/api/v1/shops/{shop}/orders", tags=["orders"], dependencies=[Authorized])


@router.get("", response_model=OrderPage)
async def list_shop_orders(
    shop: ShopDep,
    session: SessionDep,
    status: Annotated[list[OrderStatus] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
) -> OrderPage:
    """The shop's orders, newest first; filter by one or more `status`, page with `cursor`."""
    before_id = None
    if cursor is not None:
        if not cursor.isdigit():
            raise InvalidInput("cursor must be the next_cursor of a previous page", field="cursor")
        before_id = int(cursor)
    orders = await list_orders(session, shop, statuses=status, limit=limit, before_id=before_id)
    next_cursor = str(orders[-1].id) if len(orders) == limit else None
    return OrderPage(items=[OrderOut.model_validate(o) for o in orders], next_cursor=next_cursor)
