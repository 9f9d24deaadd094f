"""Webhook delivery the way Telegram does it: POST each update, retry until a 2xx.

Delivery is at-least-once (a receiver that fails gets the same ``update_id`` again), updates of
one chat go one at a time and in order, different chats in parallel up to ``max_connections``.
The retry loop is bounded so a dead receiver cannot keep a test (or the demo) busy forever.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from livecart.simulator.bots import BotRuntime, WebhookConfig
from livecart.simulator.events import EventBus
from livecart.simulator.models import JSON
from livecart.simulator.updates import PendingUpdate

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ReplyHandler = Callable[[BotRuntime, httpx.Response], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff between attempts; much faster than Telegram's so tests stay quick."""

    max_attempts: int = 10
    first_delay: float = 0.05
    max_delay: float = 2.0
    timeout: float = 10.0

    def delay(self, attempt: int) -> float:
        return float(min(self.max_delay, self.first_delay * 2.0 ** (attempt - 1)))


@dataclass(frozen=True)
class DeliveryAttempt:
    """One POST to a webhook and how it went (status None: no HTTP answer at all)."""

    bot_id: int
    update_id: int
    attempt: int
    status_code: int | None
    error: str | None
    at: float

    @property
    def succeeded(self) -> bool:
        return self.error is None


