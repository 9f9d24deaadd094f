"""Payments: when an order is paid, decided once from what the provider says.

Every rule here holds however often, in whatever order and however concurrently a provider's
notifications arrive: payment rows and orders change by compare-and-set in SQL, so two
transactions that race for the same row apply once, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.errors import InvalidTransition, OrderNotPayable
from catalog.models import (
    Customer,
    Order,
    OrderStatus,
    Payment,
    PaymentEvent,
    PaymentProvider,
    PaymentStatus,
    Vendor,
)
from catalog.orders import get_order, mark_paid
from catalog.outbox import enqueue_notification

#: what a provider can report about a payment; the other statuses are livecart's own decisions
REPORTABLE = frozenset(
    {PaymentStatus.PENDING, PaymentStatus.PAID, PaymentStatus.FAILED, PaymentStatus.CANCELLED}
)
#: a payment in these states may still become paid (a failed card can be retried under its id)
PAYABLE = frozenset({PaymentStatus.PENDING, PaymentStatus.FAILED})
_START_ATTEMPTS = 5
#: the customer hears about these moves of a payment (outbox kind, dedupe suffix)
_CUSTOMER_NOTICES = {
    PaymentStatus.REFUND_REQUESTED: ("refund_requested", "refund_requested"),
    PaymentStatus.REFUNDED: ("refund_done", "refunded"),
}


class PaymentResult(enum.StrEnum):
    """What applying a provider's report did."""

    ORDER_PAID = "order_paid"  # this report paid the order
    PENDING = "pending"  # the provider has not settled yet
    FAILED = "failed"  # the attempt failed; the order still waits for payment
    CANCELLED = "cancelled"  # the attempt was abandoned before money moved
    REFUND_REQUESTED = "refund_requested"  # money arrived that the order can't take
    REFUNDED = "refunded"  # the provider returned the money
    UNCHANGED = "unchanged"  # already applied (a replay, or an older report)
    UNKNOWN_PAYMENT = "unknown_payment"  # not a payment livecart started


class RefundReason(enum.StrEnum):
    ORDER_ALREADY_PAID = "order_already_paid"
    ORDER_CLOSED = "order_closed"
    AMOUNT_MISMATCH = "amount_mismatch"


def pay_page_url(public_base_url: str, pay_token: str) -> str:
    """The pay page of an order: `{base}/pay/{token}` (the QR code and the chat link carry it)."""
    return f"{public_base_url.rstrip('/')}/pay/{pay_token}"


@dataclass(frozen=True)
class PaymentOutcome:
    result: PaymentResult
    payment: Payment | None = None
    order: Order | None = None
    reason: str = ""

    @property
    def refund_owed(self) -> bool:
        """The provider holds money that must go back to the customer."""
        return self.payment is not None and self.payment.status is PaymentStatus.REFUND_REQUESTED


async def start_payment(
    session: AsyncSession, order: Order, provider: PaymentProvider, *, now: datetime
) -> Payment:
    """Open a new payment attempt for exactly the order's total, under an id livecart chose.

    Only an order waiting for payment whose reservation has not lapsed can be paid
    (OrderNotPayable otherwise). Each attempt gets its own id, `lc-{code}-{n}`.
    """
    if order.status is not OrderStatus.PENDING_PAYMENT or (
        order.expires_at is not None and order.expires_at <= now
    ):
        raise OrderNotPayable(order.code, order.status.value)
    for _ in range(_START_ATTEMPTS):
        attempts = await session.scalar(
            select(func.count()).select_from(Payment).where(Payment.order_id == order.id)
        )
        payment = Payment(
            order_id=order.id,
            provider=provider,
            provider_payment_id=f"lc-{order.code}-{int(attempts or 0) + 1}",
            amount=order.total,
            currency=order.currency,
            status=PaymentStatus.PENDING,
            status_reason="",
            raw={},
            created_at=now,
            updated_at=now,
        )
        try:
            async with session.begin_nested():
                session.add(payment)
                await session.flush()
        except IntegrityError:
            continue  # a concurrent attempt took the same number: count again
        return payment
    raise RuntimeError(f"could not number a payment for order {order.code}")


