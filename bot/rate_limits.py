"""Telegram's soft send limits (~30 messages/s per bot, ~1/s per chat) and its `retry_after`
pauses, counted in this process (one instance) or in Redis (several instances share one bot).

Every message counts: the outbox's two lanes and the direct replies of every instance. The
interactive ones (replies, order messages) take only the bot-wide and the chat's slot; a bulk
send (reminders, broadcasts) must first take a slot of the bulk share, a smaller window that
leaves INTERACTIVE_RESERVE of the bot's rate free, so a broadcast never makes a customer's
answer wait. answerCallbackQuery and a reply's edits are not messages: they take no slot.

The shared counting is the `limits` library's moving window over Redis (an atomic script, so
two senders never both take the last slot). If Redis can't be reached, each process falls back
to its own counters (logged): sends go on, at worst faster than the shared rate, and Telegram's
429s (which every sender obeys) are the backstop.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import OrderedDict

from aiolimiter import AsyncLimiter
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import Redis

log = logging.getLogger(__name__)

FALLBACK_LOG_EVERY_SECONDS = 60.0
REDIS_RETRY_SECONDS = 10.0  # after a failure, count locally this long before asking Redis again
INTERACTIVE_RESERVE = 0.2  # this share of the bot's rate is never taken by bulk sends
CHAT_BURST = 3  # a chat may get this many at once (a reply and an order message), then 1/s


def _chat_item(rate: float) -> RateLimitItem:
    """`rate` per second to one chat after a burst of CHAT_BURST (at 1/s: 3 per 3 s, never more in
    any span than Telegram's bucket of 3 refilled at 1/s allows; above 1/s, `rate` per second
    counted over 3 s)."""
    if rate >= 1:
        return RateLimitItemPerSecond(max(1, math.floor(rate)) * CHAT_BURST, CHAT_BURST)
    return RateLimitItemPerSecond(CHAT_BURST, max(1, round(CHAT_BURST / rate)))


def bulk_rate(per_second: float) -> float:
    """The part of the bot's rate bulk sends may use (at least 1/s, at most all of it)."""
    return max(min(1.0, per_second), per_second * (1 - INTERACTIVE_RESERVE))


def _per_second_item(rate: float) -> RateLimitItem:
    """`rate` sends per second as a whole number of sends per whole seconds (0.5/s: 1 per 2 s)."""
    if rate >= 1:
        return RateLimitItemPerSecond(max(1, math.floor(rate)), 1)
    return RateLimitItemPerSecond(1, max(1, round(1 / rate)))


class RateLimits:
    """This process's counters: the bot-wide rate, one limiter per chat, and the pause."""

    def __init__(self, per_second: float, per_chat_per_second: float) -> None:
        self.per_second = per_second
        self.per_chat_rate = per_chat_per_second
        self.bot = AsyncLimiter(per_second, 1)
        self.bulk = AsyncLimiter(bulk_rate(per_second), 1)
        self._chats: OrderedDict[int, AsyncLimiter] = OrderedDict()
        self._paused_until = 0.0  # wall-clock seconds (comparable across instances)

    def chat(self, chat_id: int) -> AsyncLimiter:
        limiter = self._chats.get(chat_id)
        if limiter is None:
            limiter = AsyncLimiter(CHAT_BURST, CHAT_BURST / self.per_chat_rate)
            self._chats[chat_id] = limiter
            if len(self._chats) > 50_000:
                self._chats.popitem(last=False)
        else:
            self._chats.move_to_end(chat_id)
        return limiter

    async def acquire_bot(self) -> None:
        """Wait for a slot of the bot-wide rate (an interactive send: a reply, an order message)."""
        await self.bot.acquire()

    async def acquire_bulk(self) -> None:
        """Wait for a slot of the bulk share, then of the bot-wide rate (reminders, broadcasts)."""
        await self.bulk.acquire()
        await self.acquire_bot()

    async def acquire_reply(self, chat_id: int) -> None:
        """Everything a direct reply waits for: a 429's pause, its chat's and the bot's slot."""
        await self.wait_if_paused()
        await self.acquire_chat(chat_id)
        await self.acquire_bot()

    async def acquire_chat(self, chat_id: int) -> None:
        """Wait for a slot of this chat's rate."""
        await self.chat(chat_id).acquire()

    async def pause(self, seconds: float) -> None:
        """Hold every send until then; a later, shorter pause never shortens it."""
        self._paused_until = max(self._paused_until, time.time() + seconds)

    async def paused_until(self) -> float:
        return self._paused_until

    async def wait_if_paused(self) -> None:
        # the deadline can move later while we sleep (another 429): look again after waking
        while (delay := await self.paused_until() - time.time()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)

    async def aclose(self) -> None:
        return None


