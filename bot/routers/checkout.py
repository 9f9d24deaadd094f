"""Checkout by buttons: pickup or delivery, phone (one button), address, a summary to confirm.

Korean e-commerce law wants a step to check the order before it is final, the seller's
identity and the withdrawal right shown before the contract: the summary carries them.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import CheckoutAction, CheckoutCb, Nav, NavCb
from bot.cart_view import render_cart
from bot.deps import BotDeps
from bot.formatting import money
from bot.keyboards import main_menu
from bot.replies import Replies, pressed_message
from catalog.cart import CartLine, cart_lines, clear_cart
from catalog.customers import set_address, set_phone
from catalog.errors import InvalidInput, OutOfStock, PriceChanged
from catalog.models import Customer, Fulfilment, Order, Shop
from catalog.orders import RequestedLine, place_order
from catalog.phones import display_phone
from catalog.shops import get_shop_by_id
from catalog.vendor_orders import choose_bank_transfer
from catalog.waitlist import sellable_for

router = Router(name=__name__)

MIN_ADDRESS_LENGTH = 5


class Checkout(StatesGroup):
    fulfilment = State()
    phone = State()
    address = State()
    confirm = State()


def abort_words() -> set[str]:
    return {_("❌ Stop ordering"), "취소", "그만", "cancel", "/cancel"}


async def _cart_by_shop(
    session: AsyncSession, customer: Customer, *, now: datetime
) -> list[tuple[Shop, list[CartLine]]]:
    groups: dict[int, list[CartLine]] = {}
    for line in await cart_lines(session, customer, now=now):
        groups.setdefault(line.product.shop_id, []).append(line)
    return [(await get_shop_by_id(session, shop_id), lines) for shop_id, lines in groups.items()]


async def start_checkout(
    session: AsyncSession,
    customer: Customer,
    state: FSMContext,
    replies: Replies,
    *,
    now: datetime,
) -> None:
    """Begin checkout for the whole cart (one order per shop); ask only what we don't know."""
    groups = await _cart_by_shop(session, customer, now=now)
    data = await state.get_data()
    if not groups:
        text, markup = await render_cart(session, customer, data.get("shop_id"), now=now)
        replies.send(text, markup)
        return
    closed = [shop.name for shop, _lines in groups if not shop.is_open]
    if closed:
        replies.send(
            _("Not taking orders right now: {shops}.").format(shops=", ".join(closed)),
            main_menu(),
        )
        return
    # units held for this customer by waitlist offers count as theirs
    sellable = await sellable_for(
        session, customer.id, [line.product for _shop, lines in groups for line in lines]
    )
    short = [
        line.product.name
        for _shop, lines in groups
        for line in lines
        if line.quantity > sellable[line.product.id]
    ]
    if short:
        text, markup = await render_cart(session, customer, data.get("shop_id"), now=now)
        replies.send(
            _("Not enough left of: {names}. Please change the amount.").format(
                names=", ".join(short)
            )
        )
        replies.send(text, markup)
        return
    pickup = all(shop.pickup_available for shop, _lines in groups)
    delivery = all(shop.delivery_available for shop, _lines in groups)
    await state.update_data(token=None, address=None, fulfilment=None)
    if pickup and delivery:
        await state.set_state(Checkout.fulfilment)
        kb = InlineKeyboardBuilder()
        kb.button(
            text=_("🏪 Pick up at the shop"), callback_data=CheckoutCb(action=CheckoutAction.PICKUP)
        )
        kb.button(
            text=_("🚚 Deliver to me"), callback_data=CheckoutCb(action=CheckoutAction.DELIVERY)
        )
        kb.button(text=_("❌ Stop ordering"), callback_data=CheckoutCb(action=CheckoutAction.ABORT))
        kb.adjust(1)
        replies.send(_("How would you like to get it?"), kb.as_markup())
        return
    if not pickup and not delivery:
        replies.send(
            _("These shops can't be ordered together. Please order from one shop at a time."),
            main_menu(),
        )
        return
    await state.update_data(fulfilment=(Fulfilment.PICKUP if pickup else Fulfilment.DELIVERY).value)
    await continue_checkout(session, customer, state, replies, now=now)


