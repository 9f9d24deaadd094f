"""What the bot tells operators: Prometheus metrics of updates and sends, and the update id that
every log line written while an update is handled carries.

Metrics live in prometheus_client's process registry: one `livecart run` or `livecart worker`
process is one set of series, scraped at its own `/metrics`.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import TelegramObject, Update
from prometheus_client import Counter, Histogram

log = logging.getLogger(__name__)

# set for the whole handling of one update (its task); read by the log formatter
current_update_id: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "livecart_update_id", default=None
)

UPDATE_SECONDS = Histogram(
    "livecart_bot_update_duration_seconds",
    "Telegram updates handled (the _count) and how long each took, by update type and outcome "
    "(handled, unhandled, duplicate, ignored, error)",
    ["type", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

OUTBOX_SENDS = Counter(
    "livecart_outbox_sends_total",
    "Outbox messages handed to Telegram, by lane and result (sent, edited, retried_429, "
    "retried (network or 5xx), ambiguous (a bulk send timed out: set aside for review), "
    "blocked_403 (blocked, deactivated or gone), failed)",
    ["lane", "result"],
)

# set by UpdateSessionMiddleware when it skips an update (a repeat, or a group chat)
OUTCOME_KEY = "update_outcome"

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class UpdateObservabilityMiddleware(BaseMiddleware):
    """Outer middleware on updates: puts the update id in the log context, times the update and
    counts its outcome. Registered first, so it sees the whole handling (and its error)."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        # not reset afterwards: the dispatcher's error handler, which runs outside this
        # middleware, logs for this update too (each update has its own task or request)
        current_update_id.set(event.update_id)
        kind = event.event_type
        started = time.perf_counter()
        outcome = "error"
        try:
            result = await handler(event, data)
            if data.get(OUTCOME_KEY):
                outcome = str(data[OUTCOME_KEY])
            elif result is UNHANDLED:
                outcome = "unhandled"
            else:
                outcome = "handled"
            return result
        finally:
            elapsed = time.perf_counter() - started
            UPDATE_SECONDS.labels(kind, outcome).observe(elapsed)
            log.debug("update %s (%s) %s in %.0f ms", event.update_id, kind, outcome, elapsed * 1e3)


def count_send(lane: str, result: str) -> None:
    """One outbox row's attempt ended with `result` (see OUTBOX_SENDS)."""
    OUTBOX_SENDS.labels(lane, result).inc()
