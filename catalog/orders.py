"""Orders: plan, place (reserving stock), move through the state machine, expire."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from catalog.db import is_postgres
from catalog.errors import (
    InvalidInput,
    NotFound,
    OrderNotCancellable,
    OutOfStock,
    PriceChanged,
    ShopClosed,
)
from catalog.models import (
    Customer,
    Fulfilment,
    Order,
    OrderLine,
    OrderStatus,
    OrderStatusChange,
    OutboxMessage,
    Product,
    Shop,
    Vendor,
)
from catalog.order_status import (
    HOLDS_RESERVATION,
    TERMINAL,
    can_customer_cancel,
    check_transition,
)
from catalog.outbox import enqueue_notification
from catalog.pricing import live_prices, price_of
from catalog.shops import seller_identity
from catalog.stock import commit_reservation, release_reservation, reserve_stock, restock
from catalog.waitlist import claim_holds, offer_restocked
from catalog.webhook_events import emit_order_event, emit_stock_events

CODE_ALPHABET = "ACDEFHJKMNPRTUVWXY34679"  # no 0/O, 1/I/L, 2/Z, 5/S, 8/B: easy to read aloud
MAX_LINE_QUANTITY = 999


@dataclass(frozen=True)
class RequestedLine:
    product_id: int
    quantity: int


@dataclass(frozen=True)
class PlannedLine:
    product: Product
    quantity: int
    unit_price: int

    @property
    def line_total(self) -> int:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class OrderPlan:
    """What an order will hold, computed without touching the database."""

    lines: tuple[PlannedLine, ...]
    subtotal: int
    delivery_fee: int

    @property
    def total(self) -> int:
        return self.subtotal + self.delivery_fee

    @property
    def quantities(self) -> dict[int, int]:
        return {line.product.id: line.quantity for line in self.lines}


def plan_order(
    shop: Shop,
    products: Iterable[Product],
    requested: Sequence[RequestedLine],
    fulfilment: Fulfilment,
    prices: Mapping[int, int] | None = None,
) -> OrderPlan:
    """Merge repeated products, check quantities and products, and price the order.

    `prices` are the live prices in force (catalog.pricing); other products cost their list
    price. Guarantees: every line is a visible product of `shop` with 1..999 units.
    """
    if not requested:
        raise InvalidInput("an order needs at least one line", field="lines")
    by_id = {p.id: p for p in products}
    merged: dict[int, int] = {}
    for line in requested:
        if line.quantity < 1:
            raise InvalidInput("quantity must be at least 1", field="quantity")
        merged[line.product_id] = merged.get(line.product_id, 0) + line.quantity
    planned = []
    for product_id, quantity in merged.items():
        product = by_id.get(product_id)
        if product is None or product.shop_id != shop.id or product.is_hidden:
            raise NotFound("product", product_id)
        if quantity > MAX_LINE_QUANTITY:
            raise InvalidInput(f"at most {MAX_LINE_QUANTITY} of one product", field="quantity")
        planned.append(
            PlannedLine(
                product=product, quantity=quantity, unit_price=price_of(product, prices or {})
            )
        )
    if fulfilment is Fulfilment.DELIVERY and not shop.delivery_available:
        raise InvalidInput("this shop does not deliver", field="fulfilment")
    if fulfilment is Fulfilment.PICKUP and not shop.pickup_available:
        raise InvalidInput("this shop does not offer pickup", field="fulfilment")
    subtotal = sum(line.line_total for line in planned)
    fee = shop.delivery_fee if fulfilment is Fulfilment.DELIVERY else 0
    return OrderPlan(lines=tuple(planned), subtotal=subtotal, delivery_fee=fee)


def new_order_code() -> str:
    """A short code a vendor can read over the counter (23^7, about 3.4 billion)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(7))


async def get_order(session: AsyncSession, order_id: int) -> Order:
    """The order with its lines and shop, or NotFound."""
    order = await session.scalar(
        select(Order)
        .where(Order.id == order_id)
        .options(selectinload(Order.lines), selectinload(Order.shop))
        .execution_options(populate_existing=True)
    )
    if order is None:
        raise NotFound("order", order_id)
    return order


