"""Live shows for customers: upcoming shows, one show, "remind me", "turn off", /stop, the
`show_<id>` deep link, and a featured product's order buttons.

Opening a show makes typed orders ("1번 2개") refer to the show's own product list.
"""

from __future__ import annotations

from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import ShowAction, ShowCb
from bot.deep_links import parse_payload
from bot.deps import BotDeps
from bot.formatting import show_when
from bot.keyboards import home_button
from bot.notifications import RenderEnv
from bot.replies import Replies, pressed_message
from bot.routers.shop import render_product, show_product
from bot.show_notifications import featured_lines, order_buttons, stream_button
from catalog.errors import NotFound
from catalog.models import Customer, Product, Show, SubscriptionTarget
from catalog.shows import (
    featured_for_sale,
    get_show,
    market_of_show_name,
    show_market_id,
    upcoming_shows,
)
from catalog.subscriptions import covering_subscription, subscribe, unsubscribe_everything

router = Router(name=__name__)


async def remember_show(state: FSMContext, show: Show, product_id: int | None = None) -> None:
    """Typed orders now refer to the show's numbered list (until another shop is opened)."""
    await state.update_data(show_id=show.id, shop_id=show.shop_id, product_id=product_id)


def _env(deps: BotDeps) -> RenderEnv:
    return RenderEnv(public_base_url=deps.public_base_url, clock=deps.clock)


async def render_upcoming(
    session: AsyncSession, now: datetime, locale: str
) -> tuple[str, InlineKeyboardMarkup]:
    """ "Upcoming shows": one button per show, with its time in plain words."""
    shows = await upcoming_shows(session, now=now)
    kb = InlineKeyboardBuilder()
    for show in shows:
        when = show_when(show.starts_at, show.ends_at, show.timezone, now, locale)
        kb.row(
            InlineKeyboardButton(
                text=f"📺 {show.title} · {when}",
                callback_data=ShowCb(action=ShowAction.VIEW, show=show.id).pack(),
            )
        )
    kb.row(home_button())
    if not shows:
        return _("No live shows are planned right now. Please look again soon."), kb.as_markup()
    return _("📺 Upcoming live shows. Tap one to see it."), kb.as_markup()


async def render_show(
    session: AsyncSession,
    show: Show,
    customer: Customer | None,
    deps: BotDeps,
    now: datetime,
    locale: str,
) -> tuple[str, InlineKeyboardMarkup]:
    """The show: when, what is featured, and "remind me" / "turn off", stream, order buttons."""
    organiser = await market_of_show_name(session, show)
    when = show_when(show.starts_at, show.ends_at, show.timezone, now, locale)
    lines = [f"📺 {show.title}", f"🕖 {when} · {organiser}"]
    if show.description:
        lines.append(show.description[:500])
    lines.extend(featured_lines(show))
    if featured_for_sale(show):
        lines.append(_("Tap a product to order, or type its number, like “1번 2개”."))
    kb = InlineKeyboardBuilder()
    stream = await stream_button(
        session,
        show,
        _env(deps),
        customer_id=customer.id if customer else None,
        source="bot",
        now=now,
    )
    if stream is not None:
        kb.row(stream)
    for button in order_buttons(show):
        kb.row(button)
    subscribed = (
        customer is not None and await covering_subscription(session, customer, show) is not None
    )
    if subscribed:
        lines.append(_("🔔 You'll get a reminder before it starts."))
        kb.row(
            InlineKeyboardButton(
                text=_("🔕 Turn off reminders"),
                callback_data=ShowCb(action=ShowAction.OFF, show=show.id).pack(),
            )
        )
    elif show.ends_at > now:
        kb.row(
            InlineKeyboardButton(
                text=_("🔔 Remind me"),
                callback_data=ShowCb(action=ShowAction.SUBSCRIBE, show=show.id).pack(),
            )
        )
        kb.row(
            InlineKeyboardButton(
                text=_("🔔 Remind me of every show of {name}").format(name=organiser),
                callback_data=ShowCb(action=ShowAction.SUBSCRIBE_ALL, show=show.id).pack(),
            )
        )
    kb.row(
        InlineKeyboardButton(
            text=_("📺 Other shows"), callback_data=ShowCb(action=ShowAction.LIST).pack()
        )
    )
    kb.row(home_button())
    return "\n".join(lines), kb.as_markup()


def _send_show(replies: Replies, show: Show, text: str, markup: InlineKeyboardMarkup) -> None:
    if show.cover_url and len(text) <= 1024:
        replies.photo(show.cover_url, text, markup)
    else:
        replies.send(text, markup)


@router.message(CommandStart(deep_link=True, magic=F.args.startswith("show_")))
async def on_show_link(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    replies: Replies,
    state: FSMContext,
    customer: Customer | None,
    deps: BotDeps,
    now: datetime,
    customer_language: str | None,
) -> None:
    await state.clear()
    parsed = parse_payload(command.args or "")
    show = None
    if parsed is not None and parsed.slug.isdigit():
        try:
            show = await get_show(session, int(parsed.slug))
        except NotFound:
            show = None
    locale = customer_language or deps.default_locale
    if show is None:
        text, markup = await render_upcoming(session, now, locale)
        replies.send(_("That show is no longer listed. Here are the upcoming ones:"))
        replies.send(text, markup)
        return
    await remember_show(state, show)
    text, markup = await render_show(session, show, customer, deps, now, locale)
    _send_show(replies, show, text, markup)


