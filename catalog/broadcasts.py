"""Broadcasts: a campaign's one-off message to a segment of opted-in customers.

A broadcast is written as a draft, previewed, then confirmed to go now or at a set time. Its
outbox rows (one per recipient) are written in one transaction, when it is confirmed or when
its time comes; the scheduled ones are claimed by compare-and-set, so one instance sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.db import is_postgres
from catalog.errors import InvalidInput, InvalidTransition, NotFound
from catalog.models import (
    Broadcast,
    BroadcastSegment,
    BroadcastStatus,
    Customer,
    Order,
    OrderStatus,
    OutboxLane,
    Shop,
    Show,
)
from catalog.outbox import enqueue_many
from catalog.shows import get_show, show_market_id, show_shop_ids
from catalog.subscriptions import (
    audience,
    market_shop_ids,
    marketing_allowed,
    scope_targets,
    show_targets,
)

BROADCAST_KIND = "broadcast"
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
# orders that count as "ordered before": the customer placed it and did not just abandon it
ORDERED = (
    OrderStatus.PAID,
    OrderStatus.ACCEPTED,
    OrderStatus.READY,
    OrderStatus.SHIPPED,
    OrderStatus.COMPLETED,
)


def broadcast_ref(broadcast_id: int) -> str:
    return f"broadcast:{broadcast_id}"


@dataclass(frozen=True)
class BroadcastDraft:
    """What a campaign member asks for; exactly one of market, shop or show is the scope."""

    segment: BroadcastSegment
    text: str
    market_id: int | None = None
    shop_id: int | None = None
    show_id: int | None = None
    language: str | None = None
    photo: str = ""
    button_text: str = ""
    button_url: str = ""


async def create_broadcast(
    session: AsyncSession, draft: BroadcastDraft, *, created_by: str, now: datetime
) -> Broadcast:
    """A draft broadcast, checked against Telegram's limits; nothing is sent yet."""
    scopes = [x for x in (draft.market_id, draft.shop_id, draft.show_id) if x is not None]
    if len(scopes) != 1:
        raise InvalidInput("a broadcast goes to one market, shop or show", field="scope")
    text = draft.text.strip()
    limit = CAPTION_LIMIT if draft.photo else TEXT_LIMIT
    if not text or len(text) > limit:
        raise InvalidInput(f"the text must be 1 to {limit} characters", field="text")
    if bool(draft.button_text) != bool(draft.button_url):
        raise InvalidInput("a button needs both a label and a URL", field="button_url")
    if draft.button_url and not draft.button_url.startswith(("https://", "http://")):
        raise InvalidInput("the button URL must be http(s)", field="button_url")
    if draft.show_id is not None:
        await get_show(session, draft.show_id)
    broadcast = Broadcast(
        market_id=draft.market_id,
        shop_id=draft.shop_id,
        show_id=draft.show_id,
        segment=draft.segment,
        language=draft.language or None,
        text=text,
        photo=draft.photo,
        button_text=draft.button_text[:64],
        button_url=draft.button_url,
        status=BroadcastStatus.DRAFT,
        recipients=0,
        created_by=created_by[:64],
        created_at=now,
        updated_at=now,
    )
    session.add(broadcast)
    await session.flush()
    return broadcast


async def get_broadcast(session: AsyncSession, broadcast_id: int) -> Broadcast:
    """The broadcast, or NotFound."""
    broadcast = await session.get(Broadcast, broadcast_id, populate_existing=True)
    if broadcast is None:
        raise NotFound("broadcast", broadcast_id)
    return broadcast


async def broadcast_scope(
    session: AsyncSession, broadcast: Broadcast
) -> tuple[int | None, list[int]]:
    """(market id, shop ids) the broadcast speaks for."""
    if broadcast.show_id is not None:
        show = await get_show(session, broadcast.show_id)
        return await show_market_id(session, show), await show_shop_ids(session, show)
    if broadcast.shop_id is not None:
        return None, [broadcast.shop_id]
    assert broadcast.market_id is not None
    return broadcast.market_id, await market_shop_ids(session, broadcast.market_id)


async def broadcast_market_id(session: AsyncSession, broadcast: Broadcast) -> int | None:
    """The market whose staff may run this broadcast."""
    if broadcast.market_id is not None:
        return broadcast.market_id
    if broadcast.shop_id is not None:
        return await session.scalar(select(Shop.market_id).where(Shop.id == broadcast.shop_id))
    market_id, _shops = await broadcast_scope(session, broadcast)
    return market_id


async def _subscriber_targets(session: AsyncSession, broadcast: Broadcast) -> ColumnElement[bool]:
    if broadcast.show_id is not None:
        return await show_targets(session, await get_show(session, broadcast.show_id))
    market_id, shop_ids = await broadcast_scope(session, broadcast)
    shows = select(Show.id).where(
        Show.shop_id.in_(shop_ids)
        if market_id is None
        else (Show.market_id == market_id) | Show.shop_id.in_(shop_ids)
    )
    show_ids = list(await session.scalars(shows))
    return scope_targets(market_id=market_id, shop_ids=shop_ids, show_ids=show_ids)


