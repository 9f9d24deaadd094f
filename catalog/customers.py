"""Customers: who they are, their language, phone, marketing consent, and forgetting them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import CartItem, Customer, Order
from catalog.order_status import TERMINAL
from catalog.phones import normalize_phone
from catalog.waitlist import leave_all_waitlists

FORGOTTEN_NAME = ""


async def get_customer(session: AsyncSession, telegram_user_id: int) -> Customer | None:
    """The customer with this Telegram user id, if they have talked to the bot before."""
    return await session.scalar(
        select(Customer).where(Customer.telegram_user_id == telegram_user_id)
    )


async def ensure_customer(
    session: AsyncSession,
    *,
    telegram_user_id: int,
    chat_id: int,
    name: str,
    language: str,
    now: datetime,
) -> Customer:
    """Find or create the customer; safe when two first messages race (unique user id)."""
    customer = await get_customer(session, telegram_user_id)
    if customer is not None:
        if customer.chat_id != chat_id:
            customer.chat_id = chat_id
        return customer
    try:
        async with session.begin_nested():
            customer = Customer(
                telegram_user_id=telegram_user_id,
                chat_id=chat_id,
                name=name[:200],
                language=language,
                created_at=now,
                updated_at=now,
            )
            session.add(customer)
            await session.flush()
    except IntegrityError:
        customer = await get_customer(session, telegram_user_id)
        if customer is None:
            raise
    return customer


async def set_language(
    session: AsyncSession, customer: Customer, language: str, *, now: datetime
) -> None:
    """Remember the language the customer chose."""
    customer.language = language
    customer.updated_at = now


async def set_phone(session: AsyncSession, customer: Customer, raw: str, *, now: datetime) -> str:
    """Store the customer's phone in E.164 (010-1234-5678 and +82 forms alike); returns it."""
    phone = normalize_phone(raw)
    customer.phone = phone
    customer.updated_at = now
    return phone


async def set_address(
    session: AsyncSession, customer: Customer, address: str, *, now: datetime
) -> None:
    """Remember the delivery address for the next order."""
    customer.address = address.strip()[:300]
    customer.updated_at = now


async def give_marketing_consent(
    session: AsyncSession, customer: Customer, *, now: datetime
) -> None:
    """Record an explicit opt-in to reminders and broadcasts, with its time."""
    customer.marketing_consent_at = now
    customer.marketing_revoked_at = None
    customer.updated_at = now


async def revoke_marketing_consent(
    session: AsyncSession, customer: Customer, *, now: datetime
) -> None:
    """Stop all marketing messages to the customer."""
    customer.marketing_revoked_at = now
    customer.updated_at = now


async def forget_customer(session: AsyncSession, customer: Customer, *, now: datetime) -> int:
    """Delete the customer's personal data (개인정보 보호법) and pseudonymise closed orders.

    Order records are kept as 전자상거래법 requires (5 years), with name, phone and address
    removed: what remains is tied only to an internal customer id. Orders still in
    progress keep what delivery needs until they close.
    Returns how many orders were pseudonymised.
    """
    result = await session.execute(
        update(Order)
        .where(Order.customer_id == customer.id, Order.status.in_(list(TERMINAL)))
        .values(recipient_name="", phone=None, address=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(delete(CartItem).where(CartItem.customer_id == customer.id))
    await leave_all_waitlists(session, customer, now=now)
    customer.name = FORGOTTEN_NAME
    customer.phone = None
    customer.address = None
    customer.marketing_revoked_at = now
    customer.forgotten_at = now
    customer.updated_at = now
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
