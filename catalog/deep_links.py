"""Deep links (`t.me/<bot>?start=<payload>`): build them within Telegram's rules, read them back.

A payload is at most 64 characters of A-Z, a-z, 0-9, _ and -. Shop slugs have no "_", so
`product_<shop>_<sku>` splits at the first "_" after the shop even when the SKU has one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PAYLOAD_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class DeepLink:
    # "market", "shop", "product", "vendor" (an invite token), "pickup" (an order code) or
    # "show" (a live show's id)
    kind: str
    slug: str
    sku: str = ""


def market_payload(slug: str) -> str:
    return _checked(f"market_{slug}")


def shop_payload(slug: str) -> str:
    return _checked(f"shop_{slug}")


def product_payload(shop_slug: str, sku: str) -> str | None:
    """`product_<shop>_<sku>`, or None when it would be longer than Telegram allows
    (then link the shop instead)."""
    payload = f"product_{shop_slug}_{sku}"
    return payload if PAYLOAD_RE.match(payload) else None


def show_payload(show_id: int) -> str:
    return _checked(f"show_{show_id}")


def vendor_invite_payload(token: str) -> str:
    return _checked(f"vendor_{token}")


def pickup_payload(order_code: str) -> str:
    return _checked(f"pickup_{order_code}")


def link(bot_username: str, payload: str) -> str:
    return f"https://t.me/{bot_username}?start={payload}"


def parse_payload(payload: str) -> DeepLink | None:
    """Read a /start payload; anything malformed is None (the customer gets the home screen)."""
    if not PAYLOAD_RE.match(payload):
        return None
    kind, _sep, rest = payload.partition("_")
    if not rest:
        return None
    if kind in ("market", "shop", "vendor", "pickup", "show"):
        return DeepLink(kind, rest)
    if kind == "product":
        shop, _sep, sku = rest.partition("_")
        if shop and sku:
            return DeepLink(kind, shop, sku)
    return None


def _checked(payload: str) -> str:
    if not PAYLOAD_RE.match(payload):
        raise ValueError(f"deep-link payload {payload!r} breaks Telegram's rules")
    return payload
