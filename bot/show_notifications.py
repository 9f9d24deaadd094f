"""Reminders, sold-out updates and broadcasts as Telegram messages.

Each one is marketing: it is sent only while the reader's opt-in holds (checked again when
the row's turn comes) and always carries a one-tap "turn off" button.
"""

from __future__ import annotations

from datetime import datetime

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import ShowAction, ShowCb
from bot.formatting import money, show_when
from bot.notifications import CAPTION_LIMIT, Outgoing, RenderEnv, Renderer, Skip
from catalog.broadcasts import get_broadcast
from catalog.errors import NotFound
from catalog.models import Broadcast, Customer, OutboxMessage, Product, Show
from catalog.shows import featured_for_sale, get_show
from catalog.stream_links import stream_link_token, stream_link_tokens
from catalog.subscriptions import marketing_allowed, may_market_to

MAX_ORDER_BUTTONS = 6


def off_button() -> InlineKeyboardButton:
    """On every reminder and broadcast: one tap ends them all."""
    return InlineKeyboardButton(
        text=_("🔕 Turn off reminders"), callback_data=ShowCb(action=ShowAction.OFF).pack()
    )


async def stream_button(
    session: AsyncSession,
    show: Show,
    env: RenderEnv,
    *,
    customer_id: int | None,
    source: str,
    now: datetime,
) -> InlineKeyboardButton | None:
    """ "Watch the stream": through livecart's counting redirect when it has a public address,
    else straight to the stream."""
    if not show.stream_url:
        return None
    url = show.stream_url
    if env.public_base_url:
        token = session.info.get(_TOKENS, {}).get((show.id, source, customer_id))
        if token is None:
            token = await stream_link_token(
                session, show_id=show.id, customer_id=customer_id, source=source, now=now
            )
        url = f"{env.public_base_url.rstrip('/')}/s/{token}"
    return InlineKeyboardButton(text=_("▶️ Watch the stream"), url=url)


def featured_lines(show: Show) -> list[str]:
    """ "1. 배 · ₩15,000" for each featured product, in the show's order.

    A live price is the one charged while the show is on air (catalog.pricing), so it is shown
    with the usual price beside it: "1. 배 · ₩12,000 (live price, usually ₩15,000)".
    """
    lines = []
    for number, item in enumerate(featured_for_sale(show), start=1):
        product = item.product
        price = money(product.price, product.shop)
        if item.live_price is not None and item.live_price != product.price:
            price = _("{price} (live price, usually {usual})").format(
                price=money(item.live_price, product.shop), usual=price
            )
        sold_out = _(" (sold out)") if product.available <= 0 else ""
        lines.append(f"{number}. {product.name} · {price}{sold_out}")
    return lines


def order_buttons(show: Show) -> list[InlineKeyboardButton]:
    buttons = []
    for number, item in enumerate(featured_for_sale(show)[:MAX_ORDER_BUTTONS], start=1):
        if item.product.available > 0:
            buttons.append(
                InlineKeyboardButton(
                    text=_("🛒 {number}. {name}").format(number=number, name=item.product.name),
                    callback_data=ShowCb(
                        action=ShowAction.ITEM, show=show.id, item=item.product_id
                    ).pack(),
                )
            )
    return buttons


# caches a fan-out batch fills once (see prefetch_marketing), kept in the render session
_ALLOWED = "marketing_allowed_chats"
_SHOWS = "shows"
_TOKENS = "stream_tokens"


async def _recipient(session: AsyncSession, row: OutboxMessage) -> int:
    """The customer id, if the chat's opt-in still holds (consent may have ended since)."""
    allowed: dict[int, int] | None = session.info.get(_ALLOWED)
    if allowed is not None:
        customer_id = allowed.get(row.chat_id)
    else:
        customer_id = (
            await session.scalar(select(Customer.id).where(Customer.chat_id == row.chat_id))
            if await may_market_to(session, row.chat_id)
            else None
        )
    if customer_id is None:
        raise Skip("unsubscribed: no live opt-in when its turn came")
    return customer_id


async def _show(session: AsyncSession, show_id: int) -> Show:
    cached: dict[int, Show] = session.info.setdefault(_SHOWS, {})
    if show_id in cached:
        return cached[show_id]
    try:
        show = await get_show(session, show_id)
    except NotFound:
        raise Skip("show deleted") from None
    cached[show_id] = show
    return show


async def _broadcast(session: AsyncSession, broadcast_id: int) -> Broadcast:
    cached: dict[int, Broadcast] = session.info.setdefault("broadcasts", {})
    if broadcast_id not in cached:
        try:
            cached[broadcast_id] = await get_broadcast(session, broadcast_id)
        except NotFound:
            raise Skip("broadcast deleted") from None
    return cached[broadcast_id]