async def continue_checkout(
    session: AsyncSession,
    customer: Customer,
    state: FSMContext,
    replies: Replies,
    *,
    now: datetime,
) -> None:
    """Ask for the next missing thing (phone, then address), else show the summary."""
    data = await state.get_data()
    fulfilment = Fulfilment(data["fulfilment"])
    if not customer.phone:
        await state.set_state(Checkout.phone)
        keyboard = ReplyKeyboardMarkup(
            keyboard=[
                [KeyboardButton(text=_("📞 Send my phone number"), request_contact=True)],
                [KeyboardButton(text=_("❌ Stop ordering"))],
            ],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
        replies.send(
            _(
                "We need your phone number, only so the shop can confirm and deliver your order. "
                "Tap the button below, or type the number."
            ),
            keyboard,
        )
        return
    if fulfilment is Fulfilment.DELIVERY and not data.get("address"):
        await state.set_state(Checkout.address)
        kb = InlineKeyboardBuilder()
        if customer.address:
            kb.button(
                text=_("📍 {address}").format(address=customer.address[:40]),
                callback_data=CheckoutCb(action=CheckoutAction.SAVED_ADDRESS),
            )
        kb.button(text=_("❌ Stop ordering"), callback_data=CheckoutCb(action=CheckoutAction.ABORT))
        kb.adjust(1)
        replies.send(_("Please type the delivery address."), kb.as_markup())
        return
    await show_summary(session, customer, state, replies, now=now)


async def show_summary(
    session: AsyncSession,
    customer: Customer,
    state: FSMContext,
    replies: Replies,
    *,
    now: datetime,
) -> None:
    """The check-before-you-buy step: items, total, how, phone, seller and withdrawal right."""
    data = await state.get_data()
    fulfilment = Fulfilment(data["fulfilment"])
    groups = await _cart_by_shop(session, customer, now=now)
    if not groups:
        await state.set_state(None)
        replies.send(_("Your cart is empty."), main_menu())
        return
    token = secrets.token_urlsafe(6)
    await state.update_data(token=token, shown=_cart_snapshot(groups, fulfilment))
    await state.set_state(Checkout.confirm)
    lines = [_("📝 Please check your order")]
    for shop, shop_lines in groups:
        subtotal = sum(line.line_total for line in shop_lines)
        fee = shop.delivery_fee if fulfilment is Fulfilment.DELIVERY else 0
        for line in shop_lines:
            lines.append(f"{line.product.name} × {line.quantity} = {money(line.line_total, shop)}")
        if fee:
            lines.append(_("Delivery fee: {fee}").format(fee=money(fee, shop)))
        lines.append(_("Total: {total}").format(total=money(subtotal + fee, shop)))
    if fulfilment is Fulfilment.PICKUP:
        lines.append(_("How: pick up at the shop"))
    else:
        lines.append(_("Deliver to: {address}").format(address=data.get("address")))
    lines.append(_("Phone: {phone}").format(phone=display_phone(customer.phone or "")))
    sellers = ", ".join(
        f"{shop.legal_name or shop.name} ({shop.business_number})" for shop, _l in groups
    )
    lines.append(_("Seller: {sellers}").format(sellers=sellers))
    lines.append(_("You can withdraw within 7 days of receiving the goods."))
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("✅ Confirm order"),
        callback_data=CheckoutCb(action=CheckoutAction.CONFIRM, token=token),
    )
    kb.button(text=_("✏️ Change"), callback_data=CheckoutCb(action=CheckoutAction.EDIT))
    kb.button(text=_("❌ Stop ordering"), callback_data=CheckoutCb(action=CheckoutAction.ABORT))
    kb.button(text=_("ℹ️ Shop info"), callback_data=NavCb(to=Nav.INFO, id=groups[0][0].id))
    kb.adjust(1, 2, 1)
    replies.send("\n".join(lines), kb.as_markup())


def _cart_snapshot(
    groups: list[tuple[Shop, list[CartLine]]], fulfilment: Fulfilment
) -> list[list[int]]:
    """What the summary showed: product, quantity, unit price, and each shop's fee."""
    shown: list[list[int]] = []
    for shop, lines in groups:
        fee = shop.delivery_fee if fulfilment is Fulfilment.DELIVERY else 0
        shown.append([-shop.id, fee, 0])
        shown.extend([line.product.id, line.quantity, line.unit_price] for line in lines)
    return shown


