"""Reading a PortOne payment back and applying it, then giving back money livecart can't keep.

One path for every trigger: a signed webhook, the customer's browser returning to the pay
page, and the periodic refund job. PortOne's API is the only source of truth; each decision
is committed before any refund call, and a refund that fails stays owed (refund_requested)
until a later run settles it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from catalog.models import PaymentProvider, PaymentStatus
from catalog.payments import (
    PaymentOutcome,
    PaymentResult,
    apply_provider_payment,
    claim_payments_to_recheck,
    find_payment,
    list_owed_refunds,
    record_event,
)
from webhook.context import WebContext
from webhook.observability import count_payment_event, count_refund
from webhook.portone import PortOneClient, PortOneError, PortOnePayment

log = logging.getLogger(__name__)

# a pending payment nothing was heard of for a minute is read back from PortOne, for 2 hours
RECHECK_QUIET = timedelta(minutes=1)
RECHECK_WITHIN = timedelta(hours=2)


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


async def recheck_pending_payments(
    ctx: WebContext,
    *,
    quiet_for: timedelta = RECHECK_QUIET,
    started_within: timedelta = RECHECK_WITHIN,
    limit: int = 50,
) -> int:
    """Read back pending PortOne payments nothing was heard of lately; returns how many changed.

    The webhook answers 503 when PortOne times out (PortOne delivers it again), but a webhook
    can also be lost for good: this job is the backstop, so a customer who paid is never left
    with an order that lapses (a payment that arrives after the order lapsed is refunded, as
    any late payment). A lookup that fails now is simply tried on a later run.
    """
    if not ctx.portone_configured:
        return 0
    async with ctx.sessionmaker() as session, session.begin():
        due = await claim_payments_to_recheck(
            session,
            PaymentProvider.PORTONE,
            now=ctx.clock.now(),
            quiet_for=quiet_for,
            started_within=started_within,
            limit=limit,
        )
    changed = 0
    if not due:
        return 0
    async with portone_client(ctx) as portone:
        for payment_id in due:
            try:
                result = await sync_portone_payment(ctx, portone, payment_id, event_type="recheck")
            except PortOneError as exc:
                log.info("PortOne payment %s not read back now: %s", payment_id, exc)
                continue
            if result.outcome is not None and result.outcome.result not in (
                PaymentResult.PENDING,
                PaymentResult.UNCHANGED,
            ):
                changed += 1
    return changed


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
