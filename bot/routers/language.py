"""/language: 한국어 or English, remembered for every later message."""

from __future__ import annotations

from datetime import datetime

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import LangCb
from bot.keyboards import main_menu
from bot.replies import Replies, pressed_message
from catalog.customers import set_language
from catalog.models import Customer

router = Router(name=__name__)

LANGUAGE_NAMES = {"ko": "한국어", "en": "English"}


@router.message(Command("language"))
async def on_language(message: Message, replies: Replies, i18n: I18n) -> None:
    kb = InlineKeyboardBuilder()
    for code in sorted(i18n.available_locales, key=lambda c: c != "ko"):
        kb.button(text=LANGUAGE_NAMES.get(code, code), callback_data=LangCb(code=code))
    kb.adjust(2)
    replies.send("언어를 고르세요 · Choose your language", kb.as_markup())


@router.callback_query(LangCb.filter())
async def on_language_chosen(
    callback: CallbackQuery,
    callback_data: LangCb,
    session: AsyncSession,
    customer: Customer,
    replies: Replies,
    i18n: I18n,
    now: datetime,
) -> None:
    if callback_data.code not in i18n.available_locales:
        replies.toast("?")
        return
    await set_language(session, customer, callback_data.code, now=now)
    with i18n.use_locale(callback_data.code):
        replies.edit(pressed_message(callback), _("Language set: English."), None)
        replies.send(_("What next?"), main_menu())