@router.message(Command("shows"))
async def on_shows_command(
    message: Message,
    session: AsyncSession,
    replies: Replies,
    now: datetime,
    deps: BotDeps,
    customer_language: str | None,
) -> None:
    text, markup = await render_upcoming(session, now, customer_language or deps.default_locale)
    replies.send(text, markup)


@router.callback_query(ShowCb.filter(F.action == ShowAction.LIST))
async def on_list(
    callback: CallbackQuery,
    session: AsyncSession,
    replies: Replies,
    now: datetime,
    deps: BotDeps,
    customer_language: str | None,
) -> None:
    text, markup = await render_upcoming(session, now, customer_language or deps.default_locale)
    replies.edit(pressed_message(callback), text, markup)


@router.callback_query(ShowCb.filter(F.action == ShowAction.VIEW))
async def on_view(
    callback: CallbackQuery,
    callback_data: ShowCb,
    session: AsyncSession,
    replies: Replies,
    state: FSMContext,
    customer: Customer | None,
    deps: BotDeps,
    now: datetime,
    customer_language: str | None,
) -> None:
    show = await get_show(session, callback_data.show)
    await remember_show(state, show)
    text, markup = await render_show(
        session, show, customer, deps, now, customer_language or deps.default_locale
    )
    _send_show(replies, show, text, markup)


@router.callback_query(
    ShowCb.filter(F.action.in_({ShowAction.SUBSCRIBE, ShowAction.SUBSCRIBE_ALL}))
)
async def on_subscribe(
    callback: CallbackQuery,
    callback_data: ShowCb,
    session: AsyncSession,
    replies: Replies,
    customer: Customer,
    deps: BotDeps,
    now: datetime,
    customer_language: str | None,
) -> None:
    """An explicit opt-in: recorded with its time, to the show or to all its organiser's."""
    show = await get_show(session, callback_data.show)
    if callback_data.action is ShowAction.SUBSCRIBE:
        await subscribe(session, customer, SubscriptionTarget.SHOW, show.id, now=now)
    elif show.shop_id is not None:
        await subscribe(session, customer, SubscriptionTarget.SHOP, show.shop_id, now=now)
    else:
        market_id = await show_market_id(session, show)
        assert market_id is not None
        await subscribe(session, customer, SubscriptionTarget.MARKET, market_id, now=now)
    replies.toast(_("🔔 We'll remind you."))
    text, markup = await render_show(
        session, show, customer, deps, now, customer_language or deps.default_locale
    )
    replies.edit(pressed_message(callback), text, markup)
    replies.send(
        _(
            "🔔 Reminders are on. We'll message you before the show, with a link to watch "
            "and buttons to order. Tap “Turn off reminders” on any of them, or send /stop, "
            "to stop them all."
        )
    )


async def _turn_off(
    session: AsyncSession, customer: Customer, replies: Replies, now: datetime
) -> None:
    await unsubscribe_everything(session, customer, now=now)
    kb = InlineKeyboardBuilder()
    kb.button(text=_("📺 Upcoming shows"), callback_data=ShowCb(action=ShowAction.LIST))
    kb.adjust(1)
    replies.send(
        _("🔕 Done: no more reminders or news from us. Orders still get their messages."),
        kb.as_markup(),
    )


@router.callback_query(ShowCb.filter(F.action == ShowAction.OFF))
async def on_off(
    callback: CallbackQuery,
    session: AsyncSession,
    replies: Replies,
    customer: Customer,
    now: datetime,
) -> None:
    """One tap on any reminder or broadcast ends every subscription and the consent."""
    replies.toast(_("🔕 Reminders are off."))
    await _turn_off(session, customer, replies, now)


@router.message(Command("stop"))
async def on_stop(
    message: Message,
    session: AsyncSession,
    replies: Replies,
    customer: Customer,
    now: datetime,
) -> None:
    await _turn_off(session, customer, replies, now)


@router.callback_query(ShowCb.filter(F.action == ShowAction.ITEM))
async def on_item(
    callback: CallbackQuery,
    callback_data: ShowCb,
    session: AsyncSession,
    replies: Replies,
    state: FSMContext,
    customer: Customer | None,
    now: datetime,
) -> None:
    """A featured product from a reminder or the show card: its order buttons; typed
    quantities ("2개") now mean this product, numbers the show's list."""
    show = await get_show(session, callback_data.show)
    product = await session.get(Product, callback_data.item)
    if product is None or product.is_hidden:
        raise NotFound("product", callback_data.item)
    await remember_show(state, show, product.id)
    text, markup = await render_product(session, product, customer, now=now)
    show_product(replies, product, text, markup)
