"""/campaign: for campaign staff only. Their market's shows with delivery stats, the
sold-out-update switch, the replay link and the after-the-show replay switch, and
broadcasts: segment, language, message, preview, then send now or at a set time."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import CampaignAction, CampaignCb
from bot.deps import BotDeps
from bot.formatting import show_when
from bot.notifications import RenderEnv
from bot.replies import Replies, pressed_message
from bot.show_notifications import broadcast_message
from catalog.broadcasts import (
    BroadcastDraft,
    broadcast_audience,
    broadcast_market_id,
    cancel_broadcast,
    confirm_broadcast,
    create_broadcast,
    get_broadcast,
    list_broadcasts,
)
from catalog.campaign_staff import staff_markets
from catalog.delivery_stats import DeliveryStats, broadcast_stats, show_stats
from catalog.errors import InvalidInput, NotFound
from catalog.models import Broadcast, BroadcastSegment, BroadcastStatus, Market, Show
from catalog.shows import MAX_URL, as_utc, get_show, list_shows, show_market_id, upsert_show

router = Router(name=__name__)

WHEN_RE = re.compile(r"^\s*(?:(\d{4})-(\d{1,2})-(\d{1,2})\s+)?(\d{1,2}):(\d{2})\s*$")


class BroadcastStates(StatesGroup):
    text = State()
    when = State()


class ReplayStates(StatesGroup):
    link = State()


class NotStaff(NotFound):
    """The user is not on this market's campaign staff (told as "not available")."""


async def _markets(
    session: AsyncSession, callback_or_message: CallbackQuery | Message
) -> list[Market]:
    user = callback_or_message.from_user
    return await staff_markets(session, user.id) if user is not None else []


async def _check_market(
    session: AsyncSession, event: CallbackQuery | Message, market_id: int | None
) -> Market:
    for market in await _markets(session, event):
        if market.id == market_id:
            return market
    raise NotStaff("campaign market", market_id)


async def _check_show(session: AsyncSession, event: CallbackQuery | Message, show_id: int) -> Show:
    show = await get_show(session, show_id)
    await _check_market(session, event, await show_market_id(session, show))
    return show


async def _check_broadcast(
    session: AsyncSession, event: CallbackQuery | Message, broadcast_id: int
) -> Broadcast:
    broadcast = await get_broadcast(session, broadcast_id)
    await _check_market(session, event, await broadcast_market_id(session, broadcast))
    return broadcast


def stats_text(stats: DeliveryStats) -> str:
    """Reached, failed by reason, blocked, stream taps, attributed orders and revenue."""
    failed = ", ".join(f"{reason} {count}" for reason, count in sorted(stats.failed.items()))
    lines = [
        _("Messages: {recipients} · sent {sent} · waiting {pending}").format(
            recipients=stats.recipients, sent=stats.sent, pending=stats.pending
        ),
        _("Not delivered: {failed}").format(failed=failed or "0"),
        _("Blocked the bot: {blocked}").format(blocked=stats.blocked),
        _("Stream taps: {clicks} by {people} people").format(
            clicks=stats.stream_clicks, people=stats.stream_clickers
        ),
        _("Orders within 24 h: {orders} · {revenue} {currency}").format(
            orders=stats.orders, revenue=f"{stats.revenue:,}", currency=stats.currency
        ),
    ]
    return "\n".join(lines)


async def render_menu(
    session: AsyncSession, markets: list[Market], now: datetime, locale: str
) -> tuple[str, InlineKeyboardMarkup]:
    kb = InlineKeyboardBuilder()
    for market in markets:
        shows = await list_shows(session, market=market.slug, ending_after=now - timedelta(days=7))
        for show in shows[:10]:
            when = show_when(show.starts_at, show.ends_at, show.timezone, now, locale)
            kb.row(
                InlineKeyboardButton(
                    text=f"📺 {show.title} · {when}",
                    callback_data=CampaignCb(action=CampaignAction.SHOW, show=show.id).pack(),
                )
            )
        kb.row(
            InlineKeyboardButton(
                text=_("📢 Message to {market}'s subscribers").format(market=market.name),
                callback_data=CampaignCb(action=CampaignAction.NEW, market=market.id).pack(),
            )
        )
    return _("📋 Campaign: your shows. Tap one for its numbers and messages."), kb.as_markup()


