"""Telegram's send-rate limits, and the evidence of whether a sender respects them.

Telegram's limits are soft (about 30 messages/s per bot, 1/s per chat with short bursts) and
answered with ``429 retry_after``. A sender must then pause: a send to a chat whose
``retry_after`` window is still open is recorded as *ignored*, which is what lets a test prove
that livecart's outbox respects the limits instead of hammering Telegram.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, NoReturn

from livecart.simulator.errors import too_many_requests
from livecart.simulator.faults import FaultInjector

_MAX_IGNORED_EVENTS = 1000
# A sender that sleeps exactly retry_after may wake a few milliseconds "early" by the server's
# clock (timer granularity, the response still in flight); that is respecting the limit.
RETRY_AFTER_GRACE_SECONDS = 0.05


@dataclass
class LimitSettings:
    """Rate-limit enforcement; off by default so ordinary tests never see a 429."""

    enforce: bool = False
    per_bot_per_second: float = 30.0
    per_chat_per_second: float = 1.0
    per_chat_burst: int = 3

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class TokenBucket:
    """``capacity`` sends at once, refilled at ``rate`` per second."""

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.updated = now

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def wait_time(self, now: float) -> float:
        """Seconds until one send is allowed (0 when allowed now)."""
        self._refill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1


@dataclass
class SendStats:
    """Counters a test reads to judge a sender; chat ids are keys."""

    sent_total: int = 0
    sent_by_chat: Counter[int] = field(default_factory=Counter)
    rate_limited_total: int = 0
    rate_limited_by_chat: Counter[int] = field(default_factory=Counter)
    retry_after_ignored: int = 0
    retry_after_ignored_by_chat: Counter[int] = field(default_factory=Counter)
    retry_after_ignored_events: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "sent_total": self.sent_total,
            "sent_by_chat": _keyed(self.sent_by_chat),
            "rate_limited_total": self.rate_limited_total,
            "rate_limited_by_chat": _keyed(self.rate_limited_by_chat),
            "retry_after_ignored": self.retry_after_ignored,
            "retry_after_ignored_by_chat": _keyed(self.retry_after_ignored_by_chat),
            "retry_after_ignored_events": list(self.retry_after_ignored_events),
        }


class SendGate:
    """Admits or refuses each *send* (not edits, answers or chat actions), like Telegram."""

    def __init__(
        self,
        settings: LimitSettings,
        faults: FaultInjector,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.stats = SendStats()
        self._faults = faults
        self._clock = clock
        self._chat_buckets: dict[tuple[int, int], TokenBucket] = {}
        self._bot_buckets: dict[int, TokenBucket] = {}
        self._chat_windows: dict[tuple[int, int], float] = {}
        self._bot_windows: dict[int, float] = {}

    def configure(self, settings: LimitSettings) -> None:
        """New limits start with full buckets."""
        self.settings = settings
        self._chat_buckets.clear()
        self._bot_buckets.clear()

    def reset(self, settings: LimitSettings) -> None:
        self.configure(settings)
        self.stats = SendStats()
        self._chat_windows.clear()
        self._bot_windows.clear()

    def admit(self, bot_id: int, chat_id: int, method: str) -> None:
        """Count an accepted send, or raise Telegram's 429 and open a retry_after window."""
        now = self._clock()
        key = (bot_id, chat_id)
        window_end = max(self._chat_windows.get(key, 0.0), self._bot_windows.get(bot_id, 0.0))
        if now < window_end - RETRY_AFTER_GRACE_SECONDS:
            self._note_ignored(chat_id, method, window_end - now)
            self._refuse(chat_id, window_end - now)
        forced = self._faults.next_forced_rate_limit()
        if forced is not None:
            self._chat_windows[key] = now + forced
            self._refuse(chat_id, forced)
        if self.settings.enforce:
            self._check_buckets(bot_id, chat_id, now)
        self.stats.sent_total += 1
        self.stats.sent_by_chat[chat_id] += 1

    def _check_buckets(self, bot_id: int, chat_id: int, now: float) -> None:
        key = (bot_id, chat_id)
        chat_bucket = self._chat_buckets.get(key)
        if chat_bucket is None:
            chat_bucket = self._chat_buckets[key] = TokenBucket(
                self.settings.per_chat_per_second, max(1, self.settings.per_chat_burst), now
            )
        bot_bucket = self._bot_buckets.get(bot_id)
        if bot_bucket is None:
            rate = self.settings.per_bot_per_second
            bot_bucket = self._bot_buckets[bot_id] = TokenBucket(rate, max(1.0, rate), now)
        chat_wait = chat_bucket.wait_time(now)
        bot_wait = bot_bucket.wait_time(now)
        if chat_wait > 0 or bot_wait > 0:
            retry_after = _whole_seconds(max(chat_wait, bot_wait))
            if chat_wait >= bot_wait:
                self._chat_windows[key] = now + retry_after
            else:
                self._bot_windows[bot_id] = now + retry_after
            self._refuse(chat_id, retry_after)
        chat_bucket.take(now)
        bot_bucket.take(now)

    def _refuse(self, chat_id: int, seconds: float) -> NoReturn:
        self.stats.rate_limited_total += 1
        self.stats.rate_limited_by_chat[chat_id] += 1
        raise too_many_requests(_whole_seconds(seconds))

    def _note_ignored(self, chat_id: int, method: str, early_by: float) -> None:
        self.stats.retry_after_ignored += 1
        self.stats.retry_after_ignored_by_chat[chat_id] += 1
        events = self.stats.retry_after_ignored_events
        events.append(
            {"chat_id": chat_id, "method": method, "early_by_seconds": round(early_by, 3)}
        )
        del events[:-_MAX_IGNORED_EVENTS]


def _whole_seconds(seconds: float) -> int:
    return max(1, math.ceil(seconds))


def _keyed(counter: Counter[int]) -> dict[str, int]:
    return {str(chat_id): count for chat_id, count in counter.items()}
