"""A shop's orders as an Excel workbook (.xlsx) for vendors and campaign teams.

One row per order line (order columns repeated, like the CSV export), oldest first, then a
totals row over the orders that were paid and not cancelled. Headers are Korean (the people
who open the file keep their books in Korean); money cells are numbers with the currency's
number format, so the sheet can sum them; times are real date cells, in the shop's time zone
(Excel has no time zones: the cells hold the shop's wall-clock time).
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.numbers import get_currency_precision, get_currency_symbol
from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.errors import InvalidInput
from catalog.models import Fulfilment, Order, OrderStatus, Shop
from catalog.orders import list_orders

#: a sheet holds at most this many orders: narrow the dates for more
MAX_SHEET_ORDERS = 20_000
_PAGE = 500

HEADERS = (
    "주문번호",
    "주문일시",
    "상태",
    "수령 방법",
    "결제 수단",
    "결제일시",
    "상품코드",
    "상품명",
    "단위",
    "단가",
    "수량",
    "금액",
    "상품 합계",
    "배송비",
    "주문 합계",
)
_MONEY_COLUMNS = (10, 12, 13, 14, 15)  # 1-based: 단가, 금액, 상품 합계, 배송비, 주문 합계
_DATE_COLUMNS = (2, 6)
DATE_FORMAT = "yyyy-mm-dd hh:mm"
TOTALS_LABEL = "합계 (결제된 주문)"

STATUS_LABELS = {
    OrderStatus.PENDING_PAYMENT: "결제 대기",
    OrderStatus.PAID: "결제 완료",
    OrderStatus.ACCEPTED: "주문 접수",
    OrderStatus.READY: "준비 완료",
    OrderStatus.SHIPPED: "배송 중",
    OrderStatus.COMPLETED: "완료",
    OrderStatus.CANCELLED: "취소",
    OrderStatus.EXPIRED: "기한 만료",
    OrderStatus.REFUSED: "판매자 거절",
}
FULFILMENT_LABELS = {Fulfilment.PICKUP: "매장 수령", Fulfilment.DELIVERY: "배송"}
PAYMENT_LABELS = {"portone": "온라인 결제", "bank_transfer": "계좌이체", "fake": "테스트 결제"}

#: orders whose money counts in the totals row: paid, and not cancelled, refused or expired
SOLD_STATUSES = frozenset(
    {
        OrderStatus.PAID,
        OrderStatus.ACCEPTED,
        OrderStatus.READY,
        OrderStatus.SHIPPED,
        OrderStatus.COMPLETED,
    }
)


@dataclass(frozen=True)
class Period:
    """Orders placed at or after `since` and before `until` (UTC; None: unbounded)."""

    since: datetime | None
    until: datetime | None


#: the years a `from`/`to` bound may name; anything outside is a typo (and 0001-01-01 or
#: 9999-12-31 would overflow when moved between time zones)
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100


def parse_bound(value: str | None, timezone: str, *, end: bool) -> datetime | None:
    """A `from`/`to` query value: a date (a whole day in the shop's time zone; `to` includes
    its day) or an ISO 8601 time with an offset (`to` is then exclusive). Years outside
    EARLIEST_YEAR..LATEST_YEAR are refused as InvalidInput, never an overflow."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    field = "to" if end else "from"
    out_of_range = InvalidInput(
        f"{field} must be between {EARLIEST_YEAR} and {LATEST_YEAR}", field=field
    )
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is not None and len(text) == 10:
        if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
            raise out_of_range
        start = datetime.combine(day + timedelta(days=1 if end else 0), time(), ZoneInfo(timezone))
        return start.astimezone(ZoneInfo("UTC"))
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(
            f"{field} must be a date (2026-11-01) or a time with an offset", field=field
        ) from exc
    if moment.tzinfo is None:
        raise InvalidInput(f"{field} needs an offset, like +09:00, or a plain date", field=field)
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise out_of_range
    try:
        return moment.astimezone(ZoneInfo("UTC"))
    except OverflowError as exc:  # pragma: no cover - the year bounds keep this away
        raise out_of_range from exc


def parse_period(since: str | None, until: str | None, timezone: str) -> Period:
    """`from` and `to` as the REST API and the chat give them; `to` must come after `from`."""
    period = Period(parse_bound(since, timezone, end=False), parse_bound(until, timezone, end=True))
    if period.since and period.until and period.until <= period.since:
        raise InvalidInput("to must be after from", field="to")
    return period


def month_period(now: datetime, timezone: str, *, months_back: int = 0) -> Period:
    """A calendar month in the shop's time zone: this one (0), last month (1) and so on."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    year, month = local.year, local.month - months_back
    while month < 1:
        year, month = year - 1, month + 12
    start = datetime(year, month, 1, tzinfo=zone)
    following = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=zone)
    utc = ZoneInfo("UTC")
    return Period(start.astimezone(utc), following.astimezone(utc))


class TooManyOrders(InvalidInput):
    """The period holds more orders than one sheet takes: ask for a shorter one."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} orders: choose a shorter period", field="from")
        self.limit = limit


