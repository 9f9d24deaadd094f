"""Telegram's size rules: callback_data ≤ 64 bytes, /start payloads ≤ 64 of [A-Za-z0-9_-]."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.callbacks import (
    CartAction,
    CartCb,
    CheckoutAction,
    CheckoutCb,
    LangCb,
    Nav,
    NavCb,
    OrderAction,
    OrderCb,
    PrivacyAction,
    PrivacyCb,
    SheetCb,
    StaffAction,
    StaffCb,
    StockAction,
    StockCb,
)
from bot.deep_links import (
    PAYLOAD_RE,
    DeepLink,
    parse_payload,
    product_payload,
    shop_payload,
)

BIG_ID = 2**63 - 1  # the largest id a BIGINT column can hand out


def test_the_longest_real_callback_data_fits_64_bytes() -> None:
    longest = [
        NavCb(to=Nav.PRODUCT, id=BIG_ID, page=10_000),
        CartCb(action=CartAction.BUY, product=BIG_ID, qty=999),
        CheckoutCb(action=CheckoutAction.CONFIRM, token="A" * 8),  # token_urlsafe(6) is 8
        OrderCb(action=OrderAction.CANCEL_CONFIRMED, order=BIG_ID),
        LangCb(code="ko"),
        PrivacyCb(action=PrivacyAction.FORGET_CONFIRMED),
        StaffCb(action=StaffAction.REMOVE_CONFIRMED, shop=BIG_ID, vendor=BIG_ID),
        StockCb(action=StockAction.SET, shop=BIG_ID, product=BIG_ID, page=10_000, qty=1_000_000),
        SheetCb(shop=BIG_ID, months_back=-1),
    ]
    for data in longest:
        packed = data.pack()
        assert len(packed.encode("utf-8")) <= 64, packed


def test_hangul_in_callback_data_would_cost_three_bytes_a_syllable() -> None:
    # why no callback carries names: 22 syllables are already 66 bytes
    assert len(("가" * 22).encode()) == 66


def test_deep_links_round_trip_and_obey_telegram() -> None:
    assert parse_payload(shop_payload("ganada-fruit")) == DeepLink("shop", "ganada-fruit")
    payload = product_payload("ganada-fruit", "apple_5kg")
    assert payload == "product_ganada-fruit_apple_5kg"
    assert parse_payload(payload) == DeepLink("product", "ganada-fruit", "apple_5kg")
    assert product_payload("a" * 40, "b" * 30) is None  # too long: link the shop instead


@given(st.text(max_size=100))
def test_any_payload_parses_or_is_refused_without_raising(payload: str) -> None:
    parsed = parse_payload(payload)
    if parsed is not None:
        assert PAYLOAD_RE.match(payload)


@given(
    st.from_regex(r"[a-z0-9][a-z0-9-]{0,39}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", fullmatch=True),
)
def test_every_product_payload_we_build_is_valid_and_reads_back(shop: str, sku: str) -> None:
    payload = product_payload(shop, sku)
    if payload is not None:
        assert len(payload) <= 64 and PAYLOAD_RE.match(payload)
        assert parse_payload(payload) == DeepLink("product", shop, sku)
