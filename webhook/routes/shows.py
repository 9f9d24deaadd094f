"""PUT/GET/DELETE /api/v1/shows/{id}, the list with filters, and a show's delivery stats."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from catalog.delivery_stats import show_stats
from catalog.models import Show
from catalog.shows import FeaturedInput, delete_show, get_show, list_shows, upsert_show
from webhook.deps import Authorized, ContextDep, NowDep, SessionDep
from webhook.schemas import DeliveryStatsOut, FeaturedOut, ShowIn, ShowOut

router = APIRouter(prefix="/api/v1/shows", tags=["shows"], dependencies=[Authorized])

ShowId = Annotated[int, Path(ge=1, le=2**53, examples=[7])]


def show_out(show: Show) -> ShowOut:
    return ShowOut(
        id=show.id,
        market=show.market.slug if show.market else None,
        shop=show.shop.slug if show.shop else None,
        title=show.title,
        description=show.description,
        starts_at=show.starts_at,
        ends_at=show.ends_at,
        timezone=show.timezone,
        stream_url=show.stream_url,
        cover_url=show.cover_url,
        sold_out_updates=show.sold_out_updates,
        replay_url=show.replay_url,
        send_replay=show.send_replay,
        replay_sent_at=show.replay_enqueued_at,
        products=[
            FeaturedOut(
                shop=item.product.shop.slug,
                sku=item.product.sku,
                name=item.product.name,
                price=item.product.price,
                live_price=item.live_price,
                available=item.product.available,
            )
            for item in show.featured
        ],
        deep_link_payload=f"show_{show.id}",
    )


@router.get("", response_model=list[ShowOut])
async def list_all_shows(
    session: SessionDep,
    now: NowDep,
    market: str | None = None,
    shop: str | None = None,
    starts_from: Annotated[datetime | None, Query(alias="from")] = None,
    starts_until: Annotated[datetime | None, Query(alias="until")] = None,
    upcoming: bool = False,
) -> list[ShowOut]:
    """Shows by start time; filter by market (its shops' too), shop, start time range
    (`from` inclusive, `until` exclusive), or `upcoming` (not yet ended)."""
    shows = await list_shows(
        session,
        market=market,
        shop=shop,
        starts_from=starts_from,
        starts_until=starts_until,
        ending_after=now if upcoming else None,
    )
    return [show_out(show) for show in shows]


@router.put(
    "/{show_id}",
    response_model=ShowOut,
    responses={201: {"model": ShowOut, "description": "created"}},
)
async def put_show(
    show_id: ShowId,
    body: ShowIn,
    session: SessionDep,
    now: NowDep,
    ctx: ContextDep,
    response: Response,
) -> ShowOut:
    """Create the show or update the fields given; `products` replaces the featured list."""
    fields = body.model_dump(exclude_unset=True, exclude={"products"})
    featured = (
        [FeaturedInput(p.sku, p.shop or "", p.live_price) for p in body.products]
        if body.products is not None
        else None
    )
    show, created = await upsert_show(
        session,
        show_id,
        now=now,
        fields=fields,
        featured=featured,
        default_timezone=ctx.timezone,
    )
    response.status_code = 201 if created else 200
    return show_out(show)


@router.get("/{show_id}", response_model=ShowOut)
async def get_show_route(show_id: ShowId, session: SessionDep) -> ShowOut:
    """One show with its featured products."""
    return show_out(await get_show(session, show_id))


@router.delete("/{show_id}", status_code=204)
async def delete_show_route(show_id: ShowId, session: SessionDep) -> Response:
    """Delete a show; reminders not yet sent are dropped when their turn comes."""
    await delete_show(session, show_id)
    return Response(status_code=204)


@router.get("/{show_id}/stats", response_model=DeliveryStatsOut)
async def show_stats_route(show_id: ShowId, session: SessionDep) -> DeliveryStatsOut:
    """Reminders and sold-out updates: reached, failed by reason, blocked, stream taps, and
    orders attributed (paid, by a recipient, within 24 h of the first message)."""
    stats = await show_stats(session, await get_show(session, show_id))
    return DeliveryStatsOut(**asdict(stats))
