"""My orders: a list with status, one order's details, cancel while still allowed."""

from __future__ import annotations

from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import Nav, NavCb, OrderAction, OrderCb
from bot.deps import BotDeps
from bot.formatting import local_time, money, order_lines_text, status_label
from bot.keyboards import home_button
from bot.notifications import RenderEnv, bank_transfer_text, pay_url
from bot.replies import Replies, pressed_message
from catalog.errors import InvalidTransition, NotFound, OrderNotCancellable
from catalog.models import Customer, Order, OrderStatus
from catalog.order_status import can_customer_cancel
from catalog.orders import cancel_by_customer, get_order, list_customer_orders
from catalog.vendor_orders import BANK_TRANSFER, choose_bank_transfer

router = Router(name=__name__)


async def render_orders(
    session: AsyncSession, customer: Customer
) -> tuple[str, InlineKeyboardMarkup]:
    orders = await list_customer_orders(session, customer, limit=10)
    kb = InlineKeyboardBuilder()
    for order in orders:
        kb.button(
            text=f"{order.code} · {order.shop.name} · {money(order.total, order.shop)} · "
            f"{status_label(order.status)}",
            callback_data=OrderCb(action=OrderAction.VIEW, order=order.id),
        )
    kb.row(home_button())
    kb.adjust(1)
    if not orders:
        return _("You have no orders yet."), kb.as_markup()
    return _("📦 Your orders (newest first). Tap one to see it."), kb.as_markup()


def render_order(
    order: Order, locale: str, deps: BotDeps | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    lines = [
        _("Order {code} · {shop}").format(code=order.code, shop=order.shop.name),
        order_lines_text(order),
        _("Total: {total}").format(total=money(order.total, order.shop)),
        _("Status: {status}").format(status=status_label(order.status)),
    ]
    if order.status is OrderStatus.PENDING_PAYMENT and order.expires_at is not None:
        lines.append(
            _("Please pay by {time}.").format(time=local_time(order.expires_at, order.shop, locale))
        )
    kb = InlineKeyboardBuilder()
    if order.status is OrderStatus.PENDING_PAYMENT:
        if order.payment_method == BANK_TRANSFER:
            lines.append(bank_transfer_text(order))
        else:
            env = RenderEnv(
                public_base_url=deps.public_base_url if deps else None,
                online_payments=deps.online_payments if deps else False,
            )
            url = pay_url(env, order)
            if url is not None:
                kb.button(
                    text=_("💳 Pay {total}").format(total=money(order.total, order.shop)), url=url
                )
            if order.shop.bank_account or url is None:
                kb.button(
                    text=_("🏦 I'll pay by bank transfer"),
                    callback_data=OrderCb(action=OrderAction.BANK, order=order.id),
                )
    if can_customer_cancel(order.status):
        kb.button(
            text=_("❌ Cancel this order"),
            callback_data=OrderCb(action=OrderAction.CANCEL, order=order.id),
        )
    kb.button(text=_("◀ My orders"), callback_data=NavCb(to=Nav.ORDERS))
    kb.adjust(1)
    return "\n".join(lines), kb.as_markup()


async def _own_order(session: AsyncSession, customer: Customer, order_id: int) -> Order:
    order = await get_order(session, order_id)
    if order.customer_id != customer.id:  # a forged button for someone else's order
        raise NotFound("order", order_id)
    return order


@router.message(Command("orders"))
async def on_orders_command(
    message: Message, session: AsyncSession, customer: Customer, replies: Replies
) -> None:
    text, markup = await render_orders(session, customer)
    replies.send(text, markup)


@router.callback_query(NavCb.filter(F.to == Nav.ORDERS))
async def on_orders(
    callback: CallbackQuery, session: AsyncSession, customer: Customer, replies: Replies
) -> None:
    text, markup = await render_orders(session, customer)
    replies.edit(pressed_message(callback), text, markup)


@router.callback_query(OrderCb.filter(F.action == OrderAction.VIEW))
async def on_order(
    callback: CallbackQuery,
    callback_data: OrderCb,
    session: AsyncSession,
    customer: Customer,
    replies: Replies,
    deps: BotDeps,
) -> None:
    order = await _own_order(session, customer, callback_data.order)
    text, markup = render_order(order, customer.language, deps)
    replies.edit(pressed_message(callback), text, markup)


@router.callback_query(OrderCb.filter(F.action == OrderAction.BANK))
async def on_bank_transfer(
    callback: CallbackQuery,
    callback_data: OrderCb,
    session: AsyncSession,
    customer: Customer,
    replies: Replies,
    deps: BotDeps,
    now: datetime,
) -> None:
    """The customer pays by bank transfer: the account, the amount, the name to write."""
    order = await _own_order(session, customer, callback_data.order)
    try:
        order = await choose_bank_transfer(session, order, customer, now=now)
    except InvalidTransition:
        replies.toast(_("This order can't be paid any more."), alert=True)
        text, markup = render_order(await get_order(session, order.id), customer.language, deps)
        replies.send(text, markup)
        return
    replies.toast()
    text, markup = render_order(await get_order(session, order.id), customer.language, deps)
    replies.send(text, markup)


@router.callback_query(OrderCb.filter(F.action == OrderAction.CANCEL))
async def on_cancel(
    callback: CallbackQuery,
    callback_data: OrderCb,
    session: AsyncSession,
    customer: Customer,
    replies: Replies,
) -> None:
    order = await _own_order(session, customer, callback_data.order)
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("Yes, cancel it"),
        callback_data=OrderCb(action=OrderAction.CANCEL_CONFIRMED, order=order.id),
    )
    kb.button(text=_("No, keep it"), callback_data=OrderCb(action=OrderAction.VIEW, order=order.id))
    kb.adjust(2)
    replies.edit(
        pressed_message(callback),
        _("Cancel order {code} ({total})?").format(
            code=order.code, total=money(order.total, order.shop)
        ),
        kb.as_markup(),
    )


@router.callback_query(OrderCb.filter(F.action == OrderAction.CANCEL_CONFIRMED))
async def on_cancel_confirmed(
    callback: CallbackQuery,
    callback_data: OrderCb,
    session: AsyncSession,
    customer: Customer,
    replies: Replies,
    deps: BotDeps,
    now: datetime,
) -> None:
    order = await _own_order(session, customer, callback_data.order)
    if order.status is OrderStatus.CANCELLED:
        replies.toast(_("Already cancelled."))
    else:
        try:
            order = await cancel_by_customer(session, order, customer, now=now)
        except OrderNotCancellable:
            replies.toast(
                _("The shop has already accepted this order. Please call the shop."), alert=True
            )
    text, markup = render_order(await get_order(session, order.id), customer.language, deps)
    replies.edit(pressed_message(callback), text, markup)