async def prefetch_marketing(
    session: AsyncSession, rows: list[OutboxMessage], now: datetime
) -> None:
    """Before a batch of reminders and broadcasts is rendered: who may still get marketing,
    the shows, and the stream-link tokens, each in one query instead of one per row."""
    rows = [row for row in rows if row.kind in SHOW_RENDERERS]
    if not rows:
        return
    chats = list({row.chat_id for row in rows})
    allowed = {
        int(chat): int(cid)
        for chat, cid in (
            await session.execute(
                select(Customer.chat_id, Customer.id).where(
                    Customer.chat_id.in_(chats), marketing_allowed()
                )
            )
        ).all()
    }
    session.info[_ALLOWED] = allowed
    wanted: dict[tuple[int, str], list[int]] = {}
    for row in rows:
        customer_id = allowed.get(row.chat_id)
        if customer_id is None:
            continue
        if "show_id" in row.payload:
            show_id, source = int(row.payload["show_id"]), row.ref
        else:
            try:
                broadcast = await _broadcast(session, int(row.payload["broadcast_id"]))
            except Skip:
                continue
            if broadcast.show_id is None:
                continue
            show_id, source = broadcast.show_id, f"broadcast:{broadcast.id}"
        wanted.setdefault((show_id, source), []).append(customer_id)
    tokens: dict[tuple[int, str, int | None], str] = {}
    for (show_id, source), customer_ids in wanted.items():
        try:
            show = await _show(session, show_id)
        except Skip:
            continue
        if not show.stream_url:
            continue
        found = await stream_link_tokens(
            session, show_id=show_id, source=source, customer_ids=customer_ids, now=now
        )
        tokens.update({(show_id, source, cid): token for cid, token in found.items()})
    session.info[_TOKENS] = tokens


def _with_cover(show: Show, text: str, markup: InlineKeyboardMarkup) -> Outgoing:
    if show.cover_url and len(text) <= CAPTION_LIMIT:
        return Outgoing(text, markup, photo=show.cover_url)
    return Outgoing(text, markup)


async def render_show_reminder(
    session: AsyncSession, row: OutboxMessage, locale: str, env: RenderEnv
) -> Outgoing | None:
    """ "Starts tomorrow 7 PM" or "live now", the featured products with their order buttons,
    the stream button and "turn off"."""
    customer_id = await _recipient(session, row)
    show = await _show(session, int(row.payload["show_id"]))
    now = env.now()
    if show.ends_at <= now:
        raise Skip("show ended before the reminder could go")
    offset = int(row.payload.get("offset", 0))
    # the same for every recipient of this reminder in this language: built once a batch
    shared: dict[tuple[int, int, str], tuple[str, list[InlineKeyboardButton]]]
    shared = session.info.setdefault("reminder_texts", {})
    key = (show.id, offset, locale)
    if key not in shared:
        if offset == 0:
            head = _("🔴 Live now: {title}").format(title=show.title)
        else:
            when = show_when(show.starts_at, show.ends_at, show.timezone, now, locale)
            head = _("⏰ {title} starts {when}.").format(title=show.title, when=when)
        lines = [head, *featured_lines(show)]
        if featured_for_sale(show):
            lines.append(_("Tap a product to order, or type its number, like “1번 2개”."))
        shared[key] = ("\n".join(lines), [*order_buttons(show), off_button()])
    text, buttons = shared[key]
    rows: list[list[InlineKeyboardButton]] = []
    stream = await stream_button(
        session, show, env, customer_id=customer_id, source=row.ref, now=now
    )
    if stream is not None:
        rows.append([stream])
    rows.extend([button] for button in buttons)
    return _with_cover(show, text, InlineKeyboardMarkup(inline_keyboard=rows))


async def render_show_sold_out(
    session: AsyncSession, row: OutboxMessage, locale: str, env: RenderEnv
) -> Outgoing | None:
    """A short "sold out" note from a live show, with what is still on sale."""
    customer_id = await _recipient(session, row)
    show = await _show(session, int(row.payload["show_id"]))
    product = await session.get(Product, int(row.payload["product_id"]))
    if product is None:
        raise Skip("product deleted")
    now = env.now()
    lines = [
        _("🔥 {name} is sold out in {title}!").format(name=product.name, title=show.title),
        *featured_lines(show),
    ]
    kb = InlineKeyboardBuilder()
    stream = await stream_button(
        session, show, env, customer_id=customer_id, source=row.ref, now=now
    )
    if stream is not None:
        kb.row(stream)
    for button in order_buttons(show):
        kb.row(button)
    kb.row(off_button())
    return Outgoing("\n".join(lines), kb.as_markup())


async def broadcast_message(
    session: AsyncSession,
    broadcast: Broadcast,
    env: RenderEnv,
    *,
    customer_id: int | None,
    now: datetime,
) -> Outgoing:
    """The broadcast as its recipients see it (also the campaign member's preview)."""
    kb = InlineKeyboardBuilder()
    if broadcast.button_text and broadcast.button_url:
        kb.row(InlineKeyboardButton(text=broadcast.button_text, url=broadcast.button_url))
    if broadcast.show_id is not None:
        try:
            show: Show | None = await _show(session, broadcast.show_id)
        except Skip:
            show = None
        if show is not None:
            stream = await stream_button(
                session,
                show,
                env,
                customer_id=customer_id,
                source=f"broadcast:{broadcast.id}",
                now=now,
            )
            if stream is not None:
                kb.row(stream)
            for button in order_buttons(show):
                kb.row(button)
    kb.row(off_button())
    if broadcast.photo:
        return Outgoing(broadcast.text[:CAPTION_LIMIT], kb.as_markup(), photo=broadcast.photo)
    return Outgoing(broadcast.text, kb.as_markup())


async def render_broadcast(
    session: AsyncSession, row: OutboxMessage, locale: str, env: RenderEnv
) -> Outgoing | None:
    customer_id = await _recipient(session, row)
    broadcast = await _broadcast(session, int(row.payload["broadcast_id"]))
    return await broadcast_message(session, broadcast, env, customer_id=customer_id, now=env.now())


SHOW_RENDERERS: dict[str, Renderer] = {
    "show_reminder": render_show_reminder,
    "show_sold_out": render_show_sold_out,
    "broadcast": render_broadcast,
}
