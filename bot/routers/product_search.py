"""Search by typing a product's name: "사가" outside an order gets the matching products of
the market's open shops as buttons (typos of a syllable or two forgiven).

Registered just before the typed orders, and it only takes what they would not act on: no
FSM state (checkout, shipping, campaign drafts keep their text), no live show's list, nothing
with a number or a quantity ("3번 2개", a vendor's "사과 20" already went to their routers),
and no name the current shop sells (typing "사과" in a shop still orders it there). Text that
finds nothing falls through to the typed orders' hint.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aiogram import Router
from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import Nav, NavCb
from bot.formatting import price_label
from bot.replies import Replies
from catalog.errors import NotFound
from catalog.models import Product
from catalog.order_text import AmbiguousIntent, OrderIntent, ProductRef, parse_order_text
from catalog.pricing import live_prices
from catalog.product_search import search_products
from catalog.products import list_products
from catalog.shops import get_shop_by_id
from catalog.shows import get_show

router = Router(name=__name__)


async def _in_order_context(
    session: AsyncSession, data: dict[str, Any], text: str, now: datetime
) -> tuple[bool, int | None]:
    """(the text belongs to the current show or shop, the market to search)."""
    show_id = data.get("show_id")
    if show_id:
        try:
            show = await get_show(session, int(show_id))
        except NotFound:
            show = None
        if show is not None and show.ends_at > now:
            return True, None  # during a show, names mean its list
    shop_id = data.get("shop_id")
    if not shop_id:
        return False, None
    try:
        shop = await get_shop_by_id(session, int(shop_id))
    except NotFound:
        return False, None
    products = await list_products(session, shop)
    refs = [ProductRef(number=n, key=p.id, name=p.name) for n, p in enumerate(products, 1)]
    intent = parse_order_text(text, refs)
    return isinstance(intent, OrderIntent | AmbiguousIntent), shop.market_id


class ProductSearchText(Filter):
    """Passes (injecting `found`) when a bare product name typed outside an order finds
    products for sale."""

    async def __call__(
        self, message: Message, session: AsyncSession, state: FSMContext, now: datetime
    ) -> bool | dict[str, Any]:
        text = message.text or ""
        if not text.strip() or text.lstrip().startswith("/"):
            return False
        if await state.get_state() is not None:
            return False
        in_context, market_id = await _in_order_context(session, await state.get_data(), text, now)
        if in_context:
            return False
        found = await search_products(session, text, market_id=market_id)
        if not found and market_id is not None:
            found = await search_products(session, text)  # another market's shop has it
        return {"found": found} if found else False


def _label(product: Product, prices: Mapping[int, int]) -> str:
    parts = [product.name, price_label(product, product.shop, prices), product.shop.name]
    if product.available <= 0:
        parts.append(_("Sold out"))
    return " · ".join(parts)


@router.message(ProductSearchText())
async def on_product_search(
    message: Message,
    found: list[Product],
    replies: Replies,
    session: AsyncSession,
    now: datetime,
) -> None:
    prices = await live_prices(session, (p.id for p in found), now)
    kb = InlineKeyboardBuilder()
    for product in found:
        kb.button(text=_label(product, prices), callback_data=NavCb(to=Nav.PRODUCT, id=product.id))
    kb.adjust(1)
    replies.send(_("🔎 Is it one of these? Tap to see it and order."), kb.as_markup())
