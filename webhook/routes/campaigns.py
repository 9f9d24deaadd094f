"""Campaign staff (`/api/v1/markets/{market}/staff/{telegram_user_id}`) and broadcasts
(`/api/v1/broadcasts`: create a draft, confirm now or at a time, cancel, stats)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Path, Response

from catalog.broadcasts import (
    BroadcastDraft,
    broadcast_audience,
    cancel_broadcast,
    confirm_broadcast,
    create_broadcast,
    get_broadcast,
)
from catalog.campaign_staff import add_staff, list_staff, remove_staff
from catalog.delivery_stats import broadcast_stats
from catalog.models import Broadcast, BroadcastStatus
from catalog.shops import get_market, get_shop
from catalog.shows import as_utc
from webhook.deps import Authorized, NowDep, SessionDep
from webhook.schemas import (
    BroadcastConfirm,
    BroadcastIn,
    BroadcastOut,
    DeliveryStatsOut,
    StaffIn,
    StaffOut,
)

router = APIRouter(prefix="/api/v1", tags=["campaigns"], dependencies=[Authorized])

MarketPath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$", examples=["gwangjang"])]
UserPath = Annotated[int, Path(ge=1, le=2**63 - 1)]
BroadcastPath = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/markets/{market}/staff", response_model=list[StaffOut])
async def list_staff_route(market: MarketPath, session: SessionDep) -> list[StaffOut]:
    """The market's campaign staff: who gets the /campaign menu."""
    return [
        StaffOut(market=market, telegram_user_id=m.telegram_user_id, name=m.name)
        for m in await list_staff(session, market)
    ]


@router.put(
    "/markets/{market}/staff/{telegram_user_id}",
    response_model=StaffOut,
    responses={201: {"model": StaffOut, "description": "added"}},
)
async def put_staff(
    market: MarketPath,
    telegram_user_id: UserPath,
    body: StaffIn,
    session: SessionDep,
    now: NowDep,
    response: Response,
) -> StaffOut:
    """Put a Telegram user on the market's campaign staff."""
    member, created = await add_staff(session, market, telegram_user_id, name=body.name, now=now)
    response.status_code = 201 if created else 200
    return StaffOut(market=market, telegram_user_id=member.telegram_user_id, name=member.name)


@router.delete("/markets/{market}/staff/{telegram_user_id}", status_code=204)
async def delete_staff(
    market: MarketPath, telegram_user_id: UserPath, session: SessionDep
) -> Response:
    """Take a Telegram user off the market's campaign staff."""
    await remove_staff(session, market, telegram_user_id)
    return Response(status_code=204)


async def broadcast_out(
    session: SessionDep, broadcast: Broadcast, *, with_audience: bool = False
) -> BroadcastOut:
    audience = None
    if with_audience and broadcast.status is BroadcastStatus.DRAFT:
        audience = len(await broadcast_audience(session, broadcast))
    return BroadcastOut(
        id=broadcast.id,
        status=broadcast.status,
        segment=broadcast.segment,
        language=broadcast.language,
        text=broadcast.text,
        photo=broadcast.photo,
        button_text=broadcast.button_text,
        button_url=broadcast.button_url,
        send_at=broadcast.send_at,
        enqueued_at=broadcast.enqueued_at,
        recipients=broadcast.recipients,
        audience=audience,
    )


@router.post("/broadcasts", response_model=BroadcastOut, status_code=201)
async def post_broadcast(body: BroadcastIn, session: SessionDep, now: NowDep) -> BroadcastOut:
    """A draft broadcast; `audience` says how many it would reach. Confirm it to send."""
    market_id = (await get_market(session, body.market)).id if body.market else None
    shop_id = (await get_shop(session, body.shop)).id if body.shop else None
    broadcast = await create_broadcast(
        session,
        BroadcastDraft(
            segment=body.segment,
            text=body.text,
            market_id=market_id,
            shop_id=shop_id,
            show_id=body.show,
            language=body.language,
            photo=body.photo,
            button_text=body.button_text,
            button_url=body.button_url,
        ),
        created_by="api",
        now=now,
    )
    return await broadcast_out(session, broadcast, with_audience=True)


@router.get("/broadcasts/{broadcast_id}", response_model=BroadcastOut)
async def get_broadcast_route(broadcast_id: BroadcastPath, session: SessionDep) -> BroadcastOut:
    return await broadcast_out(
        session, await get_broadcast(session, broadcast_id), with_audience=True
    )


@router.post("/broadcasts/{broadcast_id}/confirm", response_model=BroadcastOut)
async def confirm_broadcast_route(
    broadcast_id: BroadcastPath, body: BroadcastConfirm, session: SessionDep, now: NowDep
) -> BroadcastOut:
    """Send the draft now (its outbox rows are written in this request), or at `send_at`
    (naive: UTC). A second confirm is a 409."""
    broadcast = await get_broadcast(session, broadcast_id)
    send_at = as_utc(body.send_at, "UTC", "send_at") if body.send_at is not None else None
    return await broadcast_out(
        session, await confirm_broadcast(session, broadcast, now=now, send_at=send_at)
    )


@router.post("/broadcasts/{broadcast_id}/cancel", response_model=BroadcastOut)
async def cancel_broadcast_route(
    broadcast_id: BroadcastPath, session: SessionDep, now: NowDep
) -> BroadcastOut:
    """Cancel a draft or a scheduled broadcast; 409 once it is enqueued."""
    broadcast = await get_broadcast(session, broadcast_id)
    await cancel_broadcast(session, broadcast, now=now)
    return await broadcast_out(session, await get_broadcast(session, broadcast_id))


@router.get("/broadcasts/{broadcast_id}/stats", response_model=DeliveryStatsOut)
async def broadcast_stats_route(
    broadcast_id: BroadcastPath, session: SessionDep
) -> DeliveryStatsOut:
    """Reached, failed by reason, blocked, stream taps and attributed orders."""
    stats = await broadcast_stats(session, await get_broadcast(session, broadcast_id))
    return DeliveryStatsOut(**asdict(stats))
