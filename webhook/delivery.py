"""The webhook delivery worker: claims due deliveries, signs and POSTs them, records the result.

Standard Webhooks: `webhook-id` is the delivery's message id (the same on every retry and
replay), `webhook-timestamp` the attempt's wall-clock time, `webhook-signature` HMAC-SHA256
by the endpoint's `whsec_` secret, all made by the `standardwebhooks` library. Delivery is
at-least-once: a worker that dies mid-POST leaves a lease that runs out, and the delivery is
sent again with the same id.

Unless private URLs are allowed, the worker resolves the endpoint's host itself, refuses it
if ANY address is not public (a name may be re-pointed at 127.0.0.1 after registration: DNS
rebinding), and connects to the address it checked, never to a second lookup's answer.
Redirects are never followed: a 3xx is a failed attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import socket
from collections.abc import Awaitable, Callable
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
from catalog.webhook_targets import is_local_name, is_public_address, literal_address
from webhook.observability import count_delivery

log = logging.getLogger(__name__)

#: host name and port to the IP addresses they resolve to (injected in tests)
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host` (asyncio's getaddrinfo)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class UnsafeTarget(Exception):
    """The endpoint's host is, or resolves to, an address livecart must not connect to."""


@dataclass(frozen=True)
class _Target:
    """Where to connect: the URL with the checked address in place of the name."""

    url: httpx.URL
    host_header: str | None = None
    sni_hostname: str | None = None


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
        allow_private_urls: bool = False,
        resolver: Resolver = resolve_host,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.client = client
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.timeout_seconds = timeout_seconds
        self.retry_window = retry_window
        self.allow_private_urls = allow_private_urls
        self.resolver = resolver
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
            target = await self._target(attempt.url)
        except UnsafeTarget as exc:
            log.warning("webhook delivery %s refused: %s", attempt.delivery_id, exc)
            return _Outcome(attempt.delivery_id, None, f"refused: {exc}")
        if target.host_header is not None:
            headers["host"] = target.host_header
        try:
            response = await self.client.post(
                target.url,
                content=attempt.body.encode(),
                headers=headers,
                timeout=self.timeout_seconds,
                follow_redirects=False,
                extensions={"sni_hostname": target.sni_hostname} if target.sni_hostname else None,
            )
        except httpx.HTTPError as exc:
            return _Outcome(attempt.delivery_id, None, f"{type(exc).__name__}: {exc}")
        if response.is_success:
            return _Outcome(attempt.delivery_id, response.status_code, "")
        error = f"HTTP {response.status_code}"
        if response.is_redirect:
            error += " (a redirect; livecart does not follow redirects)"
        return _Outcome(attempt.delivery_id, response.status_code, error)

    async def _target(self, url: str) -> _Target:
        """Check the URL's host and pin the connection to an address that passed the check."""
        parsed = httpx.URL(url)
        if parsed.scheme not in ("http", "https") or parsed.userinfo:
            raise UnsafeTarget(f"{parsed.scheme}:// URLs with credentials or other schemes")
        if self.allow_private_urls:
            return _Target(parsed)
        if parsed.scheme != "https":
            raise UnsafeTarget("http:// is allowed only with LIVECART_WEBHOOK_ALLOW_PRIVATE_URLS")
        host = parsed.host
        port = parsed.port or 443
        if is_local_name(host):
            raise UnsafeTarget(f"{host} is this machine")
        literal = literal_address(host)
        if literal is not None:
            if not is_public_address(literal):
                raise UnsafeTarget(f"{host} is not a public address")
            return _Target(parsed)
        try:
            resolved = await self.resolver(host, port)
        except OSError as exc:
            raise UnsafeTarget(f"{host} does not resolve ({exc})") from exc
        if not resolved:
            raise UnsafeTarget(f"{host} does not resolve")
        for text in resolved:
            address = ipaddress.ip_address(text.split("%", 1)[0])
            if not is_public_address(address):
                raise UnsafeTarget(f"{host} resolves to {address}, not a public address")
        # connect to the address just checked: a second lookup could answer differently
        pinned = parsed.copy_with(host=resolved[0].split("%", 1)[0])
        host_header = host if parsed.port is None else f"{host}:{parsed.port}"
        return _Target(pinned, host_header=host_header, sni_hostname=host)

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
