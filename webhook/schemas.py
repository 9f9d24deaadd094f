"""Request and response bodies of the REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from catalog.models import BroadcastSegment, BroadcastStatus, Fulfilment, OrderStatus, VendorRole

ShortText = Annotated[str, Field(max_length=200)]
LongText = Annotated[str, Field(max_length=5000)]


class ShopIn(BaseModel):
    """A shop as the admin writes it. Omitted (or null) fields keep their value on update."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    market: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")] | None = None
    description: LongText | None = None
    locale: Annotated[str, Field(pattern=r"^[a-z]{2}(_[A-Z]{2})?$")] | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    timezone: Annotated[str, Field(max_length=64)] | None = None
    is_open: bool | None = None
    pickup_available: bool | None = None
    delivery_available: bool | None = None
    delivery_fee: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    bank_name: ShortText | None = None
    bank_account: ShortText | None = None
    bank_holder: ShortText | None = None
    legal_name: ShortText | None = Field(default=None, description="상호")
    representative: ShortText | None = Field(default=None, description="대표자")
    business_number: Annotated[str, Field(max_length=20)] | None = Field(
        default=None, description="사업자등록번호"
    )
    mail_order_number: Annotated[str, Field(max_length=60)] | None = Field(
        default=None, description="통신판매업 신고번호"
    )
    address: Annotated[str, Field(max_length=300)] | None = None
    phone: Annotated[str, Field(max_length=30)] | None = None
    email: ShortText | None = None
    delivery_terms: LongText | None = None
    cancellation_terms: LongText | None = None
    refund_terms: LongText | None = None
    closing_time: Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")] | None = Field(
        default=None, description="local HH:MM when the vendors' daily summary goes out"
    )
    waitlist_hold_minutes: Annotated[int, Field(ge=1, le=1440)] | None = Field(
        default=None,
        description="how long a restocked unit is held for the next customer on a waitlist",
    )


class ShopOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    slug: str
    name: str
    market: str | None
    description: str
    locale: str
    currency: str
    timezone: str
    is_open: bool
    pickup_available: bool
    delivery_available: bool
    delivery_fee: int
    bank_name: str
    bank_account: str
    bank_holder: str
    legal_name: str
    representative: str
    business_number: str
    mail_order_number: str
    address: str
    phone: str
    email: str
    delivery_terms: str
    cancellation_terms: str
    refund_terms: str
    closing_time: str = Field(description="local HH:MM when the vendors' daily summary goes out")
    waitlist_hold_minutes: int = Field(
        description="how long a restocked unit is held for the next customer on a waitlist"
    )
    deep_link_payload: str = Field(description="/start payload that opens this shop: shop_<slug>")


