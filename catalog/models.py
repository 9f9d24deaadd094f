"""SQLAlchemy models: markets, shops, vendors, products, customers, carts, orders, payments,
outbox, live shows, subscriptions, campaign staff and broadcasts."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from catalog.db import Base, BigId


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as UTC; SQLite gets them back aware too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware UTC time")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class OrderStatus(enum.StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    ACCEPTED = "accepted"
    READY = "ready"
    SHIPPED = "shipped"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REFUSED = "refused"


class Fulfilment(enum.StrEnum):
    PICKUP = "pickup"
    DELIVERY = "delivery"


class PaymentProvider(enum.StrEnum):
    PORTONE = "portone"
    BANK_TRANSFER = "bank_transfer"
    FAKE = "fake"


class PaymentStatus(enum.StrEnum):
    """A payment attempt as livecart sees it; `refund_requested` means money must go back."""

    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REFUND_REQUESTED = "refund_requested"
    REFUNDED = "refunded"


class OutboxLane(enum.StrEnum):
    """Interactive replies and alerts never wait behind a broadcast."""

    INTERACTIVE = "interactive"
    BULK = "bulk"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DROPPED = "dropped"
    REVIEW = "review"


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(
        cls,
        name=name,
        native_enum=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Market(Timestamped, Base):
    """A traditional market or a sale campaign that groups shops."""

    __tablename__ = "markets"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")

    shops: Mapped[list[Shop]] = relationship(back_populates="market", order_by="Shop.name")


class Shop(Timestamped, Base):
    """A vendor's stall, with the seller identity 전자상거래법 requires a remote seller to show."""

    __tablename__ = "shops"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    market_id: Mapped[int | None] = mapped_column(ForeignKey("markets.id", ondelete="SET NULL"))
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    locale: Mapped[str] = mapped_column(String(16), default="ko")
    currency: Mapped[str] = mapped_column(String(3), default="KRW")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Seoul")
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    pickup_available: Mapped[bool] = mapped_column(Boolean, default=True)
    delivery_available: Mapped[bool] = mapped_column(Boolean, default=True)
    delivery_fee: Mapped[int] = mapped_column(Integer, default=0)
    # bank transfer (계좌이체)
    bank_name: Mapped[str] = mapped_column(String(100), default="")
    bank_account: Mapped[str] = mapped_column(String(100), default="")
    bank_holder: Mapped[str] = mapped_column(String(100), default="")
    # seller identity (전자상거래법 제13조)
    legal_name: Mapped[str] = mapped_column(String(200), default="")  # 상호
    representative: Mapped[str] = mapped_column(String(100), default="")  # 대표자
    business_number: Mapped[str] = mapped_column(String(20), default="")  # 사업자등록번호
    mail_order_number: Mapped[str] = mapped_column(String(60), default="")  # 통신판매업 신고번호
    address: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    delivery_terms: Mapped[str] = mapped_column(Text, default="")
    cancellation_terms: Mapped[str] = mapped_column(Text, default="")
    refund_terms: Mapped[str] = mapped_column(Text, default="")
    # the vendor's day ends here (local "HH:MM"): the daily summary goes out then
    closing_time: Mapped[str] = mapped_column(String(5), default="20:00", server_default="20:00")
    # a restocked unit is held this long for the next customer on its waitlist (재입고 알림)
    waitlist_hold_minutes: Mapped[int] = mapped_column(Integer, default=10, server_default="10")

    market: Mapped[Market | None] = relationship(back_populates="shops")
    products: Mapped[list[Product]] = relationship(
        back_populates="shop", order_by="Product.position, Product.id"
    )
    vendors: Mapped[list[Vendor]] = relationship(back_populates="shop")


