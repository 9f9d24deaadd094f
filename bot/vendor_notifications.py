"""Vendor alerts from the outbox: stock running low, a paid order waiting, the day's summary,
and the orders as an Excel file they asked for."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import format_date
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import StockAction, StockCb
from bot.formatting import babel_locale, money, order_lines_text
from bot.notifications import Outgoing, RenderEnv, Renderer, Skip, vendor_action_buttons
from bot.routers.vendor_export import SHEET_KIND
from bot.routers.vendor_stock import page_of
from catalog.errors import NotFound
from catalog.models import Order, OrderStatus, OutboxMessage, Product
from catalog.order_sheet import (
    MAX_SHEET_ORDERS,
    Period,
    TooManyOrders,
    orders_in_period,
    render_workbook,
    sheet_data,
    sheet_filename,
)
from catalog.orders import get_order
from catalog.products import list_products
from catalog.shops import get_shop_by_id
from catalog.vendor_alerts import daily_summary
from catalog.vendor_orders import vendor_actions
from catalog.vendors import shop_vendors


def _stock_button(shop_id: int, page: int = 0) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("📦 See stock"),
        callback_data=StockCb(action=StockAction.LIST, shop=shop_id, page=page),
    )
    return kb.as_markup()


async def render_vendor_low_stock(
    session: AsyncSession, row: OutboxMessage, locale: str, env: RenderEnv
) -> Outgoing | None:
    """ "⚠️ 부사 사과 5kg: only 3 left." with a button to the stock list at its page."""
    data = row.payload
    shop_id = int(data["shop_id"])
    try:
        shop = await get_shop_by_id(session, shop_id)
    except NotFound:
        return None  # the shop is gone: nothing to fix
    product = await session.get(Product, int(data["product_id"]))
    page = 0
    if product is not None:
        page = page_of(await list_products(session, shop, include_hidden=True), product.id)
    count = int(data["available"])
    if count <= 0:
        text = _("⚠️ {name} is sold out.").format(name=data["name"])
    else:
        text = _("⚠️ {name}: only {count} left.").format(name=data["name"], count=count)
    return Outgoing(text, _stock_button(shop_id, page))


async def render_vendor_order_waiting(
    session: AsyncSession, row: OutboxMessage, locale: str, env: RenderEnv
) -> Outgoing | None:
    """ "⏰ Order ABC1234 is paid and waits for you to accept it." with its lines."""
    try:
        order: Order = await get_order(session, int(row.payload["order_id"]))
    except NotFound:
        return None
    if order.status is not OrderStatus.PAID:
        return None  # accepted (or closed) meanwhile: nothing to remind
    lines = [
        _("⏰ Order {code} is paid and waits for you to accept it.").format(code=order.code),
        order_lines_text(order),
        _("Total: {total}").format(total=money(order.total, order.shop)),
    ]
    return Outgoing("\n".join(lines), vendor_action_buttons(order, vendor_actions(order)))


async def render_vendor_daily_summary(
    session: AsyncSession, row: OutboxMessage, locale: str, env: RenderEnv
) -> Outgoing | None:
    """The shop's day: orders paid, revenue, the three best sellers, orders still waiting."""
    try:
        shop = await get_shop_by_id(session, int(row.payload["shop_id"]))
    except NotFound:
        return None
    day = date.fromisoformat(str(row.payload["date"]))
    summary = await daily_summary(session, shop, day)
    lines = [
        _("📊 {shop}, {date}").format(
            shop=shop.name, date=format_date(day, format="medium", locale=babel_locale(locale))
        ),
        _("Orders paid: {count}").format(count=summary.orders_paid),
        _("Sales: {total}").format(total=money(summary.revenue, shop)),
    ]
    if summary.top_products:
        best = ", ".join(f"{name} × {units}" for name, units in summary.top_products)
        lines.append(_("Best sellers: {items}").format(items=best))
    lines.append(_("Waiting to be accepted: {count}").format(count=summary.waiting))
    return Outgoing("\n".join(lines), _stock_button(shop.id))


def _moment(value: object) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None


async def render_vendor_orders_sheet(
    session: AsyncSession,
    row: OutboxMessage,
    locale: str,
    env: RenderEnv,
    *,
    max_orders: int = MAX_SHEET_ORDERS,
) -> Outgoing | None:
    """The .xlsx of the shop's orders in the period asked for, as a document with a caption."""
    try:
        shop = await get_shop_by_id(session, int(row.payload["shop_id"]))
    except NotFound:
        return None
    if row.chat_id not in {vendor.chat_id for vendor in await shop_vendors(session, shop.id)}:
        raise Skip("no longer one of the shop's vendors")  # removed since the tap
    period = Period(_moment(row.payload.get("since")), _moment(row.payload.get("until")))
    zone = ZoneInfo(shop.timezone)
    days = " – ".join(
        format_date(moment.astimezone(zone).date(), format="medium", locale=babel_locale(locale))
        for moment in (period.since, period.until and period.until - timedelta(microseconds=1))
        if moment is not None
    )
    try:
        orders = await orders_in_period(session, shop, period, limit=max_orders)
    except TooManyOrders as refused:
        return Outgoing(
            _(
                "📊 {shop}, {period}: more than {count} orders, too many for one Excel file. "
                "Please ask your market office to send them in parts."
            ).format(shop=shop.name, period=days, count=refused.limit)
        )
    caption = _("📊 {shop}: {count} orders, {period}").format(
        shop=shop.name, count=len(orders), period=days
    )
    # the orders become plain values here; the workbook is written off the event loop
    content = await asyncio.to_thread(render_workbook, sheet_data(orders, shop))
    return Outgoing(caption, document=(sheet_filename(shop, period), content))


VENDOR_RENDERERS: dict[str, Renderer] = {
    SHEET_KIND: render_vendor_orders_sheet,
    "vendor_low_stock": render_vendor_low_stock,
    "vendor_order_waiting": render_vendor_order_waiting,
    "vendor_daily_summary": render_vendor_daily_summary,
}
