"""Domain errors; the edges turn them into chat messages or RFC 9457 problems."""

from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    """Base of every rule livecart refuses to break. `code` is stable for APIs and tests."""

    code = "domain_error"


class NotFound(DomainError):
    code = "not_found"

    def __init__(self, what: str, key: object) -> None:
        super().__init__(f"{what} {key!r} not found")
        self.what = what
        self.key = key


class InvalidInput(DomainError):
    code = "invalid_input"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Shortage:
    """One product the order wanted more of than is available."""

    product_id: int
    sku: str
    name: str
    requested: int
    available: int


class OutOfStock(DomainError):
    """Raised once for a whole order, naming every product that is short."""

    code = "out_of_stock"

    def __init__(self, shortages: list[Shortage]) -> None:
        names = ", ".join(f"{s.name} ({s.available}/{s.requested})" for s in shortages)
        super().__init__(f"not enough stock: {names}")
        self.shortages = shortages


class PriceChanged(DomainError):
    """The price in force is not the one the customer confirmed (a show began or ended, or its
    live price was edited, between the summary and the order)."""

    code = "price_changed"

    def __init__(self, names: list[str]) -> None:
        super().__init__(f"prices changed: {', '.join(names)}")
        self.names = names


class InvalidTransition(DomainError):
    code = "invalid_transition"

    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"an order in status {current!r} cannot become {target!r}")
        self.current = current
        self.target = target


class OrderNotCancellable(InvalidTransition):
    code = "order_not_cancellable"


class ShopClosed(DomainError):
    code = "shop_closed"

    def __init__(self, shop_slug: str) -> None:
        super().__init__(f"shop {shop_slug!r} is not taking orders")
        self.shop_slug = shop_slug


class OrderNotPayable(DomainError):
    """A payment can only start for an order that waits for payment and has not expired."""

    code = "order_not_payable"

    def __init__(self, order_code: str, status: str) -> None:
        super().__init__(f"order {order_code!r} in status {status!r} cannot be paid")
        self.order_code = order_code
        self.status = status


class UnknownInvite(NotFound):
    """A vendor invite link nobody made (mistyped, cut short, or forged)."""

    code = "invite_unknown"

    def __init__(self) -> None:
        # never echo the token: it may be a real one, pasted somewhere it shouldn't be
        super().__init__("vendor invite", "<token>")


class InviteAlreadyUsed(DomainError):
    """An invite works once; someone has opened this one already."""

    code = "invite_used"

    def __init__(self) -> None:
        super().__init__("this vendor invite has been used already")


class InviteExpired(DomainError):
    code = "invite_expired"

    def __init__(self) -> None:
        super().__init__("this vendor invite has expired")


class NotShopOwner(DomainError):
    """Only an owner of the shop may invite or remove the people who run it."""

    code = "not_shop_owner"

    def __init__(self, shop_id: int) -> None:
        super().__init__(f"only an owner of shop {shop_id} may do this")
        self.shop_id = shop_id


class LastOwner(DomainError):
    """A shop always keeps at least one owner, or nobody could manage it from the chat."""

    code = "last_owner"

    def __init__(self, shop_id: int) -> None:
        super().__init__(f"shop {shop_id} would have no owner left")
        self.shop_id = shop_id


class IdempotencyKeyReused(DomainError):
    """An `Idempotency-Key` sent again with a different request body."""

    code = "idempotency_key_reused"

    def __init__(self, key: str) -> None:
        super().__init__(f"Idempotency-Key {key!r} was used for a different request")
        self.key = key
