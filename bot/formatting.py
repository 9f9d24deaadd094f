"""Money, dates and counts for people, by the shop's locale, currency and time zone."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from babel import Locale
from babel.dates import format_date, format_datetime, format_skeleton, format_time
from babel.numbers import format_currency, get_currency_precision

from catalog.models import Order, OrderStatus, Product, Shop
from catalog.pricing import price_of
from catalog.shows import Day, plain_when

BABEL_LOCALES = {"ko": "ko_KR", "en": "en_US"}


def babel_locale(locale: str) -> str:
    return BABEL_LOCALES.get(locale, locale)


def money(amount: int, shop: Shop) -> str:
    """₩32,000 — amounts are integer minor units of the shop's currency (KRW has none)."""
    value = amount / (10 ** get_currency_precision(shop.currency))
    return format_currency(value, shop.currency, locale=babel_locale(shop.locale))


def price_label(product: Product, shop: Shop, prices: Mapping[int, int]) -> str:
    """ "₩15,000", or during a show "₩12,000 (live price)": the price an order is charged."""
    price = price_of(product, prices)
    if price == product.price:
        return money(price, shop)
    return _("{price} (live price)").format(price=money(price, shop))


def local_time(moment: datetime, shop: Shop, locale: str) -> str:
    """A time of day in the shop's time zone, in the reader's language: 오후 3:15."""
    return format_time(
        moment.astimezone(ZoneInfo(shop.timezone)), format="short", locale=babel_locale(locale)
    )


def local_datetime(moment: datetime, shop: Shop, locale: str) -> str:
    """Date and time in the shop's time zone."""
    return format_datetime(
        moment.astimezone(ZoneInfo(shop.timezone)), format="medium", locale=babel_locale(locale)
    )


def stock_label(product: Product) -> str:
    """ "3개 남음" or "품절": what an older customer needs to know about stock."""
    if product.available <= 0:
        return _("Sold out")
    return _("{count} left").format(count=product.available)


def status_label(status: OrderStatus) -> str:
    labels = {
        OrderStatus.PENDING_PAYMENT: _("Waiting for payment"),
        OrderStatus.PAID: _("Paid"),
        OrderStatus.ACCEPTED: _("Accepted by the shop"),
        OrderStatus.READY: _("Ready for pickup"),
        OrderStatus.SHIPPED: _("Shipped"),
        OrderStatus.COMPLETED: _("Completed"),
        OrderStatus.CANCELLED: _("Cancelled"),
        OrderStatus.EXPIRED: _("Expired (not paid in time)"),
        OrderStatus.REFUSED: _("Refused by the shop"),
    }
    return labels[status]


def order_lines_text(order: Order) -> str:
    """One line per item: 부사 사과 5kg × 2 = ₩64,000."""
    return "\n".join(
        f"{line.name} × {line.quantity} = {money(line.line_total, order.shop)}"
        for line in order.lines
    )


_PERIOD = re.compile(r"(?<![a'])a(?!a)")


def time_of_day(local: datetime, locale: str) -> str:
    """ "오후 7시" / "7 PM" on the hour, "오후 7:30" / "7:30 PM" otherwise (wide day periods:
    Korean readers expect 오전/오후, not AM/PM)."""
    skeleton = "h" if local.minute == 0 else "hm"
    pattern = str(Locale.parse(babel_locale(locale)).datetime_skeletons[skeleton])
    return format_datetime(local, _PERIOD.sub("aaaa", pattern), locale=babel_locale(locale))


def show_when(
    starts_at: datetime, ends_at: datetime, timezone: str, now: datetime, locale: str
) -> str:
    """When a show is, in plain words in the reader's language and the show's time zone:
    "today 7 PM", "tomorrow 7:30 PM", "Saturday 7 PM", "December 10 7 PM", "live now"."""
    when = plain_when(starts_at, now, timezone, ends_at)
    time = time_of_day(when.local, locale)
    if when.day is Day.LIVE:
        return _("live now")
    if when.day is Day.PAST:
        return _("ended")
    if when.day is Day.TODAY:
        return _("today {time}").format(time=time)
    if when.day is Day.TOMORROW:
        return _("tomorrow {time}").format(time=time)
    if when.day is Day.THIS_WEEK:
        weekday = format_date(when.local, "EEEE", locale=babel_locale(locale))
        return _("{weekday} {time}").format(weekday=weekday, time=time)
    date = format_skeleton("MMMMd", when.local, locale=babel_locale(locale))
    return _("{date} {time}").format(date=date, time=time)