class SharedRateLimits(RateLimits):
    """The same limits counted in Redis, so every instance's sender together stays under them;
    a 429's pause is shared too. Falls back to this process's counters while Redis is away."""

    def __init__(
        self,
        redis_url: str,
        per_second: float,
        per_chat_per_second: float,
        *,
        key_prefix: str = "livecart",
    ) -> None:
        super().__init__(per_second, per_chat_per_second)
        self.storage = RedisStorage(
            "async+" + redis_url,
            implementation="redispy",
            key_prefix=f"{key_prefix}:send",
            wrap_exceptions=True,
            socket_timeout=2.0,
            socket_connect_timeout=2.0,
        )
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.bot_item = _per_second_item(per_second)
        self.bulk_item = _per_second_item(bulk_rate(per_second))
        self.chat_item = _chat_item(per_chat_per_second)
        self.redis = Redis.from_url(redis_url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._pause_key = f"{key_prefix}:send:paused_until"
        self._last_fallback_log = 0.0
        self._redis_back_at = 0.0  # monotonic: don't wait on a dead Redis for every send

    def _redis_usable(self) -> bool:
        return time.monotonic() >= self._redis_back_at

    def _fell_back(self, exc: Exception) -> None:
        now = time.monotonic()
        self._redis_back_at = now + REDIS_RETRY_SECONDS
        if now - self._last_fallback_log >= FALLBACK_LOG_EVERY_SECONDS:
            self._last_fallback_log = now
            log.warning(
                "Redis is unreachable (%r): send rates are counted per process until it is back",
                exc,
            )

    async def _take(self, item: RateLimitItem, *identifiers: str) -> bool:
        """Wait until the shared window has room and take a slot; False if Redis failed."""
        if not self._redis_usable():
            return False
        while True:
            try:
                if await self.limiter.hit(item, *identifiers):
                    return True
                stats = await self.limiter.get_window_stats(item, *identifiers)
            except Exception as exc:  # limits wraps every storage error as StorageError
                self._fell_back(exc)
                return False
            await asyncio.sleep(max(0.005, stats.reset_time - time.time()))

    async def acquire_bot(self) -> None:
        if not await self._take(self.bot_item, "bot"):
            await super().acquire_bot()

    async def acquire_bulk(self) -> None:
        if not await self._take(self.bulk_item, "bulk"):
            await self.bulk.acquire()
        await self.acquire_bot()

    async def acquire_chat(self, chat_id: int) -> None:
        if not await self._take(self.chat_item, "chat", str(chat_id)):
            await super().acquire_chat(chat_id)

    async def pause(self, seconds: float) -> None:
        await super().pause(seconds)
        until = self._paused_until
        if not self._redis_usable():
            return
        try:
            # keep the later of our deadline and one another instance set
            current = await self.redis.get(self._pause_key)
            if current is None or float(current) < until:
                await self.redis.set(self._pause_key, repr(until), px=int(seconds * 1000) + 1000)
        except Exception as exc:
            self._fell_back(exc)

    async def paused_until(self) -> float:
        local = self._paused_until
        if not self._redis_usable():
            return local
        try:
            shared = await self.redis.get(self._pause_key)
        except Exception as exc:
            self._fell_back(exc)
            return local
        return max(local, float(shared)) if shared is not None else local

    async def aclose(self) -> None:
        try:
            await self.redis.aclose()
        except Exception:  # closing a client to a dead Redis: nothing to do
            log.debug("closing the rate-limit Redis client failed", exc_info=True)
