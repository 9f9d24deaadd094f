"""The pay page's HTML: small, mobile first, high contrast, in the shop's language.

Plain HTML with one short script; text is sized in rem and laid out in one column, so it
stays readable at 200% zoom. Every dynamic value is escaped here.
"""

from __future__ import annotations

import gettext
import html
import json
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.numbers import format_currency, get_currency_precision

from catalog.models import Order, OrderStatus, Payment, PaymentStatus, Shop

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
BABEL_LOCALES = {"ko": "ko_KR", "en": "en_US"}
#: the order was paid (and may have moved on): the pay page only says thank you
PAID_STATUSES = frozenset(
    {OrderStatus.PAID, OrderStatus.ACCEPTED, OrderStatus.READY, OrderStatus.SHIPPED,
     OrderStatus.COMPLETED}
)  # fmt: skip


@lru_cache(maxsize=16)
def translations(locale: str) -> gettext.NullTranslations:
    """The compiled catalog for `locale` from locales/ (English msgids when there is none)."""
    return gettext.translation("messages", LOCALES_DIR, [locale], fallback=True)


class PageText:
    """gettext bound to one language, plus money and dates by the shop's conventions."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        self.lang = shop.locale.split("_")[0] or "ko"
        catalog = translations(self.lang)
        self.gettext: Callable[[str], str] = catalog.gettext
        self.ngettext: Callable[[str, str, int], str] = catalog.ngettext
        self.babel_locale = BABEL_LOCALES.get(shop.locale, shop.locale)

    def money(self, amount: int, currency: str | None = None) -> str:
        """₩32,000: amounts are integer minor units of the currency."""
        currency = currency or self.shop.currency
        value = amount / (10 ** get_currency_precision(currency))
        return format_currency(value, currency, locale=self.babel_locale)

    def moment(self, at: datetime) -> str:
        """Date and time of day in the shop's time zone: 2026년 11월 25일 오후 6:15."""
        local = at.astimezone(ZoneInfo(self.shop.timezone))
        return (
            f"{format_date(local, 'long', locale=self.babel_locale)} "
            f"{format_time(local, 'short', locale=self.babel_locale)}"
        )


def order_name(order: Order, text: PageText) -> str:
    """What the payment window shows: 부사 사과 5kg 외 2건."""
    first = order.lines[0].name if order.lines else order.code
    others = len(order.lines) - 1
    if others <= 0:
        return first[:100]
    _ = text.gettext
    return _("{name} and {count} more").format(name=first[:80], count=others)


def pay_page(
    order: Order,
    text: PageText,
    *,
    pay_link: str,
    start_url: str,
    done_url: str,
    qr_url: str,
    sdk_url: str | None,
) -> str:
    """The order, its total and deadline, a big pay button, and a QR code of this page."""
    _ = text.gettext
    e = html.escape
    rows = "\n".join(
        f"<tr><th scope='row'>{e(line.name)}</th><td>× {line.quantity}</td>"
        f"<td>{e(text.money(line.line_total))}</td></tr>"
        for line in order.lines
    )
    if order.delivery_fee:
        fee_label = e(_("Delivery fee"))
        rows += (
            f"\n<tr><th scope='row'>{fee_label}</th><td></td>"
            f"<td>{e(text.money(order.delivery_fee))}</td></tr>"
        )
    deadline = ""
    if order.expires_at is not None:
        deadline = "<p class='deadline'>" + e(
            _("Please pay by {time}, or the order is cancelled.").format(
                time=text.moment(order.expires_at)
            )
        ) + "</p>"  # fmt: skip
    if sdk_url:
        config = {
            "startUrl": start_url,
            "doneUrl": done_url,
            "text": {
                "opening": _("Opening the payment window…"),
                "failed": _("The payment window could not be opened. Please try again."),
                "closed": _("This order can no longer be paid."),
            },
        }
        pay_label = e(_("Pay"))
        action = f"""
<button type="button" id="pay-button" class="button">{pay_label}</button>
<p id="pay-status" role="status" aria-live="polite"></p>
<script type="application/json" id="pay-config">{_json_for_html(config)}</script>
<script src="{e(sdk_url)}"></script>
<script>{PAY_SCRIPT}</script>"""
    else:
        action = "<p class='notice'>" + e(
            _("Paying online is not available right now. Please ask the shop.")
        ) + "</p>"  # fmt: skip
    # (gettext calls stay outside f-strings: Babel's extractor can't see into them)
    heading = e(_("Order {code}").format(code=order.code))
    caption = e(_("What you ordered"))
    total = e(_("Total: {total}").format(total=text.money(order.total)))
    qr_title = e(_("On a computer? Pay with your phone"))
    qr_hint = e(_("Scan this code with your phone's camera to open this page there."))
    qr_alt = e(_("QR code of this page's link"))
    body = f"""
<p class="shop">{e(order.shop.name)}</p>
<h1>{heading}</h1>
<table>
<caption class="visually-hidden">{caption}</caption>
{rows}
</table>
<p class="total">{total}</p>
{deadline}
{action}
<section class="qr" aria-labelledby="qr-title">
<h2 id="qr-title">{qr_title}</h2>
<p>{qr_hint}</p>
<img src="{e(qr_url)}" width="240" height="240" alt="{qr_alt}">
<p class="link">{e(pay_link)}</p>
</section>"""
    return document(text.lang, _("Pay for order {code}").format(code=order.code), body)


