"""The outbox sender: claims rows, renders them, sends within Telegram's limits, records the result.

Two lanes run side by side: interactive (order messages, vendor alerts) and bulk (reminders,
broadcasts), so a running broadcast never delays a customer's answer. Every send waits while
Telegram's `retry_after` is in force, for the whole bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BufferedInputFile, Message
from aiogram.utils.i18n import I18n
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.notifications import (
    RENDERERS,
    NotYet,
    Outgoing,
    RenderEnv,
    Renderer,
    Skip,
    recipient_language,
    render_text,
)
from bot.observability import count_send
from bot.outages import is_outage, retry_through_outage
from bot.payment_notifications import PAYMENT_RENDERERS
from bot.rate_limits import RateLimits
from bot.show_notifications import SHOW_RENDERERS, prefetch_marketing
from bot.vendor_notifications import VENDOR_RENDERERS
from bot.waitlist_notifications import WAITLIST_RENDERERS
from bot.webhook_notifications import WEBHOOK_RENDERERS
from catalog.clock import Clock
from catalog.models import Customer, OutboxLane, OutboxMessage
from catalog.outbox import (
    claim_batch,
    mark_dropped,
    mark_many_sent,
    mark_review,
    mark_sent,
    reconcile_expired_leases,
    release_claim,
    reschedule,
)
from catalog.subscriptions import end_marketing_for_chat

log = logging.getLogger(__name__)

_UNRENDERED = object()  # a row of the interactive lane: rendered just before it is sent

MAX_ATTEMPTS = 12
NOT_MODIFIED = "message is not modified"
GONE_MARKERS = ("chat not found", "user is deactivated", "bot was blocked", "PEER_ID_INVALID")


class OutboxSender:
    """Sends what the outbox holds. Run `run()` as a task; call `wake()` after a commit."""

    def __init__(
        self,
        bot: Bot,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        i18n: I18n,
        *,
        default_locale: str = "ko",
        per_second: float = 25.0,
        per_chat_per_second: float = 1.0,
        lease_seconds: float = 60.0,
        batch_size: int = 100,
        concurrency: int = 16,
        poll_interval: float = 1.0,
        renderers: dict[str, Renderer] | None = None,
        public_base_url: str | None = None,
        online_payments: bool = False,
        limits: RateLimits | None = None,
    ) -> None:
        self.bot = bot
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.i18n = i18n
        self.default_locale = default_locale
        self.limits = limits or RateLimits(per_second, per_chat_per_second)
        self.lease_seconds = lease_seconds
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.renderers = renderers or {
            **RENDERERS,
            **VENDOR_RENDERERS,
            **PAYMENT_RENDERERS,
            **SHOW_RENDERERS,
            **WEBHOOK_RENDERERS,
            **WAITLIST_RENDERERS,
        }
        self.public_base_url = public_base_url
        self.online_payments = online_payments
        self._env: RenderEnv | None = None
        self._wakeups = {lane: asyncio.Event() for lane in OutboxLane}
        self.sent = 0

    def wake(self) -> None:
        """New rows were committed: look now instead of at the next poll."""
        for event in self._wakeups.values():
            event.set()

    async def run(self) -> None:
        """Reconcile what a dead sender left, then send both lanes until cancelled."""
        async with self.sessionmaker() as session:
            count = await reconcile_expired_leases(session, now=self.clock.now())
            await session.commit()
        if count:
            log.warning(
                "%d outbox rows were in flight when a sender died: marked for review", count
            )
        await asyncio.gather(*(self._lane_loop(lane) for lane in OutboxLane))

    async def _lane_loop(self, lane: OutboxLane) -> None:
        wakeup = self._wakeups[lane]
        while True:
            try:
                sent = await self.drain(lane)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database blinked: keep the loop alive, try again soon
                log.exception("outbox %s lane failed; retrying", lane.value)
                sent = 0
            if sent:
                continue
            wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup.wait(), self.poll_interval)

    async def drain(self, lane: OutboxLane) -> int:
        """Claim and send one batch of due rows of `lane`; returns how many were handled."""
        async with self.sessionmaker() as session:
            now = self.clock.now()
            rows = await claim_batch(
                session,
                lane=lane,
                now=now,
                limit=self.batch_size,
                lease_seconds=self.lease_seconds,
            )
            ids = [row.id for row in rows]
            try:
                await session.commit()
            except Exception as exc:
                # the commit may or may not have happened (a connection cut mid-commit):
                # nothing was sent, so hand back whatever this claim holds
                if ids and is_outage(exc):
                    lease = now + timedelta(seconds=self.lease_seconds)
                    await asyncio.shield(self._release_claim(ids, lease))
                raise
        if not rows:
            return 0
        bulk = lane is OutboxLane.BULK
        semaphore = asyncio.Semaphore(self.concurrency if bulk else 4)
        started: set[int] = set()
        # a bulk batch is rendered in one session and its results recorded in one
        # transaction: a fan-out costs a few queries per batch, not per message. Its rows
        # stay SENDING (leased) until then, so a crash still never sends one twice.
        try:
            rendered = await self._render_many(rows) if bulk else {}
        except Exception:  # Telegram (getMe) or the database is away: back to the queue
            await asyncio.shield(self._release([row.id for row in rows]))
            raise
        results: list[Callable[[AsyncSession], Awaitable[None]]] | None = [] if bulk else None

        async def one(row: OutboxMessage) -> None:
            async with semaphore:
                started.add(row.id)
                await self._deliver(row, lane, rendered.get(row.id, _UNRENDERED), results)

        try:
            await asyncio.gather(*(one(row) for row in rows))
        except asyncio.CancelledError:
            # shutting down: record what was sent; rows never handed to Telegram go back to
            # the queue at once (rows in flight keep their lease: review if it lapses)
            if results:
                await asyncio.shield(self._record_all(results))
            waiting = [row.id for row in rows if row.id not in started]
            if waiting:
                await asyncio.shield(self._release(waiting))
            raise
        if results:
            await self._record_all(results)
        return len(rows)

    async def _record_all(self, changes: list[Callable[[AsyncSession], Awaitable[None]]]) -> None:
        """Record a batch's outcomes in one transaction; the "sent" ones in one statement."""
        sent = [
            (c.keywords["message_id"], c.keywords.get("telegram_message_id"))
            for c in changes
            if isinstance(c, partial) and c.func is mark_sent
        ]
        others = [c for c in changes if not (isinstance(c, partial) and c.func is mark_sent)]

        async def record() -> None:
            async with self.sessionmaker() as session:
                await mark_many_sent(session, sent, now=self.clock.now())
                for change in others:
                    await change(session)
                await session.commit()

        await retry_through_outage(record, what="recording a batch's outcomes")

    async def _render_many(self, rows: list[OutboxMessage]) -> dict[int, object]:
        """Render a bulk batch in one session (prefetching opt-ins, shows and stream links);
        each row's result is its Outgoing, None, or the exception its renderer raised."""
        env = await self.env()
        results: dict[int, object] = {}
        async with self.sessionmaker() as session:
            await prefetch_marketing(session, rows, self.clock.now())
            languages = dict(
                (
                    await session.execute(
                        select(Customer.chat_id, Customer.language).where(
                            Customer.chat_id.in_({row.chat_id for row in rows})
                        )
                    )
                ).all()
            )
            for row in rows:
                locale = languages.get(row.chat_id) or self.default_locale
                renderer = self.renderers.get(row.kind, render_text)
                try:
                    with self.i18n.context(), self.i18n.use_locale(locale):
                        results[row.id] = await renderer(session, row, locale, env)
                except Exception as exc:  # handled per row, like a lone render
                    results[row.id] = exc
            await session.commit()
        return results

    async def _release(self, ids: list[int]) -> None:
        async def release() -> None:
            async with self.sessionmaker() as session:
                for message_id in ids:
                    await reschedule(session, message_id=message_id, at=self.clock.now(), error="")
                await session.commit()

        await retry_through_outage(release, what="handing outbox rows back")

    async def _release_claim(self, ids: list[int], lease: datetime) -> None:
        async def release() -> None:
            async with self.sessionmaker() as session:
                await release_claim(session, ids, lease_until=lease)
                await session.commit()

        await retry_through_outage(release, what="handing a claim back")

    async def env(self) -> RenderEnv:
        """The render environment; the bot's username is asked of Telegram once."""
        if self._env is None:
            me = await self.bot.me()
            self._env = RenderEnv(
                public_base_url=self.public_base_url,
                bot_username=me.username or "",
                online_payments=self.online_payments,
                clock=self.clock,
            )
        return self._env

    async def _render(self, row: OutboxMessage) -> Outgoing | None:
        env = await self.env()
        async with self.sessionmaker() as session:
            locale = await recipient_language(session, row.chat_id, self.default_locale)
            renderer = self.renderers.get(row.kind, render_text)
            with self.i18n.context(), self.i18n.use_locale(locale):
                outgoing = await renderer(session, row, locale, env)
            await session.commit()
        return outgoing

    async def _deliver(
        self,
        row: OutboxMessage,
        lane: OutboxLane,
        rendered: object = None,
        results: list[Callable[[AsyncSession], Awaitable[None]]] | None = None,
    ) -> None:
        """Render (unless `rendered` already holds the result), send, record the outcome
        (or add it to `results`, recorded with the rest of the batch)."""
        if results is not None:
            batch = results

            async def record(change: Callable[[AsyncSession], Awaitable[None]]) -> None:
                batch.append(change)

            self_record = record
        else:
            self_record = self._record
        try:
            if rendered is _UNRENDERED:
                outgoing = await self._render(row)
            elif isinstance(rendered, BaseException):
                raise rendered
            else:
                outgoing = rendered  # type: ignore[assignment]
        except NotYet as wait:
            at = self.clock.now() + timedelta(seconds=wait.seconds)
            await self_record(partial(reschedule, message_id=row.id, at=at, error="not yet"))
            return
        except Skip as skip:  # e.g. the customer turned reminders off after it was queued
            await self_record(partial(mark_dropped, message_id=row.id, error=skip.reason))
            return
        except (TelegramNetworkError, TelegramServerError, TimeoutError, OSError) as exc:
            await self._retry_later(row, repr(exc), self_record)  # getMe failed: Telegram is away
            return
        except Exception as exc:
            if is_outage(exc):  # the database blinked while rendering: try again later
                await self._retry_later(row, repr(exc), self_record)
                return
            log.exception("outbox row %s could not be rendered", row.id)
            await self_record(partial(mark_dropped, message_id=row.id, error=f"render: {exc!r}"))
            return
        if outgoing is None:
            await self_record(partial(mark_dropped, message_id=row.id, error="nothing to say"))
            return
        while True:
            await self.limits.wait_if_paused()
            if lane is OutboxLane.BULK:  # the bulk share leaves room for replies, order news
                await self.limits.acquire_bulk()
            await self.limits.acquire_chat(row.chat_id)
            if lane is not OutboxLane.BULK:
                await self.limits.acquire_bot()
            await self.limits.wait_if_paused()
            try:
                message = await self._send(outgoing.chat_id or row.chat_id, outgoing)
            except TelegramRetryAfter as exc:
                count_send(lane.value, "retried_429")
                await self.limits.pause(exc.retry_after)
                continue  # this row keeps its claim and goes out after the pause
            except TelegramMigrateToChat as exc:
                await self_record(partial(_migrate, row=row, new_chat_id=exc.migrate_to_chat_id))
                row.chat_id = exc.migrate_to_chat_id
                continue
            except TelegramForbiddenError as exc:
                count_send(lane.value, "blocked_403")
                await self_record(
                    partial(_recipient_gone, row=row, reason=exc.message, clock=self.clock)
                )
                return
            except TelegramBadRequest as exc:
                if outgoing.edit_message_id is not None and NOT_MODIFIED in exc.message:
                    count_send(lane.value, "edited")
                    self.sent += 1
                    await self._record(
                        partial(
                            mark_sent,
                            message_id=row.id,
                            now=self.clock.now(),
                            telegram_message_id=outgoing.edit_message_id,
                        )
                    )
                    return
                if any(marker in exc.message for marker in GONE_MARKERS):
                    count_send(lane.value, "blocked_403")
                    await self_record(
                        partial(_recipient_gone, row=row, reason=exc.message, clock=self.clock)
                    )
                else:
                    count_send(lane.value, "failed")
                    log.error("Telegram refused outbox row %s: %s", row.id, exc.message)
                    await self_record(partial(mark_dropped, message_id=row.id, error=exc.message))
                return
            except (TelegramNetworkError, TelegramServerError, TimeoutError, OSError) as exc:
                if lane is OutboxLane.BULK and outgoing.edit_message_id is None and _timed_out(exc):
                    # Telegram may have delivered it: a reminder or broadcast is sent at most
                    # once rather than twice to thousands (an edit is safe to repeat)
                    count_send(lane.value, "ambiguous")
                    await self_record(
                        partial(mark_review, message_id=row.id, error=f"ambiguous timeout: {exc!r}")
                    )
                    return
                # an order message is never lost: retried with backoff (at-least-once; after a
                # timeout the customer may see it twice, as Telegram offers no idempotency key)
                await self._retry_later(row, repr(exc), self_record)
                return
            except Exception as exc:  # anything else Telegram says: record it, never leave it
                count_send(lane.value, "failed")
                log.exception("outbox row %s failed", row.id)
                await self_record(partial(mark_dropped, message_id=row.id, error=repr(exc)))
                return
            self.sent += 1
            count_send(lane.value, "sent" if outgoing.edit_message_id is None else "edited")
            await self_record(
                partial(
                    mark_sent,
                    message_id=row.id,
                    now=self.clock.now(),
                    telegram_message_id=message.message_id if message is not None else None,
                )
            )
            return

    async def _retry_later(
        self,
        row: OutboxMessage,
        error: str,
        self_record: Callable[[Callable[[AsyncSession], Awaitable[None]]], Awaitable[None]],
    ) -> None:
        if row.attempts >= MAX_ATTEMPTS:
            count_send(row.lane.value, "failed")
            await self_record(partial(mark_dropped, message_id=row.id, error=f"gave up: {error}"))
            return
        count_send(row.lane.value, "retried")
        backoff = min(600.0, 2.0**row.attempts) * (0.5 + random.random())
        at = self.clock.now() + timedelta(seconds=backoff)
        await self_record(partial(reschedule, message_id=row.id, at=at, error=error))

    async def _send(self, chat_id: int, outgoing: Outgoing) -> Message | None:
        if outgoing.edit_message_id is not None:
            if outgoing.edit_caption:
                edited = await self.bot.edit_message_caption(
                    chat_id=chat_id,
                    message_id=outgoing.edit_message_id,
                    caption=outgoing.text,
                    reply_markup=outgoing.markup,
                )
            else:
                edited = await self.bot.edit_message_text(
                    outgoing.text,
                    chat_id=chat_id,
                    message_id=outgoing.edit_message_id,
                    reply_markup=outgoing.markup,
                )
            return edited if isinstance(edited, Message) else None
        if outgoing.document is not None:
            name, content = outgoing.document
            return await self.bot.send_document(
                chat_id,
                BufferedInputFile(content, name),
                caption=outgoing.text or None,
                reply_markup=outgoing.markup,
            )
        if outgoing.photo is not None:
            photo = (
                BufferedInputFile(outgoing.photo, "image.png")
                if isinstance(outgoing.photo, bytes)
                else outgoing.photo
            )
            return await self.bot.send_photo(
                chat_id, photo, caption=outgoing.text, reply_markup=outgoing.markup
            )
        return await self.bot.send_message(chat_id, outgoing.text, reply_markup=outgoing.markup)

    async def _record(self, change: Callable[[AsyncSession], Awaitable[None]]) -> None:
        async def record() -> None:
            async with self.sessionmaker() as session:
                await change(session)
                await session.commit()

        # an outcome is recorded even through a database blink: a sent row left SENDING
        # would go to review when its lease lapses, an unsent one would wait for nothing
        await retry_through_outage(record, what="recording an outbox outcome")


def _timed_out(exc: BaseException) -> bool:
    """The request went out but no answer came in time: delivered or not, nobody knows.
    (A refused connection or a 5xx means it was not carried out: safe to send again.)"""
    if isinstance(exc, TimeoutError):
        return True
    return isinstance(exc, TelegramNetworkError) and "timeout" in exc.message.lower()


async def _recipient_gone(
    session: AsyncSession, *, row: OutboxMessage, reason: str, clock: Clock
) -> None:
    """Blocked, deactivated or deleted: never retry, and stop marketing to them (their
    subscriptions end, so no later reminder tries them again)."""
    await mark_dropped(session, message_id=row.id, error=reason)
    await end_marketing_for_chat(session, row.chat_id, now=clock.now(), reason="blocked")


async def _migrate(session: AsyncSession, *, row: OutboxMessage, new_chat_id: int) -> None:
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.id == row.id).values(chat_id=new_chat_id)
    )
