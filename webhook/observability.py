"""What the HTTP side tells operators: a request id on every log line of a request (and in the
`X-Request-ID` response header), Prometheus metrics of requests, payment events and merchant
webhook deliveries, and the `/metrics` exposition with figures read from the database.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from collections.abc import Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from catalog.monitoring import delivery_backlog, order_counts, outbox_backlog
from webhook.context import WebContext

log = logging.getLogger("livecart.access")

REQUEST_ID_HEADER = "x-request-id"
# a caller's (or the proxy's) request id is kept when it looks like one; else we make one
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "livecart_request_id", default=None
)

HTTP_REQUESTS = Counter(
    "livecart_http_requests_total",
    "HTTP requests answered, by method, route template and status code",
    ["method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "livecart_http_request_duration_seconds",
    "How long HTTP requests took, by method and route template",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
PAYMENT_EVENTS = Counter(
    "livecart_payment_events_total",
    "Payment notifications and checks, by provider, event type (the provider's, or 'return' "
    "from the pay page) and outcome (order_paid, pending, failed, duplicate, bad_signature, ...)",
    ["provider", "type", "outcome"],
)
PAYMENT_REFUNDS = Counter(
    "livecart_payment_refunds_total",
    "Refunds asked of a payment provider, by provider and result (refunded, failed, or the "
    "provider's pending status)",
    ["provider", "result"],
)
MERCHANT_WEBHOOKS = Counter(
    "livecart_merchant_webhook_deliveries_total",
    "Merchant webhook delivery attempts, by result (delivered, failed: retried later or given "
    "up), and endpoint_disabled when a failure disabled its endpoint",
    ["result"],
)

EVENT_TYPE_RE = re.compile(r"^[A-Za-z0-9_.]{1,40}$")


def count_payment_event(provider: str, event_type: str, outcome: str) -> None:
    """One payment notification (or pay-page return) was handled with `outcome`."""
    kind = event_type if EVENT_TYPE_RE.match(event_type) else "other"
    PAYMENT_EVENTS.labels(provider, kind, outcome).inc()


def count_refund(provider: str, result: str) -> None:
    PAYMENT_REFUNDS.labels(provider, result if EVENT_TYPE_RE.match(result) else "other").inc()


def count_delivery(result: str) -> None:
    MERCHANT_WEBHOOKS.labels(result).inc()


class RequestObservabilityMiddleware:
    """Pure ASGI middleware: request id in the log context and the response, request metrics.

    The route label is the matched template (`/api/v1/shops/{shop}`), never the raw path, so
    the number of series stays bounded: a mounted app is `/sim/{path}`, a path that matched
    nothing (404) "unmatched", anything else without a template (the docs pages) "other".
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, REQUEST_ID_HEADER.encode())
        request_id = given if given and REQUEST_ID_RE.match(given) else uuid.uuid4().hex
        token = current_request_id.set(request_id)
        root_path = scope.get("root_path", "")
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() != REQUEST_ID_HEADER.encode()
                ]
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope, root_path, status)
            method = scope.get("method", "")
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_SECONDS.labels(method, route).observe(elapsed)
            log.debug("%s %s %s in %.0f ms", method, scope.get("path", ""), status, elapsed * 1e3)
            current_request_id.reset(token)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            try:
                return str(value.decode("latin-1"))
            except UnicodeDecodeError:
                return None
    return None


def _route_template(scope: Scope, root_path: str, status: int) -> str:
    # routing into a mounted app (the demo's /sim) extends root_path by the mount's prefix
    now_root = scope.get("root_path", "")
    prefix = now_root.removeprefix(root_path) if isinstance(now_root, str) else ""
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str) and path:
        return prefix + path
    if prefix:
        return prefix + "/{path}"
    return "unmatched" if status == 404 else "other"


class _Families:
    """A one-off collector holding figures already read (from the database)."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        yield from self.families


async def render_metrics(ctx: WebContext) -> tuple[bytes, str]:
    """The process's metrics, then the figures every instance reads from the database."""
    families: list[Metric] = []
    try:
        families = await _database_families(ctx)
    except Exception:  # the scrape still shows the process's own metrics; up=0 says why
        log.warning("metrics: the database could not be read", exc_info=True)
        up = GaugeMetricFamily(
            "livecart_database_up", "1 when the database answered this scrape's queries"
        )
        up.add_metric([], 0)
        families = [up]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(families))
    return generate_latest(REGISTRY) + generate_latest(registry), CONTENT_TYPE_LATEST


async def _database_families(ctx: WebContext) -> list[Metric]:
    now = ctx.clock.now()
    async with ctx.sessionmaker() as session:
        orders = await order_counts(session)
        outbox = await outbox_backlog(session, now=now)
        deliveries = await delivery_backlog(session, now=now)
        await session.commit()
    up = GaugeMetricFamily(
        "livecart_database_up", "1 when the database answered this scrape's queries"
    )
    up.add_metric([], 1)
    by_status = GaugeMetricFamily(
        "livecart_orders", "Orders in each status (read from the database)", labels=["status"]
    )
    for status, count in orders.items():
        by_status.add_metric([status], count)
    unsent = GaugeMetricFamily(
        "livecart_outbox_unsent",
        "Outbox messages not sent yet (pending or in flight), by lane",
        labels=["lane"],
    )
    review = GaugeMetricFamily(
        "livecart_outbox_review",
        "Outbox messages a dead sender left in flight, set aside for review, by lane",
        labels=["lane"],
    )
    age = GaugeMetricFamily(
        "livecart_outbox_oldest_unsent_age_seconds",
        "How long the oldest due, unsent outbox message has waited, by lane (0 when none)",
        labels=["lane"],
    )
    for lane in outbox:
        unsent.add_metric([lane.lane], lane.unsent)
        review.add_metric([lane.lane], lane.review)
        age.add_metric([lane.lane], lane.oldest_due_age_seconds)
    webhooks_unsent = GaugeMetricFamily(
        "livecart_merchant_webhooks_unsent", "Merchant webhook deliveries pending or in flight"
    )
    webhooks_unsent.add_metric([], deliveries.unsent)
    webhooks_failed = GaugeMetricFamily(
        "livecart_merchant_webhooks_failed", "Merchant webhook deliveries given up on"
    )
    webhooks_failed.add_metric([], deliveries.failed)
    webhooks_age = GaugeMetricFamily(
        "livecart_merchant_webhooks_oldest_unsent_age_seconds",
        "How long the oldest due merchant webhook delivery has waited (0 when none)",
    )
    webhooks_age.add_metric([], deliveries.oldest_due_age_seconds)
    return [up, by_status, unsent, review, age, webhooks_unsent, webhooks_failed, webhooks_age]
