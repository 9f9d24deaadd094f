"""Waitlists (재입고 알림): customers wait for a sold-out product; restocked units are offered
to them in the order they joined, each offer holding one unit for the shop's hold minutes.

A hold is a reservation like an unpaid order's: the unit moves from `available` to `reserved`
with the same conditional UPDATE, so nobody else can buy it and nothing is oversold. The hold
then becomes the customer's order (placing it does not reserve that unit again), or it is
released when it lapses or the customer passes, and offered to the next in line.

Locks are taken product row first, then waitlist rows, on every path (offering, claiming,
lapsing, leaving), so concurrent stock changes and orders never deadlock on PostgreSQL.
Every status change is compared-and-set in SQL: a hold is claimed, passed on or lapsed once.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.db import is_postgres
from catalog.errors import NotFound
from catalog.models import Customer, Product, Shop, WaitlistEntry, WaitlistStatus
from catalog.outbox import enqueue_notification
from catalog.webhook_events import emit_stock_events

#: a waitlist entry lapses when no stock came back within this long
WAITLIST_DAYS = 30
ACTIVE = (WaitlistStatus.WAITING, WaitlistStatus.OFFERED)


class _NoUnitLeft(Exception):
    """Rolls an offer's savepoint back when no unit is left to hold."""


class JoinOutcome(enum.StrEnum):
    JOINED = "joined"
    ALREADY = "already"  # a double tap: the customer keeps their place
    IN_STOCK = "in_stock"  # nothing to wait for: it can be ordered now


@dataclass(frozen=True)
class WaitCounts:
    """How many customers wait in line for a product, and how many units are held for them."""

    waiting: int = 0
    held: int = 0


async def _lock_products(session: AsyncSession, product_ids: Collection[int]) -> None:
    """Take the product rows' locks first, in id order (PostgreSQL; SQLite locks the file)."""
    if product_ids and is_postgres(session):
        await session.execute(
            select(Product.id)
            .where(Product.id.in_(sorted(product_ids)))
            .order_by(Product.id)
            .with_for_update()
        )


async def _entry(session: AsyncSession, customer_id: int, product_id: int) -> WaitlistEntry | None:
    return await session.scalar(
        select(WaitlistEntry)
        .where(WaitlistEntry.customer_id == customer_id, WaitlistEntry.product_id == product_id)
        .execution_options(populate_existing=True)
    )


async def join_waitlist(
    session: AsyncSession, customer: Customer, product: Product, *, now: datetime
) -> JoinOutcome:
    """Put the customer at the end of the product's line (the tap is their opt-in, stored with
    its time); a second tap keeps their place and adds nothing."""
    if product.is_hidden:
        raise NotFound("product", product.id)
    entry = await _entry(session, customer.id, product.id)
    if entry is not None and entry.status in ACTIVE:
        return JoinOutcome.ALREADY
    if product.available > 0 and not await _anyone_waiting(session, product.id, now=now):
        return JoinOutcome.IN_STOCK
    values = {
        "status": WaitlistStatus.WAITING,
        "joined_at": now,
        "expires_at": now + timedelta(days=WAITLIST_DAYS),
        "offered_at": None,
        "hold_until": None,
        "closed_at": None,
        "order_id": None,
    }
    if entry is not None:
        reopened = await session.execute(
            update(WaitlistEntry)
            .where(WaitlistEntry.id == entry.id, WaitlistEntry.status.not_in(ACTIVE))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if reopened.rowcount != 1:  # type: ignore[attr-defined]
            return JoinOutcome.ALREADY
    else:
        try:
            async with session.begin_nested():
                session.add(WaitlistEntry(customer_id=customer.id, product_id=product.id, **values))
                await session.flush()
        except IntegrityError:  # the same tap twice at once: the other one joined
            return JoinOutcome.ALREADY
    # stock may have come back between the product screen and the tap
    await offer_restocked(session, [product.id], now=now)
    return JoinOutcome.JOINED


async def _anyone_waiting(session: AsyncSession, product_id: int, *, now: datetime) -> bool:
    found = await session.scalar(
        select(WaitlistEntry.id)
        .where(
            WaitlistEntry.product_id == product_id,
            WaitlistEntry.status == WaitlistStatus.WAITING,
            WaitlistEntry.expires_at > now,
        )
        .limit(1)
    )
    return found is not None


async def leave_waitlist(
    session: AsyncSession, customer: Customer, product_id: int, *, now: datetime
) -> bool:
    """Take the customer off the product's line with one tap; a unit held for them goes to
    the next in line. Returns False when they were not waiting (a second tap)."""
    await _lock_products(session, [product_id])
    entry = await _entry(session, customer.id, product_id)
    if entry is None or entry.status not in ACTIVE:
        return False
    was = entry.status
    left = await session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.id == entry.id, WaitlistEntry.status == was)
        .values(status=WaitlistStatus.LEFT, closed_at=now, hold_until=None)
        .execution_options(synchronize_session=False)
    )
    if left.rowcount != 1:  # type: ignore[attr-defined]
        return False
    if was is WaitlistStatus.OFFERED:
        await _release_one(session, product_id)
        await offer_restocked(session, [product_id], now=now)
    return True