async def get_order_by_code(session: AsyncSession, code: str) -> Order:
    """The order by its short code, or NotFound."""
    order = await session.scalar(
        select(Order)
        .where(Order.code == code.strip().upper())
        .options(selectinload(Order.lines), selectinload(Order.shop))
        .execution_options(populate_existing=True)
    )
    if order is None:
        raise NotFound("order", code)
    return order


async def get_order_by_pay_token(session: AsyncSession, pay_token: str) -> Order:
    """The order behind a pay-page link, or NotFound (the token is opaque, not guessable)."""
    order = await session.scalar(
        select(Order)
        .where(Order.pay_token == pay_token)
        .options(selectinload(Order.lines), selectinload(Order.shop))
        .execution_options(populate_existing=True)
    )
    if order is None:
        raise NotFound("order", "pay link")
    return order


async def place_order(
    session: AsyncSession,
    *,
    shop: Shop,
    customer: Customer | None,
    lines: Sequence[RequestedLine],
    fulfilment: Fulfilment,
    now: datetime,
    reservation_minutes: int = 15,
    phone: str | None = None,
    address: str | None = None,
    recipient_name: str = "",
    payment_method: str = "",
    checkout_token: str | None = None,
    confirmed_prices: Mapping[int, int] | None = None,
) -> Order:
    """Place an order and reserve its stock atomically; it waits for payment until it expires.

    Lines are priced at `now` (a show's live price while it is on air). With
    `confirmed_prices` ({product id: unit price} the customer saw and confirmed), a different
    price in force raises PriceChanged before anything is written.

    All lines are reserved or none (OutOfStock names every shortage, and the savepoint leaves
    nothing behind). The same `checkout_token` twice returns the first order: a double tap
    never makes two orders.
    """
    if checkout_token is not None:
        existing = await session.scalar(
            select(Order.id).where(Order.checkout_token == checkout_token)
        )
        if existing is not None:
            return await get_order(session, existing)
    if not shop.is_open:
        raise ShopClosed(shop.slug)
    if fulfilment is Fulfilment.DELIVERY and not (address and address.strip()):
        raise InvalidInput("delivery needs an address", field="address")
    product_ids = [line.product_id for line in lines]
    products = await session.scalars(select(Product).where(Product.id.in_(product_ids)))
    prices = await live_prices(session, product_ids, now)
    plan = plan_order(shop, products, lines, fulfilment, prices)
    if confirmed_prices is not None:
        changed = [
            line.product.name
            for line in plan.lines
            if confirmed_prices.get(line.product.id) != line.unit_price
        ]
        if changed:
            raise PriceChanged(changed)
    # The stock rows are the contended ones: everything else is written first, so their locks
    # are held only from the reservation to the commit.
    async with session.begin_nested():
        order = Order(
            code=new_order_code(),
            shop_id=shop.id,
            customer_id=customer.id if customer else None,
            checkout_token=checkout_token,
            pay_token=secrets.token_urlsafe(24),
            status=OrderStatus.PENDING_PAYMENT,
            fulfilment=fulfilment,
            recipient_name=recipient_name,
            phone=phone,
            address=address.strip() if address else None,
            currency=shop.currency,
            subtotal=plan.subtotal,
            delivery_fee=plan.delivery_fee,
            total=plan.total,
            payment_method=payment_method,
            terms_shown=seller_identity(shop),
            confirmed_at=now,
            expires_at=now + timedelta(minutes=reservation_minutes),
            created_at=now,
            updated_at=now,
        )
        order.lines = [
            OrderLine(
                product_id=line.product.id,
                sku=line.product.sku,
                name=line.product.name,
                unit=line.product.unit,
                unit_price=line.unit_price,
                quantity=line.quantity,
                line_total=line.line_total,
            )
            for line in plan.lines
        ]
        order.history = [
            OrderStatusChange(
                from_status=None,
                to_status=OrderStatus.PENDING_PAYMENT.value,
                actor="customer",
                at=now,
            )
        ]
        session.add(order)
        await session.flush()
        if customer is not None:
            await enqueue_notification(
                session,
                chat_id=customer.chat_id,
                kind="order_placed",
                data={"order_id": order.id, "code": order.code, "status": order.status.value},
                ref=f"order:{order.id}",
                dedupe_key=f"order:{order.id}:placed",
                now=now,
            )
            await session.flush()
        # units held for this customer by a waitlist offer are theirs already: not reserved again
        held = (
            await claim_holds(session, customer.id, order.id, plan.quantities, now=now)
            if customer is not None
            else {}
        )
        rest = {pid: qty - held.get(pid, 0) for pid, qty in plan.quantities.items()}
        try:
            await reserve_stock(
                session, {pid: qty for pid, qty in rest.items() if qty > 0}, now=now
            )
        except OutOfStock as short:
            if not held:
                raise
            # tell the customer what they can have: the units held for them count as theirs
            raise OutOfStock(
                [
                    replace(
                        s,
                        requested=s.requested + held.get(s.product_id, 0),
                        available=s.available + held.get(s.product_id, 0),
                    )
                    for s in short.shortages
                ]
            ) from None
        await emit_order_event(session, order, "order.created", now=now)
    return order


