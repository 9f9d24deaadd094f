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

from catalog.models import PaymentProvider
from webhook.deps import ContextDep
from webhook.observability import count_payment_event
from webhook.payment_sync import portone_client, sync_portone_payment
from webhook.portone import PortOneError, PortOneRejected
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
        count_payment_event(provider, "unknown", "bad_signature")
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
    event_type = str(event.get("type", "")) if isinstance(event, dict) else ""
    if not isinstance(payment_id, str) or not payment_id:
        count_payment_event(provider, event_type, "ignored")
        return JSONResponse({"status": "ignored", "detail": "not about a payment"})
    store_id = data.get("storeId") if isinstance(data, dict) else None
    if ctx.portone_store_id and store_id and store_id != ctx.portone_store_id:
        count_payment_event(provider, event_type, "ignored")
        return JSONResponse({"status": "ignored", "detail": "another store's payment"})

    async with portone_client(ctx) as portone:
        try:
            synced = await sync_portone_payment(
                ctx, portone, payment_id, event_id=event_id, event_type=event_type
            )
        except PortOneRejected as exc:
            if exc.type == "PAYMENT_NOT_FOUND":
                count_payment_event(provider, event_type, "ignored")
                return JSONResponse({"status": "ignored", "detail": "unknown to PortOne"})
            log.warning("PortOne refused to show payment %s: %s", payment_id, exc)
            count_payment_event(provider, event_type, "lookup_failed")
            return problem(503, detail="the payment provider refused the lookup")
        except PortOneError as exc:
            log.warning("PortOne lookup of payment %s failed: %s", payment_id, exc)
            count_payment_event(provider, event_type, "lookup_failed")
            return problem(503, detail="the payment provider did not answer; retry later")
    outcome = synced.outcome
    answer: dict[str, Any] = {
        "status": "duplicate" if outcome is None else "applied",
        "outcome": outcome.result.value if outcome else None,
    }
    if synced.refund is not None:
        answer["refund"] = synced.refund
        if synced.refund == "failed":
            # 5xx: PortOne delivers the event again, and the retry tries the refund again
            # (the refund job retries it too)
            return problem(503, detail="the refund could not be made yet; retry later")
    return JSONResponse(answer)
