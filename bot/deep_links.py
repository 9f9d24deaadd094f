"""Deep links live in catalog/deep_links.py: the bot, the REST API and the printed poster
build the same links, and webhook/ may not import bot/. Re-exported here for the routers."""

from __future__ import annotations

from catalog.deep_links import (
    PAYLOAD_RE,
    DeepLink,
    link,
    market_payload,
    parse_payload,
    pickup_payload,
    product_payload,
    shop_payload,
    show_payload,
    vendor_invite_payload,
)

__all__ = [
    "PAYLOAD_RE",
    "DeepLink",
    "link",
    "market_payload",
    "parse_payload",
    "pickup_payload",
    "product_payload",
    "shop_payload",
    "show_payload",
    "vendor_invite_payload",
]