@router.message(Command("campaign"))
async def on_campaign(
    message: Message,
    session: AsyncSession,
    replies: Replies,
    state: FSMContext,
    now: datetime,
    deps: BotDeps,
    customer_language: str | None,
) -> None:
    markets = await _markets(session, message)
    if not markets:
        replies.send(_("This menu is for campaign teams. Ask your campaign to add you."))
        return
    await state.set_state(None)
    text, markup = await render_menu(
        session, markets, now, customer_language or deps.default_locale
    )
    replies.send(text, markup)


@router.callback_query(CampaignCb.filter(F.action == CampaignAction.MENU))
async def on_menu(
    callback: CallbackQuery,
    session: AsyncSession,
    replies: Replies,
    now: datetime,
    deps: BotDeps,
    customer_language: str | None,
) -> None:
    markets = await _markets(session, callback)
    if not markets:
        raise NotStaff("campaign", 0)
    text, markup = await render_menu(
        session, markets, now, customer_language or deps.default_locale
    )
    replies.edit(pressed_message(callback), text, markup)


async def render_show_panel(
    session: AsyncSession, show: Show, now: datetime, locale: str
) -> tuple[str, InlineKeyboardMarkup]:
    stats = await show_stats(session, show)
    when = show_when(show.starts_at, show.ends_at, show.timezone, now, locale)
    lines = [f"📺 {show.title} · {when}", stats_text(stats)]
    kb = InlineKeyboardBuilder()
    kb.row(
        InlineKeyboardButton(
            text=_("📢 Message to this show's subscribers"),
            callback_data=CampaignCb(action=CampaignAction.NEW, show=show.id).pack(),
        )
    )
    kb.row(
        InlineKeyboardButton(
            text=_("🔥 Sold-out updates: on")
            if show.sold_out_updates
            else _("🔥 Sold-out updates: off"),
            callback_data=CampaignCb(action=CampaignAction.SOLD_OUT_UPDATES, show=show.id).pack(),
        )
    )
    if show.replay_url:
        lines.append(_("Replay: {url}").format(url=show.replay_url))
    if show.replay_enqueued_at is not None:
        lines.append(_("The replay message went to the subscribers."))
    kb.row(
        InlineKeyboardButton(
            text=_("🔗 Replay link"),
            callback_data=CampaignCb(action=CampaignAction.REPLAY_LINK, show=show.id).pack(),
        ),
        InlineKeyboardButton(
            text=_("📺 Replay message: on") if show.send_replay else _("📺 Replay message: off"),
            callback_data=CampaignCb(action=CampaignAction.REPLAY, show=show.id).pack(),
        ),
    )
    for broadcast in (await list_broadcasts(session, show_id=show.id))[:5]:
        kb.row(
            InlineKeyboardButton(
                text=_("📊 Message {id} · {status}").format(
                    id=broadcast.id, status=broadcast.status.value
                ),
                callback_data=CampaignCb(
                    action=CampaignAction.STATS, broadcast=broadcast.id
                ).pack(),
            )
        )
    kb.row(
        InlineKeyboardButton(
            text=_("◀ Back"), callback_data=CampaignCb(action=CampaignAction.MENU).pack()
        )
    )
    return "\n".join(lines), kb.as_markup()


async def _redraw_show_panel(
    callback: CallbackQuery,
    session: AsyncSession,
    show: Show,
    replies: Replies,
    now: datetime,
    locale: str,
) -> None:
    """The show's panel again, on the message whose button was pressed."""
    text, markup = await render_show_panel(session, show, now, locale)
    replies.edit(pressed_message(callback), text, markup)


@router.callback_query(CampaignCb.filter(F.action == CampaignAction.SHOW))
async def on_show(
    callback: CallbackQuery,
    callback_data: CampaignCb,
    session: AsyncSession,
    replies: Replies,
    now: datetime,
    deps: BotDeps,
    customer_language: str | None,
) -> None:
    show = await _check_show(session, callback, callback_data.show)
    await _redraw_show_panel(
        callback, session, show, replies, now, customer_language or deps.default_locale
    )


