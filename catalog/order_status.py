"""The order state machine as pure data and functions: no storage here."""

from __future__ import annotations

from catalog.errors import InvalidTransition
from catalog.models import OrderStatus

S = OrderStatus

TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID, S.CANCELLED, S.EXPIRED, S.REFUSED}),
    S.PAID: frozenset({S.ACCEPTED, S.CANCELLED, S.REFUSED}),
    S.ACCEPTED: frozenset({S.READY, S.SHIPPED, S.COMPLETED, S.CANCELLED, S.REFUSED}),
    S.READY: frozenset({S.COMPLETED, S.CANCELLED}),
    S.SHIPPED: frozenset({S.COMPLETED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
    S.EXPIRED: frozenset(),
    S.REFUSED: frozenset(),
}

#: states in which the order still holds reserved (not yet sold) stock
HOLDS_RESERVATION = frozenset({S.PENDING_PAYMENT})
#: final states
TERMINAL = frozenset(s for s, targets in TRANSITIONS.items() if not targets)
#: states from which the customer may cancel by themselves: until the vendor accepts (a paid
#: order cancelled is refunded in full)
CUSTOMER_CANCELLABLE = frozenset({S.PENDING_PAYMENT, S.PAID})


def can_transition(current: OrderStatus, target: OrderStatus) -> bool:
    """Whether the state machine allows `current -> target`."""
    return target in TRANSITIONS[current]


def check_transition(current: OrderStatus, target: OrderStatus) -> None:
    """Raise InvalidTransition unless the state machine allows `current -> target`."""
    if not can_transition(current, target):
        raise InvalidTransition(current.value, target.value)


def can_customer_cancel(current: OrderStatus) -> bool:
    """A customer may cancel an order the vendor has not accepted yet."""
    return current in CUSTOMER_CANCELLABLE
