"""Turning outbox rows (what happened, to whom) into Telegram messages in the reader's language."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import Nav, NavCb, OrderAction, OrderCb, VendorOrderCb
from bot.deep_links import link, pickup_payload
from bot.formatting import local_time, money, order_lines_text, status_label
from catalog.clock import Clock, SystemClock
from catalog.models import (
    Customer,
    Fulfilment,
    Order,
    OrderStatus,
    OutboxMessage,
    OutboxStatus,
    Payment,
    PaymentStatus,
)
from catalog.orders import get_order, vendor_alert_key
from catalog.phones import display_phone
from catalog.qr import qr_png
from catalog.vendor_orders import (
    BANK_TRANSFER,
    VendorAction,
    last_actor_name,
    owed_transfer_refund,
    vendor_actions,
)


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
    chat_id: int | None = None  # another chat than the row's (an edit follows its message)


@dataclass(frozen=True)
class RenderEnv:
    """What renderers may need beyond the database: links back to livecart and to the bot."""

    public_base_url: str | None = None
    bot_username: str = ""
    online_payments: bool = False
    clock: Clock = field(default_factory=SystemClock)

    def now(self) -> datetime:
        return self.clock.now()


class NotYet(Exception):
    """This row can't be rendered yet (an edit whose original is not sent): try again soon."""

    def __init__(self, seconds: float = 3.0) -> None:
        super().__init__(f"not yet; retry in {seconds} s")
        self.seconds = seconds


class Skip(Exception):
    """Don't send this row, for a recorded reason (the recipient turned marketing off)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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


CAPTION_LIMIT = 1024  # Telegram's limit for a photo caption


def pay_url(env: RenderEnv, order: Order) -> str | None:
    """The order's pay-page link, when online payment is offered."""
    if not (env.online_payments and env.public_base_url and order.pay_token):
        return None
    return f"{env.public_base_url.rstrip('/')}/pay/{order.pay_token}"


def pickup_link(env: RenderEnv, order: Order) -> str | None:
    """What the pickup QR carries: the bot's deep link with the order code (a vendor's phone
    camera opens the order in the bot); None when the bot's username is unknown."""
    if not env.bot_username:
        return None
    return link(env.bot_username, pickup_payload(order.code))


def bank_transfer_text(order: Order) -> str:
    """Where to send the money, exactly how much, and the name to write (two short lines)."""
    shop = order.shop
    if shop.bank_account:
        where = _("🏦 Please send {total} to {bank} {account} ({holder}).").format(
            total=money(order.total, shop),
            bank=shop.bank_name,
            account=shop.bank_account,
            holder=shop.bank_holder or shop.name,
        )
    else:
        where = _("Please pay {total} to the shop directly.").format(total=money(order.total, shop))
    if not order.depositor_name:
        return where
    return where + "\n" + _("Depositor name: {name}").format(name=order.depositor_name)


def _fit_caption(head: list[str], items: list[str], tail: list[str]) -> str:
    """Head, the order's items and the terms within the caption limit: items are cut first."""
    text = ""
    for keep in range(len(items), -1, -1):
        shown = items[:keep]
        if keep < len(items):
            shown.append(_("…and {count} more").format(count=len(items) - keep))
        text = "\n".join([*head, *shown, *tail])
        if len(text) <= CAPTION_LIMIT:
            return text
    return text[:CAPTION_LIMIT]


