"""Merchant webhooks: endpoints, and the deliveries written in the transaction of a change.

catalog/ only writes rows here; webhook/delivery.py signs and POSTs them after commit. An
event is one row per subscribed endpoint, so a slow endpoint never holds back another.
"""

from __future__ import annotations

import base64
import random
import secrets
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.db import is_postgres
from catalog.errors import InvalidInput, NotFound
from catalog.models import (
    Order,
    Product,
    Shop,
    Vendor,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
)
from catalog.outbox import enqueue_notification
from catalog.webhook_targets import check_endpoint_url

EVENT_TYPES = (
    "order.created",
    "order.paid",
    "order.status_changed",
    "stock.changed",
    "product.sold_out",
)
#: retries go on at least this long after the event, then the endpoint is disabled
RETRY_WINDOW = timedelta(hours=24)
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=4)


def new_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


async def create_endpoint(
    session: AsyncSession,
    *,
    url: str,
    events: Sequence[str],
    now: datetime,
    shop: Shop | None = None,
    market_id: int | None = None,
    description: str = "",
    allow_private_urls: bool = False,
) -> WebhookEndpoint:
    """Register a URL for some events of one shop, or of every shop of one market.

    The URL must be https to a public host (catalog/webhook_targets.py); `allow_private_urls`
    also lets http and local addresses through, for development and tests.
    """
    if (shop is None) == (market_id is None):
        raise InvalidInput("an endpoint belongs to exactly one shop or one market", "shop")
    url = check_endpoint_url(url, allow_private=allow_private_urls)
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown or not events:
        raise InvalidInput(f"unknown or no event types: {unknown}", "events")
    endpoint = WebhookEndpoint(
        shop_id=shop.id if shop else None,
        market_id=market_id,
        url=url,
        secret=new_secret(),
        events=sorted(set(events)),
        description=description,
        enabled=True,
        failure_count=0,
        created_at=now,
        updated_at=now,
    )
    session.add(endpoint)
    await session.flush()
    session.info.pop("webhook_endpoints", None)
    return endpoint


async def get_endpoint(session: AsyncSession, endpoint_id: int) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound("webhook endpoint", endpoint_id)
    return endpoint


async def list_endpoints(session: AsyncSession, *, shop_id: int | None) -> list[WebhookEndpoint]:
    """Every endpoint (shop_id None: all of them, for the admin) or one shop's."""
    query = select(WebhookEndpoint).order_by(WebhookEndpoint.id)
    if shop_id is not None:
        query = query.where(WebhookEndpoint.shop_id == shop_id)
    return list(await session.scalars(query))


async def delete_endpoint(session: AsyncSession, endpoint: WebhookEndpoint) -> None:
    """Remove an endpoint and its delivery log."""
    await session.delete(endpoint)
    await session.flush()
    session.info.pop("webhook_endpoints", None)


async def list_deliveries(
    session: AsyncSession, endpoint: WebhookEndpoint, *, limit: int = 100
) -> list[WebhookDelivery]:
    """An endpoint's deliveries, newest first."""
    rows = await session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    )
    return list(rows)


async def replay_delivery(
    session: AsyncSession, delivery_id: int, *, now: datetime
) -> WebhookDelivery:
    """Send a delivery again now, with the same `webhook-id`; re-enables its endpoint."""
    delivery = await session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise NotFound("webhook delivery", delivery_id)
    delivery.status = WebhookDeliveryStatus.PENDING
    delivery.next_attempt_at = now
    delivery.lease_until = None
    endpoint = await session.get(WebhookEndpoint, delivery.endpoint_id)
    assert endpoint is not None
    if not endpoint.enabled:
        endpoint.enabled = True
        endpoint.failure_count = 0
        endpoint.disabled_at = None
        endpoint.disabled_reason = ""
        endpoint.updated_at = now
    await session.flush()
    return delivery


# --- emitting events -----------------------------------------------------------------------


