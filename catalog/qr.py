"""QR codes for links and pickup codes: PNG for Telegram, SVG for the web, made once and cached.

A payment QR carries only a link to livecart's pay page with an opaque token, never personal
or card data (FACTS.md); `qr_png` refuses anything that is neither an https/http link nor a
short code.
"""

from __future__ import annotations

import io
import re
from functools import lru_cache

import segno

from catalog.errors import InvalidInput

MAX_PAYLOAD = 300
_CODE_RE = re.compile(r"^[A-Z0-9-]{4,32}$")


def check_payload(payload: str) -> str:
    """A QR payload is a web link or a short order/pickup code, nothing else."""
    if len(payload) > MAX_PAYLOAD:
        raise InvalidInput("QR payload is too long", field="payload")
    if payload.startswith(("https://", "http://")) or _CODE_RE.match(payload):
        return payload
    raise InvalidInput("a QR code carries a link or a short code only", field="payload")


@lru_cache(maxsize=2048)
def qr_png(payload: str, *, scale: int = 8) -> bytes:
    """PNG bytes of the QR code (error correction M, 4-module quiet zone), cached by payload."""
    buffer = io.BytesIO()
    segno.make(check_payload(payload), error="m", boost_error=False).save(
        buffer, kind="png", scale=scale, border=4
    )
    return buffer.getvalue()


def qr_png_for_print(payload: str, *, min_pixels: int) -> bytes:
    """A PNG at least `min_pixels` wide, whole pixels per module, so print stays sharp."""
    modules, _ = segno.make(check_payload(payload), error="m", boost_error=False).symbol_size(
        scale=1, border=4
    )
    return qr_png(payload, scale=max(1, -(-min_pixels // modules)))


@lru_cache(maxsize=2048)
def qr_svg(payload: str, *, scale: int = 8) -> str:
    """An SVG document of the QR code, for the pay page and printable posters."""
    buffer = io.BytesIO()
    segno.make(check_payload(payload), error="m", boost_error=False).save(
        buffer, kind="svg", scale=scale, border=4, xmldecl=False, svgns=True
    )
    return buffer.getvalue().decode("utf-8")
