"""The cart screen: lines with − / + / remove buttons, the total, and the order button."""

from __future__ import annotations

from datetime import datetime

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import CartAction, CartCb, CheckoutAction, CheckoutCb, Nav, NavCb
from bot.formatting import money
from catalog.cart import cart_lines
from catalog.models import Customer
from catalog.shops import get_shop_by_id
from catalog.waitlist import sellable_for


async def render_cart(
    session: AsyncSession, customer: Customer, shop_id: int | None = None, *, now: datetime
) -> tuple[str, InlineKeyboardMarkup]:
    """Every button sets an absolute quantity, so a double tap changes nothing twice."""
    lines = await cart_lines(session, customer, now=now)
    kb = InlineKeyboardBuilder()
    if not lines:
        kb.button(
            text=_("🏪 See the shops") if not shop_id else _("🏪 Back to the shop"),
            callback_data=NavCb(to=Nav.SHOP, id=shop_id) if shop_id else NavCb(to=Nav.HOME),
        )
        return _("Your cart is empty."), kb.as_markup()
    text_lines = [_("🛒 Your cart")]
    totals: dict[int, int] = {}
    sizes: list[int] = []
    # a unit a waitlist offer holds for this customer is theirs to add
    sellable = await sellable_for(session, customer.id, [line.product for line in lines])
    for number, line in enumerate(lines, start=1):
        shop = await get_shop_by_id(session, line.product.shop_id)
        totals[shop.id] = totals.get(shop.id, 0) + line.line_total
        text_lines.append(
            f"{number}) {line.product.name} × {line.quantity} = {money(line.line_total, shop)}"
        )
        product = line.product.id
        kb.button(
            text=f"➖ {number}",
            callback_data=CartCb(action=CartAction.SET, product=product, qty=line.quantity - 1),
        )
        if line.quantity < sellable[line.product.id]:
            kb.button(
                text=f"➕ {number}",
                callback_data=CartCb(action=CartAction.SET, product=product, qty=line.quantity + 1),
            )
            sizes.append(3)
        else:
            sizes.append(2)
        kb.button(
            text=_("🗑 Remove {number}").format(number=number),
            callback_data=CartCb(action=CartAction.SET, product=product, qty=0),
        )
    for shop_id_, total in totals.items():
        shop = await get_shop_by_id(session, shop_id_)
        text_lines.append(
            _("Total at {shop}: {total}").format(shop=shop.name, total=money(total, shop))
        )
    kb.button(text=_("✅ Order now"), callback_data=CheckoutCb(action=CheckoutAction.START))
    back = NavCb(to=Nav.SHOP, id=shop_id) if shop_id else NavCb(to=Nav.HOME)
    kb.button(text=_("🏪 Keep shopping"), callback_data=back)
    sizes.extend([1, 1])
    kb.adjust(*sizes)
    return "\n".join(text_lines), kb.as_markup()