@router.callback_query(CampaignCb.filter(F.action == CampaignAction.SOLD_OUT_UPDATES))
async def on_sold_out_switch(
    callback: CallbackQuery,
    callback_data: CampaignCb,
    session: AsyncSession,
    replies: Replies,
    now: datetime,
    deps: BotDeps,
    customer_language: str | None,
) -> None:
    show = await _check_show(session, callback, callback_data.show)
    show.sold_out_updates = not show.sold_out_updates
    show.updated_at = now
    await _redraw_show_panel(
        callback, session, show, replies, now, customer_language or deps.default_locale
    )


@router.callback_query(CampaignCb.filter(F.action == CampaignAction.REPLAY))
async def on_replay_switch(
    callback: CallbackQuery,
    callback_data: CampaignCb,
    session: AsyncSession,
    replies: Replies,
    now: datetime,
    deps: BotDeps,
    customer_language: str | None,
) -> None:
    """After the show, its subscribers get one message with the replay (needs the link)."""
    show = await _check_show(session, callback, callback_data.show)
    show.send_replay = not show.send_replay
    show.updated_at = now
    if show.send_replay and not show.replay_url:
        replies.toast(_("Add the replay link too, or nothing can be sent."), alert=True)
    await _redraw_show_panel(
        callback, session, show, replies, now, customer_language or deps.default_locale
    )


@router.callback_query(CampaignCb.filter(F.action == CampaignAction.REPLAY_LINK))
async def on_replay_link(
    callback: CallbackQuery,
    callback_data: CampaignCb,
    session: AsyncSession,
    replies: Replies,
    state: FSMContext,
) -> None:
    show = await _check_show(session, callback, callback_data.show)
    await state.set_state(ReplayStates.link)
    await state.update_data(replay_show=show.id)
    replies.send(_("Send the replay link (https://…), or “-” to remove it."))


@router.message(StateFilter(ReplayStates.link), F.text)
async def on_replay_link_text(
    message: Message,
    session: AsyncSession,
    replies: Replies,
    state: FSMContext,
    now: datetime,
    deps: BotDeps,
    customer_language: str | None,
) -> None:
    show = await _check_show(session, message, int((await state.get_data())["replay_show"]))
    link = (message.text or "").strip()
    try:
        show, _created = await upsert_show(
            session,
            show.id,
            now=now,
            fields={"replay_url": "" if link == "-" else link},
            default_timezone=show.timezone,
        )
    except InvalidInput:
        if len(link) > MAX_URL:
            replies.send(
                _(
                    "That link is too long: at most {n} characters. Please send a shorter one."
                ).format(n=MAX_URL)
            )
        else:
            replies.send(
                _("That is not a web link. Send one that starts with https://, without spaces.")
            )
        return
    await state.set_state(None)
    text, markup = await render_show_panel(
        session, show, now, customer_language or deps.default_locale
    )
    replies.send(text, markup)


