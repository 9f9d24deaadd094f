"""Reading a PortOne payment back and applying it, then giving back money livecart can't keep.

One path for every trigger: a signed webhook, the customer's browser returning to the pay
page, and the periodic refund job. PortOne's API is the only source of truth; each decision
is committed before any refund call. A refund PortOne can't make now (timeout, 5xx, 429)
stays owed (refund_requested) until a later run settles it; one PortOne refuses for good
(another 4xx) is marked for a person and the shop's vendors are told once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from catalog.models import Payment, PaymentProvider, PaymentStatus
from catalog.payments import (
    PaymentOutcome,
    PaymentResult,
    apply_provider_payment,
    claim_payments_to_recheck,
    find_payment,
    list_owed_refunds,
    mark_refund_failed,
    record_event,
)
from webhook.context import WebContext
from webhook.observability import count_payment_event, count_refund
from webhook.portone import PortOneClient, PortOneError, PortOnePayment, PortOneRejected

log = logging.getLogger(__name__)

# a pending payment nothing was heard of for a minute is read back from PortOne, for 2 hours
RECHECK_QUIET = timedelta(minutes=1)
RECHECK_WITHIN = timedelta(hours=2)


@dataclass(frozen=True)
class SyncResult:
    """What reading one payment back did; `outcome` is None for a webhook seen before."""

    fetched: PortOnePayment
    outcome: PaymentOutcome | None
    # "refunded", "failed" (try again later), "rejected" (left to a person), PortOne's
    # cancellation status (e.g. "requested"), or None: none owed
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
    if outcome is not None and outcome.payment is not None and outcome.payment.refund_failed_at:
        owed = None  # PortOne refused this refund for good: a person's job now
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

    A refund PortOne can't make now stays owed and is tried again on the next run; one it
    refuses for good is left to a person (not tried again); a payment already cancelled at
    PortOne for the amount owed counts as refunded.
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
            amount, currency = _held(payment)
            result = await refund_portone_payment(
                ctx,
                portone,
                payment.provider_payment_id,
                reason=payment.status_reason or "refund owed",
                amount=amount,
                currency=currency,
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
    """Cancel the payment at PortOne (`amount` is what PortOne holds), then record it refunded.

    Returns "refunded"; "failed" when PortOne can't answer now or livecart's own credentials
    are refused (it stays owed and is tried again); "rejected" when PortOne refuses the
    refund itself (a 4xx: not paid, not found, amount exceeds...), which marks it for a
    person and tells the shop's vendors once; or PortOne's own cancellation status when the
    PG is still working ("requested").
    """
    try:
        cancellation = await portone.cancel_payment(
            provider_payment_id, reason=f"livecart: {reason}", amount=amount
        )
    except PortOneRejected as exc:
        if exc.status_code in (401, 403):
            # livecart's API secret or store is wrong: every refund would fail the same way,
            # and fixing the settings makes them work; not a reason to give up on this one
            log.error(
                "PortOne refused livecart's credentials refunding %s: %s", provider_payment_id, exc
            )
            count_refund(PaymentProvider.PORTONE.value, "failed")
            return "failed"
        log.warning("PortOne refused to refund payment %s for good: %s", provider_payment_id, exc)
        async with ctx.sessionmaker() as session, session.begin():
            marked = await mark_refund_failed(
                session,
                PaymentProvider.PORTONE,
                provider_payment_id,
                failure=f"{exc.status_code} {exc.type}: {exc.message}",
                amount=amount,
                currency=currency,
                now=ctx.clock.now(),
            )
        if marked is not None and ctx.after_commit is not None:
            ctx.after_commit()
        count_refund(PaymentProvider.PORTONE.value, "rejected")
        return "rejected"
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
    if (
        payment is not None
        and payment.status is PaymentStatus.REFUND_REQUESTED
        and payment.refund_failed_at is None  # PortOne refused it: a person's job now
    ):
        return payment.status_reason or "refund owed"
    return None


def _held(payment: Payment) -> tuple[int, str]:
    """What PortOne holds for the payment, as last read back (a wrong-amount payment differs
    from the order's total); livecart's own figures when nothing was read yet."""
    held = payment.raw.get("amount")
    total = held.get("total") if isinstance(held, dict) else None
    if isinstance(total, int) and not isinstance(total, bool):
        return total, str(payment.raw.get("currency") or payment.currency)
    return payment.amount, payment.currency