def status_page(order: Order, text: PageText, *, now: datetime) -> str:
    """An order that can't be paid any more: what became of it, and no button."""
    _ = text.gettext
    e = html.escape
    if order.status in PAID_STATUSES:
        message = _("This order is paid. Thank you!")
    elif order.status in (OrderStatus.PENDING_PAYMENT, OrderStatus.EXPIRED):
        # a pending order shown here has run out of time (the expiry job may not have run yet)
        message = _("The time to pay has run out. Please order again in the chat.")
    elif order.status is OrderStatus.REFUSED:
        message = _("The shop could not take this order.")
    else:
        message = _("This order was cancelled.")
    heading = e(_("Order {code}").format(code=order.code))
    total = e(_("Total: {total}").format(total=text.money(order.total)))
    body = f"""
<p class="shop">{e(order.shop.name)}</p>
<h1>{heading}</h1>
<p class="result" role="status">{e(message)}</p>
<p class="total">{total}</p>"""
    return document(text.lang, _("Order {code}").format(code=order.code), body)


def done_page(
    order: Order,
    payment: Payment | None,
    text: PageText,
    *,
    checked: bool,
    failed_in_browser: bool,
    pay_url: str,
) -> str:
    """After the payment window: paid, still being checked, refunded, or failed (try again)."""
    _ = text.gettext
    e = html.escape
    refresh = False
    retry = False
    status = payment.status if payment is not None else None
    if status in (PaymentStatus.REFUND_REQUESTED, PaymentStatus.REFUNDED):
        assert payment is not None
        message = _("This payment can't be used for the order, so the money goes back to you.")
        detail = _("{amount} is refunded. It can take 3–7 days, depending on your card company.")
        message += " " + detail.format(amount=text.money(payment.amount, payment.currency))
    elif order.status in PAID_STATUSES and status in (PaymentStatus.PAID, None):
        message = _(
            "Paid. Thank you! The shop has your order, and you'll get a message in the chat."
        )
    elif (status is PaymentStatus.PENDING and not failed_in_browser) or not checked:
        message = _("We are still checking your payment. This page updates by itself.")
        refresh = True
    else:
        message = _("The payment did not go through.")
        retry = order.status is OrderStatus.PENDING_PAYMENT
    heading = e(_("Order {code}").format(code=order.code))
    body = f"""
<p class="shop">{e(order.shop.name)}</p>
<h1>{heading}</h1>
<p class="result" role="status">{e(message)}</p>"""
    if retry:
        again = e(_("Try again"))
        body += f"\n<a class='button' href='{e(pay_url)}'>{again}</a>"
    return document(text.lang, _("Order {code}").format(code=order.code), body, refresh=refresh)


