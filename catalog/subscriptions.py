"""Subscriptions to shows, shops and markets: explicit opt-ins to marketing messages.

Reminders and broadcasts are marketing under 개인정보 보호법: a customer gets one only with a
live opt-in (consent time stored, not revoked), not blocked and not forgotten. Turning off
is one tap and ends every subscription at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.customers import give_marketing_consent, revoke_marketing_consent
from catalog.models import Customer, Shop, Show, Subscription, SubscriptionTarget
from catalog.shows import show_market_id


def marketing_allowed() -> ColumnElement[bool]:
    """SQL: the customer opted in, has not revoked, has not blocked the bot, is not forgotten."""
    return and_(
        Customer.marketing_consent_at.is_not(None),
        Customer.marketing_revoked_at.is_(None),
        Customer.blocked_at.is_(None),
        Customer.forgotten_at.is_(None),
    )


async def subscribe(
    session: AsyncSession,
    customer: Customer,
    target: SubscriptionTarget,
    target_id: int,
    *,
    now: datetime,
) -> Subscription:
    """Record an explicit opt-in to `target` with its time (a repeated tap keeps the first).

    The customer is talking to the bot, so a block recorded earlier no longer holds.
    """
    await give_marketing_consent(session, customer, now=now)
    customer.blocked_at = None
    existing = await session.scalar(
        select(Subscription).where(
            Subscription.customer_id == customer.id,
            Subscription.target == target,
            Subscription.target_id == target_id,
        )
    )
    if existing is not None:
        if existing.revoked_at is not None:
            existing.revoked_at, existing.revoked_reason = None, ""
            existing.subscribed_at = now
        return existing
    try:
        async with session.begin_nested():
            subscription = Subscription(
                customer_id=customer.id,
                target=target,
                target_id=target_id,
                subscribed_at=now,
                revoked_reason="",
            )
            session.add(subscription)
            await session.flush()
    except IntegrityError:  # the same tap twice, racing
        found = await session.scalar(
            select(Subscription).where(
                Subscription.customer_id == customer.id,
                Subscription.target == target,
                Subscription.target_id == target_id,
            )
        )
        if found is None:
            raise
        subscription = found
    return subscription


async def unsubscribe_everything(
    session: AsyncSession, customer: Customer, *, now: datetime, reason: str = "customer"
) -> int:
    """End every subscription and the marketing consent (one tap, or /stop); returns how many
    subscriptions ended. Messages already queued are dropped when their turn comes."""
    result = await session.execute(
        update(Subscription)
        .where(Subscription.customer_id == customer.id, Subscription.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    await revoke_marketing_consent(session, customer, now=now)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def end_marketing_for_chat(
    session: AsyncSession, chat_id: int, *, now: datetime, reason: str
) -> None:
    """Telegram says the chat is gone (blocked, deactivated, not found): mark the customer
    blocked and end their subscriptions, so no reminder tries them again."""
    customer_ids = list(
        await session.scalars(select(Customer.id).where(Customer.chat_id == chat_id))
    )
    if not customer_ids:
        return
    await session.execute(
        update(Customer)
        .where(Customer.id.in_(customer_ids))
        .values(blocked_at=now, marketing_revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Subscription)
        .where(Subscription.customer_id.in_(customer_ids), Subscription.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason[:40])
        .execution_options(synchronize_session=False)
    )


async def active_subscriptions(session: AsyncSession, customer: Customer) -> list[Subscription]:
    """The customer's live subscriptions, oldest first."""
    return list(
        await session.scalars(
            select(Subscription)
            .where(Subscription.customer_id == customer.id, Subscription.revoked_at.is_(None))
            .order_by(Subscription.id)
        )
    )


async def may_market_to(session: AsyncSession, chat_id: int) -> bool:
    """Checked again when a queued reminder is sent: consent may have ended since."""
    found = await session.scalar(
        select(Customer.id).where(Customer.chat_id == chat_id, marketing_allowed()).limit(1)
    )
    return found is not None


async def show_targets(session: AsyncSession, show: Show) -> ColumnElement[bool]:
    """SQL: a subscription that covers `show` (to it, to its shop, or to its market)."""
    clauses = [
        and_(Subscription.target == SubscriptionTarget.SHOW, Subscription.target_id == show.id)
    ]
    if show.shop_id is not None:
        clauses.append(
            and_(
                Subscription.target == SubscriptionTarget.SHOP,
                Subscription.target_id == show.shop_id,
            )
        )
    market_id = await show_market_id(session, show)
    if market_id is not None:
        clauses.append(
            and_(
                Subscription.target == SubscriptionTarget.MARKET,
                Subscription.target_id == market_id,
            )
        )
    return or_(*clauses)


async def covering_subscription(
    session: AsyncSession, customer: Customer, show: Show
) -> Subscription | None:
    """The customer's live subscription that brings them this show's reminders, if any."""
    return await session.scalar(
        select(Subscription)
        .where(
            Subscription.customer_id == customer.id,
            Subscription.revoked_at.is_(None),
            await show_targets(session, show),
        )
        .limit(1)
    )


async def audience(
    session: AsyncSession, targets: ColumnElement[bool], *, language: str | None = None
) -> list[tuple[int, int]]:
    """(customer id, chat id) of every opted-in customer with a live subscription matching
    `targets`, each once."""
    query = (
        select(Customer.id, Customer.chat_id)
        .join(Subscription, Subscription.customer_id == Customer.id)
        .where(targets, Subscription.revoked_at.is_(None), marketing_allowed())
        .distinct()
        .order_by(Customer.id)
    )
    if language is not None:
        query = query.where(Customer.language == language)
    return [(int(row[0]), int(row[1])) for row in (await session.execute(query)).all()]


async def show_audience(session: AsyncSession, show: Show) -> list[tuple[int, int]]:
    """Who gets the show's reminders: subscribers of the show, its shop, or its market."""
    return await audience(session, await show_targets(session, show))


def scope_targets(
    *, market_id: int | None, shop_ids: Sequence[int], show_ids: Sequence[int]
) -> ColumnElement[bool]:
    """SQL: subscriptions to a market, any of its shops, or any of their shows."""
    clauses = []
    if market_id is not None:
        clauses.append(
            and_(
                Subscription.target == SubscriptionTarget.MARKET,
                Subscription.target_id == market_id,
            )
        )
    if shop_ids:
        clauses.append(
            and_(
                Subscription.target == SubscriptionTarget.SHOP, Subscription.target_id.in_(shop_ids)
            )
        )
    if show_ids:
        clauses.append(
            and_(
                Subscription.target == SubscriptionTarget.SHOW, Subscription.target_id.in_(show_ids)
            )
        )
    if not clauses:
        return and_(Subscription.id.is_(None), Subscription.id.is_not(None))  # nobody
    return or_(*clauses)


async def market_shop_ids(session: AsyncSession, market_id: int) -> list[int]:
    return list(await session.scalars(select(Shop.id).where(Shop.market_id == market_id)))
