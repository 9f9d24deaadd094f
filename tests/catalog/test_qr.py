"""QR codes decode back to exactly what they carry, and refuse to carry anything else."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from catalog.errors import InvalidInput
from catalog.qr import qr_png, qr_svg


def decode_png(data: bytes) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))]


@pytest.mark.parametrize(
    "payload",
    [
        "https://t.me/livecart_demo_bot?start=shop_ganada-fruit",
        "https://shop.example.kr/pay/Zx9_kQ2-pLm4",
        "HFWKXM6",
    ],
)
def test_a_qr_png_decodes_back_to_its_payload(payload: str) -> None:
    assert decode_png(qr_png(payload)) == [payload]


def test_the_svg_is_a_standalone_document() -> None:
    svg = qr_svg("https://t.me/livecart_demo_bot?start=shop_ganada-fruit")
    assert svg.startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in svg


@pytest.mark.parametrize(
    "payload", ["010-1234-5678 김영희", "card 4111111111111111", "", "x" * 400]
)
def test_personal_or_free_text_never_goes_into_a_qr(payload: str) -> None:
    with pytest.raises(InvalidInput):
        qr_png(payload)


@settings(max_examples=40, deadline=None)
@given(st.from_regex(r"https://shop\.example\.kr/pay/[A-Za-z0-9_-]{8,43}", fullmatch=True))
def test_every_pay_link_round_trips(link: str) -> None:
    assert decode_png(qr_png(link)) == [link]
