"""Vendors fix stock from the phone: /stock lists their products as big −/+ buttons, and typing
"사과 20" sets a product's stock to 20.

Every tap is checked again here (the tapping user must run that product's shop): callback data
comes from the client and can be forged. Text that names none of the vendor's products falls
through to the customer routers, so a vendor can still shop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiogram import Router
from aiogram.filters import Command, Filter
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import SheetCb, StockAction, StockCb
from bot.replies import Replies, pressed_message
from catalog.models import Product, Shop
from catalog.products import list_products
from catalog.shops import get_shop_by_id
from catalog.stock import MAX_STOCK, adjust_available, set_available, set_hidden
from catalog.text_match import AMBIGUITY_MARGIN, CONFIDENT_SCORE, match_products
from catalog.vendors import vendor_of, vendor_records
from catalog.waitlist import WaitCounts, waiting_counts

router = Router(name=__name__)

PAGE_SIZE = 8
MAX_CHOICES = 5
# "사과 20", "부사 사과 5kg 20개", "사과20": a name, then the new figure (and maybe 개)
STOCK_TEXT_RE = re.compile(r"^\s*(?P<name>\S.*?)\s*(?P<count>\d{1,7})\s*(?:개|개요)?\s*$")


# --- rendering ------------------------------------------------------------------------------


def stock_line(product: Product, counts: WaitCounts | None = None) -> str:
    """ "부사 사과 5kg: 12 · 2 held by unpaid orders · 1 held for a waiting customer ·
    3 waiting for a restock · hidden"."""
    counts = counts or WaitCounts()
    parts = [f"{product.name}: {product.available}"]
    unpaid = product.reserved - counts.held
    if unpaid > 0:
        parts.append(_("{count} held by unpaid orders").format(count=unpaid))
    if counts.held:
        parts.append(_("{count} held for waiting customers").format(count=counts.held))
    if counts.waiting:
        parts.append(_("{count} waiting for a restock").format(count=counts.waiting))
    if product.is_hidden:
        parts.append(_("hidden"))
    return " · ".join(parts)


def page_of(products: list[Product], product_id: int) -> int:
    index = next((i for i, p in enumerate(products) if p.id == product_id), 0)
    return index // PAGE_SIZE


