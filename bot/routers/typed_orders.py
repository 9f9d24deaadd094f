"""Orders typed as people type during a live show: "3번 2개", "사과 두 개", "2개 주세요", "취소".

Registered last: it answers any text no other screen took, and never leaves it unanswered.
"""

from __future__ import annotations

from datetime import datetime

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import CheckoutAction, CheckoutCb, Nav, NavCb
from bot.keyboards import main_menu
from bot.replies import Replies
from bot.routers.my_orders import render_orders
from catalog.cart import add_to_cart
from catalog.errors import NotFound
from catalog.models import Customer, Product, Shop
from catalog.order_text import (
    AmbiguousIntent,
    CancelIntent,
    OrderIntent,
    ProductRef,
    QuantityIntent,
    parse_order_text,
)
from catalog.products import list_products
from catalog.shops import get_shop_by_id
from catalog.shows import featured_for_sale, get_show
from catalog.waitlist import sellable_for

router = Router(name=__name__)


async def _show_products(
    session: AsyncSession, show_id: int | None, now: datetime
) -> list[Product] | None:
    """During (or before) the show the customer opened: its featured list, numbered."""
    if show_id is None:
        return None
    try:
        show = await get_show(session, show_id)
    except NotFound:
        return None
    if show.ends_at <= now:
        return None
    return [item.product for item in featured_for_sale(show)]


async def _product_refs(
    session: AsyncSession, shop_id: int | None, show_id: int | None = None, *, now: datetime
) -> tuple[list[ProductRef], dict[int, Product]]:
    """The list the customer sees (numbered): the live show's, the shop's; or every open
    shop's products by name."""
    featured = await _show_products(session, show_id, now)
    if featured is not None:
        refs = [ProductRef(number=n, key=p.id, name=p.name) for n, p in enumerate(featured, 1)]
        return refs, {p.id: p for p in featured}
    if shop_id is not None:
        shop = await get_shop_by_id(session, shop_id)
        products = await list_products(session, shop)
    else:
        products = list(
            await session.scalars(
                select(Product)
                .join(Shop)
                .where(Product.is_hidden.is_(False), Shop.is_open.is_(True))
                .order_by(Shop.id, Product.position, Product.id)
            )
        )
    refs = [
        ProductRef(number=n if shop_id is not None else 0, key=p.id, name=p.name)
        for n, p in enumerate(products, start=1)
    ]
    return refs, {p.id: p for p in products}


def _hint(shop_id: int | None) -> str:
    if shop_id is None:
        return _("I didn't catch that. Open a shop below, then type like “3번 2개”.")
    return _("I didn't catch that. Type the item number and how many, like “3번 2개”.")


async def _add(
    session: AsyncSession,
    customer: Customer,
    product: Product,
    quantity: int,
    replies: Replies,
    state: FSMContext,
    now: datetime,
) -> None:
    # a unit a waitlist offer holds for this customer is theirs to order
    sellable = (await sellable_for(session, customer.id, [product]))[product.id]
    if sellable <= 0:
        replies.send(
            _("Sorry, {name} is sold out.").format(name=product.name), main_menu(product.shop_id)
        )
        return
    if quantity > sellable:
        replies.send(
            _("Only {count} of {name} left. How many would you like?").format(
                count=sellable, name=product.name
            )
        )
        await state.update_data(shop_id=product.shop_id, product_id=product.id)
        return
    total = await add_to_cart(session, customer, product, quantity, now=now)
    await state.update_data(shop_id=product.shop_id, product_id=product.id)
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✅ Order now"), callback_data=CheckoutCb(action=CheckoutAction.START))
    kb.button(text=_("🛒 My cart"), callback_data=NavCb(to=Nav.CART))
    kb.button(text=_("🏪 Keep shopping"), callback_data=NavCb(to=Nav.SHOP, id=product.shop_id))
    kb.adjust(1, 2)
    replies.send(
        _("🛒 Added {name} × {count}. Now {total} in your cart.").format(
            name=product.name, count=quantity, total=total
        ),
        kb.as_markup(),
    )


@router.message(F.text)
async def on_text(
    message: Message,
    session: AsyncSession,
    customer: Customer,
    state: FSMContext,
    replies: Replies,
    now: datetime,
) -> None:
    data = await state.get_data()
    shop_id = data.get("shop_id")
    show_id = data.get("show_id")
    refs, products = await _product_refs(
        session, int(shop_id) if shop_id else None, int(show_id) if show_id else None, now=now
    )
    intent = parse_order_text(message.text or "", refs)
    if isinstance(intent, OrderIntent):
        await _add(
            session, customer, products[intent.product_key], intent.quantity, replies, state, now
        )
    elif isinstance(intent, QuantityIntent):
        product_id = data.get("product_id")
        product = products.get(int(product_id)) if product_id else None
        if product is None:
            replies.send(_("Which item? Type its number too, like “3번 2개”."), main_menu(shop_id))
        else:
            await _add(session, customer, product, intent.quantity, replies, state, now)
    elif isinstance(intent, CancelIntent):
        text, markup = await render_orders(session, customer)
        replies.send(_("To cancel, open the order and tap “Cancel this order”."))
        replies.send(text, markup)
    elif isinstance(intent, AmbiguousIntent):
        kb = InlineKeyboardBuilder()
        for key in intent.candidates[:6]:
            kb.button(text=products[key].name, callback_data=NavCb(to=Nav.PRODUCT, id=key))
        kb.adjust(1)
        replies.send(_("Which one do you mean?"), kb.as_markup())
    else:
        replies.send(_hint(int(shop_id) if shop_id else None), main_menu(shop_id))


@router.message()
async def on_anything_else(message: Message, state: FSMContext, replies: Replies) -> None:
    """Stickers, photos, voice: answer kindly instead of staying silent."""
    shop_id = (await state.get_data()).get("shop_id")
    replies.send(_("I can only read text and buttons. Tap a button below."), main_menu(shop_id))


@router.callback_query()
async def on_unknown_button(callback: CallbackQuery, replies: Replies, state: FSMContext) -> None:
    """A button from an old message, or data we never made: say so and offer the way on."""
    shop_id = (await state.get_data()).get("shop_id")
    replies.toast(_("That button no longer works."))
    replies.send(_("Here is where you can go:"), main_menu(shop_id))
