"""The webhook delivery worker: claims due deliveries, signs and POSTs them, records the result.

Standard Webhooks: `webhook-id` is the delivery's message id (the same on every retry and
replay), `webhook-timestamp` the attempt's wall-clock time, `webhook-signature` HMAC-SHA256
by the endpoint's `whsec_` secret, all made by the `standardwebhooks` library. Delivery is
at-least-once: a worker that dies mid-POST leaves a lease that runs out, and the delivery is
sent again with the same id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

from catalog.clock import Clock
from catalog.models import WebhookDelivery, WebhookEndpoint
from catalog.webhook_events import (
    RETRY_WINDOW,
    claim_due_deliveries,
    record_delivered,
    record_failure,
)
from webhook.observability import count_delivery

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Attempt:
    delivery_id: int
    message_id: str
    body: str
    url: str
    secret: str


@dataclass(frozen=True)
class _Outcome:
    delivery_id: int
    status_code: int | None
    error: str

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookDeliverer:
    """Runs beside the outbox sender; several instances share the work (SKIP LOCKED)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        client: httpx.AsyncClient,
        *,
        batch_size: int = 50,
        lease_seconds: float = 60.0,
        timeout_seconds: float = 10.0,
        retry_window: timedelta = RETRY_WINDOW,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.client = client
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.timeout_seconds = timeout_seconds
        self.retry_window = retry_window
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """A request committed new deliveries: don't wait for the next poll."""
        self._wake.set()

    async def deliver_due(self) -> int:
        """Claim one batch of due deliveries, send them in parallel, record each result."""
        async with self.sessionmaker() as session, session.begin():
            claimed = await claim_due_deliveries(
                session,
                now=self.clock.now(),
                limit=self.batch_size,
                lease_seconds=self.lease_seconds,
            )
            ids = [d.id for d in claimed]
            endpoints = {
                e.id: e
                for e in await session.scalars(
                    select(WebhookEndpoint).where(
                        WebhookEndpoint.id.in_({d.endpoint_id for d in claimed})
                    )
                )
            }
            attempts = [
                _Attempt(
                    delivery_id=d.id,
                    message_id=d.message_id,
                    body=json.dumps(d.payload, ensure_ascii=False, separators=(",", ":")),
                    url=endpoints[d.endpoint_id].url,
                    secret=endpoints[d.endpoint_id].secret,
                )
                for d in claimed
            ]
        if not ids:
            return 0
        outcomes = await asyncio.gather(*(self._post(a) for a in attempts))
        async with self.sessionmaker() as session, session.begin():
            now = self.clock.now()
            for outcome in outcomes:
                if outcome.ok:
                    assert outcome.status_code is not None
                    await record_delivered(
                        session, outcome.delivery_id, status_code=outcome.status_code, now=now
                    )
                    count_delivery("delivered")
                    continue
                delivery = await session.get(WebhookDelivery, outcome.delivery_id)
                if delivery is None:
                    continue  # its endpoint was deleted meanwhile
                disabled = await record_failure(
                    session,
                    delivery,
                    status_code=outcome.status_code,
                    error=outcome.error,
                    now=now,
                    retry_window=self.retry_window,
                )
                count_delivery("failed")
                if disabled:
                    count_delivery("endpoint_disabled")
                    log.warning("webhook endpoint %s disabled after failures", delivery.endpoint_id)
        return len(ids)

    async def _post(self, attempt: _Attempt) -> _Outcome:
        # the receiver checks the timestamp against its own clock: always the wall clock
        sent_at = datetime.now(UTC)
        signature = Webhook(attempt.secret).sign(attempt.message_id, sent_at, attempt.body)
        headers = {
            "content-type": "application/json",
            "webhook-id": attempt.message_id,
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": signature,
            "user-agent": "livecart-webhooks/1",
        }
        try:
            response = await self.client.post(
                attempt.url,
                content=attempt.body.encode(),
                headers=headers,
                timeout=self.timeout_seconds,
            )
        except httpx.HTTPError as exc:
            return _Outcome(attempt.delivery_id, None, f"{type(exc).__name__}: {exc}")
        error = "" if response.is_success else f"HTTP {response.status_code}"
        return _Outcome(attempt.delivery_id, response.status_code, error)

    async def run(self, poll_seconds: float = 2.0) -> None:
        """Deliver until cancelled: a full batch goes straight on, else wait for a wake or poll."""
        while True:
            try:
                delivered = await self.deliver_due()
            except Exception:
                log.exception("webhook delivery failed; will try again")
                delivered = 0
            if delivered >= self.batch_size:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=poll_seconds)