class ProductIn(BaseModel):
    """A product as the admin writes it (omitted or null fields are kept); `stock` sets the
    units available now."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    unit: Annotated[str, Field(max_length=40)] | None = None
    price: Annotated[int, Field(ge=0, le=10**12)] | None = Field(
        default=None, description="in minor units of the shop's currency (KRW has none)"
    )
    description: LongText | None = None
    photo_url: Annotated[str, Field(max_length=500)] | None = None
    stock: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    position: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    is_hidden: bool | None = None
    low_stock_threshold: Annotated[int, Field(ge=0, le=1_000_000)] | None = None


class ProductOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sku: str
    name: str
    unit: str
    price: int
    currency: str
    description: str
    photo_url: str
    available: int = Field(description="units that can be sold now")
    reserved: int = Field(
        description="units held by unpaid orders and by waitlist offers (waitlist_held)"
    )
    position: int
    is_hidden: bool
    low_stock_threshold: int
    waiting: int = Field(default=0, description="customers waiting for a restock (재입고 알림)")
    waitlist_held: int = Field(
        default=0, description="units held for waiting customers until they order"
    )


class OrderLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sku: str
    name: str
    unit: str
    unit_price: int
    quantity: int
    line_total: int


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    status: OrderStatus
    fulfilment: Fulfilment
    currency: str
    subtotal: int
    delivery_fee: int
    total: int
    payment_method: str
    recipient_name: str
    phone: str | None
    address: str | None
    confirmed_at: datetime
    expires_at: datetime | None
    paid_at: datetime | None
    closed_at: datetime | None
    lines: list[OrderLineOut]
    refund_problem: str | None = Field(
        default=None,
        description="set when PortOne refused this order's refund for good (PortOne's answer):"
        " livecart stopped trying, refund it by hand in PortOne's admin console",
    )


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page")


class VendorInviteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: VendorRole = Field(
        default=VendorRole.OWNER, description="owner (may invite and remove staff) or staff"
    )


class VendorInviteOut(BaseModel):
    role: VendorRole
    payload: str = Field(description="/start payload: vendor_<token>; works once")
    link: str | None = Field(
        description="t.me link to send the new vendor; null until the bot has reached Telegram"
    )
    expires_at: datetime


class VendorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: VendorRole
    telegram_user_id: int
    created_at: datetime


class Health(BaseModel):
    status: str


class FeaturedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Annotated[str, Field(min_length=1, max_length=64)]
    shop: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")] | None = Field(
        default=None, description="the product's shop; default the show's shop"
    )
    live_price: Annotated[int, Field(ge=1, le=10**12)] | None = Field(
        default=None, description="the price during the show, in minor units"
    )


class ShowIn(BaseModel):
    """A show as the admin writes it. Omitted fields keep their value on update; naive times
    are wall-clock times in the show's time zone (the shop's unless `timezone` is given)."""

    model_config = ConfigDict(extra="forbid")

    market: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")] | None = None
    shop: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")] | None = None
    title: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    description: LongText | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    timezone: Annotated[str, Field(max_length=64)] | None = None
    stream_url: Annotated[str, Field(max_length=500)] | None = None
    cover_url: Annotated[str, Field(max_length=500)] | None = None
    sold_out_updates: bool | None = Field(
        default=None, description="tell subscribers when a featured product sells out"
    )
    replay_url: Annotated[str, Field(max_length=500)] | None = Field(
        default=None, description="where to watch the show again after it ended ('' removes it)"
    )
    send_replay: bool | None = Field(
        default=None,
        description="after the show, send subscribers one message with the replay and the "
        "featured products still in stock (needs replay_url)",
    )
    products: list[FeaturedIn] | None = Field(
        default=None, max_length=50, description="replaces the featured products, in order"
    )


class FeaturedOut(BaseModel):
    shop: str
    sku: str
    name: str
    price: int
    live_price: int | None
    available: int


class ShowOut(BaseModel):
    id: int
    market: str | None
    shop: str | None
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    stream_url: str
    cover_url: str
    sold_out_updates: bool
    replay_url: str
    send_replay: bool
    replay_sent_at: datetime | None = Field(
        description="when the replay message was queued for the subscribers (once per show)"
    )
    products: list[FeaturedOut]
    deep_link_payload: str = Field(description="/start payload that opens this show: show_<id>")


class DeliveryStatsOut(BaseModel):
    recipients: int = Field(description="messages written, one per recipient and reminder")
    sent: int
    pending: int
    failed: dict[str, int] = Field(
        description="by reason: blocked, unsubscribed, review, rejected, gave_up"
    )
    blocked: int
    review: int = Field(description="in flight when a sender died: delivered at most once")
    stream_clicks: int
    stream_clickers: int
    orders: int = Field(description="paid orders by recipients within 24 h of the message")
    revenue: int
    currency: str


class StaffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ShortText = ""


class StaffOut(BaseModel):
    market: str
    telegram_user_id: int
    name: str


class BroadcastIn(BaseModel):
    """A broadcast to one market, shop or show. It is a draft until confirmed."""

    model_config = ConfigDict(extra="forbid")

    market: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")] | None = None
    shop: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")] | None = None
    show: Annotated[int, Field(ge=1)] | None = None
    segment: BroadcastSegment = BroadcastSegment.SUBSCRIBERS
    language: Annotated[str, Field(pattern=r"^[a-z]{2}$")] | None = None
    text: Annotated[str, Field(min_length=1, max_length=4096)]
    photo: Annotated[str, Field(max_length=500)] = ""
    button_text: Annotated[str, Field(max_length=64)] = ""
    button_url: Annotated[str, Field(max_length=500)] = ""


class BroadcastConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    send_at: datetime | None = Field(default=None, description="omit to send now")


class BroadcastOut(BaseModel):
    id: int
    status: BroadcastStatus
    segment: BroadcastSegment
    language: str | None
    text: str
    photo: str
    button_text: str
    button_url: str
    send_at: datetime | None
    enqueued_at: datetime | None
    recipients: int = Field(description="outbox rows written when it was enqueued")
    audience: int | None = Field(default=None, description="who it would reach now (drafts)")


SkuText = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", examples=["apple-5kg"])]


class StockItemIn(BaseModel):
    """One sku's new stock: `set` the units on hand (reserved ones included) or add `delta` to
    what can be sold; `version` (or `occurred_at`) orders the updates of one sku."""

    model_config = ConfigDict(extra="forbid")

    sku: SkuText
    set: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    delta: Annotated[int, Field(ge=-1_000_000, le=1_000_000)] | None = None
    version: Annotated[int, Field(ge=1, le=2**62)] | None = Field(
        default=None, description="grows with every change of this sku in your system"
    )
    occurred_at: AwareDatetime | None = Field(
        default=None, description="when the change happened; used as the version if none given"
    )

    @model_validator(mode="after")
    def _one_change_and_an_order(self) -> StockItemIn:
        if (self.set is None) == (self.delta is None):
            raise ValueError("give exactly one of set or delta")
        if self.version is None and self.occurred_at is None:
            raise ValueError("give a version or occurred_at")
        return self


class StockBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: Annotated[list[StockItemIn], Field(min_length=1, max_length=500)]


class StockItemResult(BaseModel):
    sku: str
    outcome: Literal["applied", "stale", "rejected"] = Field(
        description="applied; stale (a newer version was applied: ignored); rejected (see reason)"
    )
    reason: Literal["unknown_sku", "stale_version", "below_reserved", "above_max"] | None = None
    available: int | None = Field(default=None, description="units that can be sold now")
    reserved: int | None = Field(default=None, description="units held by unpaid orders")
    version: int | None = Field(default=None, description="the newest version applied")


class StockBatchOut(BaseModel):
    results: list[StockItemResult] = Field(description="one per item, in the order sent")


class ApiTokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(max_length=100)] = ""


class ApiTokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    created_at: datetime
    revoked_at: datetime | None


class ApiTokenCreated(ApiTokenOut):
    token: str = Field(description="the bearer token; shown only this once")


EventType = Literal[
    "order.created", "order.paid", "order.status_changed", "stock.changed", "product.sold_out"
]


class WebhookEndpointIn(BaseModel):
    """Exactly one of `shop` or `market`; a shop token may register only for its own shop."""

    model_config = ConfigDict(extra="forbid")

    url: Annotated[
        str,
        Field(
            pattern=r"^[A-Za-z][A-Za-z0-9+.-]*://[^\s]+$",
            max_length=500,
            description="https:// to a public server (checked again at each delivery)",
        ),
    ]
    events: Annotated[list[EventType], Field(min_length=1, max_length=5)]
    shop: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")] | None = None
    market: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")] | None = None
    description: Annotated[str, Field(max_length=200)] = ""


class WebhookEndpointOut(BaseModel):
    id: int
    url: str
    events: list[str]
    shop: str | None
    market: str | None
    description: str
    enabled: bool
    failure_count: int
    disabled_at: datetime | None
    disabled_reason: str
    created_at: datetime


class WebhookEndpointCreated(WebhookEndpointOut):
    secret: str = Field(description="Standard Webhooks signing secret (whsec_...); shown once")


class WebhookDeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    message_id: str = Field(description="the webhook-id header, the same on every retry")
    event_type: str
    status: Literal["pending", "sending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str
    created_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any]
