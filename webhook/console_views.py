"""The campaign console's rendering: Jinja2 templates (autoescaped), text in the console's
language, money and dates by Babel, and server-rendered SVG charts (no script, no CDN)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_decimal, get_currency_precision
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from webhook.console_session import ConsoleSession
from webhook.pay_pages import BABEL_LOCALES, translations

_PERIOD = re.compile(r"(?<![a'])a(?!a)")
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))


class ConsoleText:
    """gettext in the console's language; money, dates and numbers by its locale."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.gettext: Callable[[str], str] = translations(lang).gettext
        self.babel_locale = BABEL_LOCALES.get(lang, lang)

    def money(self, amount: int, currency: str | None) -> str:
        currency = currency or "KRW"
        value = amount / (10 ** get_currency_precision(currency))
        return format_currency(value, currency, locale=self.babel_locale)

    def number(self, value: int) -> str:
        return format_decimal(value, locale=self.babel_locale)

    def day(self, value: date) -> str:
        """목요일, 2026년 11월 26일 / Thursday, November 26, 2026."""
        return format_date(value, "full", locale=self.babel_locale)

    def time(self, at: datetime, timezone: str) -> str:
        """오후 7:00 / 7:00 PM (wide day periods: Korean readers expect 오전/오후, not AM/PM)."""
        pattern = str(Locale.parse(self.babel_locale).datetime_skeletons["hm"])
        return format_time(
            at.astimezone(ZoneInfo(timezone)),
            _PERIOD.sub("aaaa", pattern),
            locale=self.babel_locale,
        )

    def moment(self, at: datetime, timezone: str) -> str:
        """2026년 11월 27일 오후 7:00 in `timezone`."""
        local = at.astimezone(ZoneInfo(timezone))
        return f"{format_date(local, 'long', locale=self.babel_locale)} {self.time(at, timezone)}"

    def offset(self, seconds: int) -> str:
        """A reminder offset in words: 1 day before, 10 minutes before, at the start."""
        _ = self.gettext
        if seconds == 0:
            return _("At the start")
        if seconds % 86400 == 0:
            return _("{n} d before").format(n=seconds // 86400)
        if seconds % 3600 == 0:
            return _("{n} h before").format(n=seconds // 3600)
        if seconds % 60 == 0:
            return _("{n} min before").format(n=seconds // 60)
        return _("{n} s before").format(n=seconds)


def render(
    request: Request,
    template: str,
    session: ConsoleSession,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    text = ConsoleText(session.lang)
    nonce = secrets.token_urlsafe(16)  # only the page's own script runs, nothing injected
    response: HTMLResponse = TEMPLATES.TemplateResponse(
        request,
        template,
        {"_": text.gettext, "t": text, "session": session, "csp_nonce": nonce, **context},
        status_code=status_code,
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        f"script-src 'nonce-{nonce}'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    )
    return response


@dataclass(frozen=True)
class Bar:
    label: str  # under the bar (short)
    value: int
    title: str = ""  # the full label and value, read out on hover and by screen readers


def bar_chart(bars: Sequence[Bar], *, title: str, empty: str) -> Markup:
    """A bar chart as inline SVG: scales with the page (viewBox), labelled for screen
    readers, dark bars on white with a text value above each bar."""
    if not bars:
        return Markup('<p class="empty">{}</p>').format(empty)
    width, height, top, bottom, left = 640, 240, 24, 44, 8
    slot = (width - left * 2) / len(bars)
    peak = max(bar.value for bar in bars) or 1
    usable = height - top - bottom
    parts = [
        Markup(
            '<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{t}" '
            'preserveAspectRatio="xMidYMid meet"><title>{t}</title>'
        ).format(w=width, h=height, t=title),
        Markup('<line x1="{l}" y1="{y}" x2="{r}" y2="{y}" stroke="#000" stroke-width="2"/>').format(
            l=left, r=width - left, y=height - bottom
        ),
    ]
    show_every = max(1, len(bars) // 12)  # keep the labels readable
    for i, bar in enumerate(bars):
        bar_height = round(usable * bar.value / peak)
        x = left + i * slot + slot * 0.15
        w = max(slot * 0.7, 1)
        y = height - bottom - bar_height
        parts.append(
            Markup(
                '<g><title>{tt}</title><rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bh}" '
                'fill="#1a4d8f"/></g>'
            ).format(tt=bar.title or f"{bar.label}: {bar.value}", x=x, y=y, w=w, bh=bar_height)
        )
        cx = x + w / 2
        if len(bars) <= 24:
            parts.append(
                Markup(
                    '<text x="{cx:.1f}" y="{ty}" text-anchor="middle" font-size="16">{v}</text>'
                ).format(cx=cx, ty=y - 4, v=bar.value)
            )
        if i % show_every == 0:
            parts.append(
                Markup(
                    '<text x="{cx:.1f}" y="{ty}" text-anchor="middle" font-size="15">{lb}</text>'
                ).format(cx=cx, ty=height - bottom + 18, lb=bar.label)
            )
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


@dataclass(frozen=True)
class Part:
    label: str
    value: int
    color: str


def stacked_bars(rows: Sequence[tuple[str, Sequence[Part]]], *, title: str, empty: str) -> Markup:
    """Horizontal stacked bars, one row per label, with a legend (the exact numbers are in
    the table beside it); each segment names its part and value for screen readers."""
    if not rows:
        return Markup('<p class="empty">{}</p>').format(empty)
    width, row_height, label_width, legend_height = 640, 36, 150, 34
    peak = max(sum(part.value for part in parts) for _label, parts in rows) or 1
    usable = width - label_width - 16
    height = len(rows) * row_height + legend_height + 8
    out = [
        Markup(
            '<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{t}">'
            "<title>{t}</title>"
        ).format(w=width, h=height, t=title)
    ]
    for i, (label, parts) in enumerate(rows):
        y = 4 + i * row_height
        out.append(
            Markup('<text x="0" y="{ty}" font-size="16">{lb}</text>').format(
                ty=y + row_height / 2 + 5, lb=label
            )
        )
        x = float(label_width)
        for part in parts:
            w = usable * part.value / peak
            if w <= 0:
                continue
            out.append(
                Markup(
                    '<g><title>{lb} · {pl}: {v}</title><rect x="{x:.1f}" y="{y}" '
                    'width="{w:.1f}" height="{bh}" fill="{c}" stroke="#fff"/></g>'
                ).format(lb=label, pl=part.label, v=part.value, x=x, y=y + 4, w=w,
                         bh=row_height - 10, c=part.color)
            )  # fmt: skip
            x += w
    legend_y = len(rows) * row_height + 14
    x = float(label_width)
    for part in rows[0][1]:
        out.append(
            Markup(
                '<rect x="{x:.1f}" y="{y}" width="16" height="16" fill="{c}"/>'
                '<text x="{tx:.1f}" y="{ty}" font-size="16">{pl}</text>'
            ).format(x=x, y=legend_y, c=part.color, tx=x + 22, ty=legend_y + 13, pl=part.label)
        )
        x += 22 + 14 * max(len(part.label), 4) * 0.75 + 24
    out.append(Markup("</svg>"))
    return Markup("").join(out)
