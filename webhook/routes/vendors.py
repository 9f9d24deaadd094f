"""POST /api/v1/shops/{shop}/vendor-invites, GET and DELETE /api/v1/shops/{shop}/vendors."""

from __future__ import annotations

from fastapi import APIRouter, Response

from catalog.deep_links import link, vendor_invite_payload
from catalog.vendors import create_invite, remove_vendor, shop_vendors
from webhook.deps import AdminOnly, ContextDep, NowDep, SessionDep, ShopDep
from webhook.schemas import VendorInviteIn, VendorInviteOut, VendorOut

router = APIRouter(prefix="/api/v1/shops", tags=["vendors"], dependencies=[AdminOnly])


@router.post("/{shop}/vendor-invites", status_code=201, response_model=VendorInviteOut)
async def post_vendor_invite(
    shop: ShopDep, body: VendorInviteIn, session: SessionDep, now: NowDep, ctx: ContextDep
) -> VendorInviteOut:
    """A one-time link that makes whoever opens it an owner or staff member of the shop."""
    hours = ctx.vendor_invite_hours
    invite, token = await create_invite(
        session, shop, role=body.role, created_by="admin", now=now, hours=hours
    )
    payload = vendor_invite_payload(token)
    return VendorInviteOut(
        role=body.role,
        payload=payload,
        link=link(ctx.bot_username, payload) if ctx.bot_username else None,
        expires_at=invite.expires_at,
    )


@router.get("/{shop}/vendors", response_model=list[VendorOut])
async def list_shop_vendors(shop: ShopDep, session: SessionDep) -> list[VendorOut]:
    """Everyone who runs the shop, owners first."""
    return [VendorOut.model_validate(v) for v in await shop_vendors(session, shop.id)]


@router.delete("/{shop}/vendors/{vendor_id}", status_code=204)
async def delete_vendor(shop: ShopDep, vendor_id: int, session: SessionDep) -> Response:
    """Take someone off the shop; the last owner stays (409 last_owner)."""
    await remove_vendor(session, shop.id, vendor_id, by=None)
    return Response(status_code=204)
