"""/start with deep links (market_, shop_, product_), /help, and the home screen."""

from __future__ import annotations

from datetime import datetime

from aiogram import Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.deep_links import parse_payload
from bot.keyboards import main_menu
from bot.replies import Replies
from bot.routers.shop import (
    remember_shop,
    render_home,
    render_market,
    render_product,
    render_shop,
    show_product,
)
from catalog.models import Customer, Market, Product, Shop

router = Router(name=__name__)


@router.message(CommandStart(deep_link=True))
async def on_deep_link(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    replies: Replies,
    state: FSMContext,
    customer: Customer | None,
    now: datetime,
) -> None:
    await state.clear()
    parsed = parse_payload(command.args or "")
    if parsed is not None:
        kind, slug, sku = parsed.kind, parsed.slug, parsed.sku
        if kind == "market":
            market = await session.scalar(select(Market).where(Market.slug == slug))
            if market is not None:
                text, markup = await render_market(session, market)
                replies.send(text, markup)
                return
        else:
            shop = await session.scalar(select(Shop).where(Shop.slug == slug))
            if shop is not None and kind == "shop":
                await remember_shop(state, shop.id)
                text, markup = await render_shop(session, shop, now=now)
                replies.send(text, markup)
                return
            if shop is not None:
                product = await session.scalar(
                    select(Product).where(
                        Product.shop_id == shop.id, Product.sku == sku, Product.is_hidden.is_(False)
                    )
                )
                if product is not None:
                    await remember_shop(state, shop.id, product.id)
                    text, markup = await render_product(session, product, customer, now=now)
                    show_product(replies, product, text, markup)
                    return
    text, markup = await render_home(session)
    replies.send(_("That link doesn't lead anywhere any more. Here is what's on sale:"))
    replies.send(text, markup)


@router.message(CommandStart())
async def on_start(
    message: Message, session: AsyncSession, replies: Replies, state: FSMContext
) -> None:
    await state.clear()
    text, markup = await render_home(session)
    replies.send(text, markup)


@router.message(Command("help"))
async def on_help(message: Message, replies: Replies, state: FSMContext) -> None:
    shop_id = (await state.get_data()).get("shop_id")
    replies.send(
        _(
            "How to order:\n1. Open a shop and tap a product.\n2. Tap how many.\n"
            "3. Check and tap “Confirm order”.\nOr type “3번 2개” (item 3, two of them).\n"
            "/orders my orders · /info seller · /privacy · /language"
        ),
        main_menu(int(shop_id) if shop_id else None),
    )