async def find_payment(
    session: AsyncSession, provider: PaymentProvider, provider_payment_id: str
) -> Payment | None:
    """The payment livecart started under this provider's payment id, freshly read, or None."""
    payment: Payment | None = await session.scalar(
        select(Payment)
        .where(Payment.provider == provider, Payment.provider_payment_id == provider_payment_id)
        .execution_options(populate_existing=True)
    )
    return payment


async def list_order_payments(session: AsyncSession, order: Order) -> list[Payment]:
    """Every payment attempt of an order, oldest first."""
    return list(
        await session.scalars(
            select(Payment)
            .where(Payment.order_id == order.id)
            .order_by(Payment.id)
            .execution_options(populate_existing=True)
        )
    )


async def record_event(
    session: AsyncSession,
    provider: PaymentProvider,
    event_id: str,
    *,
    now: datetime,
    type: str = "",
    provider_payment_id: str | None = None,
) -> bool:
    """Remember a provider notification; False when it was seen before (handle it only once).

    The insert runs in a savepoint, so a duplicate (even one committed concurrently) leaves
    the caller's transaction usable.
    """
    try:
        async with session.begin_nested():
            session.add(
                PaymentEvent(
                    provider=provider,
                    event_id=event_id,
                    type=type[:100],
                    provider_payment_id=provider_payment_id,
                    received_at=now,
                )
            )
            await session.flush()
    except IntegrityError:
        return False
    return True


async def apply_provider_payment(
    session: AsyncSession,
    *,
    provider: PaymentProvider,
    provider_payment_id: str,
    status: PaymentStatus,
    amount: int,
    currency: str,
    now: datetime,
    raw: dict[str, Any],
) -> PaymentOutcome:
    """Apply what the provider says about a payment; the order is paid once, for the exact sum.

    - paid with the order's exact total and currency, and the order still waits: the order is
      paid (mark_paid: stock sold, customer and vendors told once);
    - paid, but the order is already paid by another payment, or it expired or was cancelled:
      this payment becomes refund_requested and the order is untouched. An expired order is
      not revived even if stock allows: its stock went back on sale and may be promised to
      someone else, so refunding is the one answer that never oversells;
    - paid with a different amount or currency: refund_requested (money moved, so it must go
      back), the order untouched and still payable by a correct payment;
    - failed or cancelled before money moved: recorded; cancelled after a refund request:
      refunded. A paid payment cancelled at the provider is recorded as refunded, the order
      is left to the cancellation flow;
    - the same report applied again, or an older one, changes nothing (UNCHANGED).
    """
    if status not in REPORTABLE:
        raise ValueError(f"a provider cannot report {status.value!r}")
    payment = await find_payment(session, provider, provider_payment_id)
    if payment is None:
        return PaymentOutcome(PaymentResult.UNKNOWN_PAYMENT)
    order = await get_order(session, payment.order_id)

    if status is PaymentStatus.PENDING:
        result = PaymentResult.PENDING if payment.status is PaymentStatus.PENDING else None
        return PaymentOutcome(result or PaymentResult.UNCHANGED, payment, order)

    if status is PaymentStatus.FAILED:
        if payment.status is PaymentStatus.PENDING and await _move(
            session, payment, PaymentStatus.FAILED, now=now, raw=raw, reason="provider"
        ):
            return await _outcome(session, PaymentResult.FAILED, payment, "provider")
        return PaymentOutcome(PaymentResult.UNCHANGED, payment, order)

    if status is PaymentStatus.CANCELLED:
        if payment.status in PAYABLE:
            target, result = PaymentStatus.CANCELLED, PaymentResult.CANCELLED
        elif payment.status in (PaymentStatus.REFUND_REQUESTED, PaymentStatus.PAID):
            target, result = PaymentStatus.REFUNDED, PaymentResult.REFUNDED
        else:
            return PaymentOutcome(PaymentResult.UNCHANGED, payment, order)
        reason = payment.status_reason or "provider"
        if await _move(
            session, payment, target, now=now, raw=raw, reason=reason, moved=(amount, currency)
        ):
            return await _outcome(session, result, payment, reason)
        return PaymentOutcome(PaymentResult.UNCHANGED, payment, order)

    # the provider says paid
    if payment.status not in PAYABLE:
        return PaymentOutcome(PaymentResult.UNCHANGED, payment, order)
    if amount != order.total or currency != order.currency:
        reason = RefundReason.AMOUNT_MISMATCH.value
        if await _move(
            session,
            payment,
            PaymentStatus.REFUND_REQUESTED,
            now=now,
            raw=raw,
            reason=reason,
            moved=(amount, currency),
        ):
            return await _outcome(session, PaymentResult.REFUND_REQUESTED, payment, reason)
        return PaymentOutcome(PaymentResult.UNCHANGED, payment, order)
    # Claim the payment first: of two transactions applying the same report, one wins here.
    if not await _move(session, payment, PaymentStatus.PAID, now=now, raw=raw, paid_at=now):
        return await _outcome(session, PaymentResult.UNCHANGED, payment, "")
    try:
        async with session.begin_nested():
            order = await mark_paid(session, order, now=now, actor=f"payment:{payment.id}")
    except InvalidTransition:
        # another payment paid the order first, or it expired or was cancelled meanwhile
        order = await get_order(session, order.id)
        reason = (
            RefundReason.ORDER_CLOSED.value
            if order.status in (OrderStatus.EXPIRED, OrderStatus.CANCELLED, OrderStatus.REFUSED)
            else RefundReason.ORDER_ALREADY_PAID.value
        )
        await _move(
            session, payment, PaymentStatus.REFUND_REQUESTED, now=now, raw=raw, reason=reason
        )
        return await _outcome(session, PaymentResult.REFUND_REQUESTED, payment, reason)
    return await _outcome(session, PaymentResult.ORDER_PAID, payment, "")


