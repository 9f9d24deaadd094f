"""What a vendor does with an order: confirm a transfer, accept, ready, ship, hand over, refuse.

Each action is one compare-and-set status change (catalog.orders.change_status), so two staff
tapping at once act once: the second gets VendorActionRefused naming who acted first. Only the
shop's own vendors may act; anyone else gets NotVendor and nothing changes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.errors import DomainError, InvalidInput, InvalidTransition, NotFound
from catalog.models import (
    Customer,
    Fulfilment,
    Order,
    OrderStatus,
    OrderStatusChange,
    Payment,
    PaymentProvider,
    PaymentStatus,
    Vendor,
)
from catalog.orders import change_status, get_order, sync_vendor_alerts
from catalog.payments import apply_provider_payment, request_refunds
from catalog.vendors import vendor_of

BANK_TRANSFER = "bank_transfer"
ONLINE = "portone"


class VendorAction(enum.StrEnum):
    CONFIRM_TRANSFER = "paid"  # 입금 확인: the transfer arrived
    ACCEPT = "accept"
    READY = "ready"  # ready for pickup
    SHIP = "ship"
    COMPLETE = "done"  # handed over / delivered
    REFUSE = "refuse"
    REFUND_SENT = "refunded"  # the shop sent a bank transfer's money back


class RefusalReason(enum.StrEnum):
    SOLD_OUT = "sold_out"
    OTHER = "other"


#: the status each action leads to
TARGETS: dict[VendorAction, OrderStatus] = {
    VendorAction.CONFIRM_TRANSFER: OrderStatus.PAID,
    VendorAction.ACCEPT: OrderStatus.ACCEPTED,
    VendorAction.READY: OrderStatus.READY,
    VendorAction.SHIP: OrderStatus.SHIPPED,
    VendorAction.COMPLETE: OrderStatus.COMPLETED,
    VendorAction.REFUSE: OrderStatus.REFUSED,
}


class NotVendor(DomainError):
    """The user does not run the order's shop."""

    code = "not_vendor"

    def __init__(self) -> None:
        super().__init__("only the shop's vendors may act on its orders")


class VendorActionRefused(DomainError):
    """The order is no longer where the action applies (someone acted first, or it closed)."""

    code = "vendor_action_refused"

    def __init__(self, order: Order, action: VendorAction, by: str) -> None:
        super().__init__(f"order {order.code} is {order.status.value}; cannot {action.value}")
        self.order = order
        self.action = action
        self.status = order.status
        self.by = by  # the name of whoever moved it last ("" when not a vendor)


@dataclass(frozen=True)
class Acted:
    order: Order
    vendor: Vendor


def vendor_actions(order: Order) -> list[VendorAction]:
    """The buttons a vendor's alert shows for the order as it stands."""
    status = order.status
    if status is OrderStatus.PENDING_PAYMENT:
        if order.payment_method == BANK_TRANSFER:
            return [VendorAction.CONFIRM_TRANSFER, VendorAction.REFUSE]
        return []
    if status is OrderStatus.PAID:
        return [VendorAction.ACCEPT, VendorAction.REFUSE]
    if status is OrderStatus.ACCEPTED:
        if order.fulfilment is Fulfilment.PICKUP:
            return [VendorAction.READY, VendorAction.COMPLETE, VendorAction.REFUSE]
        return [VendorAction.SHIP, VendorAction.REFUSE]
    if status in (OrderStatus.READY, OrderStatus.SHIPPED):
        return [VendorAction.COMPLETE]
    return []


async def last_actor_name(session: AsyncSession, order: Order) -> str:
    """Who moved the order last, as staff know them ("" for the customer or the system)."""
    actor = await session.scalar(
        select(OrderStatusChange.actor)
        .where(OrderStatusChange.order_id == order.id)
        .order_by(OrderStatusChange.id.desc())
        .limit(1)
    )
    if actor and actor.startswith("vendor:"):
        vendor = await session.get(Vendor, int(actor.split(":", 1)[1]))
        if vendor is not None:
            return vendor.name or "#" + str(vendor.id)
    return ""