def _line_quantities(order: Order) -> dict[int, int]:
    quantities: dict[int, int] = {}
    for line in order.lines:
        if line.product_id is not None:
            quantities[line.product_id] = quantities.get(line.product_id, 0) + line.quantity
    return quantities


async def change_status(
    session: AsyncSession,
    order: Order,
    target: OrderStatus,
    *,
    now: datetime,
    actor: str,
    reason: str = "",
    notify_customer: bool = True,
) -> Order:
    """Move an order to `target` if the state machine allows it, moving stock to match.

    The status is compared-and-set in SQL, so two racing changes (a payment and the expiry,
    two vendors tapping) apply once: the loser gets InvalidTransition. Every change is kept
    in the order's history and told to the customer through the outbox.
    """
    current = order.status
    check_transition(current, target)
    values: dict[str, object] = {"status": target, "updated_at": now, "status_reason": reason}
    if target is OrderStatus.PAID:
        values["paid_at"] = now
    if target in (
        OrderStatus.COMPLETED,
        OrderStatus.CANCELLED,
        OrderStatus.EXPIRED,
        OrderStatus.REFUSED,
    ):
        values["closed_at"] = now
    result = await session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == current)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        fresh = await get_order(session, order.id)
        check_transition(fresh.status, target)  # raises: someone else moved it first
        return await change_status(
            session,
            fresh,
            target,
            now=now,
            actor=actor,
            reason=reason,
            notify_customer=notify_customer,
        )
    quantities = _line_quantities(order)
    if current in HOLDS_RESERVATION:
        if target is OrderStatus.PAID:
            await commit_reservation(session, quantities)
        else:
            await release_reservation(session, quantities)
    elif target in (OrderStatus.CANCELLED, OrderStatus.REFUSED):
        await restock(session, quantities)
    session.add(
        OrderStatusChange(
            order_id=order.id,
            from_status=current.value,
            to_status=target.value,
            actor=actor,
            reason=reason,
            at=now,
        )
    )
    fresh = await get_order(session, order.id)
    customer = await session.get(Customer, fresh.customer_id) if fresh.customer_id else None
    if target in TERMINAL and customer is not None and customer.forgotten_at is not None:
        # the customer asked to be forgotten while this order was open: now it is closed
        fresh.recipient_name, fresh.phone, fresh.address = "", None, None
    if notify_customer and customer is not None:
        await enqueue_notification(
            session,
            chat_id=customer.chat_id,
            kind="order_status",
            data={
                "order_id": fresh.id,
                "code": fresh.code,
                "status": target.value,
                "reason": reason,
            },
            ref=f"order:{fresh.id}",
            dedupe_key=f"order:{fresh.id}:{target.value}",
            now=now,
        )
    await sync_vendor_alerts(session, fresh, now=now, new_alerts=target is OrderStatus.PAID)
    await emit_order_event(
        session, fresh, "order.status_changed", now=now, previous_status=current.value
    )
    if target is OrderStatus.PAID:
        await emit_order_event(session, fresh, "order.paid", now=now)
    if current in HOLDS_RESERVATION or target in (OrderStatus.CANCELLED, OrderStatus.REFUSED):
        # reservations committed or returned: no unit left the shelf now
        await emit_stock_events(session, quantities.keys(), now=now, may_sell_out=False)
    if target is not OrderStatus.PAID and (
        current in HOLDS_RESERVATION or target in (OrderStatus.CANCELLED, OrderStatus.REFUSED)
    ):
        await offer_restocked(session, quantities.keys(), now=now)  # back on the shelf: waitlist
    return fresh