async def render_stock(
    session: AsyncSession, shop: Shop, now: datetime, page: int = 0
) -> tuple[str, InlineKeyboardMarkup]:
    """A page of the shop's products, hidden ones too: [−] name: 12 [+], then [품절] [숨기기]."""
    products = await list_products(session, shop, include_hidden=True)
    pages = max(1, (len(products) + PAGE_SIZE - 1) // PAGE_SIZE)
    page = min(max(page, 0), pages - 1)
    shown = products[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    kb = InlineKeyboardBuilder()
    sizes: list[int] = []
    for product in shown:

        def cb(action: StockAction, product: Product = product) -> str:
            return StockCb(action=action, shop=shop.id, product=product.id, page=page).pack()

        kb.button(text="−", callback_data=cb(StockAction.MINUS))
        kb.button(text=f"{product.name}: {product.available}", callback_data=cb(StockAction.LIST))
        kb.button(text="+", callback_data=cb(StockAction.PLUS))
        kb.button(text=_("Sold out"), callback_data=cb(StockAction.SOLD_OUT))
        if product.is_hidden:
            kb.button(text=_("👁 Show"), callback_data=cb(StockAction.SHOW))
        else:
            kb.button(text=_("🙈 Hide"), callback_data=cb(StockAction.HIDE))
        sizes += [3, 2]
    if pages > 1:
        nav = 0
        if page > 0:
            kb.button(
                text=_("◀ Previous"),
                callback_data=StockCb(action=StockAction.LIST, shop=shop.id, page=page - 1),
            )
            nav += 1
        if page < pages - 1:
            kb.button(
                text=_("Next ▶"),
                callback_data=StockCb(action=StockAction.LIST, shop=shop.id, page=page + 1),
            )
            nav += 1
        sizes.append(nav)
    kb.button(text=_("📊 Orders as Excel"), callback_data=SheetCb(shop=shop.id))
    sizes.append(1)
    kb.adjust(*sizes)
    counts = await waiting_counts(session, [p.id for p in shown], now=now)
    lines = [
        _("📦 {shop}: stock").format(shop=shop.name)
        + (f" ({page + 1}/{pages})" if pages > 1 else ""),
        _("Tap − or +, or type a name and a number, like “사과 20”."),
        *(stock_line(product, counts.get(product.id)) for product in shown),
    ]
    if not products:
        lines.append(_("No products yet."))
    return "\n".join(lines), kb.as_markup()


def list_button(shop_id: int, page: int = 0) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("📦 Stock list"),
        callback_data=StockCb(action=StockAction.LIST, shop=shop_id, page=page),
    )
    return kb.as_markup()


# --- /stock ---------------------------------------------------------------------------------


@router.message(Command("stock"))
async def on_stock_command(
    message: Message, session: AsyncSession, replies: Replies, now: datetime
) -> None:
    """A vendor's stock list; with several shops, pick one first."""
    user = message.from_user
    records = await vendor_records(session, user.id) if user is not None else []
    if not records:
        replies.send(_("/stock is for sellers. Ask your market office for an invitation link."))
        return
    if len(records) == 1:
        replies.send(*await render_stock(session, records[0].shop, now))
        return
    kb = InlineKeyboardBuilder()
    for record in records:
        kb.button(
            text=f"🏪 {record.shop.name}",
            callback_data=StockCb(action=StockAction.LIST, shop=record.shop_id),
        )
    kb.adjust(1)
    replies.send(_("Which shop?"), kb.as_markup())


def _toast_for(product: Product) -> str:
    if product.is_hidden:
        return _("{name}: {count} (hidden)").format(name=product.name, count=product.available)
    return f"{product.name}: {product.available}"


@router.callback_query(StockCb.filter())
async def on_stock_button(
    callback: CallbackQuery,
    callback_data: StockCb,
    session: AsyncSession,
    replies: Replies,
    now: datetime,
) -> None:
    """−, +, sold out, set, hide, show: changed in SQL, then the list is redrawn in place."""
    vendor = await vendor_of(session, callback.from_user.id, callback_data.shop)
    if vendor is None:
        replies.toast(_("Sorry, only the shop's sellers can change its stock."), alert=True)
        return
    shop = await get_shop_by_id(session, callback_data.shop)
    page = callback_data.page
    action = callback_data.action
    if action is not StockAction.LIST:
        product = await session.get(Product, callback_data.product)
        if product is None or product.shop_id != shop.id:
            replies.toast(_("Sorry, that is no longer available."))
        else:
            changed = await _apply(session, action, product.id, callback_data.qty, now, vendor.id)
            replies.toast(_toast_for(changed))
            if action is StockAction.SET:
                products = await list_products(session, shop, include_hidden=True)
                page = page_of(products, product.id)
    text, markup = await render_stock(session, shop, now, page)
    replies.edit(pressed_message(callback), text, markup)


async def _apply(
    session: AsyncSession,
    action: StockAction,
    product_id: int,
    qty: int,
    now: datetime,
    vendor_id: int,
) -> Product:
    actor = f"vendor:{vendor_id}"
    if action is StockAction.PLUS:
        return await adjust_available(session, product_id, 1, now=now, actor=actor)
    if action is StockAction.MINUS:
        return await adjust_available(session, product_id, -1, now=now, actor=actor)
    if action is StockAction.SOLD_OUT:
        return await set_available(session, product_id, 0, now=now, actor=actor)
    if action is StockAction.SET:
        return await set_available(session, product_id, qty, now=now, actor=actor)
    return await set_hidden(session, product_id, action is StockAction.HIDE, now=now, actor=actor)


# --- "사과 20" ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StockText:
    """A vendor's typed "name number": the products it may mean (best first) and the figure."""

    products: tuple[Product, ...]
    count: int


class VendorStockText(Filter):
    """Passes (injecting `stock_text`) only when a vendor names one of their own products.

    Anything else — customers, vendors typing an order for themselves — goes on to the next
    routers untouched.
    """

    async def __call__(self, message: Message, session: AsyncSession) -> bool | dict[str, Any]:
        text = message.text or ""
        found = STOCK_TEXT_RE.match(text)
        if found is None or text.lstrip().startswith("/") or message.from_user is None:
            return False
        count = int(found["count"])
        if count > MAX_STOCK:
            return False
        records = await vendor_records(session, message.from_user.id)
        if not records:
            return False
        products = list(
            await session.scalars(
                select(Product)
                .where(Product.shop_id.in_([record.shop_id for record in records]))
                .order_by(Product.shop_id, Product.position, Product.id)
            )
        )
        by_id = {product.id: product for product in products}
        matches = match_products(
            found["name"], [(p.id, p.name) for p in products], limit=MAX_CHOICES
        )
        if not matches or matches[0].score < CONFIDENT_SCORE:
            return False
        best = matches[0].score
        close = [m for m in matches if best - m.score <= AMBIGUITY_MARGIN + 1e-9]
        keys = list(dict.fromkeys(match.key for match in close))
        return {"stock_text": StockText(tuple(by_id[key] for key in keys), count)}


@router.message(VendorStockText())
async def on_stock_text(
    message: Message,
    stock_text: StockText,
    session: AsyncSession,
    replies: Replies,
    now: datetime,
) -> None:
    """ "사과 20": that product now has 20 for sale; if the name fits several, ask which."""
    assert message.from_user is not None
    count = stock_text.count
    if len(stock_text.products) > 1:
        kb = InlineKeyboardBuilder()
        for product in stock_text.products:
            kb.button(
                text=f"{product.name} → {count}",
                callback_data=StockCb(
                    action=StockAction.SET, shop=product.shop_id, product=product.id, qty=count
                ),
            )
        kb.adjust(1)
        replies.send(_("Which one should have {count}?").format(count=count), kb.as_markup())
        return
    product = stock_text.products[0]
    vendor = await vendor_of(session, message.from_user.id, product.shop_id)
    assert vendor is not None  # the filter only offers the vendor's own products
    changed = await set_available(session, product.id, count, now=now, actor=f"vendor:{vendor.id}")
    shop = await get_shop_by_id(session, product.shop_id)
    products = await list_products(session, shop, include_hidden=True)
    counts = await waiting_counts(session, [changed.id], now=now)
    replies.send(
        _("✅ Stock set: {line}").format(line=stock_line(changed, counts.get(changed.id))),
        list_button(shop.id, page_of(products, product.id)),
    )