async def act_on_order(
    session: AsyncSession,
    order_id: int,
    action: VendorAction,
    *,
    telegram_user_id: int,
    now: datetime,
    reason: RefusalReason | None = None,
    tracking_number: str = "",
) -> Acted:
    """Do `action` for the vendor behind `telegram_user_id`; see the module docstring."""
    order = await get_order(session, order_id)
    vendor = await vendor_of(session, telegram_user_id, order.shop_id)
    if vendor is None:
        raise NotVendor()
    if action not in vendor_actions(order):
        raise VendorActionRefused(order, action, await last_actor_name(session, order))
    actor = f"vendor:{vendor.id}"
    try:
        async with session.begin_nested():
            if action is VendorAction.CONFIRM_TRANSFER:
                await _settle_transfer(session, order, actor=actor, now=now)
            if action is VendorAction.SHIP and tracking_number:
                order.tracking_number = normalise_tracking_number(tracking_number)
            fresh = await change_status(
                session,
                order,
                TARGETS[action],
                now=now,
                actor=actor,
                reason=(reason or RefusalReason.OTHER).value
                if action is VendorAction.REFUSE
                else "",
            )
            if action is VendorAction.REFUSE:
                await request_refunds(session, fresh, reason="refused", now=now)
    except InvalidTransition:
        fresh = await get_order(session, order.id)
        raise VendorActionRefused(fresh, action, await last_actor_name(session, fresh)) from None
    return Acted(fresh, vendor)


async def owed_transfer_refund(session: AsyncSession, order: Order) -> Payment | None:
    """A bank transfer the shop must send back by hand (the order closed after it was paid)."""
    payment: Payment | None = await session.scalar(
        select(Payment).where(
            Payment.order_id == order.id,
            Payment.provider == PaymentProvider.BANK_TRANSFER,
            Payment.status == PaymentStatus.REFUND_REQUESTED,
        )
    )
    return payment


async def confirm_transfer_refund(
    session: AsyncSession, order_id: int, *, telegram_user_id: int, now: datetime
) -> Order:
    """The vendor sent a transfer's money back: recorded refunded, the customer told once."""
    order = await get_order(session, order_id)
    vendor = await vendor_of(session, telegram_user_id, order.shop_id)
    if vendor is None:
        raise NotVendor()
    payment = await owed_transfer_refund(session, order)
    if payment is None:
        raise VendorActionRefused(order, VendorAction.REFUND_SENT, "")
    await apply_provider_payment(
        session,
        provider=PaymentProvider.BANK_TRANSFER,
        provider_payment_id=payment.provider_payment_id,
        status=PaymentStatus.CANCELLED,
        amount=payment.amount,
        currency=payment.currency,
        now=now,
        raw={"refunded_by": f"vendor:{vendor.id}"},
    )
    await sync_vendor_alerts(session, order, now=now, new_alerts=False, suffix="refunded")
    return order


async def _settle_transfer(
    session: AsyncSession, order: Order, *, actor: str, now: datetime
) -> None:
    """The vendor saw the transfer arrive: its payment record says paid, by whom."""
    payment = await session.scalar(
        select(Payment).where(
            Payment.order_id == order.id,
            Payment.provider == PaymentProvider.BANK_TRANSFER,
            Payment.status == PaymentStatus.PENDING,
        )
    )
    if payment is not None:
        payment.status = PaymentStatus.PAID
        payment.paid_at = now
        payment.updated_at = now
        payment.status_reason = actor
        await session.flush()


async def choose_bank_transfer(
    session: AsyncSession, order: Order, customer: Customer, *, now: datetime
) -> Order:
    """The customer will pay by bank transfer: a depositor name to use, the vendors alerted.

    Choosing again returns the order as it is (a double tap alerts nobody twice).
    """
    if order.customer_id != customer.id:
        raise NotFound("order", order.code)
    if order.status is not OrderStatus.PENDING_PAYMENT or (
        order.expires_at is not None and order.expires_at <= now
    ):
        raise InvalidTransition(order.status.value, "bank_transfer")
    if order.payment_method == BANK_TRANSFER:
        return order
    order.payment_method = BANK_TRANSFER
    order.depositor_name = depositor_name(order, customer)
    order.updated_at = now
    session.add(
        Payment(
            order_id=order.id,
            provider=PaymentProvider.BANK_TRANSFER,
            provider_payment_id=f"bt-{order.code}",
            amount=order.total,
            currency=order.currency,
            status=PaymentStatus.PENDING,
            status_reason="",
            raw={},
            created_at=now,
            updated_at=now,
        )
    )
    await session.flush()
    await sync_vendor_alerts(session, order, now=now, new_alerts=True)
    return order


def depositor_name(order: Order, customer: Customer | None) -> str:
    """What the customer writes as the depositor: their name and the code's last 3 letters,
    so the vendor matches the transfer to the order at a glance (banks allow ~7 Hangul)."""
    name = "".join((order.recipient_name or (customer.name if customer else "")).split())
    return (name[:5] or "주문") + order.code[-3:]


def normalise_tracking_number(text: str) -> str:
    value = " ".join(text.split())
    if not value or len(value) > 100:
        raise InvalidInput("a tracking number is 1 to 100 characters", field="tracking_number")
    return value
