"""Show reminders, "sold out" updates and after-the-show replays, fanned out to subscribers
through the outbox.

Each reminder offset of a show is claimed once (a unique row in `show_reminders`, inserted in
the same transaction as its outbox rows), so several instances running the scheduler enqueue
it once; each outbox row also has a dedupe key per subscriber, offset and start time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import OutboxLane, Product, Show, ShowProduct, ShowReminder
from catalog.outbox import enqueue_many
from catalog.shows import REPLAY_LISTED
from catalog.subscriptions import show_audience

REMINDER_KIND = "show_reminder"
SOLD_OUT_KIND = "show_sold_out"
REPLAY_KIND = "show_replay"
DEFAULT_OFFSETS = "1d,10m,0"

_OFFSET_RE = re.compile(r"^(\d+)\s*([dhms]?)$")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1, "": 1}


def parse_offsets(text: str) -> list[int]:
    """ "1d,10m,0" -> [86400, 600, 0]: seconds before the start, largest first, each once.

    Units: d, h, m, s (a bare number is seconds); 0 is the "live now" message at the start.
    """
    offsets: set[int] = set()
    for part in text.split(","):
        part = part.strip().lower()
        if not part:
            continue
        match = _OFFSET_RE.match(part)
        if match is None:
            raise ValueError(f"{part!r} is not an offset like 1d, 2h, 10m, 30s or 0")
        seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        if seconds > 30 * 86400:
            raise ValueError(f"{part!r} is more than 30 days")
        offsets.add(seconds)
    if not offsets:
        raise ValueError("give at least one offset, like 1d,10m,0")
    return sorted(offsets, reverse=True)


def reminder_key(show: Show, offset: int, customer_id: int) -> str:
    """One reminder per subscriber, offset and start time (a moved show reminds again)."""
    return f"show:{show.id}:r{offset}:{int(show.starts_at.timestamp())}:{customer_id}"


def show_ref(show_id: int) -> str:
    return f"show:{show_id}"


async def _claim(
    session: AsyncSession, show: Show, offset: int, *, now: datetime, skipped: bool
) -> ShowReminder | None:
    """Insert the claim for (show, offset); None if another run already has it."""
    try:
        async with session.begin_nested():
            claim = ShowReminder(
                show_id=show.id,
                offset_seconds=offset,
                enqueued_at=now,
                recipients=0,
                skipped=skipped,
            )
            session.add(claim)
            await session.flush()
    except IntegrityError:
        return None
    return claim


async def enqueue_due_reminders(
    session: AsyncSession, *, now: datetime, offsets: Sequence[int], limit: int = 20
) -> int:
    """Write the outbox rows of every reminder that is due; returns how many rows.

    Only the latest due offset of a show is sent: after downtime a "starts tomorrow" that is
    already late is skipped (and recorded as skipped), never sent late. A "starts soon"
    reminder is never sent once the show started; nothing is sent after a show ended.
    """
    if not offsets:
        return 0
    horizon = now + timedelta(seconds=max(offsets))
    shows = list(
        await session.scalars(
            select(Show)
            .where(Show.ends_at > now, Show.starts_at <= horizon)
            .order_by(Show.starts_at, Show.id)
        )
    )
    written = 0
    handled = 0
    for show in shows:
        done = set(
            await session.scalars(
                select(ShowReminder.offset_seconds).where(ShowReminder.show_id == show.id)
            )
        )
        due = [o for o in offsets if show.starts_at - timedelta(seconds=o) <= now]
        pending = [o for o in due if o not in done]
        if not pending:
            continue
        current = min(due)
        for offset in pending:
            stale = offset != current or (offset > 0 and now >= show.starts_at)
            claim = await _claim(session, show, offset, now=now, skipped=stale)
            if claim is None or stale:
                continue
            recipients = await show_audience(session, show)
            claim.recipients = await enqueue_many(
                session,
                recipients=[(chat, reminder_key(show, offset, cid)) for cid, chat in recipients],
                kind=REMINDER_KIND,
                data={"show_id": show.id, "offset": offset},
                now=now,
                ref=show_ref(show.id),
                lane=OutboxLane.BULK,
            )
            written += claim.recipients
        handled += 1
        if handled >= limit:
            break
    await session.flush()
    return written


async def enqueue_sold_out_updates(session: AsyncSession, *, now: datetime) -> int:
    """During a live show that asked for them, tell its subscribers once when a featured
    product sells out; returns how many rows were written.

    The product's row is compared-and-set (`sold_out_notified_at`), so one instance wins.
    """
    candidates = (
        await session.execute(
            select(ShowProduct.id, ShowProduct.product_id, Show.id)
            .join(Show, Show.id == ShowProduct.show_id)
            .join(Product, Product.id == ShowProduct.product_id)
            .where(
                Show.sold_out_updates.is_(True),
                Show.starts_at <= now,
                Show.ends_at > now,
                Product.available <= 0,
                ShowProduct.sold_out_notified_at.is_(None),
            )
            .limit(50)
        )
    ).all()
    written = 0
    for featured_id, product_id, show_id in candidates:
        result = await session.execute(
            update(ShowProduct)
            .where(ShowProduct.id == featured_id, ShowProduct.sold_out_notified_at.is_(None))
            .values(sold_out_notified_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            continue
        written += await _to_audience(
            session,
            show_id,
            key_prefix=f"show:{show_id}:soldout:{product_id}:",
            kind=SOLD_OUT_KIND,
            data={"show_id": show_id, "product_id": product_id},
            now=now,
        )
    return written


async def _to_audience(
    session: AsyncSession,
    show_id: int,
    *,
    key_prefix: str,
    kind: str,
    data: dict[str, Any],
    now: datetime,
) -> int:
    """One bulk outbox row per customer of the show's audience, deduplicated by `key_prefix`
    + the customer id; returns how many were written (0 if the show is gone)."""
    show = await session.get(Show, show_id)
    if show is None:
        return 0
    recipients = await show_audience(session, show)
    return await enqueue_many(
        session,
        recipients=[(chat, f"{key_prefix}{cid}") for cid, chat in recipients],
        kind=kind,
        data=data,
        now=now,
        ref=show_ref(show_id),
        lane=OutboxLane.BULK,
    )


def replay_key(show_id: int, customer_id: int | None) -> str:
    """One replay message per subscriber and show, ever (None: the key's common prefix)."""
    return f"show:{show_id}:replay:{'' if customer_id is None else customer_id}"


async def enqueue_due_replays(session: AsyncSession, *, now: datetime, limit: int = 20) -> int:
    """After a show ended, send its subscribers one "다시보기" message, if the campaign chose
    to and the show has a replay URL; returns how many rows were written.

    The show's row is compared-and-set (`replay_enqueued_at`), so one run of one instance
    fans it out, and each row's dedupe key makes a second fan-out send nothing. A show whose
    replay is switched on later than REPLAY_LISTED after its end is not sent any more.
    """
    due = list(
        await session.scalars(
            select(Show.id)
            .where(
                Show.send_replay.is_(True),
                Show.replay_url != "",
                Show.replay_enqueued_at.is_(None),
                Show.ends_at <= now,
                Show.ends_at > now - REPLAY_LISTED,
            )
            .order_by(Show.ends_at, Show.id)
            .limit(limit)
        )
    )
    written = 0
    for show_id in due:
        claimed = await session.execute(
            update(Show)
            .where(Show.id == show_id, Show.replay_enqueued_at.is_(None))
            .values(replay_enqueued_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue
        written += await _to_audience(
            session,
            show_id,
            key_prefix=replay_key(show_id, None),
            kind=REPLAY_KIND,
            data={"show_id": show_id},
            now=now,
        )
    return written
