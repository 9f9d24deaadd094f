"""Waitlist offers (one unit held for you until …, with the order button), a hold that passed
on to the next in line, and the one reminder to pay before an order's reservation lapses."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import CartAction, CartCb, OrderAction, OrderCb, WaitAction, WaitCb
from bot.formatting import local_time, money, price_label
from bot.notifications import Outgoing, RenderEnv, Renderer, bank_transfer_text, pay_url
from catalog.models import (
    OrderStatus,
    OutboxMessage,
    Product,
    Shop,
    WaitlistEntry,
    WaitlistStatus,
)
from catalog.orders import get_order
from catalog.pricing import live_prices
from catalog.vendor_orders import BANK_TRANSFER


async def render_waitlist_offer(
    session: AsyncSession, row: OutboxMessage, locale: str, env: RenderEnv
) -> Outgoing | None:
    """ "🔔 부사 사과 is back! One is held for you until 3:25 PM." with Order and No thanks."""
    entry = await session.get(WaitlistEntry, int(row.payload["entry_id"]))
    product = await session.get(Product, int(row.payload["product_id"]))
    if entry is None or product is None or entry.status is not WaitlistStatus.OFFERED:
        return None  # ordered, passed on or left before this went out: nothing to offer
    shop = await session.get(Shop, product.shop_id)
    assert shop is not None and entry.hold_until is not None
    now = env.clock.now()
    text = "\n".join(
        [
            _("🔔 {name} is back in stock!").format(name=product.name),
            _("We are holding one for you until {time} ({price}).").format(
                time=local_time(entry.hold_until, shop, locale),
                price=price_label(product, shop, await live_prices(session, [product.id], now)),
            ),
            _("After that it goes to the next person waiting."),
        ]
    )
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("🛒 Order it now"),
        callback_data=CartCb(action=CartAction.BUY, product=product.id, qty=1),
    )
    kb.button(
        text=_("No, thanks"), callback_data=WaitCb(action=WaitAction.LEAVE, product=product.id)
    )
    kb.adjust(1)
    return Outgoing(text, kb.as_markup())


async def render_waitlist_missed(
    session: AsyncSession, row: OutboxMessage, locale: str, env: RenderEnv
) -> Outgoing | None:
    """The hold ran out: it went to the next in line; one tap to wait again."""
    product = await session.get(Product, int(row.payload["product_id"]))
    if product is None:
        return None
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("🔔 Tell me when it's back"),
        callback_data=WaitCb(action=WaitAction.JOIN, product=product.id),
    )
    return Outgoing(
        _("⏰ The {name} we held for you went to the next person waiting.").format(
            name=product.name
        ),
        kb.as_markup(),
    )


async def render_waitlist_withdrawn(
    session: AsyncSession, row: OutboxMessage, locale: str, env: RenderEnv
) -> Outgoing | None:
    """ "죄송해요, 부사 사과이(가) 다 팔렸어요. 다시 들어오면 알려 드릴게요." (their place kept), or
    that it is no longer sold when the shop deleted it."""
    name = str(row.payload["name"])
    if row.payload.get("reason") == "removed":
        return Outgoing(_("Sorry, {name} is no longer sold.").format(name=name), None)
    entry = await session.get(WaitlistEntry, int(row.payload["entry_id"]))
    if entry is None or entry.status is not WaitlistStatus.WAITING:
        return None  # offered again or left since: this would only confuse
    return Outgoing(
        _("Sorry, {name} has sold out. We'll tell you when it's back.").format(name=name), None
    )


async def render_payment_nudge(
    session: AsyncSession, row: OutboxMessage, locale: str, env: RenderEnv
) -> Outgoing | None:
    """ "5분 안에 결제하시면 주문이 확정돼요" with the Pay button (or the bank account)."""
    order = await get_order(session, int(row.payload["order_id"]))
    if order.status is not OrderStatus.PENDING_PAYMENT:
        return None  # paid (or closed) since: no reminder
    minutes = int(row.payload.get("minutes", 5))
    lines = [
        _("⏰ Order {code}: pay within {minutes} minutes and your order is confirmed.").format(
            code=order.code, minutes=minutes
        ),
        _("Total: {total}").format(total=money(order.total, order.shop)),
    ]
    kb = InlineKeyboardBuilder()
    url = pay_url(env, order) if order.payment_method != BANK_TRANSFER else None
    if url is not None:
        kb.row(
            InlineKeyboardButton(
                text=_("💳 Pay {total}").format(total=money(order.total, order.shop)), url=url
            )
        )
    else:
        lines.append(bank_transfer_text(order))
    kb.row(
        InlineKeyboardButton(
            text=_("📦 See my order"),
            callback_data=OrderCb(action=OrderAction.VIEW, order=order.id).pack(),
        )
    )
    markup: InlineKeyboardMarkup = kb.as_markup()
    return Outgoing("\n".join(lines), markup)


WAITLIST_RENDERERS: dict[str, Renderer] = {
    "waitlist_offer": render_waitlist_offer,
    "waitlist_missed": render_waitlist_missed,
    "waitlist_withdrawn": render_waitlist_withdrawn,
    "payment_nudge": render_payment_nudge,
}
