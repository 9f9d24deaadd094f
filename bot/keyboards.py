"""Keyboards shared by several screens. Buttons are big and few: one action per row."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import Nav, NavCb


def home_button() -> InlineKeyboardButton:
    return InlineKeyboardButton(text=_("🏠 Start over"), callback_data=NavCb(to=Nav.HOME).pack())


def main_menu(shop_id: int | None = None) -> InlineKeyboardMarkup:
    """Where an older customer can always go next: shops, cart, orders."""
    kb = InlineKeyboardBuilder()
    if shop_id:
        kb.button(text=_("🏪 Back to the shop"), callback_data=NavCb(to=Nav.SHOP, id=shop_id))
    else:
        kb.button(text=_("🏪 See the shops"), callback_data=NavCb(to=Nav.HOME))
    kb.button(text=_("🛒 My cart"), callback_data=NavCb(to=Nav.CART))
    kb.button(text=_("📦 My orders"), callback_data=NavCb(to=Nav.ORDERS))
    kb.adjust(1, 2)
    return kb.as_markup()