async def render_order_placed(
    session: AsyncSession, row: OutboxMessage, locale: str, env: RenderEnv
) -> Outgoing | None:
    """One message: the order as confirmed, how to pay (Pay button and a QR of the same link,
    or the bank account), and the seller and terms the customer agreed to (전자상거래법)."""
    order = await get_order(session, int(row.payload["order_id"]))
    head = [
        _("🧾 Order {code} received by {shop}.").format(code=order.code, shop=order.shop.name),
    ]
    items = [
        f"{line.name} × {line.quantity} = {money(line.line_total, order.shop)}"
        for line in order.lines
    ]
    tail = [_("Total: {total}").format(total=money(order.total, order.shop))]
    waiting = order.status is OrderStatus.PENDING_PAYMENT
    if waiting and order.expires_at is not None:
        tail.append(
            _("Please pay by {time}, or the order is cancelled.").format(
                time=local_time(order.expires_at, order.shop, locale)
            )
        )
    url = pay_url(env, order) if waiting and order.payment_method != BANK_TRANSFER else None
    if url is not None:
        tail.append(_("Tap “Pay”, or scan this QR code with your phone."))
    elif waiting:
        tail.append(bank_transfer_text(order))
    terms = order.terms_shown
    tail.append(
        _("Seller: {legal_name} ({business_number}), {phone}").format(
            legal_name=terms.get("legal_name") or terms.get("shop", ""),
            business_number=terms.get("business_number") or "-",
            phone=terms.get("phone") or "-",
        )
    )
    tail.append(_("You can withdraw within 7 days of receiving the goods."))
    if terms.get("refund_terms"):
        tail.append(_("Refunds: {terms}").format(terms=_shorten(str(terms["refund_terms"]))))
    kb = InlineKeyboardBuilder()
    if url is not None:
        kb.row(
            InlineKeyboardButton(
                text=_("💳 Pay {total}").format(total=money(order.total, order.shop)), url=url
            )
        )
        if order.shop.bank_account:
            kb.row(
                InlineKeyboardButton(
                    text=_("🏦 I'll pay by bank transfer"),
                    callback_data=OrderCb(action=OrderAction.BANK, order=order.id).pack(),
                )
            )
    kb.row(
        InlineKeyboardButton(
            text=_("📦 See my order"),
            callback_data=OrderCb(action=OrderAction.VIEW, order=order.id).pack(),
        ),
        InlineKeyboardButton(
            text=_("ℹ️ Shop info"), callback_data=NavCb(to=Nav.INFO, id=order.shop_id).pack()
        ),
    )
    if url is not None:
        text = _fit_caption(head, items, tail)
        return Outgoing(text, kb.as_markup(), photo=qr_png(url))
    return Outgoing("\n".join([*head, *items, *tail]), kb.as_markup())


