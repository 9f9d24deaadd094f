"""GET /api/v1/shops/{shop}/orders: the shop's orders as JSON, or as CSV for accounting;
GET /api/v1/shops/{shop}/orders.xlsx: the same as an Excel workbook."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime

from catalog.errors import InvalidInput
from catalog.models import Order, OrderStatus
from catalog.order_sheet import orders_sheet, parse_period
from catalog.orders import list_orders
from catalog.payments import failed_refunds
from catalog.shows import as_utc
from webhook.deps import Authorized, SessionDep, ShopDep
from webhook.schemas import OrderOut, OrderPage
from webhook.spreadsheet_cells import csv_text

router = APIRouter(prefix="/api/v1/shops/{shop}/orders", tags=["orders"], dependencies=[Authorized])
# `orders.xlsx` is a sibling of `orders`, not below it
sheet_router = APIRouter(prefix="/api/v1/shops/{shop}", tags=["orders"], dependencies=[Authorized])
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

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
                    csv_text(order.payment_method),
                    order.paid_at.isoformat() if order.paid_at else "",
                    order.currency,
                    csv_text(line.sku),
                    csv_text(line.name),
                    csv_text(line.unit),
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
    # a year like 0001 or 9999 is a typo: 422, not an overflow (as_utc checks the years)
    since = as_utc(since, "UTC", "since") if since is not None else None
    until = as_utc(until, "UTC", "until") if until is not None else None
    orders = await list_orders(
        session, shop, statuses=status, limit=limit, before_id=before_id, since=since, until=until
    )
    next_cursor = str(orders[-1].id) if len(orders) == limit else None
    if format == "csv":
        headers = {"Content-Disposition": f'attachment; filename="{shop.slug}-orders.csv"'}
        if next_cursor is not None:
            headers["X-Next-Cursor"] = next_cursor
        return Response(orders_csv(orders), media_type="text/csv; charset=utf-8", headers=headers)
    problems = await failed_refunds(session, [o.id for o in orders])
    items = [
        OrderOut.model_validate(o).model_copy(update={"refund_problem": problems.get(o.id)})
        for o in orders
    ]
    return OrderPage(items=items, next_cursor=next_cursor)


@sheet_router.get(
    "/orders.xlsx",
    response_class=Response,
    responses={
        200: {
            "content": {XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}}},
            "description": "One row per order line, oldest first, Korean headers, amounts as "
            "numbers in the currency's format, times in the shop's time zone; the last row "
            "totals the paid orders (cancelled, refused, expired and unpaid ones left out).",
        }
    },
)
async def shop_orders_xlsx(
    shop: ShopDep,
    session: SessionDep,
    from_: Annotated[
        str | None,
        Query(
            alias="from",
            max_length=40,
            description="placed on or after: a date (the shop's time zone) or a time with offset",
        ),
    ] = None,
    to: Annotated[
        str | None,
        Query(max_length=40, description="placed on or before this date, or before this time"),
    ] = None,
) -> Response:
    """The shop's orders in the period as an .xlsx file (no paging: at most 20,000 orders)."""
    period = parse_period(from_, to, shop.timezone)
    name, content = await orders_sheet(session, shop, period)
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(content, media_type=XLSX_TYPE, headers=headers)
