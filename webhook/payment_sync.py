"""Reading a PortOne payment back and applying it, then giving back money livecart can't keep.

One path for every trigger: a signed webhook, the customer's browser returning to the pay
page, and the periodic refund job. PortOne's API is the only source of truth; each decision
is committed before any refund call, and a refund that fails stays owed (refund_requested)
until a later run settles it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from catalog.models import PaymentProvider, PaymentStatus
from catalog.payments import (
    PaymentOutcome,
    PaymentResult,
    apply_provider_payment,
    find_payment,
    list_owed_refunds,
    record_event,
)
from webhook.context import WebContext
from webhook.observability import count_payment_event, count_refund
from webhook.portone import PortOneClient, PortOneError, PortOnePayment

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncResult:
    """What reading one payment back did; `outcome` is None for a webhook seen before."""

    fetched: PortOnePayment
    outcome: PaymentOutcome | None
    # "refunded", "failed", PortOne's cancellation status (e.g. "requested"), or None: none owed
    refund: str | None = None


def portone_client(ctx: WebContext) -> PortOneClient:
    """A client for PortOne's API as configured (close it: `async with`)."""
    assert ctx.portone_api_url is not None and ctx.portone_api_secret is not None
    return PortOneClient(
        api_url=ctx.portone_api_url,
        api_secret=ctx.portone_api_secret,
        store_id=ctx.portone_store_id,
        timeout=ctx.portone_timeout_seconds,
    )


async def sync_portone_payment(
    ctx: WebContext,
    portone: PortOneClient,
    payment_id: str,
    *,
    event_id: str | None = None,
    event_type: str = "",
) -> SyncResult:
    """Fetch the payment from PortOne, apply it, and refund it at once if money must go back.

    With `event_id` (a webhook) the event is remembered in the same transaction and a repeat
    applies nothing (it only retries a refund still owed). Raises PortOneError when PortOne
    can't show the payment; nothing changes then.
    """
    fetched = await portone.get_payment(payment_id)
    outcome = await _apply(ctx, fetched, event_id=event_id, event_type=event_type)
    count_payment_event(
        PaymentProvider.PORTONE.value,
        event_type or "return",
        outcome.result.value if outcome is not None else "duplicate",
    )
    owed = outcome.reason if outcome is not None and outcome.refund_owed else None
    if outcome is None:
        owed = await _refund_still_owed(ctx, fetched.id)
    refund = None
    if owed is not None:
        refund = await refund_portone_payment(
            ctx, portone, fetched.id, reason=owed, amount=fetched.amount,
            currency=fetched.currency, raw=fetched.raw,
        )  # fmt: skip
    return SyncResult(fetched, outcome, refund)


async def settle_owed_refunds(ctx: WebContext, *, limit: int = 100) -> int:
    """Give back every PortOne payment still owed (refund_requested); returns how many settled.

    A refund PortOne refuses or can't make now stays owed and is tried again on the next run;
    a payment already cancelled at PortOne counts as refunded.
    """
    if not ctx.portone_configured:
        return 0
    async with ctx.sessionmaker() as session:
        owed = await list_owed_refunds(session, PaymentProvider.PORTONE, limit=limit)
    if not owed:
        return 0
    settled = 0
    async with portone_client(ctx) as portone:
        for payment in owed:
            result = await refund_portone_payment(
                ctx,
                portone,
                payment.provider_payment_id,
                reason=payment.status_reason or "refund owed",
                amount=payment.amount,
                currency=payment.currency,
                raw=payment.raw,
            )
            settled += result == "refunded"
    return settled


async def refund_portone_payment(
    ctx: WebContext,
    portone: PortOneClient,
    provider_payment_id: str,
    *,
    reason: str,
    amount: int,
    currency: str,
    raw: dict[str, Any],
) -> str:
    """Cancel the payment at PortOne, then record it refunded; a failure leaves it owed.

    Returns "refunded", "failed" (PortOne refused or did not answer) or PortOne's own
    cancellation status when the PG is still working ("requested").
    """
    try:
        cancellation = await portone.cancel_payment(
            provider_payment_id, reason=f"livecart: {reason}"
        )
    except PortOneError as exc:
        log.warning("refund of PortOne payment %s failed: %s", provider_payment_id, exc)
        count_refund(PaymentProvider.PORTONE.value, "failed")
        return "failed"
    if not cancellation.succeeded:
        count_refund(PaymentProvider.PORTONE.value, cancellation.status.lower())
        return cancellation.status.lower()
    async with ctx.sessionmaker() as session, session.begin():
        await apply_provider_payment(
            session,
            provider=PaymentProvider.PORTONE,
            provider_payment_id=provider_payment_id,
            status=PaymentStatus.CANCELLED,
            amount=amount,
            currency=currency,
            now=ctx.clock.now(),
            raw={**raw, "livecartCancellation": cancellation.raw},
        )
    count_refund(PaymentProvider.PORTONE.value, "refunded")
    if ctx.after_commit is not None:
        ctx.after_commit()
    return "refunded"


async def _apply(
    ctx: WebContext, fetched: PortOnePayment, *, event_id: str | None, event_type: str
) -> PaymentOutcome | None:
    """One transaction: remember the event (if any) and apply the fetched payment."""
    async with ctx.sessionmaker() as session, session.begin():
        now = ctx.clock.now()
        if event_id is not None and not await record_event(
            session,
            PaymentProvider.PORTONE,
            event_id,
            now=now,
            type=event_type,
            provider_payment_id=fetched.id,
        ):
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


async def _refund_still_owed(ctx: WebContext, provider_payment_id: str) -> str | None:
    """A repeated trigger finds a refund that failed last time: owed, with its reason."""
    async with ctx.sessionmaker() as session:
        payment = await find_payment(session, PaymentProvider.PORTONE, provider_payment_id)
    if payment is not None and payment.status is PaymentStatus.REFUND_REQUESTED:
        return payment.status_reason or "refund owed"
    return None
