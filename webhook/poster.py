"""The printable shop poster: one A4 page with the shop's name, one plain sentence in the
shop's language and a big QR code that opens the shop in Telegram. Served by the admin API
(`GET /api/v1/shops/{shop}/poster`) and written by `livecart poster`; rendered only here."""

from __future__ import annotations

import base64
import html
from functools import lru_cache
from pathlib import Path

from babel.support import NullTranslations, Translations

from catalog.deep_links import link, shop_payload
from catalog.models import Shop
from catalog.qr import qr_png_for_print

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
QR_WIDTH_MM = 150
PRINT_DPI = 300
QR_MIN_PIXELS = round(QR_WIDTH_MM / 25.4 * PRINT_DPI)  # about 1,770 px: sharp at 300 dpi

_STYLE = f"""
@page {{ size: A4; margin: 12mm; }}
* {{ box-sizing: border-box; }}
html, body {{ margin: 0; background: #fff; color: #111; }}
body {{ font-family: "Noto Sans KR", "Apple SD Gothic Neo", "Malgun Gothic", sans-serif; }}
.sheet {{ width: 186mm; height: 270mm; margin: 0 auto; display: flex; flex-direction: column;
  align-items: center; justify-content: space-between; text-align: center; }}
.market {{ font-size: 22pt; margin: 4mm 0 0; color: #444; }}
h1 {{ font-size: 54pt; line-height: 1.1; margin: 2mm 0; word-break: keep-all; }}
.call {{ font-size: 30pt; font-weight: 700; margin: 0; word-break: keep-all; }}
.qr {{ width: {QR_WIDTH_MM}mm; height: {QR_WIDTH_MM}mm; image-rendering: pixelated; }}
.link {{ font-size: 11pt; color: #555; margin: 0 0 2mm; }}
"""


@lru_cache(maxsize=16)
def _translations(locale: str) -> NullTranslations:
    return Translations.load(str(LOCALES_DIR), [locale], domain="messages")


def shop_link(shop: Shop, bot_username: str) -> str:
    """The link the poster's QR code carries: opens the shop in the customer's Telegram."""
    return link(bot_username, shop_payload(shop.slug))


def render_poster(shop: Shop, *, bot_username: str, market_name: str | None) -> str:
    """A self-contained HTML page (the QR is a PNG data URI), sized for A4 print."""
    _ = _translations(shop.locale).gettext
    url = shop_link(shop, bot_username)
    png = base64.b64encode(qr_png_for_print(url, min_pixels=QR_MIN_PIXELS)).decode("ascii")
    call = _("Point your phone camera here to order right away")
    market = f'<p class="market">{html.escape(market_name)}</p>' if market_name else "<p></p>"
    return f"""<!doctype html>
<html lang="{html.escape(shop.locale)}">
<head>
<meta charset="utf-8">
<title>{html.escape(shop.name)}</title>
<style>{_STYLE}</style>
</head>
<body>
<main class="sheet">
{market}
<h1>{html.escape(shop.name)}</h1>
<p class="call">{html.escape(call)}</p>
<img class="qr" alt="QR: {html.escape(url)}" src="data:image/png;base64,{png}">
<p class="link">{html.escape(url)}</p>
</main>
</body>
</html>
"""