async def place_checkout(
    session: AsyncSession,
    customer: Customer,
    state: FSMContext,
    deps: BotDeps,
    token: str,
    groups: list[tuple[Shop, list[CartLine]]],
    *,
    now: datetime,
) -> list[Order]:
    """One order per shop of the cart (`groups`, as confirmed), all or none; the cart empties
    when they are placed. Priced at `now`, the time the confirmed cart was read, at the prices
    it showed (PriceChanged otherwise)."""
    data = await state.get_data()
    fulfilment = Fulfilment(data["fulfilment"])
    orders: list[Order] = []
    async with session.begin_nested():
        for shop, lines in groups:
            orders.append(
                await place_order(
                    session,
                    shop=shop,
                    customer=customer,
                    lines=[RequestedLine(line.product.id, line.quantity) for line in lines],
                    fulfilment=fulfilment,
                    now=now,
                    reservation_minutes=deps.reservation_minutes,
                    phone=customer.phone,
                    address=data.get("address") if fulfilment is Fulfilment.DELIVERY else None,
                    recipient_name=customer.name,
                    checkout_token=f"{customer.id}:{token}:{shop.id}",
                    confirmed_prices={line.product.id: line.unit_price for line in lines},
                )
            )
            if not deps.online_payments:
                # no online payment here: the customer pays by bank transfer (or at the stall),
                # and the shop's vendors see the order at once to confirm the money
                await choose_bank_transfer(session, orders[-1], customer, now=now)
        await clear_cart(session, customer)
    return orders


@router.callback_query(CheckoutCb.filter(F.action == CheckoutAction.START))
async def on_start(
    callback: CallbackQuery,
    session: AsyncSession,
    customer: Customer,
    state: FSMContext,
    replies: Replies,
    now: datetime,
) -> None:
    await start_checkout(session, customer, state, replies, now=now)


@router.callback_query(
    CheckoutCb.filter(F.action.in_({CheckoutAction.PICKUP, CheckoutAction.DELIVERY})),
    StateFilter(Checkout.fulfilment),
)
async def on_fulfilment(
    callback: CallbackQuery,
    callback_data: CheckoutCb,
    session: AsyncSession,
    customer: Customer,
    state: FSMContext,
    replies: Replies,
    now: datetime,
) -> None:
    choice = (
        Fulfilment.PICKUP if callback_data.action is CheckoutAction.PICKUP else Fulfilment.DELIVERY
    )
    await state.update_data(fulfilment=choice.value)
    label = _("🏪 Pick up at the shop") if choice is Fulfilment.PICKUP else _("🚚 Deliver to me")
    replies.edit(pressed_message(callback), _("How: {choice}").format(choice=label), None)
    await continue_checkout(session, customer, state, replies, now=now)


@router.message(StateFilter(Checkout.phone), F.contact)
async def on_contact(
    message: Message,
    session: AsyncSession,
    customer: Customer,
    state: FSMContext,
    replies: Replies,
    now: datetime,
) -> None:
    contact = message.contact
    assert contact is not None and message.from_user is not None
    if contact.user_id != message.from_user.id:
        replies.send(_("Please send your own number with the button below."))
        return
    await _save_phone(session, customer, state, replies, contact.phone_number, now)


@router.message(
    StateFilter(Checkout), F.text.func(lambda text: text.strip().lower() in abort_words())
)
async def on_abort_text(message: Message, state: FSMContext, replies: Replies) -> None:
    await _abort(state, replies)


@router.message(StateFilter(Checkout.phone), F.text)
async def on_phone_text(
    message: Message,
    session: AsyncSession,
    customer: Customer,
    state: FSMContext,
    replies: Replies,
    now: datetime,
) -> None:
    await _save_phone(session, customer, state, replies, message.text or "", now)


async def _save_phone(
    session: AsyncSession,
    customer: Customer,
    state: FSMContext,
    replies: Replies,
    raw: str,
    now: datetime,
) -> None:
    try:
        phone = await set_phone(session, customer, raw, now=now)
    except InvalidInput:
        replies.send(_("I couldn't read that number. Please write it like 010-1234-5678."))
        return
    replies.send(
        _("Thank you. Saved {phone}.").format(phone=display_phone(phone)), ReplyKeyboardRemove()
    )
    await continue_checkout(session, customer, state, replies, now=now)


@router.callback_query(
    CheckoutCb.filter(F.action == CheckoutAction.SAVED_ADDRESS), StateFilter(Checkout.address)
)
async def on_saved_address(
    callback: CallbackQuery,
    session: AsyncSession,
    customer: Customer,
    state: FSMContext,
    replies: Replies,
    now: datetime,
) -> None:
    await state.update_data(address=customer.address)
    await show_summary(session, customer, state, replies, now=now)