def not_found_page(lang: str) -> str:
    """An unknown (or mistyped) pay link."""
    _ = translations(lang).gettext
    heading = html.escape(_("This pay link is not valid."))
    hint = html.escape(_("Please open the link from your order message in the chat again."))
    body = f"""
<h1>{heading}</h1>
<p>{hint}</p>"""
    return document(lang, _("Not found"), body)


def document(lang: str, title: str, body: str, *, refresh: bool = False) -> str:
    meta_refresh = '<meta http-equiv="refresh" content="5">' if refresh else ""
    return f"""<!doctype html>
<html lang="{html.escape(lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="strict-origin">
{meta_refresh}
<title>{html.escape(title)}</title>
<style>{STYLE}</style>
</head>
<body><main>{body}</main></body>
</html>"""


def _json_for_html(value: object) -> str:
    """JSON safe inside a <script> element (no `</script>` can close it early)."""
    return (
        json.dumps(value, ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )


STYLE = """
html { font-size: 112.5%; }
body { margin: 0; background: #fff; color: #111;
  font-family: system-ui, -apple-system, "Apple SD Gothic Neo", "Noto Sans KR", sans-serif;
  line-height: 1.5; }
main { max-width: 34rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.6rem; margin: .25rem 0 1rem; }
h2 { font-size: 1.2rem; }
.shop { font-size: 1.1rem; font-weight: 600; margin: 0; }
table { width: 100%; border-collapse: collapse; font-size: 1.1rem; }
th, td { padding: .5rem .25rem; border-bottom: 1px solid #767676; text-align: left;
  vertical-align: top; }
th { font-weight: 400; }
td:last-child { text-align: right; white-space: nowrap; }
.total { font-size: 1.6rem; font-weight: 700; margin: 1rem 0 .5rem; }
.deadline, .notice { font-size: 1.1rem; }
.result { font-size: 1.3rem; }
.button { display: block; box-sizing: border-box; width: 100%; min-height: 3.75rem;
  padding: .75rem 1rem; margin: 1rem 0; border: 0; border-radius: .5rem;
  background: #0b57d0; color: #fff; font-size: 1.5rem; font-weight: 700;
  text-align: center; text-decoration: none; cursor: pointer; }
.button:disabled { background: #444; }
.button:focus-visible, a:focus-visible { outline: 4px solid #e37400; outline-offset: 3px; }
#pay-status { min-height: 1.5em; font-size: 1.1rem; }
.qr { margin-top: 2rem; padding-top: 1rem; border-top: 2px solid #111; }
.qr img { display: block; max-width: 100%; height: auto; background: #fff; }
.link { word-break: break-all; font-size: .95rem; color: #333; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; }
@media (prefers-color-scheme: dark) {
  body { background: #111; color: #fff; }
  th, td { border-color: #aaa; }
  .link { color: #ddd; }
  .qr { border-color: #fff; }
}
"""

# Opens PortOne's payment window with what POST /pay/{token}/start decided; the browser comes
# back to the done page (directly, or after PortOne's redirect on phones).
PAY_SCRIPT = """
(function () {
  var config = JSON.parse(document.getElementById("pay-config").textContent);
  var button = document.getElementById("pay-button");
  var status = document.getElementById("pay-status");
  function say(text) { status.textContent = text; }
  button.addEventListener("click", function () {
    button.disabled = true;
    say(config.text.opening);
    fetch(config.startUrl, {method: "POST", headers: {"accept": "application/json"}})
      .then(function (response) {
        if (response.status === 409) {
          say(config.text.closed);
          window.setTimeout(function () { window.location.reload(); }, 1500);
          return null;
        }
        if (!response.ok || !window.PortOne) { throw new Error("start failed"); }
        return response.json();
      })
      .then(function (request) {
        if (!request) { return null; }
        return window.PortOne.requestPayment(request).then(function (result) {
          if (!result) { return; }  // PortOne redirects to the done page itself
          var url = config.doneUrl + "?paymentId=" +
            encodeURIComponent(result.paymentId || request.paymentId);
          if (result.code) { url += "&code=" + encodeURIComponent(result.code); }
          window.location.href = url;
        });
      })
      .catch(function () {
        say(config.text.failed);
        button.disabled = false;
      });
  });
})();
"""