async def orders_in_period(
    session: AsyncSession, shop: Shop, period: Period, *, limit: int = MAX_SHEET_ORDERS
) -> list[Order]:
    """Every order of the shop placed in the period, oldest first; more than `limit` is
    TooManyOrders (refused, never cut short)."""
    found: list[Order] = []
    before_id: int | None = None
    while True:
        page = await list_orders(
            session,
            shop,
            limit=min(_PAGE, limit + 1),
            before_id=before_id,
            since=period.since,
            until=period.until,
        )
        found.extend(page)
        if len(found) > limit:
            raise TooManyOrders(limit)
        if len(page) < min(_PAGE, limit + 1):
            break
        before_id = page[-1].id
    found.reverse()
    return found


def money_format(currency: str) -> str:
    """Excel's number format for amounts: "₩"#,##0 for won, with decimals where they exist."""
    precision = get_currency_precision(currency)
    symbol = get_currency_symbol(currency, locale="ko_KR").replace('"', "")
    digits = "#,##0" + ("." + "0" * precision if precision else "")
    return f'"{symbol}"{digits}'


def _amount(value: int, precision: int) -> int | float:
    return value if precision == 0 else value / 10**precision


def _local(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    if moment is None:
        return None
    return moment.astimezone(zone).replace(tzinfo=None)


@dataclass(frozen=True)
class SheetData:
    """What goes in the workbook, as plain values: built from the orders in the event loop,
    written to .xlsx in a worker thread (render_workbook) without touching the database."""

    rows: list[tuple[object, ...]]
    totals: tuple[object, ...]
    currency: str


def sheet_data(orders: list[Order], shop: Shop) -> SheetData:
    """A line per order line, then the paid orders' totals (money in the currency's units)."""
    zone = ZoneInfo(shop.timezone)
    precision = get_currency_precision(shop.currency)
    rows: list[tuple[object, ...]] = []
    quantity = line_sum = subtotal = delivery = total = 0
    for order in orders:
        sold = order.status in SOLD_STATUSES
        if sold:
            subtotal += order.subtotal
            delivery += order.delivery_fee
            total += order.total
        for line in order.lines:
            if sold:
                quantity += line.quantity
                line_sum += line.line_total
            rows.append(
                (
                    order.code,
                    _local(order.created_at, zone),
                    STATUS_LABELS.get(order.status, order.status.value),
                    FULFILMENT_LABELS.get(order.fulfilment, order.fulfilment.value),
                    PAYMENT_LABELS.get(order.payment_method, order.payment_method),
                    _local(order.paid_at, zone),
                    line.sku,
                    line.name,
                    line.unit,
                    _amount(line.unit_price, precision),
                    line.quantity,
                    _amount(line.line_total, precision),
                    _amount(order.subtotal, precision),
                    _amount(order.delivery_fee, precision),
                    _amount(order.total, precision),
                )
            )
    totals = (
        TOTALS_LABEL,
        *([None] * 9),
        quantity,
        _amount(line_sum, precision),
        _amount(subtotal, precision),
        _amount(delivery, precision),
        _amount(total, precision),
    )
    return SheetData(rows, totals, shop.currency)


def _as_text(cells: tuple[Cell, ...]) -> None:
    """Text typed by people (product names, units, SKUs, codes) stays text: openpyxl would
    store "=HYPERLINK(...)" as a formula that runs when the vendor opens the file."""
    for cell in cells:
        if isinstance(cell.value, str):
            cell.data_type = "s"


def render_workbook(data: SheetData) -> bytes:
    """The .xlsx file's bytes (pure and CPU-bound: run it in a thread for a big month)."""
    book = Workbook()
    sheet = book.active
    sheet.title = "주문 내역"
    sheet.append(HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in data.rows:
        sheet.append(row)
        _as_text(sheet[sheet.max_row])
    sheet.append(data.totals)
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    number = money_format(data.currency)
    for cells in sheet.iter_rows(min_row=2):
        for column in _MONEY_COLUMNS:
            cells[column - 1].number_format = number
        for column in _DATE_COLUMNS:
            cells[column - 1].number_format = DATE_FORMAT
    widths = (12, 17, 11, 10, 11, 17, 14, 28, 8, 12, 7, 12, 12, 10, 12)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def orders_workbook(orders: list[Order], shop: Shop) -> bytes:
    """The .xlsx file's bytes: a line per order line, then the paid orders' totals."""
    return render_workbook(sheet_data(orders, shop))


def sheet_filename(shop: Shop, period: Period) -> str:
    """ "ganada-fruit-orders-2026-11.xlsx"-like names: the shop and the period's days."""
    zone = ZoneInfo(shop.timezone)
    parts = [shop.slug, "orders"]
    if period.since is not None:
        parts.append(period.since.astimezone(zone).strftime("%Y%m%d"))
    if period.until is not None:
        last = period.until.astimezone(zone) - timedelta(microseconds=1)
        parts.append(last.strftime("%Y%m%d"))
    return "-".join(parts) + ".xlsx"


async def orders_sheet(session: AsyncSession, shop: Shop, period: Period) -> tuple[str, bytes]:
    """(file name, .xlsx bytes) of the shop's orders in the period."""
    orders = await orders_in_period(session, shop, period)
    data = sheet_data(orders, shop)
    return sheet_filename(shop, period), await asyncio.to_thread(render_workbook, data)