def _shorten(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


async def _refund_note(session: AsyncSession, order: Order) -> str:
    """What happens to the customer's money when a paid order closes unfulfilled."""
    refunding = await session.scalar(
        select(Payment.id)
        .where(
            Payment.order_id == order.id,
            Payment.status.in_([PaymentStatus.REFUND_REQUESTED, PaymentStatus.REFUNDED]),
        )
        .limit(1)
    )
    if refunding is None:
        return ""
    return _("The {total} you paid goes back to you; we'll tell you when it's done.").format(
        total=money(order.total, order.shop)
    )


REFUSAL_REASONS = {
    "sold_out": lambda: _("it is sold out"),
    "other": lambda: _("the shop can't fulfil it"),
}


async def render_order_status(
    session: AsyncSession, row: OutboxMessage, locale: str, env: RenderEnv
) -> Outgoing | None:
    """One message per status change, in plain words, with what to do next."""
    order = await get_order(session, int(row.payload["order_id"]))
    status = OrderStatus(row.payload["status"])
    reason = str(row.payload.get("reason", ""))
    head = _("Order {code}: {status}").format(code=order.code, status=status_label(status))
    lines = [head]
    if status is OrderStatus.PAID:
        lines.append(_("Thank you! We've told the shop."))
        if order.fulfilment is Fulfilment.PICKUP:
            lines.append(
                _("At {shop}, show this QR code or say the order code {code}.").format(
                    shop=order.shop.name, code=order.code
                )
            )
            qr = pickup_link(env, order)
            if qr is not None:
                return Outgoing("\n".join(lines), _order_button(order.id), photo=qr_png(qr))
    elif status is OrderStatus.ACCEPTED:
        lines.append(_("{shop} is preparing your order.").format(shop=order.shop.name))
    elif status is OrderStatus.READY:
        lines.append(
            _("You can pick it up at {shop}. Your order code: {code}").format(
                shop=order.shop.name, code=order.code
            )
        )
    elif status is OrderStatus.SHIPPED:
        if order.tracking_number:
            lines.append(_("Tracking number: {number}").format(number=order.tracking_number))
    elif status is OrderStatus.COMPLETED:
        lines.append(_("Thank you for shopping at {shop}!").format(shop=order.shop.name))
    elif status is OrderStatus.REFUSED:
        why = REFUSAL_REASONS.get(reason, REFUSAL_REASONS["other"])()
        lines.append(
            _("Sorry, {shop} can't take this order: {why}.").format(shop=order.shop.name, why=why)
        )
    elif status is OrderStatus.EXPIRED:
        lines.append(_("The items went back on sale. You can order again any time."))
    if status in (OrderStatus.REFUSED, OrderStatus.CANCELLED, OrderStatus.EXPIRED):
        note = await _refund_note(session, order)
        if note:
            lines.append(note)
    return Outgoing("\n".join(lines), _order_button(order.id))


# --- vendors ---------------------------------------------------------------------------


ACTION_LABELS = {
    VendorAction.CONFIRM_TRANSFER: lambda: _("💰 Payment received"),
    VendorAction.ACCEPT: lambda: _("✅ Accept"),
    VendorAction.READY: lambda: _("📦 Ready for pickup"),
    VendorAction.SHIP: lambda: _("🚚 Shipped"),
    VendorAction.COMPLETE: lambda: _("🤝 Handed over"),
    VendorAction.REFUSE: lambda: _("❌ Sold out / refuse"),
    VendorAction.REFUND_SENT: lambda: _("💸 I sent the money back"),
}


def action_label(action: VendorAction) -> str:
    return ACTION_LABELS[action]()


def vendor_action_buttons(order: Order, actions: list[VendorAction]) -> InlineKeyboardMarkup:
    """One big button per action, one per row."""
    kb = InlineKeyboardBuilder()
    for action in actions:
        kb.button(
            text=action_label(action),
            callback_data=VendorOrderCb(order=order.id, action=action.value),
        )
    kb.adjust(1)
    return kb.as_markup()


async def vendor_order_card(session: AsyncSession, order: Order) -> Outgoing:
    """The order as the shop's staff see it, with the buttons for its next step.

    The customer's phone appears only here, in the shop's own staff chats.
    """
    how = (
        _("🏪 Pickup at the shop")
        if order.fulfilment is Fulfilment.PICKUP
        else _("🚚 Delivery to: {address}").format(address=order.address or "-")
    )
    lines = [
        _("🔔 Order {code}").format(code=order.code),
        _("Status: {status}").format(status=status_label(order.status)),
        order_lines_text(order),
        _("Total: {total}").format(total=money(order.total, order.shop)),
        how,
    ]
    if order.status is OrderStatus.PENDING_PAYMENT and order.payment_method == BANK_TRANSFER:
        lines.append(
            _("Waiting for a bank transfer of {total} from “{name}”.").format(
                total=money(order.total, order.shop), name=order.depositor_name or "-"
            )
        )
    if order.recipient_name:
        lines.append(_("Customer: {name}").format(name=order.recipient_name))
    if order.phone:
        lines.append(_("Phone: {phone}").format(phone=display_phone(order.phone)))
    if order.tracking_number:
        lines.append(_("Tracking number: {number}").format(number=order.tracking_number))
    if order.status is OrderStatus.REFUSED:
        why = REFUSAL_REASONS.get(order.status_reason, REFUSAL_REASONS["other"])()
        lines.append(_("Refused: {why}").format(why=why))
    owed = await owed_transfer_refund(session, order)
    if owed is not None:
        lines.append(
            _("Please send the {total} transfer back to the customer, then tap below.").format(
                total=money(owed.amount, order.shop)
            )
        )
    by = await last_actor_name(session, order)
    if by and order.status is not OrderStatus.PENDING_PAYMENT:
        lines.append(_("Last step by {name}").format(name=by))
    actions = vendor_actions(order) + ([VendorAction.REFUND_SENT] if owed else [])
    return Outgoing("\n".join(lines), vendor_action_buttons(order, actions))


async def render_vendor_order(
    session: AsyncSession, row: OutboxMessage, locale: str, env: RenderEnv
) -> Outgoing | None:
    """A vendor's alert: the order as it stands when sent (a late send is never stale)."""
    order = await get_order(session, int(row.payload["order_id"]))
    return await vendor_order_card(session, order)


async def render_vendor_order_update(
    session: AsyncSession, row: OutboxMessage, locale: str, env: RenderEnv
) -> Outgoing | None:
    """Edit the vendor's alert in place to the order's current state."""
    order_id, vendor_id = int(row.payload["order_id"]), int(row.payload["vendor_id"])
    alert = await session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.dedupe_key == vendor_alert_key(order_id, vendor_id)
        )
    )
    if alert is None or alert.status in (OutboxStatus.DROPPED, OutboxStatus.REVIEW):
        return None  # the alert never reached the vendor: nothing to edit
    if alert.status is not OutboxStatus.SENT or alert.telegram_message_id is None:
        raise NotYet(2.0)  # the alert is still on its way; it will show the new state anyway
    order = await get_order(session, order_id)
    card = await vendor_order_card(session, order)
    card.edit_message_id = alert.telegram_message_id
    card.chat_id = alert.chat_id
    return card


RENDERERS: dict[str, Renderer] = {
    "order_placed": render_order_placed,
    "order_status": render_order_status,
    "vendor_order": render_vendor_order,
    "vendor_order_update": render_vendor_order_update,
}


async def render_text(
    session: AsyncSession, row: OutboxMessage, locale: str, env: RenderEnv
) -> Outgoing | None:
    """A row that already carries its text (broadcasts, plain notices)."""
    payload: dict[str, Any] = row.payload
    return Outgoing(str(payload.get("text", "")))