async def request_refunds(
    session: AsyncSession, order: Order, *, reason: str, now: datetime
) -> list[Payment]:
    """Every paid payment of the order must go back to the customer: refund_requested.

    For any provider. Each payment moves by compare-and-set, so a concurrent call (or a
    provider's report applied meanwhile) moves it once. The customer hears it in the order's
    status message (refused, cancelled), not in a second message; `refund_done` follows.
    The money itself goes back later (the PortOne refund job, or the vendor for a transfer).
    """
    requested = []
    for payment in await list_order_payments(session, order):
        if payment.status is PaymentStatus.PAID and await _move(
            session,
            payment,
            PaymentStatus.REFUND_REQUESTED,
            now=now,
            raw=payment.raw,
            reason=reason,
            tell=False,  # the order's own status message says the money goes back
        ):
            requested.append(payment)
    return requested


async def list_owed_refunds(
    session: AsyncSession, provider: PaymentProvider, *, limit: int = 100
) -> list[Payment]:
    """Payments of `provider` whose money must still go back, oldest decision first; a refund
    the provider refused for good (`refund_failed_at`) is left to a person."""
    return list(
        await session.scalars(
            select(Payment)
            .where(
                Payment.provider == provider,
                Payment.status == PaymentStatus.REFUND_REQUESTED,
                Payment.refund_failed_at.is_(None),
            )
            .order_by(Payment.updated_at, Payment.id)
            .limit(limit)
            .execution_options(populate_existing=True)
        )
    )


