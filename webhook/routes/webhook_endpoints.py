"""Merchant webhook endpoints and their deliveries: register, list, delete, replay."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response
from sqlalchemy import select

from catalog.errors import InvalidInput
from catalog.models import Market, Shop, WebhookDelivery, WebhookEndpoint
from catalog.shops import get_market, get_shop
from catalog.webhook_events import (
    create_endpoint,
    delete_endpoint,
    get_endpoint,
    list_deliveries,
    list_endpoints,
    replay_delivery,
)
from webhook.deps import Authorized, ContextDep, NowDep, Principal, PrincipalDep, SessionDep
from webhook.schemas import (
    WebhookDeliveryOut,
    WebhookEndpointCreated,
    WebhookEndpointIn,
    WebhookEndpointOut,
)

router = APIRouter(prefix="/api/v1", tags=["webhooks"], dependencies=[Authorized])


async def _endpoint_out(session: SessionDep, endpoint: WebhookEndpoint) -> WebhookEndpointOut:
    shop = await session.scalar(select(Shop.slug).where(Shop.id == endpoint.shop_id))
    market = await session.scalar(select(Market.slug).where(Market.id == endpoint.market_id))
    return WebhookEndpointOut(
        id=endpoint.id,
        url=endpoint.url,
        events=list(endpoint.events),
        shop=shop,
        market=market,
        description=endpoint.description,
        enabled=endpoint.enabled,
        failure_count=endpoint.failure_count,
        disabled_at=endpoint.disabled_at,
        disabled_reason=endpoint.disabled_reason,
        created_at=endpoint.created_at,
    )


def _check_scope(principal: Principal, endpoint: WebhookEndpoint) -> None:
    if principal.shop_id is not None and endpoint.shop_id != principal.shop_id:
        raise HTTPException(status_code=403, detail="this token belongs to another shop")


async def _own_endpoint(
    session: SessionDep, principal: Principal, endpoint_id: int
) -> WebhookEndpoint:
    endpoint = await get_endpoint(session, endpoint_id)
    _check_scope(principal, endpoint)
    return endpoint


@router.post("/webhook-endpoints", status_code=201, response_model=WebhookEndpointCreated)
async def post_webhook_endpoint(
    body: WebhookEndpointIn,
    session: SessionDep,
    now: NowDep,
    principal: PrincipalDep,
    ctx: ContextDep,
) -> WebhookEndpointCreated:
    """Register a URL for events of one shop or one market; the signing secret is shown once.

    The URL must be https to a public server: local and private network addresses are
    refused (422) unless LIVECART_WEBHOOK_ALLOW_PRIVATE_URLS is set.
    """
    if (body.shop is None) == (body.market is None):
        raise InvalidInput("give exactly one of shop or market", "shop")
    shop = await get_shop(session, body.shop) if body.shop else None
    market = await get_market(session, body.market) if body.market else None
    if principal.shop_id is not None and (shop is None or shop.id != principal.shop_id):
        raise HTTPException(status_code=403, detail="a shop token registers for its shop only")
    endpoint = await create_endpoint(
        session,
        url=body.url,
        events=body.events,
        now=now,
        shop=shop,
        market_id=market.id if market else None,
        description=body.description,
        allow_private_urls=ctx.webhook_allow_private_urls,
    )
    out = await _endpoint_out(session, endpoint)
    return WebhookEndpointCreated(**out.model_dump(), secret=endpoint.secret)


@router.get("/webhook-endpoints", response_model=list[WebhookEndpointOut])
async def get_webhook_endpoints(
    session: SessionDep, principal: PrincipalDep
) -> list[WebhookEndpointOut]:
    """The caller's endpoints (the admin sees every one)."""
    endpoints = await list_endpoints(session, shop_id=principal.shop_id)
    return [await _endpoint_out(session, e) for e in endpoints]


@router.delete("/webhook-endpoints/{endpoint_id}", status_code=204)
async def delete_webhook_endpoint(
    endpoint_id: int, session: SessionDep, principal: PrincipalDep
) -> Response:
    """Remove an endpoint and its delivery log."""
    await delete_endpoint(session, await _own_endpoint(session, principal, endpoint_id))
    return Response(status_code=204)


@router.get("/webhook-endpoints/{endpoint_id}/deliveries", response_model=list[WebhookDeliveryOut])
async def get_webhook_deliveries(
    endpoint_id: int,
    session: SessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[WebhookDeliveryOut]:
    """An endpoint's deliveries, newest first, with their attempts and last error."""
    endpoint = await _own_endpoint(session, principal, endpoint_id)
    rows = await list_deliveries(session, endpoint, limit=limit)
    return [WebhookDeliveryOut.model_validate(r) for r in rows]


@router.post("/webhook-deliveries/{delivery_id}/replay", response_model=WebhookDeliveryOut)
async def post_replay(
    delivery_id: int, session: SessionDep, now: NowDep, principal: PrincipalDep
) -> WebhookDeliveryOut:
    """Send a delivery again now, with the same webhook-id; re-enables a disabled endpoint."""
    delivery = await session.get(WebhookDelivery, delivery_id)
    if delivery is not None:
        await _own_endpoint(session, principal, delivery.endpoint_id)
    replayed = await replay_delivery(session, delivery_id, now=now)
    return WebhookDeliveryOut.model_validate(replayed)
