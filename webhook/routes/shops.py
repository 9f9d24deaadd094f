"""PUT/GET /api/v1/shops/{shop}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response
from fastapi.responses import HTMLResponse

from catalog.models import Shop
from catalog.shops import list_shops, upsert_shop
from webhook.deps import AdminOnly, ContextDep, NowDep, SessionDep, ShopDep
from webhook.poster import render_poster
from webhook.schemas import ShopIn, ShopOut

router = APIRouter(prefix="/api/v1/shops", tags=["shops"], dependencies=[AdminOnly])

BotUsername = Annotated[
    str | None,
    Query(
        pattern=r"^[A-Za-z][A-Za-z0-9_]{4,31}$",
        description="the bot's @username (default: the running bot's)",
    ),
]
SlugPath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$", examples=["ganada"])]


def shop_out(shop: Shop, market_slug: str | None) -> ShopOut:
    data = {
        column: getattr(shop, column) for column in ShopOut.model_fields if hasattr(shop, column)
    }
    data.update(market=market_slug, deep_link_payload=f"shop_{shop.slug}")
    return ShopOut.model_validate(data)


async def _market_slug(session: SessionDep, shop: Shop) -> str | None:
    await session.refresh(shop, ["market"])
    return shop.market.slug if shop.market else None


@router.get("", response_model=list[ShopOut])
async def list_all_shops(session: SessionDep, market: str | None = None) -> list[ShopOut]:
    """Every shop, optionally of one market."""
    shops = await list_shops(session, market)
    return [shop_out(shop, await _market_slug(session, shop)) for shop in shops]


@router.put(
    "/{shop}",
    response_model=ShopOut,
    responses={201: {"model": ShopOut, "description": "created"}},
)
async def put_shop(
    shop: SlugPath, body: ShopIn, session: SessionDep, now: NowDep, response: Response
) -> ShopOut:
    """Create the shop or update the fields given."""
    fields = body.model_dump(exclude_unset=True, exclude_none=True, exclude={"market"})
    record, created = await upsert_shop(
        session, slug=shop, now=now, market_slug=body.market, fields=fields
    )
    response.status_code = 201 if created else 200
    return shop_out(record, await _market_slug(session, record))


@router.get("/{shop}", response_model=ShopOut)
async def get_shop_route(shop: ShopDep, session: SessionDep) -> ShopOut:
    """One shop, with the seller identity it shows customers."""
    return shop_out(shop, await _market_slug(session, shop))


@router.get("/{shop}/poster", response_class=HTMLResponse)
async def get_shop_poster(shop: ShopDep, ctx: ContextDep, bot: BotUsername = None) -> HTMLResponse:
    """A printable A4 poster (HTML, print it from the browser) with the shop's QR code."""
    username = bot or ctx.bot_username
    if not username:
        raise HTTPException(
            status_code=503,
            detail="the bot's username is not known yet (it has not reached Telegram); "
            "pass ?bot=<username>",
        )
    market = shop.market  # loaded with the shop
    html = render_poster(shop, bot_username=username, market_name=market.name if market else None)
    return HTMLResponse(html)