class WebhookService:
    """Webhook settings of every bot and one delivery loop per bot with a webhook."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        policy: RetryPolicy,
        events: EventBus,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._http = http
        self._policy = policy
        self._events = events
        self._wall_clock = wall_clock
        self._deliverers: dict[int, _Deliverer] = {}
        self.reply_handler: ReplyHandler | None = None
        self.attempts: deque[DeliveryAttempt] = deque(maxlen=1000)
        self.delivered = 0
        self.abandoned = 0

    async def set(self, runtime: BotRuntime, config: WebhookConfig, drop_pending: bool) -> None:
        await self._stop(runtime)
        if drop_pending:
            runtime.updates.clear()
        runtime.webhook = config
        runtime.updates.notify()  # a waiting getUpdates now answers 409
        self._start(runtime, config)

    async def delete(self, runtime: BotRuntime, drop_pending: bool) -> None:
        await self._stop(runtime)
        runtime.webhook = None
        if drop_pending:
            runtime.updates.clear()

    async def stop_all(self) -> None:
        """Abandon in-flight deliveries (a reset is coming)."""
        for runtime_id in list(self._deliverers):
            await self._deliverers.pop(runtime_id).stop()

    def resume_all(self, runtimes: list[BotRuntime]) -> None:
        """After a reset: deliver again for bots that kept their webhook, counting from zero."""
        self.attempts.clear()
        self.delivered = 0
        self.abandoned = 0
        for runtime in runtimes:
            if runtime.webhook is not None:
                self._start(runtime, runtime.webhook)

    async def aclose(self) -> None:
        deliverers = list(self._deliverers.values())
        self._deliverers.clear()
        for deliverer in deliverers:
            await deliverer.stop()

    def info(self, runtime: BotRuntime) -> JSON:
        """getWebhookInfo's result."""
        config = runtime.webhook
        body: JSON = {
            "url": config.url if config else "",
            "has_custom_certificate": False,
            "pending_update_count": len(runtime.updates.pending()),
        }
        if config is not None:
            body["max_connections"] = config.max_connections
            if config.allowed_updates is not None:
                body["allowed_updates"] = config.allowed_updates
            if config.last_error_date is not None:
                body["last_error_date"] = config.last_error_date
                body["last_error_message"] = config.last_error_message
        return body

    def stats(self) -> JSON:
        return {
            "webhook_deliveries": self.delivered,
            "webhook_abandoned": self.abandoned,
            "webhook_attempts": [asdict(attempt) for attempt in self.attempts],
        }

    def _start(self, runtime: BotRuntime, config: WebhookConfig) -> None:
        deliverer = _Deliverer(self, runtime, config)
        self._deliverers[runtime.account.id] = deliverer
        deliverer.start()

    async def _stop(self, runtime: BotRuntime) -> None:
        deliverer = self._deliverers.pop(runtime.account.id, None)
        if deliverer is not None:
            await deliverer.stop()

    async def deliver(
        self, runtime: BotRuntime, config: WebhookConfig, update: PendingUpdate
    ) -> bool:
        """POST one update until the receiver answers 2xx or the attempts run out."""
        headers = {"Content-Type": "application/json"}
        if config.secret_token:
            headers[SECRET_HEADER] = config.secret_token
        body = json.dumps(update.payload, ensure_ascii=False).encode("utf-8")
        for attempt in range(1, self._policy.max_attempts + 1):
            response, error = await self._post(config.url, body, headers)
            self._record(runtime, update, attempt, response, error)
            if response is not None and error is None:
                self.delivered += 1
                await self._handle_reply(runtime, response)
                return True
            config.last_error_date = int(self._wall_clock())
            config.last_error_message = error
            if attempt < self._policy.max_attempts:
                await asyncio.sleep(self._policy.delay(attempt))
        self.abandoned += 1
        logger.warning("webhook gave up on update %s after %s attempts", update.update_id, attempt)
        return False

    async def _post(
        self, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[httpx.Response | None, str | None]:
        try:
            response = await self._http.post(
                url, content=body, headers=headers, timeout=self._policy.timeout
            )
        except httpx.TimeoutException:
            return None, "Read timeout expired"
        except httpx.HTTPError as error:
            return None, f"Connection failed: {type(error).__name__}"
        if 200 <= response.status_code < 300:
            return response, None
        reason = response.reason_phrase or ""
        return response, f"Wrong response from the webhook: {response.status_code} {reason}".strip()

    def _record(
        self,
        runtime: BotRuntime,
        update: PendingUpdate,
        attempt: int,
        response: httpx.Response | None,
        error: str | None,
    ) -> None:
        record = DeliveryAttempt(
            bot_id=runtime.account.id,
            update_id=update.update_id,
            attempt=attempt,
            status_code=response.status_code if response is not None else None,
            error=error,
            at=self._wall_clock(),
        )
        self.attempts.append(record)
        self._events.publish("webhook_attempt", attempt=asdict(record))

    async def _handle_reply(self, runtime: BotRuntime, response: httpx.Response) -> None:
        """Telegram runs a method returned in the webhook reply; failures are only logged."""
        if self.reply_handler is None or not response.content:
            return
        try:
            await self.reply_handler(runtime, response)
        except Exception as error:
            logger.warning("webhook reply could not be executed: %r", error)
            self._events.publish("webhook_reply_failed", error=repr(error))


class _Deliverer:
    """The delivery loop of one bot: start what may start, then sleep until something changes."""

    def __init__(self, service: WebhookService, runtime: BotRuntime, config: WebhookConfig) -> None:
        self._service = service
        self._runtime = runtime
        self._config = config
        self._in_flight: dict[int, asyncio.Task[Any]] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(
            self._run(), name=f"webhook-delivery-{self._runtime.account.id}"
        )

    async def stop(self) -> None:
        tasks = [task for task in (self._task, *self._in_flight.values()) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._in_flight.clear()

    async def _run(self) -> None:
        while True:
            self._start_ready_deliveries()
            await self._runtime.updates.wait_for_change(None)

    def _start_ready_deliveries(self) -> None:
        busy_chats: set[int] = set()
        for update in self._runtime.updates.pending():
            if update.chat_key in busy_chats:
                continue  # an earlier update of this chat is still pending
            busy_chats.add(update.chat_key)
            if update.update_id in self._in_flight:
                continue
            if len(self._in_flight) >= self._config.max_connections:
                return
            self._in_flight[update.update_id] = asyncio.create_task(self._deliver(update))

    async def _deliver(self, update: PendingUpdate) -> None:
        try:
            await self._service.deliver(self._runtime, self._config, update)
        finally:
            self._in_flight.pop(update.update_id, None)
        self._runtime.updates.remove(update.update_id)