class Vendor(Base):
    """A person who runs a shop, reached on their Telegram chat."""

    __tablename__ = "vendors"
    __table_args__ = (UniqueConstraint("shop_id", "telegram_user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16), default="owner")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    shop: Mapped[Shop] = relationship(back_populates="vendors")


class VendorRole(enum.StrEnum):
    OWNER = "owner"  # may invite and remove staff
    STAFF = "staff"


class VendorInvite(Base):
    """A one-time invitation to run a shop, opened as the deep link `vendor_<token>`.

    Only the token's SHA-256 is stored: a leaked database can't be used to join a shop.
    """

    __tablename__ = "vendor_invites"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16), default="owner")
    created_by: Mapped[str] = mapped_column(String(64), default="")  # "admin" or "vendor:{id}"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_by_user_id: Mapped[int | None] = mapped_column(BigInteger)


class Product(Timestamped, Base):
    """Goods on sale. `available` can be sold now; `reserved` is held by unpaid orders."""

    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("shop_id", "sku"),
        CheckConstraint("available >= 0", name="available_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("price >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(40), default="")
    price: Mapped[int] = mapped_column(BigInteger)  # minor units of the shop's currency
    description: Mapped[str] = mapped_column(Text, default="")
    photo_url: Mapped[str] = mapped_column(String(500), default="")
    available: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    position: Mapped[int] = mapped_column(Integer, default=0)
    is_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    low_stock_threshold: Mapped[int] = mapped_column(Integer, default=0)
    # a low-stock alert went out and stock has not risen above the threshold since
    low_stock_alerted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # external stock sync: the newest version applied (an older update never overwrites it)
    stock_version: Mapped[int] = mapped_column(BigInteger, default=0)

    shop: Mapped[Shop] = relationship(back_populates="products")


class Customer(Timestamped, Base):
    """A Telegram user who browses or orders. Personal data can be forgotten on request."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(16), default="ko")
    phone: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(300))
    marketing_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    marketing_revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    forgotten_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CartItem(Base):
    """A line in a customer's cart; one row per product, so a double tap can't add two lines."""

    __tablename__ = "cart_items"
    __table_args__ = (
        UniqueConstraint("customer_id", "product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())

    product: Mapped[Product] = relationship()


class Order(Timestamped, Base):
    """One shop's part of a checkout. Its lines are snapshots, true even when products change."""

    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_shop_status", "shop_id", "status"),
        Index("ix_orders_status_expires", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="RESTRICT"), index=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    # a checkout sends one token per attempt: the same token twice gives the same order
    checkout_token: Mapped[str | None] = mapped_column(String(80), unique=True)
    status: Mapped[OrderStatus] = mapped_column(_enum(OrderStatus, "order_status"))
    fulfilment: Mapped[Fulfilment] = mapped_column(_enum(Fulfilment, "fulfilment"))
    recipient_name: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(300))
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[int] = mapped_column(BigInteger)
    delivery_fee: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger)
    payment_method: Mapped[str] = mapped_column(String(32), default="")
    # the opaque token of the pay page `/pay/{token}` (never the order id or code)
    pay_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    # bank transfer: the name the customer writes on the transfer, so the vendor can match it
    depositor_name: Mapped[str | None] = mapped_column(String(40))
    # the vendor was reminded of this order waiting unaccepted
    vendor_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # the customer was reminded to pay before the reservation lapses (set with its outbox row)
    payment_nudged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # what the customer saw when confirming: seller identity and terms (전자상거래법)
    terms_shown: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status_reason: Mapped[str] = mapped_column(String(300), default="")
    tracking_number: Mapped[str] = mapped_column(String(100), default="")

    shop: Mapped[Shop] = relationship()
    customer: Mapped[Customer | None] = relationship()
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.id", cascade="all, delete-orphan"
    )
    history: Mapped[list[OrderStatusChange]] = relationship(
        back_populates="order", order_by="OrderStatusChange.id", cascade="all, delete-orphan"
    )


class OrderLine(Base):
    """Name, unit price and quantity as confirmed."""

    __tablename__ = "order_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(40), default="")
    unit_price: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)
    line_total: Mapped[int] = mapped_column(BigInteger)

    order: Mapped[Order] = relationship(back_populates="lines")


