"""The pay page: `/pay/{token}` shows an order and opens PortOne's checkout for it.

The link carries only the order's opaque pay token. The browser never decides anything: the
start call opens a payment attempt for exactly the order's total, and the done page reads the
payment back from PortOne (the same check a webhook triggers) before it says "paid".
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from catalog.errors import NotFound
from catalog.models import Order, OrderStatus, Payment, PaymentProvider
from catalog.orders import get_order_by_pay_token
from catalog.payments import find_payment, pay_page_url, start_payment
from catalog.qr import qr_png, qr_svg
from webhook.context import WebContext
from webhook.deps import ContextDep, NowDep, SessionDep
from webhook.pay_pages import (
    PageText,
    done_page,
    not_found_page,
    order_name,
    pay_page,
    status_page,
)
from webhook.payment_sync import portone_client, sync_portone_payment
from webhook.portone import PortOneError, PortOneRejected
from webhook.problems import problem

log = logging.getLogger(__name__)

router = APIRouter(tags=["pay page"])

#: the pay method the button opens; PortOne's channel decides which cards and easy pays show
PAY_METHOD = "CARD"
PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "strict-origin"}


class PaymentRequest(BaseModel):
    """What the page passes to `PortOne.requestPayment` (PortOne V2 browser SDK)."""

    storeId: str
    channelKey: str
    paymentId: str
    orderName: str
    totalAmount: int
    currency: str = Field(description='the SDK\'s currency name, e.g. "CURRENCY_KRW"')
    payMethod: str
    redirectUrl: str


def public_base(ctx: WebContext, request: Request) -> str:
    """Where customers reach livecart: LIVECART_PUBLIC_BASE_URL, or this request's address."""
    return (ctx.public_base_url or str(request.base_url)).rstrip("/")


def _html(content: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(content, status_code=status_code, headers=PAGE_HEADERS)


def _payable(order: Order, now: Any) -> bool:
    return order.status is OrderStatus.PENDING_PAYMENT and (
        order.expires_at is None or order.expires_at > now
    )


@router.get("/pay/{token}", response_class=HTMLResponse)
async def show_pay_page(
    token: str, request: Request, ctx: ContextDep, session: SessionDep, now: NowDep
) -> HTMLResponse:
    """The order, its total and deadline, and a pay button (or what became of the order)."""
    try:
        order = await get_order_by_pay_token(session, token)
    except NotFound:
        return _html(not_found_page(ctx.default_locale), 404)
    text = PageText(order.shop)
    if not _payable(order, now):
        return _html(status_page(order, text, now=now))
    link = pay_page_url(public_base(ctx, request), token)
    return _html(
        pay_page(
            order,
            text,
            pay_link=link,
            start_url=f"/pay/{token}/start",
            done_url=f"/pay/{token}/done",
            qr_url=f"/pay/{token}/qr.svg",
            sdk_url=ctx.portone_browser_sdk_url if ctx.pay_page_ready else None,
        )
    )


@router.post("/pay/{token}/start", response_model=PaymentRequest)
async def start_pay(
    token: str, request: Request, ctx: ContextDep, session: SessionDep, now: NowDep
) -> PaymentRequest | JSONResponse:
    """Open a payment attempt for the order's exact total; 409 when it can't be paid now."""
    if not ctx.pay_page_ready:
        return problem(404, detail="online payments are not configured")
    assert ctx.portone_store_id is not None and ctx.portone_channel_key is not None
    order = await get_order_by_pay_token(session, token)  # NotFound: 404 problem
    payment = await start_payment(session, order, PaymentProvider.PORTONE, now=now)
    return PaymentRequest(
        storeId=ctx.portone_store_id,
        channelKey=ctx.portone_channel_key,
        paymentId=payment.provider_payment_id,
        orderName=order_name(order, PageText(order.shop)),
        totalAmount=payment.amount,
        currency=f"CURRENCY_{payment.currency}",
        payMethod=PAY_METHOD,
        redirectUrl=f"{public_base(ctx, request)}/pay/{token}/done",
    )


@router.get("/pay/{token}/done", response_class=HTMLResponse)
async def pay_done(
    token: str,
    request: Request,
    ctx: ContextDep,
    payment_id: Annotated[str | None, Query(alias="paymentId", max_length=100)] = None,
    code: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    """Back from PortOne: read the payment back from PortOne, apply it, and say how it went."""
    order, payment = await _order_and_payment(ctx, token, payment_id)
    if order is None:
        return _html(not_found_page(ctx.default_locale), 404)
    checked = True
    if payment is not None and ctx.portone_configured:
        try:
            async with portone_client(ctx) as portone:
                await sync_portone_payment(ctx, portone, payment.provider_payment_id)
        except PortOneRejected as exc:
            # PAYMENT_NOT_FOUND: the window closed before PortOne recorded anything
            log.info("PortOne refused to show payment %s: %s", payment.provider_payment_id, exc)
        except PortOneError as exc:
            log.warning("could not check PortOne payment %s: %s", payment.provider_payment_id, exc)
            checked = code is not None
        order, payment = await _order_and_payment(ctx, token, payment_id)
        assert order is not None
    return _html(
        done_page(
            order,
            payment,
            PageText(order.shop),
            checked=checked,
            failed_in_browser=code is not None,
            pay_url=f"/pay/{token}",
        )
    )


@router.get("/pay/{token}/qr.svg")
async def pay_qr_svg(
    token: str, request: Request, ctx: ContextDep, session: SessionDep
) -> Response:
    """The pay link as an SVG QR code, for a customer on a computer who pays by phone."""
    link = await _pay_link(ctx, request, session, token)
    if link is None:
        return problem(404, detail="no such pay link")
    return Response(qr_svg(link), media_type="image/svg+xml", headers=PAGE_HEADERS)


@router.get("/pay/{token}/qr.png")
async def pay_qr_png(
    token: str, request: Request, ctx: ContextDep, session: SessionDep
) -> Response:
    """The pay link as a PNG QR code (chat messages, posters)."""
    link = await _pay_link(ctx, request, session, token)
    if link is None:
        return problem(404, detail="no such pay link")
    return Response(qr_png(link), media_type="image/png", headers=PAGE_HEADERS)


async def _pay_link(ctx: WebContext, request: Request, session: Any, token: str) -> str | None:
    try:
        await get_order_by_pay_token(session, token)
    except NotFound:
        return None
    return pay_page_url(public_base(ctx, request), token)


async def _order_and_payment(
    ctx: WebContext, token: str, payment_id: str | None
) -> tuple[Order | None, Payment | None]:
    """The order of the link and, if `payment_id` is one of its attempts, that payment."""
    async with ctx.sessionmaker() as session:
        try:
            order = await get_order_by_pay_token(session, token)
        except NotFound:
            return None, None
        payment = None
        if payment_id:
            payment = await find_payment(session, PaymentProvider.PORTONE, payment_id)
            if payment is not None and payment.order_id != order.id:
                payment = None  # someone else's payment id: not this page's business
    return order, payment