async def notify_vendors(session: AsyncSession, order: Order, *, kind: str, now: datetime) -> None:
    """One `kind` message per vendor of the order's shop (once per order, kind and vendor)."""
    vendors = await session.scalars(select(Vendor).where(Vendor.shop_id == order.shop_id))
    for vendor in vendors:
        await enqueue_notification(
            session,
            chat_id=vendor.chat_id,
            kind=kind,
            data={"order_id": order.id, "code": order.code, "status": order.status.value},
            ref=f"order:{order.id}",
            dedupe_key=f"order:{order.id}:{kind}:{vendor.id}",
            now=now,
        )


def vendor_alert_key(order_id: int, vendor_id: int) -> str:
    """The dedupe key of a vendor's alert for an order: one alert per order and vendor."""
    return f"order:{order_id}:vendor_alert:{vendor_id}"


async def sync_vendor_alerts(
    session: AsyncSession, order: Order, *, now: datetime, new_alerts: bool, suffix: str = ""
) -> None:
    """Keep every vendor's alert for this order true: one message per vendor, then edits.

    A vendor who already has the order's alert gets it edited to the order's new state (one
    `vendor_order_update` per status). With `new_alerts` (the order was paid, or waits for a
    bank transfer) a vendor without one gets the alert. `suffix` names a change that is not a
    status change (a transfer refunded by hand). The renderers read the order when they
    send, so an alert sent late already shows the latest state.
    """
    vendors = list(await session.scalars(select(Vendor).where(Vendor.shop_id == order.shop_id)))
    if not vendors:
        return
    keys = {vendor.id: vendor_alert_key(order.id, vendor.id) for vendor in vendors}
    existing = set(
        await session.scalars(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys.values()))
        )
    )
    for vendor in vendors:
        data = {"order_id": order.id, "vendor_id": vendor.id, "status": order.status.value}
        if keys[vendor.id] in existing:
            await enqueue_notification(
                session,
                chat_id=vendor.chat_id,
                kind="vendor_order_update",
                data=data,
                ref=f"order:{order.id}",
                dedupe_key=f"order:{order.id}:vendor_update:{vendor.id}:{order.status.value}"
                + (f":{suffix}" if suffix else ""),
                now=now,
            )
        elif new_alerts:
            await enqueue_notification(
                session,
                chat_id=vendor.chat_id,
                kind="vendor_order",
                data=data,
                ref=f"order:{order.id}",
                dedupe_key=keys[vendor.id],
                now=now,
            )


async def mark_paid(session: AsyncSession, order: Order, *, now: datetime, actor: str) -> Order:
    """The money is proven: reserved stock is sold and the shop's vendors are alerted."""
    return await change_status(session, order, OrderStatus.PAID, now=now, actor=actor)


async def cancel_by_customer(
    session: AsyncSession, order: Order, customer: Customer, *, now: datetime
) -> Order:
    """A customer cancels their own order while the vendor has not accepted it yet; what
    they paid is refunded."""
    if order.customer_id != customer.id:
        raise NotFound("order", order.code)
    if not can_customer_cancel(order.status):
        raise OrderNotCancellable(order.status.value, OrderStatus.CANCELLED.value)
    from catalog.payments import request_refunds  # payments builds on orders

    was_paid = order.status is not OrderStatus.PENDING_PAYMENT
    cancelled = await change_status(
        session,
        order,
        OrderStatus.CANCELLED,
        now=now,
        actor=f"customer:{customer.id}",
        reason="customer",
    )
    if was_paid:
        await request_refunds(session, cancelled, reason="cancelled by the customer", now=now)
    return cancelled


