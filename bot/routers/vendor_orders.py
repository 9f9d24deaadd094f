"""Vendors act on orders from their alerts: one tap accepts, readies, ships, hands over or
refuses; a pickup QR scanned (or its code typed) opens the order at the counter.

Every tap is checked against the shop's staff list: a customer forging the callback data, or
another shop's vendor, gets a polite refusal and nothing changes. The alerts themselves are
edited for every vendor of the shop through the outbox (catalog.orders.sync_vendor_alerts).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from aiogram import F, Router
from aiogram.filters import BaseFilter, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import VendorOrderCb
from bot.formatting import status_label
from bot.notifications import vendor_order_card
from bot.replies import Replies, pressed_message
from catalog.errors import InvalidInput, NotFound
from catalog.models import Customer, Order
from catalog.orders import CODE_ALPHABET, get_order, get_order_by_code
from catalog.vendor_orders import (
    NotVendor,
    RefusalReason,
    VendorAction,
    VendorActionRefused,
    act_on_order,
    confirm_transfer_refund,
)
from catalog.vendors import vendor_of

router = Router(name=__name__)

ORDER_CODE_RE = re.compile(rf"^[{CODE_ALPHABET}]{{7}}$")
NO_TRACKING = "none"
CANCEL_WORDS = {"취소", "cancel", "/cancel", "그만"}


class Shipping(StatesGroup):
    tracking_number = State()


DONE_TOASTS = {
    VendorAction.CONFIRM_TRANSFER: lambda: _("Payment confirmed. The customer is told."),
    VendorAction.ACCEPT: lambda: _("Accepted. The customer is told."),
    VendorAction.READY: lambda: _("Marked ready. The customer is told."),
    VendorAction.SHIP: lambda: _("Marked shipped. The customer is told."),
    VendorAction.COMPLETE: lambda: _("Done. Thank you!"),
    VendorAction.REFUSE: lambda: _("Refused. The stock is back and the customer is refunded."),
    VendorAction.REFUND_SENT: lambda: _("Thank you. The customer is told."),
}


def refused_text(exc: VendorActionRefused) -> str:
    status = status_label(exc.status)
    if exc.by:
        return _("Already handled by {name}: {status}.").format(name=exc.by, status=status)
    return _("This order is now: {status}.").format(status=status)


async def _act(
    session: AsyncSession,
    replies: Replies,
    *,
    order_id: int,
    action: VendorAction,
    user_id: int,
    now: datetime,
    reason: RefusalReason | None = None,
    tracking_number: str = "",
) -> bool:
    try:
        await act_on_order(
            session,
            order_id,
            action,
            telegram_user_id=user_id,
            now=now,
            reason=reason,
            tracking_number=tracking_number,
        )
    except NotVendor:
        replies.toast(_("Only the shop's staff can handle this order."), alert=True)
        return False
    except VendorActionRefused as exc:
        replies.toast(refused_text(exc), alert=True)
        return False
    replies.toast(DONE_TOASTS[action]())
    return True


@router.callback_query(VendorOrderCb.filter())
async def on_vendor_tap(
    callback: CallbackQuery,
    callback_data: VendorOrderCb,
    session: AsyncSession,
    replies: Replies,
    state: FSMContext,
    now: datetime,
) -> None:
    try:
        action = VendorAction(callback_data.action)
    except ValueError:
        replies.toast(_("Sorry, that is no longer available."), alert=True)
        return
    user_id = callback.from_user.id
    try:
        order = await get_order(session, callback_data.order)
    except NotFound:
        replies.toast(_("Sorry, that is no longer available."), alert=True)
        return
    if await vendor_of(session, user_id, order.shop_id) is None:
        replies.toast(_("Only the shop's staff can handle this order."), alert=True)
        return
    if action is VendorAction.REFUND_SENT:
        try:
            await confirm_transfer_refund(session, order.id, telegram_user_id=user_id, now=now)
        except VendorActionRefused as exc:
            replies.toast(refused_text(exc), alert=True)
            return
        replies.toast(DONE_TOASTS[action]())
        return
    if action is VendorAction.REFUSE and not callback_data.reason:
        _ask_refusal_reason(callback, order, replies)
        return
    if action is VendorAction.SHIP and not callback_data.reason:
        await state.set_state(Shipping.tracking_number)
        await state.update_data(ship_order=order.id)
        kb = InlineKeyboardBuilder()
        kb.button(
            text=_("🚚 Ship without a tracking number"),
            callback_data=VendorOrderCb(order=order.id, action=action.value, reason=NO_TRACKING),
        )
        replies.toast()
        replies.send(
            _("Order {code}: send the tracking number, or tap the button.").format(code=order.code),
            kb.as_markup(),
        )
        return
    reason = None
    if action is VendorAction.REFUSE:
        try:
            reason = RefusalReason(callback_data.reason)
        except ValueError:
            reason = RefusalReason.OTHER
    if action is VendorAction.SHIP:
        await state.clear()
    done = await _act(
        session, replies, order_id=order.id, action=action, user_id=user_id, now=now, reason=reason
    )
    if not done:
        # show this vendor the order as it stands (their alert is edited too, a moment later)
        card = await vendor_order_card(session, await get_order(session, order.id))
        replies.edit(pressed_message(callback), card.text, card.markup)


def _ask_refusal_reason(callback: CallbackQuery, order: Order, replies: Replies) -> None:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("Sold out"),
        callback_data=VendorOrderCb(
            order=order.id, action=VendorAction.REFUSE.value, reason=RefusalReason.SOLD_OUT.value
        ),
    )
    kb.button(
        text=_("Another reason"),
        callback_data=VendorOrderCb(
            order=order.id, action=VendorAction.REFUSE.value, reason=RefusalReason.OTHER.value
        ),
    )
    kb.adjust(1)
    replies.toast()
    replies.send(
        _("Refuse order {code}? The customer is refunded and the stock comes back.").format(
            code=order.code
        ),
        kb.as_markup(),
    )


@router.message(Shipping.tracking_number, F.text)
async def on_tracking_number(
    message: Message,
    session: AsyncSession,
    replies: Replies,
    state: FSMContext,
    now: datetime,
) -> None:
    assert message.text is not None and message.from_user is not None
    order_id = (await state.get_data()).get("ship_order")
    await state.clear()
    text = message.text.strip()
    if order_id is None or text.lower() in CANCEL_WORDS:
        replies.send(_("Okay, nothing was changed."))
        return
    try:
        done = await _act(
            session,
            replies,
            order_id=int(order_id),
            action=VendorAction.SHIP,
            user_id=message.from_user.id,
            now=now,
            tracking_number=text,
        )
    except InvalidInput:
        await state.set_state(Shipping.tracking_number)
        await state.update_data(ship_order=order_id)
        replies.send(_("That doesn't look like a tracking number. Please send it again."))
        return
    if done:
        replies.send(_("Shipped with tracking number {number}.").format(number=text[:100]))
    else:
        replies.send(_("The order could not be marked shipped: it changed meanwhile."))


async def _send_card_or_explain(
    session: AsyncSession, replies: Replies, code: str, user_id: int, customer: Customer | None
) -> None:
    try:
        order = await get_order_by_code(session, code)
    except NotFound:
        replies.send(_("No order has the code {code}.").format(code=code))
        return
    if await vendor_of(session, user_id, order.shop_id) is None:
        if customer is not None and order.customer_id == customer.id:
            replies.send(
                _("This QR code is for the shop: show it at {shop} to collect your order.").format(
                    shop=order.shop.name
                )
            )
        else:
            replies.send(_("Only the shop's staff can open this order."))
        return
    card = await vendor_order_card(session, order)
    replies.send(card.text, card.markup)


@router.message(CommandStart(deep_link=True, magic=F.args.startswith("pickup_")))
async def on_pickup_link(
    message: Message,
    session: AsyncSession,
    replies: Replies,
    state: FSMContext,
    customer: Customer | None,
) -> None:
    """A vendor's phone camera read the customer's pickup QR: open that order."""
    assert message.text is not None and message.from_user is not None
    await state.clear()
    code = message.text.split("pickup_", 1)[1].strip().upper()
    await _send_card_or_explain(session, replies, code, message.from_user.id, customer)


class VendorOrderCode(BaseFilter):
    """A message that is one of the vendor's own shop's order codes (typed at the counter)."""

    async def __call__(self, message: Message, session: AsyncSession) -> bool | dict[str, Any]:
        text = (message.text or "").strip().upper()
        if message.from_user is None or not ORDER_CODE_RE.match(text):
            return False
        try:
            order = await get_order_by_code(session, text)
        except NotFound:
            return False
        if await vendor_of(session, message.from_user.id, order.shop_id) is None:
            return False
        return {"typed_order": order}


@router.message(F.text, VendorOrderCode())
async def on_order_code(
    message: Message, session: AsyncSession, replies: Replies, typed_order: Order
) -> None:
    card = await vendor_order_card(session, typed_order)
    replies.send(card.text, card.markup)
