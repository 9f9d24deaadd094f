"""The cart by buttons: add from a product, − / + / remove, order now."""

from __future__ import annotations

from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import CartAction, CartCb, Nav, NavCb
from bot.cart_view import render_cart
from bot.replies import Replies, pressed_message
from bot.routers.checkout import start_checkout
from bot.routers.shop import remember_shop, render_product
from catalog.cart import set_cart_quantity
from catalog.errors import NotFound
from catalog.models import CartItem, Customer, Product
from catalog.waitlist import sellable_for

router = Router(name=__name__)


@router.callback_query(NavCb.filter(F.to == Nav.CART))
async def on_cart(
    callback: CallbackQuery,
    session: AsyncSession,
    customer: Customer,
    state: FSMContext,
    replies: Replies,
    now: datetime,
) -> None:
    data = await state.get_data()
    text, markup = await render_cart(session, customer, data.get("shop_id"), now=now)
    replies.edit(pressed_message(callback), text, markup)


@router.message(Command("cart"))
async def on_cart_command(
    message: Message,
    session: AsyncSession,
    customer: Customer,
    state: FSMContext,
    replies: Replies,
    now: datetime,
) -> None:
    data = await state.get_data()
    text, markup = await render_cart(session, customer, data.get("shop_id"), now=now)
    replies.send(text, markup)


@router.callback_query(CartCb.filter())
async def on_cart_button(
    callback: CallbackQuery,
    callback_data: CartCb,
    session: AsyncSession,
    customer: Customer,
    state: FSMContext,
    replies: Replies,
    now: datetime,
) -> None:
    product = await session.get(Product, callback_data.product)
    qty = max(0, callback_data.qty)
    if product is None or (product.is_hidden and qty > 0):
        raise NotFound("product", callback_data.product)
    in_cart = await session.scalar(
        select(CartItem.quantity).where(
            CartItem.customer_id == customer.id, CartItem.product_id == product.id
        )
    )
    # a unit a waitlist offer holds for this customer is theirs to order
    sellable = (await sellable_for(session, customer.id, [product]))[product.id]
    if qty > (in_cart or 0) and qty > sellable:  # fewer is always allowed
        replies.toast(
            _("Only {count} left.").format(count=sellable) if sellable else _("Sold out"),
            alert=True,
        )
        return
    await set_cart_quantity(session, customer, product, qty, now=now)
    if callback_data.action is CartAction.BUY:
        await remember_shop(state, product.shop_id, product.id)
        await start_checkout(session, customer, state, replies, now=now)
        return
    if callback_data.action is CartAction.ADD:
        replies.toast(_("In your cart: {count}").format(count=qty))
        text, markup = await render_product(session, product, customer, now=now)
        message = pressed_message(callback)
        if message is not None and (message.photo or message.caption):
            return  # a photo's caption can't become text: the toast tells the customer
        replies.edit(message, text, markup)
        return
    data = await state.get_data()
    text, markup = await render_cart(session, customer, data.get("shop_id"), now=now)
    replies.edit(pressed_message(callback), text, markup)