def _choices(action: CampaignAction, options: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for label, value in options:
        kb.button(text=label, callback_data=CampaignCb(action=action, value=value))
    kb.button(text=_("✖ Cancel"), callback_data=CampaignCb(action=CampaignAction.MENU))
    kb.adjust(1)
    return kb.as_markup()


@router.callback_query(CampaignCb.filter(F.action == CampaignAction.NEW))
async def on_new(
    callback: CallbackQuery,
    callback_data: CampaignCb,
    session: AsyncSession,
    replies: Replies,
    state: FSMContext,
) -> None:
    if callback_data.show:
        await _check_show(session, callback, callback_data.show)
    else:
        await _check_market(session, callback, callback_data.market)
    await state.set_state(None)
    await state.update_data(
        campaign={"show": callback_data.show or None, "market": callback_data.market or None}
    )
    replies.send(
        _("📢 Who should get it?"),
        _choices(
            CampaignAction.SEGMENT,
            [
                (_("Everyone who turned on reminders"), BroadcastSegment.SUBSCRIBERS.value),
                (_("Customers who ordered before"), BroadcastSegment.ORDERED_BEFORE.value),
            ],
        ),
    )


@router.callback_query(CampaignCb.filter(F.action == CampaignAction.SEGMENT))
async def on_segment(
    callback: CallbackQuery, callback_data: CampaignCb, replies: Replies, state: FSMContext
) -> None:
    draft = dict((await state.get_data()).get("campaign") or {})
    draft["segment"] = BroadcastSegment(callback_data.value).value
    await state.update_data(campaign=draft)
    replies.send(
        _("Which language do they read?"),
        _choices(
            CampaignAction.LANGUAGE,
            [(_("Everyone"), ""), ("한국어", "ko"), ("English", "en")],
        ),
    )


@router.callback_query(CampaignCb.filter(F.action == CampaignAction.LANGUAGE))
async def on_language(
    callback: CallbackQuery, callback_data: CampaignCb, replies: Replies, state: FSMContext
) -> None:
    draft = dict((await state.get_data()).get("campaign") or {})
    draft["language"] = callback_data.value or None
    await state.update_data(campaign=draft)
    await state.set_state(BroadcastStates.text)
    replies.send(
        _("Now type the message. You can also send a photo with the message as its caption.")
    )


@router.message(StateFilter(BroadcastStates.text), F.text | F.photo)
async def on_text(
    message: Message,
    session: AsyncSession,
    replies: Replies,
    state: FSMContext,
    now: datetime,
    deps: BotDeps,
) -> None:
    draft = dict((await state.get_data()).get("campaign") or {})
    show_id, market_id = draft.get("show"), draft.get("market")
    if show_id:
        await _check_show(session, message, int(show_id))
    else:
        await _check_market(session, message, market_id)
    photo = message.photo[-1].file_id if message.photo else ""
    text = (message.caption if message.photo else message.text) or ""
    user_id = message.from_user.id if message.from_user else 0
    try:
        broadcast = await create_broadcast(
            session,
            BroadcastDraft(
                segment=BroadcastSegment(draft.get("segment", BroadcastSegment.SUBSCRIBERS.value)),
                text=text,
                market_id=None if show_id else market_id,
                show_id=show_id,
                language=draft.get("language"),
                photo=photo,
            ),
            created_by=f"telegram:{user_id}",
            now=now,
        )
    except InvalidInput:
        replies.send(
            _("That message can't be sent: it is empty or too long. Please type it again.")
        )
        return
    await state.set_state(None)
    count = len(await broadcast_audience(session, broadcast))
    preview = await broadcast_message(
        session,
        broadcast,
        RenderEnv(public_base_url=deps.public_base_url, clock=deps.clock),
        customer_id=None,
        now=now,
    )
    replies.send(_("👀 Preview: this is what they will see."))
    if preview.photo is not None and isinstance(preview.photo, str):
        replies.photo(preview.photo, preview.text, preview.markup)
    else:
        replies.send(preview.text, preview.markup)
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("✅ Send now to {count} people").format(count=count),
        callback_data=CampaignCb(action=CampaignAction.SEND_NOW, broadcast=broadcast.id),
    )
    kb.button(
        text=_("🕒 Send later"),
        callback_data=CampaignCb(action=CampaignAction.SCHEDULE, broadcast=broadcast.id),
    )
    kb.button(
        text=_("✖ Don't send"),
        callback_data=CampaignCb(action=CampaignAction.CANCEL, broadcast=broadcast.id),
    )
    kb.adjust(1)
    replies.send(
        _("It will go to {count} people. Send it?").format(count=count),
        kb.as_markup(),
    )


def _stats_button(broadcast_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("📊 See how it went"),
        callback_data=CampaignCb(action=CampaignAction.STATS, broadcast=broadcast_id),
    )
    kb.button(text=_("📋 Campaign menu"), callback_data=CampaignCb(action=CampaignAction.MENU))
    kb.adjust(1)
    return kb.as_markup()


