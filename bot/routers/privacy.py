"""/privacy: what we keep and why; "delete my data" pseudonymises what the law lets us."""

from __future__ import annotations

from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import Nav, NavCb, PrivacyAction, PrivacyCb
from bot.keyboards import main_menu
from bot.replies import Replies, pressed_message
from catalog.customers import forget_customer
from catalog.models import Customer

router = Router(name=__name__)


def privacy_text() -> str:
    return _(
        "🔒 What we keep: your Telegram name, phone, delivery address and orders.\n"
        "Why: to confirm, deliver and support your orders. The shop you order from sees "
        "your name, phone and address to deliver. Order records are kept 5 years by law.\n"
        "You can delete your data any time."
    )


@router.message(Command("privacy"))
async def on_privacy(message: Message, replies: Replies) -> None:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🗑 Delete my data"), callback_data=PrivacyCb(action=PrivacyAction.FORGET))
    kb.adjust(1)
    replies.send(privacy_text(), kb.as_markup())


@router.callback_query(NavCb.filter(F.to == Nav.PRIVACY))
async def on_privacy_button(callback: CallbackQuery, replies: Replies) -> None:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🗑 Delete my data"), callback_data=PrivacyCb(action=PrivacyAction.FORGET))
    kb.adjust(1)
    replies.edit(pressed_message(callback), privacy_text(), kb.as_markup())


@router.callback_query(PrivacyCb.filter(F.action == PrivacyAction.FORGET))
async def on_forget(callback: CallbackQuery, replies: Replies) -> None:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("Yes, delete my data"),
        callback_data=PrivacyCb(action=PrivacyAction.FORGET_CONFIRMED),
    )
    kb.button(text=_("No"), callback_data=NavCb(to=Nav.HOME))
    kb.adjust(2)
    replies.edit(
        pressed_message(callback),
        _(
            "Delete your phone, address and name? Your cart is emptied. "
            "Orders stay on record without your details."
        ),
        kb.as_markup(),
    )


@router.callback_query(PrivacyCb.filter(F.action == PrivacyAction.FORGET_CONFIRMED))
async def on_forget_confirmed(
    callback: CallbackQuery,
    session: AsyncSession,
    customer: Customer,
    state: FSMContext,
    replies: Replies,
    now: datetime,
) -> None:
    await forget_customer(session, customer, now=now)
    await state.clear()
    replies.edit(pressed_message(callback), _("Done. Your personal data is deleted."), None)
    replies.send(_("What next?"), main_menu())
