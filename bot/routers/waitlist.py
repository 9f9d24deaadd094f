"""재입고 알림: on a sold-out product the customer taps "tell me when it's back", and leaves
the line with one tap (on the product, or on the offer message)."""

from __future__ import annotations

from datetime import datetime

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import CartAction, CartCb, Nav, NavCb, WaitAction, WaitCb
from bot.replies import Replies
from catalog.errors import NotFound
from catalog.models import Customer, Product
from catalog.waitlist import (
    WAITLIST_DAYS,
    JoinOutcome,
    join_waitlist,
    leave_waitlist,
    waiting_for,
    waitlist_position,
)

router = Router(name=__name__)


def leave_button(product: Product) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("🔕 Stop restock alert"),
        callback_data=WaitCb(action=WaitAction.LEAVE, product=product.id),
    )
    kb.button(text=_("◀ Back to the shop"), callback_data=NavCb(to=Nav.SHOP, id=product.shop_id))
    kb.adjust(1)
    return kb.as_markup()


@router.callback_query(WaitCb.filter(F.action == WaitAction.JOIN))
async def on_join(
    callback: CallbackQuery,
    callback_data: WaitCb,
    session: AsyncSession,
    customer: Customer,
    replies: Replies,
    now: datetime,
) -> None:
    """Join the product's line; a double tap keeps the place and says so."""
    product = await session.get(Product, callback_data.product)
    if product is None or product.is_hidden:
        raise NotFound("product", callback_data.product)
    outcome = await join_waitlist(session, customer, product, now=now)
    if outcome is JoinOutcome.IN_STOCK:
        kb = InlineKeyboardBuilder()
        kb.button(
            text=_("Order {count}").format(count=1),
            callback_data=CartCb(action=CartAction.BUY, product=product.id, qty=1),
        )
        replies.send(
            _("Good news: {name} is in stock now. You can order it right away.").format(
                name=product.name
            ),
            kb.as_markup(),
        )
        return
    if outcome is JoinOutcome.ALREADY:
        replies.toast(_("You are already on the list."))
        return
    entry = await waiting_for(session, customer.id, product.id, now=now)
    if entry is None or entry.offered_at is not None:
        return  # offered at once: the offer message is on its way
    position = await waitlist_position(session, entry)
    replies.send(
        _(
            "🔔 We'll message you when {name} is back. You are number {position} in line.\n"
            "This alert ends after {days} days."
        ).format(name=product.name, position=position, days=WAITLIST_DAYS),
        leave_button(product),
    )


@router.callback_query(WaitCb.filter(F.action == WaitAction.LEAVE))
async def on_leave(
    callback: CallbackQuery,
    callback_data: WaitCb,
    session: AsyncSession,
    customer: Customer,
    replies: Replies,
    now: datetime,
) -> None:
    """Leave the line; a unit held for the customer goes to the next one waiting."""
    product = await session.get(Product, callback_data.product)
    if product is None:
        raise NotFound("product", callback_data.product)
    if not await leave_waitlist(session, customer, product.id, now=now):
        replies.toast(_("You are not on the list any more."))
        return
    replies.send(_("🔕 OK, no restock alert for {name}.").format(name=product.name))