async def claim_payments_to_recheck(
    session: AsyncSession,
    provider: PaymentProvider,
    *,
    now: datetime,
    quiet_for: timedelta,
    started_within: timedelta,
    limit: int = 50,
) -> list[str]:
    """Provider payment ids of pending payments nothing was heard of for `quiet_for`.

    A webhook can be lost and a lookup can time out (PortOne answered 503, the customer closed
    the page): such a payment is read back again later. Only payments started within
    `started_within` are taken, those checked longest ago first; each one taken has its
    `updated_at` moved to `now` in the caller's transaction, so the next run takes others and
    two instances never take the same one (SKIP LOCKED on PostgreSQL).
    """
    query = (
        select(Payment)
        .where(
            Payment.provider == provider,
            Payment.status == PaymentStatus.PENDING,
            Payment.updated_at <= now - quiet_for,
            Payment.created_at >= now - started_within,
        )
        .order_by(Payment.updated_at, Payment.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    payments = list(await session.scalars(query))
    for payment in payments:
        payment.updated_at = now
    await session.flush()
    return [payment.provider_payment_id for payment in payments]


async def mark_refund_failed(
    session: AsyncSession,
    provider: PaymentProvider,
    provider_payment_id: str,
    *,
    failure: str,
    amount: int,
    currency: str,
    now: datetime,
) -> Payment | None:
    """The provider refused the refund for good: stop retrying it, and tell the shop's vendors
    once to refund it by hand in the provider's console (`amount` in `currency`: what the
    provider holds, which may differ from what livecart asked).

    Compare-and-set on a refund still owed and not yet marked, so two runs mark and tell once.
    Returns the payment when this call marked it. The payment stays refund_requested: a
    refund made by hand arrives as the provider's cancelled report and completes it.
    """
    result = await session.execute(
        update(Payment)
        .where(
            Payment.provider == provider,
            Payment.provider_payment_id == provider_payment_id,
            Payment.status == PaymentStatus.REFUND_REQUESTED,
            Payment.refund_failed_at.is_(None),
        )
        .values(refund_failed_at=now, refund_failure=failure[:300], updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    payment = await find_payment(session, provider, provider_payment_id)
    assert payment is not None
    order = await get_order(session, payment.order_id)
    vendors = await session.scalars(
        select(Vendor).where(Vendor.shop_id == order.shop_id).order_by(Vendor.id)
    )
    for vendor in vendors:
        await enqueue_notification(
            session,
            chat_id=vendor.chat_id,
            kind="refund_failed",
            data={
                "payment_id": payment.id,
                "order_id": payment.order_id,
                "amount": amount,
                "currency": currency,
                "failure": payment.refund_failure,
            },
            ref=f"order:{payment.order_id}",
            dedupe_key=f"payment:{payment.id}:refund_failed:{vendor.id}",
            now=now,
        )
    return payment


async def failed_refunds(session: AsyncSession, order_ids: Sequence[int]) -> dict[int, str]:
    """Orders (of `order_ids`) with a refund the provider refused, each with why: a person
    must give the money back in the provider's console."""
    if not order_ids:
        return {}
    rows = await session.execute(
        select(Payment.order_id, Payment.refund_failure)
        .where(
            Payment.order_id.in_(list(order_ids)),
            Payment.status == PaymentStatus.REFUND_REQUESTED,
            Payment.refund_failed_at.is_not(None),
        )
        .order_by(Payment.id)
    )
    return {order_id: failure for order_id, failure in rows.all()}


async def _move(
    session: AsyncSession,
    payment: Payment,
    target: PaymentStatus,
    *,
    now: datetime,
    raw: dict[str, Any],
    reason: str = "",
    paid_at: datetime | None = None,
    moved: tuple[int, str] | None = None,
    tell: bool = True,
) -> bool:
    """Compare-and-set the payment's status from the one read; False if it changed meanwhile.

    On success `payment` is reloaded, so a later move compares against the new status, and
    the customer is told of a refund; `moved` is the (amount, currency) the provider says
    moved, when it may differ from what livecart asked.
    """
    values: dict[str, object] = {
        "status": target,
        "status_reason": reason[:300],
        "raw": raw,
        "updated_at": now,
    }
    if paid_at is not None:
        values["paid_at"] = paid_at
    result = await session.execute(
        update(Payment)
        .where(Payment.id == payment.id, Payment.status == payment.status)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    await session.refresh(payment)
    if tell and target in _CUSTOMER_NOTICES:
        amount, currency = moved or (payment.amount, payment.currency)
        await _tell_customer(session, payment, target, amount, currency, now=now)
    return True


async def _tell_customer(
    session: AsyncSession,
    payment: Payment,
    status: PaymentStatus,
    amount: int,
    currency: str,
    *,
    now: datetime,
) -> None:
    """The order's customer hears that their money goes back, and when it has."""
    kind, suffix = _CUSTOMER_NOTICES[status]
    order = await session.get(Order, payment.order_id)
    customer = (
        await session.get(Customer, order.customer_id)
        if order is not None and order.customer_id is not None
        else None
    )
    if customer is None:
        return
    await enqueue_notification(
        session,
        chat_id=customer.chat_id,
        kind=kind,
        data={
            "payment_id": payment.id,
            "order_id": payment.order_id,
            "amount": amount,
            "currency": currency,
            "reason": payment.status_reason,
        },
        ref=f"order:{payment.order_id}",
        dedupe_key=f"payment:{payment.id}:{suffix}",
        now=now,
    )


async def _outcome(
    session: AsyncSession, result: PaymentResult, payment: Payment, reason: str
) -> PaymentOutcome:
    fresh = await find_payment(session, payment.provider, payment.provider_payment_id)
    assert fresh is not None
    order = await get_order(session, fresh.order_id)
    return PaymentOutcome(result, fresh, order, reason)
