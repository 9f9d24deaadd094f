"""Browsing: markets, shops, a shop's products in pages of buttons, one product, shop info."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import CartAction, CartCb, Nav, NavCb, ShowAction, ShowCb, WaitAction, WaitCb
from bot.formatting import money, price_label, stock_label
from bot.keyboards import home_button, main_menu
from bot.replies import Replies, pressed_message
from catalog.errors import NotFound
from catalog.models import Customer, Market, Product, Shop
from catalog.pricing import price_of
from catalog.products import list_products_priced, product_card
from catalog.shops import get_shop_by_id, list_markets, list_shops
from catalog.waitlist import waiting_for

router = Router(name=__name__)

PAGE_SIZE = 8


async def remember_shop(state: FSMContext, shop_id: int, product_id: int | None = None) -> None:
    """Typed orders ("3번 2개") refer to the list the customer saw last (not a show's now)."""
    await state.update_data(shop_id=shop_id, product_id=product_id, show_id=None)


async def render_home(session: AsyncSession) -> tuple[str, InlineKeyboardMarkup]:
    """Markets and their shops, each one tap away."""
    kb = InlineKeyboardBuilder()
    markets = await list_markets(session)
    for market in markets:
        kb.button(text=f"🏬 {market.name}", callback_data=NavCb(to=Nav.MARKET, id=market.id))
    for shop in await list_shops(session):
        if shop.market_id is None and shop.is_open:
            kb.button(text=f"🏪 {shop.name}", callback_data=NavCb(to=Nav.SHOP, id=shop.id))
    kb.button(text=_("📺 Upcoming live shows"), callback_data=ShowCb(action=ShowAction.LIST))
    kb.button(text=_("🛒 My cart"), callback_data=NavCb(to=Nav.CART))
    kb.button(text=_("📦 My orders"), callback_data=NavCb(to=Nav.ORDERS))
    kb.adjust(1)
    text = _(
        "Welcome to livecart! Pick a market or a shop below.\n"
        "You can also type an order, like “3번 2개”."
    )
    return text, kb.as_markup()


async def render_market(session: AsyncSession, market: Market) -> tuple[str, InlineKeyboardMarkup]:
    kb = InlineKeyboardBuilder()
    shops = [s for s in await list_shops(session, market.slug) if s.is_open]
    for shop in shops:
        kb.button(text=f"🏪 {shop.name}", callback_data=NavCb(to=Nav.SHOP, id=shop.id))
    kb.row(home_button())
    kb.adjust(*([1] * (len(shops) + 1)))
    text = _("{market}: {count} shops. Tap a shop to see what it sells.").format(
        market=market.name, count=len(shops)
    )
    return text, kb.as_markup()


async def render_shop(
    session: AsyncSession, shop: Shop, page: int = 0, *, now: datetime
) -> tuple[str, InlineKeyboardMarkup]:
    """A page of product buttons: "3. 부사 사과 5kg · ₩32,000" (the number customers type)."""
    products, prices = await list_products_priced(session, shop, now)
    pages = max(1, (len(products) + PAGE_SIZE - 1) // PAGE_SIZE)
    page = min(max(page, 0), pages - 1)
    kb = InlineKeyboardBuilder()
    start = page * PAGE_SIZE
    on_page = products[start : start + PAGE_SIZE]
    for number, product in enumerate(on_page, start=start + 1):
        sold_out = _(" (sold out)") if product.available <= 0 else ""
        price = price_label(product, shop, prices)
        kb.button(
            text=f"{number}. {product.name} · {price}{sold_out}",
            callback_data=NavCb(to=Nav.PRODUCT, id=product.id),
        )
    sizes = [1] * min(PAGE_SIZE, max(0, len(products) - start))
    if pages > 1:
        if page > 0:
            kb.button(
                text=_("◀ Previous"), callback_data=NavCb(to=Nav.SHOP, id=shop.id, page=page - 1)
            )
        if page < pages - 1:
            kb.button(text=_("Next ▶"), callback_data=NavCb(to=Nav.SHOP, id=shop.id, page=page + 1))
        sizes.append(2 if 0 < page < pages - 1 else 1)
    kb.button(text=_("🛒 My cart"), callback_data=NavCb(to=Nav.CART))
    kb.button(text=_("ℹ️ Shop info"), callback_data=NavCb(to=Nav.INFO, id=shop.id))
    sizes.append(2)
    kb.row(home_button())
    kb.adjust(*sizes, 1)
    if not shop.is_open:
        text = _("{shop} is closed for orders right now.").format(shop=shop.name)
    elif not products:
        text = _("{shop} has nothing on sale right now.").format(shop=shop.name)
    else:
        text = _(
            "🏪 {shop}\nTap a product, or type its number and how many, like “1번 2개”."
        ).format(shop=shop.name)
    return text, kb.as_markup()


def product_caption(
    product: Product, shop: Shop, number: int | None, prices: Mapping[int, int]
) -> str:
    prefix = f"{number}. " if number else ""
    unit = f" / {product.unit}" if product.unit else ""
    price = price_of(product, prices)
    was = (
        _(" (usually {price})").format(price=money(product.price, shop))
        if price != product.price
        else ""
    )
    lines = [
        f"{prefix}{product.name}",
        f"{price_label(product, shop, prices)}{unit}{was}",
        stock_label(product),
    ]
    if product.description:
        lines.append(product.description[:200])
    return "\n".join(lines)


async def render_product(
    session: AsyncSession, product: Product, customer: Customer | None, *, now: datetime
) -> tuple[str, InlineKeyboardMarkup]:
    """The product with one-tap order buttons: 1, 2 or 3 units, or into the cart."""
    card = await product_card(session, product, customer.id if customer else None, now)
    shop, number, in_cart, held = card.shop, card.number, card.in_cart, card.held
    sellable = product.available + held
    kb = InlineKeyboardBuilder()
    sizes: list[int] = []
    if sellable > 0:
        for qty in (1, 2, 3):
            if qty <= sellable:
                label = _("Order {count}").format(count=qty) if qty == 1 else str(qty)
                kb.button(
                    text=label,
                    callback_data=CartCb(action=CartAction.BUY, product=product.id, qty=qty),
                )
        sizes.append(min(3, sellable))
        if in_cart + 1 <= sellable:
            kb.button(
                text=_("🛒 Add to cart (now {count})").format(count=in_cart)
                if in_cart
                else _("🛒 Add to cart"),
                callback_data=CartCb(action=CartAction.ADD, product=product.id, qty=in_cart + 1),
            )
            sizes.append(1)
    elif customer is not None and await waiting_for(session, customer.id, product.id, now=now):
        kb.button(
            text=_("🔕 Stop restock alert"),
            callback_data=WaitCb(action=WaitAction.LEAVE, product=product.id),
        )
        sizes.append(1)
    else:
        kb.button(
            text=_("🔔 Tell me when it's back"),
            callback_data=WaitCb(action=WaitAction.JOIN, product=product.id),
        )
        sizes.append(1)
    kb.button(text=_("◀ Back to the shop"), callback_data=NavCb(to=Nav.SHOP, id=shop.id))
    sizes.append(1)
    kb.adjust(*sizes)
    caption = product_caption(product, shop, number, card.prices(product))
    if held and product.available <= 0:
        caption += "\n" + _("One is held for you. Order it now!")
    return caption, kb.as_markup()


def show_product(
    replies: Replies, product: Product, text: str, markup: InlineKeyboardMarkup
) -> None:
    if product.photo_url:
        replies.photo(product.photo_url, text, markup)
    else:
        replies.send(text, markup)


def render_shop_info(shop: Shop) -> list[str]:
    """The seller identity 전자상거래법 asks for, then the terms (two short messages)."""
    identity = _(
        "ℹ️ {shop}\nBusiness name: {legal_name}\nRepresentative: {representative}\n"
        "Business registration no.: {business_number}\nMail-order registration no.: {mail_order}\n"
        "Address: {address}\nPhone: {phone}\nE-mail: {email}"
    ).format(
        shop=shop.name,
        legal_name=shop.legal_name or "-",
        representative=shop.representative or "-",
        business_number=shop.business_number or "-",
        mail_order=shop.mail_order_number or "-",
        address=shop.address or "-",
        phone=shop.phone or "-",
        email=shop.email or "-",
    )
    terms = _(
        "Delivery: {delivery}\nCancellation: {cancellation}\nRefunds: {refund}\n"
        "You may withdraw from a purchase within 7 days of receiving it."
    ).format(
        delivery=_clip(shop.delivery_terms),
        cancellation=_clip(shop.cancellation_terms),
        refund=_clip(shop.refund_terms),
    )
    return [identity, terms]


def _clip(text: str, limit: int = 1000) -> str:
    """Three terms stay well inside Telegram's 4096 characters, however long the shop wrote."""
    if not text:
        return "-"
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@router.callback_query(NavCb.filter(F.to == Nav.HOME))
async def on_home(
    callback: CallbackQuery, session: AsyncSession, replies: Replies, state: FSMContext
) -> None:
    await state.clear()
    text, markup = await render_home(session)
    replies.edit(pressed_message(callback), text, markup)


@router.callback_query(NavCb.filter(F.to == Nav.MARKET))
async def on_market(
    callback: CallbackQuery, callback_data: NavCb, session: AsyncSession, replies: Replies
) -> None:
    market = await session.get(Market, callback_data.id)
    if market is None:
        raise NotFound("market", callback_data.id)
    text, markup = await render_market(session, market)
    replies.edit(pressed_message(callback), text, markup)


@router.callback_query(NavCb.filter(F.to == Nav.SHOP))
async def on_shop(
    callback: CallbackQuery,
    callback_data: NavCb,
    session: AsyncSession,
    replies: Replies,
    state: FSMContext,
    now: datetime,
) -> None:
    shop = await get_shop_by_id(session, callback_data.id)
    await remember_shop(state, shop.id)
    text, markup = await render_shop(session, shop, callback_data.page, now=now)
    replies.edit(pressed_message(callback), text, markup)


@router.callback_query(NavCb.filter(F.to == Nav.PRODUCT))
async def on_product(
    callback: CallbackQuery,
    callback_data: NavCb,
    session: AsyncSession,
    replies: Replies,
    state: FSMContext,
    customer: Customer | None,
    now: datetime,
) -> None:
    product = await session.get(Product, callback_data.id)
    if product is None or product.is_hidden:
        raise NotFound("product", callback_data.id)
    await remember_shop(state, product.shop_id, product.id)
    text, markup = await render_product(session, product, customer, now=now)
    show_product(replies, product, text, markup)


@router.callback_query(NavCb.filter(F.to == Nav.INFO))
async def on_info(
    callback: CallbackQuery, callback_data: NavCb, session: AsyncSession, replies: Replies
) -> None:
    shop = await get_shop_by_id(session, callback_data.id)
    for text in render_shop_info(shop):
        replies.send(text)
    replies.send(_("What next?"), main_menu(shop.id))


@router.message(Command("info"))
async def on_info_command(
    message: Message, session: AsyncSession, replies: Replies, state: FSMContext
) -> None:
    shop_id = (await state.get_data()).get("shop_id")
    if shop_id is None:
        text, markup = await render_home(session)
        replies.send(_("Which shop? Open a shop first, then tap “Shop info”."), markup)
        return
    shop = await get_shop_by_id(session, int(shop_id))
    for text in render_shop_info(shop):
        replies.send(text)
    replies.send(_("What next?"), main_menu(shop.id))