async def expire_unpaid_orders(session: AsyncSession, *, now: datetime, limit: int = 200) -> int:
    """Expire unpaid orders whose reservation lapsed and return their stock; returns the count.

    On PostgreSQL the rows are claimed with SKIP LOCKED, so several workers share the work.
    """
    query = (
        select(Order.id)
        .where(Order.status == OrderStatus.PENDING_PAYMENT, Order.expires_at <= now)
        .order_by(Order.expires_at)
        .limit(limit)
    )
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    expired = 0
    for order_id in list(await session.scalars(query)):
        order = await get_order(session, order_id)
        if order.status is not OrderStatus.PENDING_PAYMENT:
            continue
        await change_status(
            session, order, OrderStatus.EXPIRED, now=now, actor="system", reason="unpaid"
        )
        expired += 1
    return expired


#: an unpaid order is reminded this long before its reservation lapses
NUDGE_BEFORE = timedelta(minutes=5)


async def nudge_unpaid_orders(
    session: AsyncSession, *, now: datetime, before: timedelta = NUDGE_BEFORE, limit: int = 200
) -> int:
    """Remind each unpaid order's customer once, shortly before the reservation lapses.

    `payment_nudged_at` is compared-and-set in the same transaction as the outbox row, so
    however many workers run this, a customer gets one reminder per order, never more. An
    order placed less than a minute ago (a reservation shorter than the lead) is left alone.
    """
    query = (
        select(Order.id, Order.expires_at, Customer.chat_id)
        .join(Customer, Customer.id == Order.customer_id)
        .where(
            Order.status == OrderStatus.PENDING_PAYMENT,
            Order.payment_nudged_at.is_(None),
            Order.expires_at > now,
            Order.expires_at <= now + before,
            Order.confirmed_at <= now - timedelta(minutes=1),
        )
        .order_by(Order.expires_at)
        .limit(limit)
    )
    nudged = 0
    for order_id, expires_at, chat_id in list(await session.execute(query)):
        result = await session.execute(
            update(Order)
            .where(
                Order.id == order_id,
                Order.status == OrderStatus.PENDING_PAYMENT,
                Order.payment_nudged_at.is_(None),
            )
            .values(payment_nudged_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1 or expires_at is None:  # type: ignore[attr-defined]
            continue
        minutes = max(1, -(-int((expires_at - now).total_seconds()) // 60))
        await enqueue_notification(
            session,
            chat_id=chat_id,
            kind="payment_nudge",
            data={"order_id": order_id, "minutes": minutes},
            ref=f"order:{order_id}",
            dedupe_key=f"order:{order_id}:payment_nudge",
            now=now,
        )
        nudged += 1
    return nudged


async def list_orders(
    session: AsyncSession,
    shop: Shop,
    *,
    statuses: Sequence[OrderStatus] | None = None,
    limit: int = 100,
    before_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Order]:
    """A shop's orders, newest first; `since` (inclusive) and `until` (exclusive) bound when
    they were placed."""
    query = (
        select(Order)
        .where(Order.shop_id == shop.id)
        .options(selectinload(Order.lines))
        .order_by(Order.id.desc())
        .limit(limit)
    )
    if statuses:
        query = query.where(Order.status.in_(list(statuses)))
    if before_id is not None:
        query = query.where(Order.id < before_id)
    if since is not None:
        query = query.where(Order.created_at >= since)
    if until is not None:
        query = query.where(Order.created_at < until)
    return list(await session.scalars(query))


async def list_customer_orders(
    session: AsyncSession, customer: Customer, *, limit: int = 10
) -> list[Order]:
    """A customer's orders, newest first (customers may always see their own records)."""
    query = (
        select(Order)
        .where(Order.customer_id == customer.id)
        .options(selectinload(Order.lines), selectinload(Order.shop))
        .order_by(Order.id.desc())
        .limit(limit)
    )
    return list(await session.scalars(query))