@router.message(StateFilter(Checkout.address), F.text)
async def on_address_text(
    message: Message,
    session: AsyncSession,
    customer: Customer,
    state: FSMContext,
    replies: Replies,
    now: datetime,
) -> None:
    address = (message.text or "").strip()
    if len(address) < MIN_ADDRESS_LENGTH:
        replies.send(_("Please write the full address, like 서울시 종로구 창경궁로 88."))
        return
    await set_address(session, customer, address, now=now)
    await state.update_data(address=address[:300])
    await show_summary(session, customer, state, replies, now=now)


@router.callback_query(CheckoutCb.filter(F.action == CheckoutAction.CONFIRM))
async def on_confirm(
    callback: CallbackQuery,
    callback_data: CheckoutCb,
    session: AsyncSession,
    customer: Customer,
    state: FSMContext,
    replies: Replies,
    deps: BotDeps,
    now: datetime,
) -> None:
    data = await state.get_data()
    if data.get("placed_token") == callback_data.token:
        replies.toast(_("This order is already placed."))
        return
    if (
        await state.get_state() != Checkout.confirm.state
        or data.get("token") != callback_data.token
    ):
        replies.toast(_("This summary is out of date."))
        if await state.get_state() == Checkout.confirm.state:
            await show_summary(session, customer, state, replies, now=now)
        else:
            await start_checkout(session, customer, state, replies, now=now)
        return
    groups = await _cart_by_shop(session, customer, now=now)
    current = _cart_snapshot(groups, Fulfilment(data["fulfilment"]))
    if current != data.get("shown"):
        # the cart or a price changed after the summary: show the new one, place nothing yet
        replies.toast(_("Your order changed. Please check it again."), alert=True)
        await show_summary(session, customer, state, replies, now=now)
        return
    try:
        orders = await place_checkout(
            session, customer, state, deps, callback_data.token, groups, now=now
        )
    except PriceChanged:
        replies.toast(_("Your order changed. Please check it again."), alert=True)
        await show_summary(session, customer, state, replies, now=now)
        return
    except OutOfStock as exc:
        await state.set_state(None)
        names = ", ".join(f"{s.name} ({s.available})" for s in exc.shortages)
        replies.edit(
            pressed_message(callback),
            _("Sorry, not enough left: {names}. Please change your cart.").format(names=names),
            None,
        )
        text, markup = await render_cart(session, customer, data.get("shop_id"), now=now)
        replies.send(text, markup)
        return
    await state.set_state(None)
    await state.update_data(token=None, placed_token=callback_data.token)
    codes = ", ".join(order.code for order in orders)
    replies.toast(_("Order placed"))
    replies.edit(
        pressed_message(callback),
        _("✅ Order placed. Order number: {codes}").format(codes=codes),
        None,
    )


@router.callback_query(CheckoutCb.filter(F.action == CheckoutAction.EDIT))
async def on_edit(
    callback: CallbackQuery,
    session: AsyncSession,
    customer: Customer,
    state: FSMContext,
    replies: Replies,
    now: datetime,
) -> None:
    await state.set_state(None)
    data = await state.get_data()
    text, markup = await render_cart(session, customer, data.get("shop_id"), now=now)
    replies.edit(pressed_message(callback), text, markup)


@router.callback_query(CheckoutCb.filter(F.action == CheckoutAction.ABORT))
async def on_abort(callback: CallbackQuery, state: FSMContext, replies: Replies) -> None:
    await _abort(state, replies)


async def _abort(state: FSMContext, replies: Replies) -> None:
    data = await state.get_data()
    await state.set_state(None)
    await state.update_data(token=None)
    replies.send(_("Stopped. Your cart is kept."), ReplyKeyboardRemove())
    replies.send(_("What next?"), main_menu(data.get("shop_id")))


@router.callback_query(CheckoutCb.filter())
async def on_stale_checkout_button(
    callback: CallbackQuery,
    session: AsyncSession,
    customer: Customer,
    state: FSMContext,
    replies: Replies,
    now: datetime,
) -> None:
    """A checkout button from an earlier screen: start again from the cart."""
    replies.toast(_("That button is from an earlier screen."))
    await start_checkout(session, customer, state, replies, now=now)
