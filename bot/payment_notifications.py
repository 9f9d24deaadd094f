"""Telling a customer that their money goes back, and when it has: short, plain texts; and
telling the shop's vendors when PortOne refused a refund, so they make it by hand."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _
from babel.numbers import format_currency, get_currency_precision
from sqlalchemy.ext.asyncio import AsyncSession

from bot.formatting import babel_locale, money
from bot.notifications import Outgoing, RenderEnv, Renderer
from catalog.models import Order, OrderStatus, OutboxMessage
from catalog.orders import get_order
from catalog.payments import RefundReason


def _amount(row: OutboxMessage, order: Order) -> str:
    """The sum that moved, in its own currency (a wrong payment may be in another one)."""
    amount = int(row.payload["amount"])
    currency = str(row.payload.get("currency") or order.currency)
    if currency == order.shop.currency:
        return money(amount, order.shop)
    value = amount / (10 ** get_currency_precision(currency))
    return format_currency(value, currency, locale=babel_locale(order.shop.locale))


def _why(reason: str, order: Order) -> str:
    """Why livecart can't keep the payment, in a few words; empty when there is no fit."""
    if reason == RefundReason.ORDER_ALREADY_PAID:
        return _("the order was already paid")
    if reason == RefundReason.AMOUNT_MISMATCH:
        return _("the amount was not the order's total")
    if order.status is OrderStatus.EXPIRED:
        return _("the time to pay had run out")
    if order.status is OrderStatus.REFUSED:
        return _("the shop could not take the order")
    if order.status is OrderStatus.CANCELLED:
        return _("the order was cancelled")
    return ""


async def render_refund_requested(
    session: AsyncSession, row: OutboxMessage, locale: str, env: RenderEnv
) -> Outgoing | None:
    order = await get_order(session, int(row.payload["order_id"]))
    amount = _amount(row, order)
    why = _why(str(row.payload.get("reason", "")), order)
    if why:
        text = _("Order {code}: we are returning the {amount} you paid ({why}).").format(
            code=order.code, amount=amount, why=why
        )
    else:
        text = _("Order {code}: we are returning the {amount} you paid.").format(
            code=order.code, amount=amount
        )
    return Outgoing(text + " " + _("It can take 3–7 days, depending on your card company."))


async def render_refund_done(
    session: AsyncSession, row: OutboxMessage, locale: str, env: RenderEnv
) -> Outgoing | None:
    order = await get_order(session, int(row.payload["order_id"]))
    return Outgoing(
        _("Your refund is done: {amount} (order {code}).").format(
            amount=_amount(row, order), code=order.code
        )
    )


async def render_refund_failed(
    session: AsyncSession, row: OutboxMessage, locale: str, env: RenderEnv
) -> Outgoing | None:
    """A vendor's alert: PortOne refused the refund for good; livecart won't try again."""
    order = await get_order(session, int(row.payload["order_id"]))
    return Outgoing(
        _(
            "⚠️ A refund did not go through: order {code}, {amount}. "
            "Please refund it yourself in the PortOne admin console."
        ).format(code=order.code, amount=_amount(row, order))
    )


PAYMENT_RENDERERS: dict[str, Renderer] = {
    "refund_requested": render_refund_requested,
    "refund_done": render_refund_done,
    "refund_failed": render_refund_failed,
}