async def broadcast_audience(session: AsyncSession, broadcast: Broadcast) -> list[tuple[int, int]]:
    """(customer id, chat id) of everyone the broadcast reaches, each once; only customers
    with a live opt-in who have not blocked the bot."""
    if broadcast.segment is BroadcastSegment.SUBSCRIBERS:
        return await audience(
            session, await _subscriber_targets(session, broadcast), language=broadcast.language
        )
    _market, shop_ids = await broadcast_scope(session, broadcast)
    query = (
        select(Customer.id, Customer.chat_id)
        .join(Order, Order.customer_id == Customer.id)
        .where(Order.shop_id.in_(shop_ids), Order.status.in_(ORDERED), marketing_allowed())
        .distinct()
        .order_by(Customer.id)
    )
    if broadcast.language is not None:
        query = query.where(Customer.language == broadcast.language)
    return [(int(r[0]), int(r[1])) for r in (await session.execute(query)).all()]


async def _enqueue(session: AsyncSession, broadcast: Broadcast, *, now: datetime) -> int:
    recipients = await broadcast_audience(session, broadcast)
    written = await enqueue_many(
        session,
        recipients=[(chat, f"{broadcast_ref(broadcast.id)}:{cid}") for cid, chat in recipients],
        kind=BROADCAST_KIND,
        data={"broadcast_id": broadcast.id},
        now=now,
        ref=broadcast_ref(broadcast.id),
        lane=OutboxLane.BULK,
    )
    broadcast.recipients = written
    broadcast.enqueued_at = now
    broadcast.updated_at = now
    return written


async def confirm_broadcast(
    session: AsyncSession, broadcast: Broadcast, *, now: datetime, send_at: datetime | None = None
) -> Broadcast:
    """Confirm a draft: enqueue it now, or schedule it for `send_at` (a time in the future).

    Compared-and-set from draft, so a double tap on "send" sends once.
    """
    scheduled = send_at is not None and send_at > now
    target = BroadcastStatus.SCHEDULED if scheduled else BroadcastStatus.ENQUEUED
    result = await session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast.id, Broadcast.status == BroadcastStatus.DRAFT)
        .values(status=target, send_at=send_at if scheduled else now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        fresh = await get_broadcast(session, broadcast.id)
        raise InvalidTransition(fresh.status.value, target.value)
    fresh = await get_broadcast(session, broadcast.id)
    if not scheduled:
        await _enqueue(session, fresh, now=now)
    await session.flush()
    return fresh


async def cancel_broadcast(session: AsyncSession, broadcast: Broadcast, *, now: datetime) -> None:
    """Cancel a draft or a scheduled broadcast (one already enqueued can't be called back)."""
    result = await session.execute(
        update(Broadcast)
        .where(
            Broadcast.id == broadcast.id,
            Broadcast.status.in_([BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED]),
        )
        .values(status=BroadcastStatus.CANCELLED, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        fresh = await get_broadcast(session, broadcast.id)
        raise InvalidTransition(fresh.status.value, BroadcastStatus.CANCELLED.value)


async def enqueue_due_broadcasts(session: AsyncSession, *, now: datetime, limit: int = 5) -> int:
    """Enqueue scheduled broadcasts whose time came; returns how many rows were written.

    Claimed by compare-and-set (and SKIP LOCKED on PostgreSQL): one instance enqueues each.
    """
    query = (
        select(Broadcast.id)
        .where(Broadcast.status == BroadcastStatus.SCHEDULED, Broadcast.send_at <= now)
        .order_by(Broadcast.send_at)
        .limit(limit)
    )
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    written = 0
    for broadcast_id in list(await session.scalars(query)):
        result = await session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id, Broadcast.status == BroadcastStatus.SCHEDULED)
            .values(status=BroadcastStatus.ENQUEUED)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            continue
        written += await _enqueue(session, await get_broadcast(session, broadcast_id), now=now)
    await session.flush()
    return written


async def list_broadcasts(
    session: AsyncSession, *, market_id: int | None = None, show_id: int | None = None
) -> list[Broadcast]:
    """Broadcasts, newest first, of a market (its own, its shops' and its shows') or a show."""
    query = select(Broadcast).order_by(Broadcast.id.desc()).limit(100)
    if show_id is not None:
        query = query.where(Broadcast.show_id == show_id)
    if market_id is not None:
        shop_ids = select(Shop.id).where(Shop.market_id == market_id)
        show_ids = select(Show.id).where((Show.market_id == market_id) | Show.shop_id.in_(shop_ids))
        query = query.where(
            (Broadcast.market_id == market_id)
            | Broadcast.shop_id.in_(shop_ids)
            | Broadcast.show_id.in_(show_ids)
        )
    return list(await session.scalars(query))