class OrderStatusChange(Base):
    """Every status change, kept as the order's record (5 years under 전자상거래법)."""

    __tablename__ = "order_status_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[str] = mapped_column(String(300), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    order: Mapped[Order] = relationship(back_populates="history")


class Payment(Timestamped, Base):
    """One attempt to pay an order, under a payment id livecart chose (kept 5 years).

    `amount` is what livecart asked for (the order's total); `raw` is what the provider said
    last, so a dispute can be answered from the record.
    """

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("provider", "provider_payment_id"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="RESTRICT"), index=True)
    provider: Mapped[PaymentProvider] = mapped_column(_enum(PaymentProvider, "payment_provider"))
    provider_payment_id: Mapped[str] = mapped_column(String(100))
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units of `currency`
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[PaymentStatus] = mapped_column(_enum(PaymentStatus, "payment_status"))
    status_reason: Mapped[str] = mapped_column(String(300), default="")
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # set when the provider refused the refund for good (a 4xx): the payment stays
    # refund_requested, the refund job stops trying, and a person refunds it by hand
    refund_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    refund_failure: Mapped[str] = mapped_column(String(300), default="", server_default=text("''"))

    order: Mapped[Order] = relationship()


class PaymentEvent(Base):
    """A provider notification already handled: providers deliver at least once."""

    __tablename__ = "payment_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider: Mapped[PaymentProvider] = mapped_column(_enum(PaymentProvider, "payment_provider"))
    # Standard Webhooks `webhook-id`: the same across a provider's retries
    event_id: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(100), default="")
    provider_payment_id: Mapped[str | None] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutboxMessage(Base):
    """A message to send: written in the transaction that caused it, sent after commit."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_claim", "status", "lane", "available_at"),
        Index("ix_outbox_ref", "ref"),  # a show's or a broadcast's delivery stats
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    lane: Mapped[OutboxLane] = mapped_column(_enum(OutboxLane, "outbox_lane"))
    status: Mapped[OutboxStatus] = mapped_column(_enum(OutboxStatus, "outbox_status"))
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    method: Mapped[str] = mapped_column(String(40), default="sendMessage")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    kind: Mapped[str] = mapped_column(String(40), default="")
    ref: Mapped[str] = mapped_column(String(80), default="")
    dedupe_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str] = mapped_column(String(300), default="")


class WaitlistStatus(enum.StrEnum):
    WAITING = "waiting"  # in line for the next restocked unit
    OFFERED = "offered"  # one unit is held for them until `hold_until`
    CLAIMED = "claimed"  # they ordered the held unit
    MISSED = "missed"  # the hold ran out unclaimed: it went to the next in line
    LEFT = "left"  # they left the waitlist (a held unit went to the next in line)
    LAPSED = "lapsed"  # no stock came back within the waitlist's days


class WaitlistEntry(Base):
    """A customer's opt-in to hear when a sold-out product is back (재입고 알림), with its time.

    One row per customer and product: joining again re-opens it at the end of the line, so a
    double tap never makes two places. An offer holds one unit as a reservation (`available`
    down, `reserved` up) until it is ordered, passed on, or lapses.
    """

    __tablename__ = "waitlist_entries"
    __table_args__ = (
        UniqueConstraint("product_id", "customer_id"),
        Index("ix_waitlist_line", "product_id", "status", "joined_at"),
        Index("ix_waitlist_status_hold", "status", "hold_until"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[WaitlistStatus] = mapped_column(_enum(WaitlistStatus, "waitlist_status"))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hold_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))


class ProcessedUpdate(Base):
    """Telegram update ids already handled: webhook delivery is at-least-once."""

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ScheduledJob(Base):
    """A periodic job's next turn: whichever instance moves `due_at` forward runs it, so a job
    runs once per interval however many instances share the database."""

    __tablename__ = "scheduled_jobs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    holder: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# --- live shows and campaigns ------------------------------------------------------------


class SubscriptionTarget(enum.StrEnum):
    """What a customer subscribed to: a market or a shop covers all its future shows."""

    MARKET = "market"
    SHOP = "shop"
    SHOW = "show"


class BroadcastSegment(enum.StrEnum):
    SUBSCRIBERS = "subscribers"  # subscribers of the broadcast's market, shop or show
    ORDERED_BEFORE = "ordered_before"  # customers who ordered there before (with a live opt-in)


class BroadcastStatus(enum.StrEnum):
    DRAFT = "draft"  # previewed, waiting for the campaign member's confirmation
    SCHEDULED = "scheduled"  # confirmed; enqueued when `send_at` comes
    ENQUEUED = "enqueued"  # its outbox rows are written
    CANCELLED = "cancelled"


class Show(Timestamped, Base):
    """A live-commerce show of a market or of a shop. Times are stored in UTC and shown in
    `timezone` (the shop's, or the campaign's)."""

    __tablename__ = "shows"
    __table_args__ = (
        CheckConstraint("(market_id IS NULL) <> (shop_id IS NULL)", name="market_or_shop"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )

    # chosen by the REST client (`PUT /api/v1/shows/{id}`); the deep link is `show_<id>`
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    market_id: Mapped[int | None] = mapped_column(
        ForeignKey("markets.id", ondelete="CASCADE"), index=True
    )
    shop_id: Mapped[int | None] = mapped_column(
        ForeignKey("shops.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Seoul")
    stream_url: Mapped[str] = mapped_column(String(500), default="")
    cover_url: Mapped[str] = mapped_column(String(500), default="")
    # the campaign's choice: a short "sold out" update to subscribers when a featured product
    # sells out during the show
    sold_out_updates: Mapped[bool] = mapped_column(Boolean, default=False)
    # after the show: where to watch it again, and the campaign's choice to send subscribers
    # one "다시보기" message with it (claimed once through `replay_enqueued_at`)
    replay_url: Mapped[str] = mapped_column(String(500), default="", server_default=text("''"))
    send_replay: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    replay_enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    market: Mapped[Market | None] = relationship()
    shop: Mapped[Shop | None] = relationship()
    featured: Mapped[list[ShowProduct]] = relationship(
        back_populates="show",
        order_by="ShowProduct.position, ShowProduct.id",
        cascade="all, delete-orphan",
    )


class ShowProduct(Base):
    """A product featured in a show, in the show's order, with an optional live price."""

    __tablename__ = "show_products"
    __table_args__ = (
        UniqueConstraint("show_id", "product_id"),
        CheckConstraint("live_price IS NULL OR live_price >= 0", name="live_price_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    live_price: Mapped[int | None] = mapped_column(BigInteger)  # minor units; None: list price
    sold_out_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    show: Mapped[Show] = relationship(back_populates="featured")
    product: Mapped[Product] = relationship()


class Subscription(Base):
    """A customer's explicit opt-in to reminders (marketing under 개인정보 보호법), with its
    time; revoked by "turn off", /stop, or a blocked bot. Never deleted: it is the record."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("customer_id", "target", "target_id"),
        Index("ix_subscriptions_target", "target", "target_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    target: Mapped[SubscriptionTarget] = mapped_column(
        _enum(SubscriptionTarget, "subscription_target")
    )
    target_id: Mapped[int] = mapped_column(BigInteger)
    subscribed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_reason: Mapped[str] = mapped_column(String(40), default="")


class ShowReminder(Base):
    """One reminder offset of one show, claimed once: the unique key is the compare-and-set
    that lets several instances run the scheduler and still enqueue each reminder once."""

    __tablename__ = "show_reminders"
    __table_args__ = (UniqueConstraint("show_id", "offset_seconds"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"))
    offset_seconds: Mapped[int] = mapped_column(Integer)
    enqueued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    # a later offset was already due (livecart was down): this one was skipped, not sent late
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)


class CampaignStaff(Base):
    """A campaign-team member: a Telegram user who may run a market's shows and broadcasts."""

    __tablename__ = "campaign_staff"
    __table_args__ = (UniqueConstraint("market_id", "telegram_user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    market_id: Mapped[int] = mapped_column(ForeignKey("markets.id", ondelete="CASCADE"))
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    market: Mapped[Market] = relationship()


class ConsoleUser(Timestamped, Base):
    """A campaign-team member who logs in to the web console with a name and a password
    (stored as a salted scrypt hash, never as given)."""

    __tablename__ = "console_users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))


class Broadcast(Timestamped, Base):
    """A one-off message to a segment of opted-in customers, previewed and confirmed first."""

    __tablename__ = "broadcasts"
    __table_args__ = (Index("ix_broadcasts_status_send_at", "status", "send_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    market_id: Mapped[int | None] = mapped_column(ForeignKey("markets.id", ondelete="CASCADE"))
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    show_id: Mapped[int | None] = mapped_column(ForeignKey("shows.id", ondelete="SET NULL"))
    segment: Mapped[BroadcastSegment] = mapped_column(_enum(BroadcastSegment, "broadcast_segment"))
    language: Mapped[str | None] = mapped_column(String(16))  # None: every language
    text: Mapped[str] = mapped_column(Text)
    photo: Mapped[str] = mapped_column(String(500), default="")  # a URL or a Telegram file id
    button_text: Mapped[str] = mapped_column(String(64), default="")
    button_url: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[BroadcastStatus] = mapped_column(_enum(BroadcastStatus, "broadcast_status"))
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(64), default="")


class StreamLink(Base):
    """The opaque token behind `/s/{token}`: counts who tapped "watch the stream" from which
    message before redirecting to the stream."""

    __tablename__ = "stream_links"
    __table_args__ = (UniqueConstraint("show_id", "customer_id", "source"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    # the outbox ref of the message that carried it ("show:7", "broadcast:3") or "bot"
    source: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    clicks: Mapped[int] = mapped_column(Integer, default=0)
    first_clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ApiToken(Base):
    """A bearer token for one shop's REST API (stock sync from another channel).

    Only the token's SHA-256 is stored; a revoked token stays as a record of who had access.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class IdempotencyRecord(Base):
    """The first answer to a request sent with an `Idempotency-Key`: a retry gets it again."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("shop_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WebhookDeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # due at next_attempt_at
    SENDING = "sending"  # claimed by a worker until lease_until; reclaimed if it died
    DELIVERED = "delivered"
    FAILED = "failed"  # retried for the whole retry window without success


class WebhookEndpoint(Timestamped, Base):
    """A merchant's URL that receives signed events of one shop, or of every shop of a market."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        CheckConstraint("(shop_id IS NULL) <> (market_id IS NULL)", name="shop_or_market_scoped"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int | None] = mapped_column(
        ForeignKey("shops.id", ondelete="CASCADE"), index=True
    )
    market_id: Mapped[int | None] = mapped_column(
        ForeignKey("markets.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(500))
    # Standard Webhooks signing secret, `whsec_` + base64
    secret: Mapped[str] = mapped_column(String(100))
    events: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str] = mapped_column(String(200), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    failure_count: Mapped[int] = mapped_column(Integer, default=0)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disabled_reason: Mapped[str] = mapped_column(String(300), default="")


class WebhookDelivery(Base):
    """One event for one endpoint: written in the transaction of the change, sent after commit.

    `message_id` is the Standard Webhooks `webhook-id`, the same on every retry and replay, so
    a receiver can ignore a repeat.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[WebhookDeliveryStatus] = mapped_column(
        _enum(WebhookDeliveryStatus, "webhook_delivery_status")
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    endpoint: Mapped[WebhookEndpoint] = relationship()