@router.callback_query(CampaignCb.filter(F.action == CampaignAction.SEND_NOW))
async def on_send_now(
    callback: CallbackQuery,
    callback_data: CampaignCb,
    session: AsyncSession,
    replies: Replies,
    now: datetime,
) -> None:
    broadcast = await _check_broadcast(session, callback, callback_data.broadcast)
    if broadcast.status is not BroadcastStatus.DRAFT:
        replies.toast(_("Already done."))
        return
    sent = await confirm_broadcast(session, broadcast, now=now)
    replies.edit(
        pressed_message(callback),
        _("📨 Sending to {count} people now.").format(count=sent.recipients),
        _stats_button(sent.id),
    )


@router.callback_query(CampaignCb.filter(F.action == CampaignAction.SCHEDULE))
async def on_schedule(
    callback: CallbackQuery,
    callback_data: CampaignCb,
    session: AsyncSession,
    replies: Replies,
    state: FSMContext,
    deps: BotDeps,
) -> None:
    broadcast = await _check_broadcast(session, callback, callback_data.broadcast)
    await state.update_data(scheduling=broadcast.id)
    await state.set_state(BroadcastStates.when)
    replies.send(_("When? Type the time like 19:00, or the date and time like 2026-11-26 19:00."))


def parse_send_time(text: str, now: datetime, timezone: str) -> datetime | None:
    """ "19:00" (today, or tomorrow once passed) or "2026-11-26 19:00", in `timezone`."""
    match = WHEN_RE.match(text)
    if match is None:
        return None
    year, month, day, hour, minute = match.groups()
    zone = ZoneInfo(timezone)
    local_now = now.astimezone(zone)
    try:
        if year:
            moment = datetime(int(year), int(month), int(day), int(hour), int(minute), tzinfo=zone)
        else:
            moment = local_now.replace(hour=int(hour), minute=int(minute), second=0, microsecond=0)
            if moment <= local_now:
                moment += timedelta(days=1)
        return as_utc(moment, timezone, "send_at")  # a year outside 2000-2100 is refused
    except (ValueError, OverflowError, InvalidInput):
        return None


@router.message(StateFilter(BroadcastStates.when), F.text)
async def on_when(
    message: Message,
    session: AsyncSession,
    replies: Replies,
    state: FSMContext,
    now: datetime,
    deps: BotDeps,
) -> None:
    broadcast_id = (await state.get_data()).get("scheduling")
    broadcast = await _check_broadcast(session, message, int(broadcast_id or 0))
    timezone = "Asia/Seoul"
    if broadcast.show_id is not None:
        timezone = (await get_show(session, broadcast.show_id)).timezone
    send_at = parse_send_time(message.text or "", now, timezone)
    if send_at is None or send_at <= now:
        replies.send(_("Please type a time to come, like 19:00 or 2026-11-26 19:00."))
        return
    await state.set_state(None)
    if broadcast.status is not BroadcastStatus.DRAFT:
        replies.send(_("Already done."))
        return
    await confirm_broadcast(session, broadcast, now=now, send_at=send_at)
    replies.send(
        _("🕒 It will go out {when}.").format(
            when=show_when(
                send_at, send_at + timedelta(seconds=1), timezone, now, deps.default_locale
            )
        ),
        _stats_button(broadcast.id),
    )


@router.callback_query(CampaignCb.filter(F.action == CampaignAction.CANCEL))
async def on_cancel(
    callback: CallbackQuery,
    callback_data: CampaignCb,
    session: AsyncSession,
    replies: Replies,
    state: FSMContext,
    now: datetime,
) -> None:
    broadcast = await _check_broadcast(session, callback, callback_data.broadcast)
    await state.set_state(None)
    if broadcast.status in (BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED):
        await cancel_broadcast(session, broadcast, now=now)
    replies.edit(pressed_message(callback), _("✖ Not sent."), None)


@router.callback_query(CampaignCb.filter(F.action == CampaignAction.STATS))
async def on_stats(
    callback: CallbackQuery,
    callback_data: CampaignCb,
    session: AsyncSession,
    replies: Replies,
) -> None:
    broadcast = await _check_broadcast(session, callback, callback_data.broadcast)
    stats = await broadcast_stats(session, broadcast)
    head = _("📊 Message {id} ({status})").format(id=broadcast.id, status=broadcast.status.value)
    replies.send(f"{head}\n{stats_text(stats)}", _stats_button(broadcast.id))
