"""Turning outbox rows (what happened, to whom) into Telegram messages in the reader's language."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import Nav, NavCb, OrderAction, OrderCb
from bot.formatting import local_time, money, order_lines_text, status_label
from catalog.models import Customer, Fulfilment, OrderStatus, OutboxMessage
from catalog.orders import get_order
from catalog.phones import display_phone


@dataclass
class Outgoing:
    """One Telegram message: text (or a photo with caption, or a document) and buttons.

    With `edit_message_id` the message already in the chat is edited instead (its caption
    when `edit_caption`, for a photo message).
    """

    text: str
    markup: InlineKeyboardMarkup | None = None
    photo: bytes | str | None = None
    document: tuple[str, bytes] | None = None  # (file name, content)
    edit_message_id: int | None = None
    edit_caption: bool = False


@dataclass(frozen=True)
class RenderEnv:
    """What renderers may need beyond the database: links back to livecart and to the bot."""

    public_base_url: str | None = None
    bot_username: str = ""
    online_payments: bool = False


class NotYet(Exception):
    """This row can't be rendered yet (an edit whose original is not sent): try again soon."""

    def __init__(self, seconds: float = 3.0) -> None:
        super().__init__(f"not yet; retry in {seconds} s")
        self.seconds = seconds


Renderer = Callable[[AsyncSession, OutboxMessage, str, RenderEnv], Awaitable[Outgoing | None]]


async def recipient_language(session: AsyncSession, chat_id: int, default: str) -> str:
    """The language of whoever reads this chat (a customer's choice; vendors too)."""
    language = await session.scalar(select(Customer.language).where(Customer.chat_id == chat_id))
    return language or default


def _order_button(order_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("📦 See my order"), callback_data=OrderCb(action=OrderAction.VIEW, order=order_id)
    )
    return kb.as_markup()


async def render_order_placed(
    session: AsyncSession, row: OutboxMessage, locale: str, env: RenderEnv
) -> Outgoing | None:
    order = await get_order(session, int(row.payload["order_id"]))
    lines = [
        _("🧾 Order {code} received by {shop}.").format(code=order.code, shop=order.shop.name),
        order_lines_text(order),
        _("Total: {total}").format(total=money(order.total, order.shop)),
    ]
    if order.status is OrderStatus.PENDING_PAYMENT and order.expires_at is not None:
        lines.append(
            _("Please pay by {time}, or the order is cancelled.").format(
                time=local_time(order.expires_at, order.shop, locale)
            )
        )
    # the contract confirmation (전자상거래법): the seller and the terms as the customer saw them
    terms = order.terms_shown
    lines.append(
        _("Seller: {legal_name} ({business_number}), {phone}").format(
            legal_name=terms.get("legal_name") or terms.get("shop", ""),
            business_number=terms.get("business_number") or "-",
            phone=terms.get("phone") or "-",
        )
    )
    lines.append(_("You can withdraw within 7 days of receiving the goods."))
    if terms.get("refund_terms"):
        lines.append(_("Refunds: {terms}").format(terms=_shorten(str(terms["refund_terms"]))))
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("📦 See my order"), callback_data=OrderCb(action=OrderAction.VIEW, order=order.id)
    )
    kb.button(text=_("ℹ️ Shop info"), callback_data=NavCb(to=Nav.INFO, id=order.shop_id))
    kb.adjust(2)
    return Outgoing("\n".join(lines), kb.as_markup())


def _shorten(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


async def render_order_status(
    session: AsyncSession, row: OutboxMessage, locale: str, env: RenderEnv
) -> Outgoing | None:
    order = await get_order(session, int(row.payload["order_id"]))
    status = OrderStatus(row.payload["status"])
    text = _("Order {code}: {status}").format(code=order.code, status=status_label(status))
    if status is OrderStatus.READY:
        text += "\n" + _("You can pick it up at {shop}.").format(shop=order.shop.name)
    if status is OrderStatus.EXPIRED:
        text += "\n" + _("The items went back on sale. You can order again any time.")
    return Outgoing(text, _order_button(order.id))


async def render_vendor_order(
    session: AsyncSession, row: OutboxMessage, locale: str, env: RenderEnv
) -> Outgoing | None:
    order = await get_order(session, int(row.payload["order_id"]))
    how = (
        _("Pickup at the shop")
        if order.fulfilment is Fulfilment.PICKUP
        else _("Delivery to: {address}").format(address=order.address or "-")
    )
    lines = [
        _("🔔 New order {code}").format(code=order.code),
        order_lines_text(order),
        _("Total: {total}").format(total=money(order.total, order.shop)),
        how,
    ]
    if order.phone:
        lines.append(_("Customer phone: {phone}").format(phone=display_phone(order.phone)))
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🏪 Open the shop"), callback_data=NavCb(to=Nav.SHOP, id=order.shop_id))
    return Outgoing("\n".join(lines), kb.as_markup())


RENDERERS: dict[str, Renderer] = {
    "order_placed": render_order_placed,
    "order_status": render_order_status,
    "vendor_order_paid": render_vendor_order,
}


async def render_text(
    session: AsyncSession, row: OutboxMessage, locale: str, env: RenderEnv
) -> Outgoing | None:
    """A row that already carries its text (broadcasts, plain notices)."""
    payload: dict[str, Any] = row.payload
    return Outgoing(str(payload.get("text", "")))
