"""POST /payments/{provider}/webhook: a provider says a payment changed; livecart checks.

The body is only a trigger. The signature is verified over the raw bytes (Standard Webhooks),
then the payment is read back from the provider's API, and only that answer is applied.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from standardwebhooks import Webhook, WebhookVerificationError

from catalog.models import PaymentProvider, PaymentStatus
from catalog.payments import (
    PaymentOutcome,
    PaymentResult,
    apply_provider_payment,
    find_payment,
    record_event,
)
from webhook.context import WebContext
from webhook.deps import ContextDep
from webhook.portone import PortOneClient, PortOneError, PortOnePayment, PortOneRejected
from webhook.problems import PROBLEM_BASE, problem

log = logging.getLogger(__name__)

router = APIRouter(tags=["payments"])


@router.post("/payments/{provider}/webhook", include_in_schema=False)
async def payment_webhook(provider: str, request: Request, ctx: ContextDep) -> JSONResponse:
    """Answer 2xx once the notification is applied (or known); 5xx asks the provider to retry.

    401: bad signature or a timestamp more than 5 minutes off, nothing changes. 503: the
    provider's API could not be read, the order stays as it was and the retry will apply it.
    """
    if provider != PaymentProvider.PORTONE.value:
        return problem(404, detail=f"no payment provider {provider!r}")
    if not ctx.portone_configured:
        return problem(404, detail="payments are not configured")
    assert ctx.portone_webhook_secret is not None
    body = await request.body()
    try:
        # checks the timestamp against the wall clock (not ctx.clock): freshness is a fact
        # about the real world, and the provider signs with real time
        Webhook(ctx.portone_webhook_secret).verify(body, dict(request.headers), json_parse=False)
    except (WebhookVerificationError, ValueError) as exc:
        return problem(
            401, detail=f"webhook signature rejected: {exc}", type=PROBLEM_BASE + "signature"
        )
    event_id = request.headers["webhook-id"]
    try:
        event: Any = json.loads(body)
    except ValueError:
        return problem(400, detail="the body is not JSON")
    data = event.get("data") if isinstance(event, dict) else None
    payment_id = data.get("paymentId") if isinstance(data, dict) else None
    if not isinstance(payment_id, str) or not payment_id:
        return JSONResponse({"status": "ignored", "detail": "not about a payment"})
    store_id = data.get("storeId") if isinstance(data, dict) else None
    if ctx.portone_store_id and store_id and store_id != ctx.portone_store_id:
        return JSONResponse({"status": "ignored", "detail": "another store's payment"})

    async with _portone(ctx) as portone:
        try:
            fetched = await portone.get_payment(payment_id)
        except PortOneRejected as exc:
            if exc.type == "PAYMENT_NOT_FOUND":
                return JSONResponse({"status": "ignored", "detail": "unknown to PortOne"})
            log.warning("PortOne refused to show payment %s: %s", payment_id, exc)
            return problem(503, detail="the payment provider refused the lookup")
        except PortOneError as exc:
            log.warning("PortOne lookup of payment %s failed: %s", payment_id, exc)
            return problem(503, detail="the payment provider did not answer; retry later")

        outcome = await _apply(ctx, event_id, str(event.get("type", "")), fetched)
        answer: dict[str, Any] = {
            "status": "duplicate" if outcome is None else "applied",
            "outcome": outcome.result.value if outcome else None,
        }
        owed = outcome.reason if outcome is not None and outcome.refund_owed else None
        if outcome is None:
            owed = await _refund_still_owed(ctx, fetched.id)
        if owed is not None:
            answer["refund"] = await _refund(ctx, portone, fetched, owed)
            if answer["refund"] == "failed":
                # 5xx: PortOne delivers the event again, and the retry tries the refund again
                return problem(503, detail="the refund could not be made yet; retry later")
    return JSONResponse(answer)


async def _refund_still_owed(ctx: WebContext, provider_payment_id: str) -> str | None:
    """A redelivered event finds a refund that failed last time: owed, with its reason."""
    async with ctx.sessionmaker() as session:
        payment = await find_payment(session, PaymentProvider.PORTONE, provider_payment_id)
    if payment is not None and payment.status is PaymentStatus.REFUND_REQUESTED:
        return payment.status_reason or "refund owed"
    return None


def _portone(ctx: WebContext) -> PortOneClient:
    assert ctx.portone_api_url is not None and ctx.portone_api_secret is not None
    return PortOneClient(
        api_url=ctx.portone_api_url,
        api_secret=ctx.portone_api_secret,
        store_id=ctx.portone_store_id,
        timeout=ctx.portone_timeout_seconds,
    )


async def _apply(
    ctx: WebContext, event_id: str, event_type: str, fetched: PortOnePayment
) -> PaymentOutcome | None:
    """One transaction: remember the event and apply the fetched payment; None for a replay."""
    async with ctx.sessionmaker() as session, session.begin():
        now = ctx.clock.now()
        is_new = await record_event(
            session,
            PaymentProvider.PORTONE,
            event_id,
            now=now,
            type=event_type,
            provider_payment_id=fetched.id,
        )
        if not is_new:
            return None
        outcome = await apply_provider_payment(
            session,
            provider=PaymentProvider.PORTONE,
            provider_payment_id=fetched.id,
            status=fetched.status,
            amount=fetched.amount,
            currency=fetched.currency,
            now=now,
            raw=fetched.raw,
        )
    if ctx.after_commit is not None:
        ctx.after_commit()
    if outcome.result is PaymentResult.UNKNOWN_PAYMENT:
        log.warning("PortOne payment %s is not one livecart started", fetched.id)
    return outcome


async def _refund(
    ctx: WebContext, portone: PortOneClient, fetched: PortOnePayment, reason: str
) -> str:
    """Give the money back after the decision is committed; a failure leaves it owed.

    The payment stays refund_requested until PortOne confirms, so nothing is lost if the call
    fails: the record says a refund is owed (PortOne's own Cancelled webhook, or a later
    retry, settles it).
    """
    try:
        cancellation = await portone.cancel_payment(fetched.id, reason=f"livecart: {reason}")
    except PortOneError as exc:
        log.warning("refund of PortOne payment %s failed: %s", fetched.id, exc)
        return "failed"
    if not cancellation.succeeded:
        return cancellation.status.lower()
    async with ctx.sessionmaker() as session, session.begin():
        await apply_provider_payment(
            session,
            provider=PaymentProvider.PORTONE,
            provider_payment_id=fetched.id,
            status=PaymentStatus.CANCELLED,
            amount=fetched.amount,
            currency=fetched.currency,
            now=ctx.clock.now(),
            raw={**fetched.raw, "livecartCancellation": cancellation.raw},
        )
    return "refunded"
