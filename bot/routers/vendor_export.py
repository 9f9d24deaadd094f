"""Vendors take their orders to the books: "📊 엑셀로 받기" under the stock list sends the
month's orders as an .xlsx document (through the outbox, built when it is sent).

Every tap is checked again (callback data can be forged): only the shop's sellers get its file.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import SheetCb
from bot.replies import Replies
from catalog.order_sheet import month_period
from catalog.outbox import enqueue_once
from catalog.shops import get_shop_by_id
from catalog.vendors import vendor_of

router = Router(name=__name__)

SHEET_KIND = "vendor_orders_sheet"


@router.callback_query(SheetCb.filter())
async def on_sheet_button(
    callback: CallbackQuery,
    callback_data: SheetCb,
    session: AsyncSession,
    replies: Replies,
    now: datetime,
) -> None:
    """First tap: which month? Second tap: the file is queued to this chat."""
    vendor = await vendor_of(session, callback.from_user.id, callback_data.shop)
    if vendor is None:
        replies.toast(_("Only the shop's staff can do that."), alert=True)
        return
    if callback_data.months_back not in (0, 1):
        kb = InlineKeyboardBuilder()
        kb.button(text=_("This month"), callback_data=SheetCb(shop=vendor.shop_id, months_back=0))
        kb.button(text=_("Last month"), callback_data=SheetCb(shop=vendor.shop_id, months_back=1))
        kb.adjust(2)
        replies.toast(None)
        replies.send(_("Which orders do you want as an Excel file?"), kb.as_markup())
        return
    shop = await get_shop_by_id(session, vendor.shop_id)
    period = month_period(now, shop.timezone, months_back=callback_data.months_back)
    chat_id = callback.message.chat.id if callback.message else callback.from_user.id
    month = period.since.astimezone(ZoneInfo(shop.timezone)) if period.since else now
    # a double tap (or two taps within the minute) sends one file
    await enqueue_once(
        session,
        chat_id=chat_id,
        kind=SHEET_KIND,
        data={
            "shop_id": shop.id,
            "since": period.since.isoformat() if period.since else None,
            "until": period.until.isoformat() if period.until else None,
        },
        now=now,
        dedupe_key=f"{SHEET_KIND}:{chat_id}:{shop.id}:{month:%Y-%m}:{now:%Y%m%dT%H%M}",
    )
    replies.toast(_("Preparing the file. It arrives in a moment."))