async def emit_event(
    session: AsyncSession, shop_id: int, event_type: str, data: dict[str, Any], *, now: datetime
) -> int:
    """Write one delivery per enabled endpoint of the shop (or its market) that wants the event.

    Runs in the caller's transaction: a rolled-back change sends nothing. Returns the count.
    """
    endpoints = await _subscribed_endpoints(session, shop_id)
    body = {"type": event_type, "timestamp": now.isoformat(), "data": data}
    written = 0
    for endpoint in endpoints:
        if event_type not in endpoint.events:
            continue
        session.add(
            WebhookDelivery(
                endpoint_id=endpoint.id,
                message_id="msg_" + uuid.uuid4().hex,
                event_type=event_type,
                payload=body,
                status=WebhookDeliveryStatus.PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
        written += 1
    if written:
        session.info["webhooks_written"] = True
    return written


async def _subscribed_endpoints(session: AsyncSession, shop_id: int) -> list[WebhookEndpoint]:
    # looked up once per shop and transaction: an order emits several events, and the
    # flash-sale path should pay one query for them, not one per event
    transaction = session.sync_session.get_transaction()
    held = session.info.get("webhook_endpoints")
    if held is None or held[0] is not transaction:
        held = session.info["webhook_endpoints"] = (transaction, {})
    cache: dict[int, list[WebhookEndpoint]] = held[1]
    if shop_id not in cache:
        # the shop's market in the same query (a shop without one matches no market endpoint:
        # NULL equals nothing): one round trip, inside the flash sale's stock row lock
        market_id = select(Shop.market_id).where(Shop.id == shop_id).scalar_subquery()
        scope = or_(WebhookEndpoint.shop_id == shop_id, WebhookEndpoint.market_id == market_id)
        cache[shop_id] = list(
            await session.scalars(
                select(WebhookEndpoint).where(scope, WebhookEndpoint.enabled.is_(True))
            )
        )
    return cache[shop_id]


def order_event_data(order: Order) -> dict[str, Any]:
    return {
        "order_code": order.code,
        "shop_id": order.shop_id,
        "status": order.status.value,
        "total": order.total,
        "currency": order.currency,
    }


async def emit_order_event(
    session: AsyncSession, order: Order, event_type: str, *, now: datetime, **extra: Any
) -> None:
    """An order event (order.created, order.paid, order.status_changed)."""
    await emit_event(
        session, order.shop_id, event_type, {**order_event_data(order), **extra}, now=now
    )


async def emit_stock_events(
    session: AsyncSession,
    product_ids: Collection[int],
    *,
    now: datetime,
    may_sell_out: bool = True,
) -> None:
    """stock.changed for each product; product.sold_out for those at 0 available when the
    change took units away (`may_sell_out`), so a payment of the last box says it once."""
    if not product_ids:
        return
    rows = (
        await session.execute(
            select(
                Product.id,
                Product.shop_id,
                Product.sku,
                Product.available,
                Product.reserved,
                Product.stock_version,
            )
            .where(Product.id.in_(sorted(product_ids)))
            .order_by(Product.id)
        )
    ).all()
    for row in rows:
        data = {
            "shop_id": row.shop_id,
            "sku": row.sku,
            "available": row.available,
            "reserved": row.reserved,
            "version": row.stock_version,
        }
        await emit_event(session, row.shop_id, "stock.changed", data, now=now)
        if may_sell_out and row.available == 0:
            await emit_event(session, row.shop_id, "product.sold_out", data, now=now)


# --- the delivery worker's side ------------------------------------------------------------


async def claim_due_deliveries(
    session: AsyncSession, *, now: datetime, limit: int, lease_seconds: float
) -> list[WebhookDelivery]:
    """Claim due deliveries of enabled endpoints (and ones whose worker died mid-delivery).

    Webhooks are at-least-once: a delivery whose lease ran out is sent again with the same
    `webhook-id`, so a worker killed mid-POST loses no event. SKIP LOCKED on PostgreSQL lets
    several instances share the work.
    """
    query = (
        select(WebhookDelivery)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookEndpoint.enabled.is_(True),
            or_(
                (WebhookDelivery.status == WebhookDeliveryStatus.PENDING)
                & (WebhookDelivery.next_attempt_at <= now),
                (WebhookDelivery.status == WebhookDeliveryStatus.SENDING)
                & (WebhookDelivery.lease_until < now),
            ),
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )
    if is_postgres(session):
        query = query.with_for_update(of=WebhookDelivery, skip_locked=True)
    rows = list(await session.scalars(query))
    for row in rows:
        row.status = WebhookDeliveryStatus.SENDING
        row.lease_until = now + timedelta(seconds=lease_seconds)
        row.attempts += 1
    await session.flush()
    return rows


def retry_delay(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with full jitter between half and all of the step (30 s, 1 min, ...)."""
    step = min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_RETRY)
    factor = (rng or random).uniform(0.5, 1.0)
    return timedelta(seconds=step.total_seconds() * factor)


async def record_delivered(
    session: AsyncSession, delivery_id: int, *, status_code: int, now: datetime
) -> None:
    """The endpoint answered 2xx."""
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .values(
            status=WebhookDeliveryStatus.DELIVERED,
            delivered_at=now,
            lease_until=None,
            last_status_code=status_code,
            last_error="",
        )
        .execution_options(synchronize_session=False)
    )
    endpoint_id = select(WebhookDelivery.endpoint_id).where(WebhookDelivery.id == delivery_id)
    await session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id.scalar_subquery())
        .values(failure_count=0)
        .execution_options(synchronize_session=False)
    )


async def record_failure(
    session: AsyncSession,
    delivery: WebhookDelivery,
    *,
    status_code: int | None,
    error: str,
    now: datetime,
    retry_window: timedelta = RETRY_WINDOW,
) -> bool:
    """Schedule the next try with backoff; after `retry_window` give up and disable the
    endpoint, alerting the shop's vendors. Returns True when the endpoint was disabled."""
    deadline = delivery.created_at + retry_window
    values: dict[str, Any] = {
        "lease_until": None,
        "last_status_code": status_code,
        "last_error": error[:300],
    }
    gave_up = now >= deadline
    if gave_up:
        values["status"] = WebhookDeliveryStatus.FAILED
    else:
        values["status"] = WebhookDeliveryStatus.PENDING
        # the last try lands on the deadline itself: retries cover the whole window
        values["next_attempt_at"] = min(now + retry_delay(delivery.attempts), deadline)
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    endpoint = await session.get(WebhookEndpoint, delivery.endpoint_id)
    assert endpoint is not None
    endpoint.failure_count += 1
    if gave_up and endpoint.enabled:
        await disable_endpoint(
            session, endpoint, reason=f"no success for {retry_window}: {error}", now=now
        )
        return True
    return False


async def disable_endpoint(
    session: AsyncSession, endpoint: WebhookEndpoint, *, reason: str, now: datetime
) -> None:
    """Stop delivering to an endpoint that keeps failing, and tell the shop's vendors."""
    endpoint.enabled = False
    endpoint.disabled_at = now
    endpoint.disabled_reason = reason[:300]
    endpoint.updated_at = now
    if endpoint.shop_id is None:
        return  # a market's endpoint: the admin sees it in the API
    vendors = await session.scalars(
        select(Vendor).where(Vendor.shop_id == endpoint.shop_id).order_by(Vendor.id)
    )
    for vendor in vendors:
        await enqueue_notification(
            session,
            chat_id=vendor.chat_id,
            kind="webhook_disabled",
            data={"endpoint_id": endpoint.id, "url": endpoint.url, "shop_id": endpoint.shop_id},
            ref=f"webhook_endpoint:{endpoint.id}",
            dedupe_key=f"webhook_endpoint:{endpoint.id}:disabled:{now.isoformat()}:{vendor.id}",
            now=now,
        )
