"""GET /api/v1/shops/{shop}/orders: the shop's orders as JSON, or as CSV for accounting."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime

from catalog.errors import InvalidInput
from catalog.models import Order, OrderStatus
from catalog.orders import list_orders
from webhook.deps import Authorized, SessionDep, ShopDep
from webhook.schemas import OrderOut, OrderPage

router = APIRouter(prefix="/api/v1/shops/{shop}/orders", tags=["orders"], dependencies=[Authorized])

CSV_COLUMNS = (
    "order_code",
    "placed_at",
    "status",
    "fulfilment",
    "payment_method",
    "paid_at",
    "currency",
    "sku",
    "name",
    "unit",
    "unit_price",
    "quantity",
    "line_total",
    "order_subtotal",
    "order_delivery_fee",
    "order_total",
)
CSV_DESCRIPTION = (
    "One row per order line (order columns repeated), UTF-8 with a BOM so spreadsheets read "
    "Hangul; the next page's cursor is in the `X-Next-Cursor` header."
)


def orders_csv(orders: list[Order]) -> str:
    """Order lines as CSV rows for a spreadsheet or an accounting import."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for order in orders:
        for line in order.lines:
            writer.writerow(
                (
                    order.code,
                    order.created_at.isoformat(),
                    order.status.value,
                    order.fulfilment.value,
                    order.payment_method,
                    order.paid_at.isoformat() if order.paid_at else "",
                    order.currency,
                    line.sku,
                    line.name,
                    line.unit,
                    line.unit_price,
                    line.quantity,
                    line.line_total,
                    order.subtotal,
                    order.delivery_fee,
                    order.total,
                )
            )
    return "\ufeff" + buffer.getvalue()


@router.get(
    "",
    response_model=OrderPage,
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "JSON, or CSV with `format=csv`. " + CSV_DESCRIPTION,
        }
    },
)
async def list_shop_orders(
    shop: ShopDep,
    session: SessionDep,
    status: Annotated[list[OrderStatus] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
    since: Annotated[
        AwareDatetime | None, Query(description="placed at or after (ISO 8601 with offset)")
    ] = None,
    until: Annotated[AwareDatetime | None, Query(description="placed before")] = None,
    format: Annotated[Literal["json", "csv"], Query(description="json or csv")] = "json",
) -> OrderPage | Response:
    """The shop's orders, newest first; filter by `status` and date range, page with `cursor`."""
    before_id = None
    if cursor is not None:
        if not cursor.isdigit() or len(cursor) > 18:
            raise InvalidInput("cursor must be the next_cursor of a previous page", field="cursor")
        before_id = int(cursor)
    orders = await list_orders(
        session, shop, statuses=status, limit=limit, before_id=before_id, since=since, until=until
    )
    next_cursor = str(orders[-1].id) if len(orders) == limit else None
    if format == "csv":
        headers = {"Content-Disposition": f'attachment; filename="{shop.slug}-orders.csv"'}
        if next_cursor is not None:
            headers["X-Next-Cursor"] = next_cursor
        return Response(orders_csv(orders), media_type="text/csv; charset=utf-8", headers=headers)
    return OrderPage(items=[OrderOut.model_validate(o) for o in orders], next_cursor=next_cursor)