async def _release_one(session: AsyncSession, product_id: int) -> None:
    await session.execute(
        update(Product)
        .where(Product.id == product_id, Product.reserved >= 1)
        .values(available=Product.available + 1, reserved=Product.reserved - 1)
        .execution_options(synchronize_session=False)
    )


class WithdrawReason(enum.StrEnum):
    SOLD_OUT = "sold_out"  # the vendor says none is left (or hid it): they wait on
    REMOVED = "removed"  # the product was deleted


async def withdraw_holds(
    session: AsyncSession,
    product_id: int,
    *,
    now: datetime,
    reason: WithdrawReason = WithdrawReason.SOLD_OUT,
) -> int:
    """The vendor says the product is gone: every open hold on it is withdrawn, its unit moved
    from `reserved` back to `available` (the caller then sets or hides it, so it is not offered
    again), and each held customer gets one short message. Returns how many were withdrawn.

    A sold-out customer keeps their place in line (back to waiting, same join time). Each
    hold is compared-and-set from `offered`, so a hold an order claims at the same moment is
    the order's and is not withdrawn; units reserved by orders are never touched.
    """
    await _lock_products(session, [product_id])
    held = list(
        await session.execute(
            select(WaitlistEntry.id, Customer.chat_id, Product.name)
            .join(Customer, Customer.id == WaitlistEntry.customer_id)
            .join(Product, Product.id == WaitlistEntry.product_id)
            .where(
                WaitlistEntry.product_id == product_id,
                WaitlistEntry.status == WaitlistStatus.OFFERED,
            )
            .order_by(WaitlistEntry.joined_at, WaitlistEntry.id)
        )
    )
    waiting_again = reason is WithdrawReason.SOLD_OUT
    withdrawn = 0
    for entry_id, chat_id, name in held:
        result = await session.execute(
            update(WaitlistEntry)
            .where(WaitlistEntry.id == entry_id, WaitlistEntry.status == WaitlistStatus.OFFERED)
            .values(
                status=WaitlistStatus.WAITING if waiting_again else WaitlistStatus.LAPSED,
                offered_at=None,
                hold_until=None,
                closed_at=None if waiting_again else now,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            continue  # claimed by an order (or left) meanwhile: not ours to withdraw
        await _release_one(session, product_id)
        await enqueue_notification(
            session,
            chat_id=chat_id,
            kind="waitlist_withdrawn",
            # the name travels with the message: a deleted product can't be read back
            data={"entry_id": entry_id, "product_id": product_id, "name": name, "reason": reason},
            ref=f"waitlist:{entry_id}",
            dedupe_key=f"waitlist:{entry_id}:withdrawn:{now.isoformat()}",
            now=now,
        )
        withdrawn += 1
    return withdrawn


async def sellable_for(
    session: AsyncSession, customer_id: int | None, products: Collection[Product]
) -> dict[int, int]:
    """How many units of each product this customer can order now (product id -> units):
    what is for sale plus what a waitlist offer holds for them. Every "can I add one more"
    check in front of a customer uses this one figure."""
    held = (
        await held_units(session, customer_id, [p.id for p in products])
        if customer_id is not None
        else {}
    )
    return {p.id: max(p.available, 0) + held.get(p.id, 0) for p in products}


async def offer_restocked(
    session: AsyncSession, product_ids: Collection[int], *, now: datetime
) -> int:
    """Offer each product's sellable units to its waitlist, first joined first: one unit held
    per customer for the shop's hold minutes, each with a message. Returns how many offers.

    Call it after anything that may raise `available` (a vendor's tap, the REST API, a stock
    sync, an order's stock coming back); the periodic job calls it too, so nothing is missed.
    A unit is held only if the conditional UPDATE finds it, so an offer never oversells.
    """
    if not product_ids:
        return 0
    awaited = await session.scalars(
        select(WaitlistEntry.product_id)
        .where(
            WaitlistEntry.product_id.in_(sorted(set(product_ids))),
            WaitlistEntry.status == WaitlistStatus.WAITING,
            WaitlistEntry.expires_at > now,
        )
        .distinct()
    )
    offered = 0
    for product_id in sorted(set(awaited)):
        await _lock_products(session, [product_id])
        row = (
            await session.execute(
                select(
                    Product.available,
                    Product.is_hidden,
                    Product.name,
                    Shop.is_open,
                    Shop.waitlist_hold_minutes,
                )
                .join(Shop, Shop.id == Product.shop_id)
                .where(Product.id == product_id)
            )
        ).first()
        if row is None or row.is_hidden or not row.is_open or row.available <= 0:
            continue
        count = await _offer_product(
            session,
            product_id,
            row.available,
            hold=timedelta(minutes=row.waitlist_hold_minutes),
            now=now,
        )
        if count:
            offered += count
            await emit_stock_events(session, [product_id], now=now)
    return offered


async def _offer_product(
    session: AsyncSession, product_id: int, available: int, *, hold: timedelta, now: datetime
) -> int:
    offered = 0
    while offered < available:
        query = (
            select(WaitlistEntry.id, WaitlistEntry.customer_id, Customer.chat_id)
            .join(Customer, Customer.id == WaitlistEntry.customer_id)
            .where(
                WaitlistEntry.product_id == product_id,
                WaitlistEntry.status == WaitlistStatus.WAITING,
                WaitlistEntry.expires_at > now,
                Customer.blocked_at.is_(None),  # they can't hear the offer: don't hold for them
            )
            .order_by(WaitlistEntry.joined_at, WaitlistEntry.id)
            .limit(1)
        )
        if is_postgres(session):
            query = query.with_for_update(of=WaitlistEntry, skip_locked=True)
        nxt = (await session.execute(query)).first()
        if nxt is None:
            break
        try:
            async with session.begin_nested():
                claimed = await session.execute(
                    update(WaitlistEntry)
                    .where(
                        WaitlistEntry.id == nxt.id,
                        WaitlistEntry.status == WaitlistStatus.WAITING,
                    )
                    .values(status=WaitlistStatus.OFFERED, offered_at=now, hold_until=now + hold)
                    .execution_options(synchronize_session=False)
                )
                if claimed.rowcount != 1:  # type: ignore[attr-defined]
                    continue  # offered by another worker meanwhile
                held = (
                    await session.execute(
                        update(Product)
                        .where(Product.id == product_id, Product.available >= 1)
                        .values(available=Product.available - 1, reserved=Product.reserved + 1)
                        .returning(Product.id)
                        .execution_options(synchronize_session=False)
                    )
                ).first()
                if held is None:
                    raise _NoUnitLeft
        except _NoUnitLeft:  # someone bought the last unit meanwhile: the entry waits on
            break
        await enqueue_notification(
            session,
            chat_id=nxt.chat_id,
            kind="waitlist_offer",
            data={"entry_id": nxt.id, "product_id": product_id},
            ref=f"waitlist:{nxt.id}",
            dedupe_key=f"waitlist:{nxt.id}:offer:{now.isoformat()}",
            now=now,
        )
        offered += 1
    return offered


async def claim_holds(
    session: AsyncSession,
    customer_id: int,
    order_id: int,
    quantities: Mapping[int, int],
    *,
    now: datetime,
) -> dict[int, int]:
    """Turn the units held for this customer into this order's (product id -> units claimed);
    the caller reserves only the rest. Each hold is claimed once (compare-and-set)."""
    held = list(
        await session.execute(
            select(WaitlistEntry.id, WaitlistEntry.product_id).where(
                WaitlistEntry.customer_id == customer_id,
                WaitlistEntry.product_id.in_(list(quantities)),
                WaitlistEntry.status == WaitlistStatus.OFFERED,
            )
        )
    )
    if not held:
        return {}
    await _lock_products(session, quantities.keys())
    claimed: dict[int, int] = {}
    for entry_id, product_id in held:
        if quantities.get(product_id, 0) - claimed.get(product_id, 0) < 1:
            continue
        result = await session.execute(
            update(WaitlistEntry)
            .where(WaitlistEntry.id == entry_id, WaitlistEntry.status == WaitlistStatus.OFFERED)
            .values(status=WaitlistStatus.CLAIMED, closed_at=now, order_id=order_id)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed[product_id] = claimed.get(product_id, 0) + 1
    return claimed


async def held_units(
    session: AsyncSession, customer_id: int, product_ids: Collection[int]
) -> dict[int, int]:
    """Units held for this customer (product id -> units): they may order them though
    `available` shows 0."""
    if not product_ids:
        return {}
    rows = await session.execute(
        select(WaitlistEntry.product_id, func.count())
        .where(
            WaitlistEntry.customer_id == customer_id,
            WaitlistEntry.product_id.in_(list(product_ids)),
            WaitlistEntry.status == WaitlistStatus.OFFERED,
        )
        .group_by(WaitlistEntry.product_id)
    )
    return {int(product_id): int(count) for product_id, count in rows}


async def waiting_for(
    session: AsyncSession, customer_id: int, product_id: int, *, now: datetime
) -> WaitlistEntry | None:
    """The customer's live place on the product's waitlist (waiting or holding), if any."""
    entry = await _entry(session, customer_id, product_id)
    if entry is None or entry.status not in ACTIVE:
        return None
    if entry.status is WaitlistStatus.WAITING and entry.expires_at <= now:
        return None
    return entry


async def waitlist_position(session: AsyncSession, entry: WaitlistEntry) -> int:
    """1 for the first in line."""
    ahead = await session.scalar(
        select(func.count())
        .select_from(WaitlistEntry)
        .where(
            WaitlistEntry.product_id == entry.product_id,
            WaitlistEntry.status == WaitlistStatus.WAITING,
            (WaitlistEntry.joined_at < entry.joined_at)
            | ((WaitlistEntry.joined_at == entry.joined_at) & (WaitlistEntry.id < entry.id)),
        )
    )
    return int(ahead or 0) + 1


async def waiting_counts(
    session: AsyncSession, product_ids: Collection[int], *, now: datetime
) -> dict[int, WaitCounts]:
    """Per product: customers still in line (not yet lapsed) and units held for offers."""
    if not product_ids:
        return {}
    rows = await session.execute(
        select(WaitlistEntry.product_id, WaitlistEntry.status, func.count())
        .where(
            WaitlistEntry.product_id.in_(list(product_ids)),
            ((WaitlistEntry.status == WaitlistStatus.WAITING) & (WaitlistEntry.expires_at > now))
            | (WaitlistEntry.status == WaitlistStatus.OFFERED),
        )
        .group_by(WaitlistEntry.product_id, WaitlistEntry.status)
    )
    counts: dict[int, WaitCounts] = {}
    for product_id, status, count in rows:
        current = counts.get(int(product_id), WaitCounts())
        if WaitlistStatus(status) is WaitlistStatus.WAITING:
            current = WaitCounts(waiting=int(count), held=current.held)
        else:
            current = WaitCounts(waiting=current.waiting, held=int(count))
        counts[int(product_id)] = current
    return counts


async def expire_holds(session: AsyncSession, *, now: datetime, limit: int = 200) -> int:
    """Holds not ordered in time go back on the shelf and on to the next in line; the customer
    hears that it passed on. Returns how many lapsed."""
    due = list(
        await session.execute(
            select(WaitlistEntry.id, WaitlistEntry.product_id, WaitlistEntry.customer_id)
            .where(WaitlistEntry.status == WaitlistStatus.OFFERED, WaitlistEntry.hold_until <= now)
            .order_by(WaitlistEntry.hold_until, WaitlistEntry.id)
            .limit(limit)
        )
    )
    lapsed = 0
    for entry_id, product_id, customer_id in due:
        await _lock_products(session, [product_id])
        result = await session.execute(
            update(WaitlistEntry)
            .where(
                WaitlistEntry.id == entry_id,
                WaitlistEntry.status == WaitlistStatus.OFFERED,
                WaitlistEntry.hold_until <= now,
            )
            .values(status=WaitlistStatus.MISSED, closed_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            continue  # ordered or left meanwhile
        await _release_one(session, product_id)
        chat_id = await session.scalar(select(Customer.chat_id).where(Customer.id == customer_id))
        if chat_id is not None:
            await enqueue_notification(
                session,
                chat_id=chat_id,
                kind="waitlist_missed",
                data={"entry_id": entry_id, "product_id": product_id},
                ref=f"waitlist:{entry_id}",
                dedupe_key=f"waitlist:{entry_id}:missed:{now.isoformat()}",
                now=now,
            )
        await offer_restocked(session, [product_id], now=now)
        await emit_stock_events(session, [product_id], now=now, may_sell_out=False)
        lapsed += 1
    return lapsed


async def leave_all_waitlists(session: AsyncSession, customer: Customer, *, now: datetime) -> int:
    """The customer leaves every waitlist (they asked to be forgotten); held units go on to
    the next in line. Returns how many entries were closed."""
    product_ids = list(
        await session.scalars(
            select(WaitlistEntry.product_id).where(
                WaitlistEntry.customer_id == customer.id, WaitlistEntry.status.in_(ACTIVE)
            )
        )
    )
    left = 0
    for product_id in sorted(product_ids):
        left += await leave_waitlist(session, customer, product_id, now=now)
    return left


async def lapse_old_entries(session: AsyncSession, *, now: datetime) -> int:
    """Entries whose days ran out without stock leave the line quietly."""
    result = await session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.status == WaitlistStatus.WAITING, WaitlistEntry.expires_at <= now)
        .values(status=WaitlistStatus.LAPSED, closed_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def offer_wherever_waiting(session: AsyncSession, *, now: datetime, limit: int = 200) -> int:
    """The periodic sweep: any product with units for sale and someone waiting gets offers
    (whatever path raised its stock)."""
    product_ids = list(
        await session.scalars(
            select(WaitlistEntry.product_id)
            .join(Product, Product.id == WaitlistEntry.product_id)
            .where(
                WaitlistEntry.status == WaitlistStatus.WAITING,
                WaitlistEntry.expires_at > now,
                Product.available > 0,
            )
            .distinct()
            .limit(limit)
        )
    )
    return await offer_restocked(session, product_ids, now=now)


async def run_waitlists(session: AsyncSession, *, now: datetime) -> int:
    """Lapse holds (passing them on), lapse old entries, offer where stock waits; returns
    how many messages were queued (offers and lapsed holds)."""
    lapsed = await expire_holds(session, now=now)
    await lapse_old_entries(session, now=now)
    return lapsed + await offer_wherever_waiting(session, now=now)
