"""A small PortOne V2 stand-in for the demo and the tests: its API, browser SDK and checkout.

It answers livecart the way api.portone.io does (`GET /payments/{id}`,
`POST /payments/{id}/cancel`, `Authorization: PortOne <secret>`, errors as `{type, message}`),
serves `/browser-sdk.js` defining `PortOne.requestPayment(request)`, and shows a checkout page
whose "Pay (demo)" button marks the payment PAID, sends PortOne's signed webhook
(Standard Webhooks, via the standardwebhooks library) and returns to the request's
redirectUrl. No money moves and no card is asked for.

Mount it anywhere (`/fake-portone` in the demo): its pages find their own address.
Test hooks (`/_test/...`) set a payment's amount or status (also cancelled by hand), and make
cancels fail for a while (500, 429) or be refused (a 4xx with PortOne's error type).
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import FastAPI, Header, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from standardwebhooks import Webhook

log = logging.getLogger(__name__)

#: the browser SDK's currency names ("CURRENCY_KRW") and the API's ("KRW")
_SDK_CURRENCY_PREFIX = "CURRENCY_"

_BROWSER_SDK = """\
// A stand-in for PortOne's browser SDK (livecart demo): requestPayment opens the fake checkout.
(function () {
  var script = document.currentScript;
  var base = script.src.replace(/\\/browser-sdk\\.js(\\?.*)?$/, "");
  window.PortOne = {
    requestPayment: function (request) {
      return fetch(base + "/checkout", {
        method: "POST",
        headers: {"content-type": "application/json"},
        body: JSON.stringify(request)
      }).then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) {
            return {transactionType: "PAYMENT", paymentId: request.paymentId,
                    code: body.type || "FAILURE_TYPE_PG", message: body.message || ""};
          }
          window.location.href = base + "/checkout/" + encodeURIComponent(request.paymentId);
          return new Promise(function () {});  // the page is leaving
        });
      });
    }
  };
})();
"""


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _error(status: int, type: str, message: str) -> JSONResponse:
    return JSONResponse({"type": type, "message": message}, status_code=status)


@dataclass
class FakePortOne:
    """PortOne's side of a payment, in memory: payments, cancellations, webhooks sent."""

    api_secret: str
    webhook_secret: str  # whsec_... shared with livecart
    store_id: str
    channel_key: str = "channel-key-demo"
    base_url: str = ""  # where it is served, when the caller knows (tests)
    webhook_url: str | None = None
    webhook_timeout: float = 10.0
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    cancellations: list[tuple[str, str]] = field(default_factory=list)
    webhooks_sent: list[tuple[str, int | str]] = field(default_factory=list)
    lookups: int = 0
    delay_seconds: float = 0.0
    failing_cancels: int = 0  # the next N cancel calls answer `cancel_failure`
    cancel_failure: tuple[int, str, str] = (500, "INTERNAL_ERROR", "잠시 후 다시 시도해 주세요.")
    cancel_calls: int = 0  # every cancel request that got past authorisation

    # --- PortOne's state --------------------------------------------------------------

    def open(
        self, payment_id: str, *, total: int, currency: str = "KRW", order_name: str = ""
    ) -> dict[str, Any]:
        """A payment window was opened: PortOne holds a READY payment for this amount."""
        now = _now()
        payment: dict[str, Any] = {
            "status": "READY",
            "id": payment_id,
            "transactionId": secrets.token_hex(8),
            "merchantId": "merchant-demo",
            "storeId": self.store_id,
            "channel": {
                "type": "TEST",
                "id": "channel-demo",
                "key": self.channel_key,
                "name": "livecart demo",
                "pgProvider": "KAKAOPAY",
                "pgMerchantId": "TC0ONETIME",
            },
            "version": "V2",
            "requestedAt": now,
            "updatedAt": now,
            "statusChangedAt": now,
            "orderName": order_name or payment_id,
            "amount": _amount(total),
            "currency": currency,
            "customer": {},
            "isCulturalExpense": False,
            "origin": {"platformType": "PC", "ipAddress": "127.0.0.1"},
        }
        self.payments[payment_id] = payment
        return payment

    def pay(
        self, payment_id: str, *, amount: int | None = None, currency: str | None = None
    ) -> None:
        """The customer paid (by default the amount the window was opened for)."""
        payment = self.payments[payment_id]
        total = payment["amount"]["total"] if amount is None else amount
        now = _now()
        payment.update(
            status="PAID",
            amount={**_amount(total), "paid": total},
            currency=currency or payment["currency"],
            method={"type": "PaymentMethodEasyPay", "provider": "KAKAOPAY"},
            paidAt=now,
            updatedAt=now,
            statusChangedAt=now,
            pgTxId=secrets.token_hex(6),
            receiptUrl="https://receipt.example/" + payment_id,
            disputes=[],
        )

    def fail(self, payment_id: str, reason: str = "the customer closed the window") -> None:
        payment = self.payments[payment_id]
        now = _now()
        payment.update(
            status="FAILED",
            failure={"reason": reason, "pgCode": "USER_CANCEL", "pgMessage": reason},
            failedAt=now,
            updatedAt=now,
            statusChangedAt=now,
        )

    def cancel_by_hand(self, payment_id: str, cancelled: int | None = None) -> None:
        """Someone cancelled the payment in PortOne's console (by default all of it)."""
        payment = self.payments[payment_id]
        total = payment["amount"]["total"]
        now = _now()
        payment.update(
            status="CANCELLED",
            cancelledAt=now,
            updatedAt=now,
            statusChangedAt=now,
            amount={**payment["amount"], "cancelled": total if cancelled is None else cancelled},
        )

    async def send_webhook(self, payment_id: str, type: str) -> int | str:
        """Tell `webhook_url` about the payment, signed as PortOne signs (2024-04-25 body)."""
        if not self.webhook_url:
            return "no webhook url"
        payment = self.payments.get(payment_id, {})
        body = json.dumps(
            {
                "type": type,
                "timestamp": _now(),
                "data": {
                    "paymentId": payment_id,
                    "storeId": self.store_id,
                    "transactionId": payment.get("transactionId", ""),
                },
            }
        )
        msg_id = f"msg_{secrets.token_hex(12)}"
        at = datetime.now(UTC)
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(self.webhook_secret).sign(msg_id, at, body),
            "content-type": "application/json",
        }
        result: int | str
        try:
            async with httpx.AsyncClient(timeout=self.webhook_timeout) as client:
                response = await client.post(self.webhook_url, content=body, headers=headers)
            result = response.status_code
        except httpx.HTTPError as exc:
            result = repr(exc)
            log.warning("fake PortOne could not deliver the webhook: %s", exc)
        self.webhooks_sent.append((payment_id, result))
        return result

    # --- the HTTP app -----------------------------------------------------------------

    def app(self) -> FastAPI:
        app = FastAPI(title="fake PortOne", docs_url=None, redoc_url=None, openapi_url=None)

        def unauthorized(authorization: str | None) -> JSONResponse | None:
            if authorization != f"PortOne {self.api_secret}":
                return _error(401, "UNAUTHORIZED", "인증 정보가 올바르지 않습니다.")
            return None

        @app.get("/payments/{payment_id}")
        async def get_payment(
            payment_id: str, authorization: str | None = Header(default=None)
        ) -> JSONResponse:
            self.lookups += 1
            if self.delay_seconds:
                await asyncio.sleep(self.delay_seconds)
            if refused := unauthorized(authorization):
                return refused
            payment = self.payments.get(payment_id)
            if payment is None:
                return _error(404, "PAYMENT_NOT_FOUND", "결제 건이 존재하지 않습니다.")
            return JSONResponse(payment)

        @app.post("/payments/{payment_id}/cancel")
        async def cancel_payment(
            payment_id: str,
            body: dict[str, Any],
            authorization: str | None = Header(default=None),
        ) -> JSONResponse:
            if refused := unauthorized(authorization):
                return refused
            self.cancel_calls += 1
            if self.failing_cancels > 0:
                self.failing_cancels -= 1
                return _error(*self.cancel_failure)
            payment = self.payments.get(payment_id)
            if payment is None:
                return _error(404, "PAYMENT_NOT_FOUND", "결제 건이 존재하지 않습니다.")
            if payment["status"] == "CANCELLED":
                return _error(409, "PAYMENT_ALREADY_CANCELLED", "이미 취소된 결제입니다.")
            if payment["status"] != "PAID":
                return _error(409, "PAYMENT_NOT_PAID", "결제가 완료되지 않았습니다.")
            reason = str(body.get("reason", ""))
            self.cancellations.append((payment_id, reason))
            now = _now()
            total = payment["amount"]["total"]
            cancellation = {
                "status": "SUCCEEDED",
                "id": secrets.token_hex(6),
                "pgCancellationId": secrets.token_hex(6),
                "totalAmount": total,
                "taxFreeAmount": 0,
                "vatAmount": total // 11,
                "reason": reason,
                "requestedAt": now,
                "cancelledAt": now,
            }
            payment.update(
                status="CANCELLED",
                cancelledAt=now,
                updatedAt=now,
                statusChangedAt=now,
                cancellations=[cancellation],
                amount={**payment["amount"], "cancelled": total},
            )
            return JSONResponse({"cancellation": cancellation})

        @app.get("/browser-sdk.js", include_in_schema=False)
        async def browser_sdk() -> Response:
            return Response(_BROWSER_SDK, media_type="text/javascript")

        @app.post("/checkout")
        async def open_checkout(request: dict[str, Any]) -> JSONResponse:
            payment_id = str(request.get("paymentId", ""))
            total = request.get("totalAmount")
            if request.get("storeId") != self.store_id:
                return _error(400, "STORE_NOT_FOUND", "상점 아이디가 올바르지 않습니다.")
            if request.get("channelKey") != self.channel_key:
                return _error(400, "CHANNEL_NOT_FOUND", "채널 키가 올바르지 않습니다.")
            if not payment_id or not isinstance(total, int) or isinstance(total, bool):
                return _error(400, "INVALID_REQUEST", "paymentId와 totalAmount가 필요합니다.")
            if self.payments.get(payment_id, {}).get("status") == "PAID":
                return _error(409, "PAYMENT_ALREADY_PAID", "이미 결제된 건입니다.")
            currency = str(request.get("currency", "KRW")).removeprefix(_SDK_CURRENCY_PREFIX)
            self.open(
                payment_id,
                total=total,
                currency=currency,
                order_name=str(request.get("orderName", "")),
            )
            self.redirects[payment_id] = str(request.get("redirectUrl", ""))
            return JSONResponse({"paymentId": payment_id})

        @app.get("/checkout/{payment_id}", include_in_schema=False)
        async def checkout_page(payment_id: str, request: Request) -> HTMLResponse:
            payment = self.payments.get(payment_id)
            if payment is None:
                return HTMLResponse(_page("Not found", "<p>No such payment.</p>"), 404)
            pay_url = request.url_for("checkout_pay", payment_id=payment_id).path
            cancel_url = request.url_for("checkout_cancel", payment_id=payment_id).path
            body = f"""
<p class="label">Fake PortOne · demo checkout, no money moves</p>
<h1>{html.escape(payment["orderName"])}</h1>
<p class="amount">{payment["amount"]["total"]:,} {html.escape(payment["currency"])}</p>
<form method="post" action="{html.escape(pay_url)}">
  <button type="submit" class="pay">Pay (demo)</button>
</form>
<form method="post" action="{html.escape(cancel_url)}">
  <button type="submit" class="cancel">Cancel</button>
</form>"""
            return HTMLResponse(_page("Fake PortOne checkout", body))

        @app.post("/checkout/{payment_id}/pay", name="checkout_pay", include_in_schema=False)
        async def checkout_pay(payment_id: str) -> Response:
            if payment_id not in self.payments:
                return _error(404, "PAYMENT_NOT_FOUND", "결제 건이 존재하지 않습니다.")
            if self.payments[payment_id]["status"] != "PAID":
                self.pay(payment_id)
                await self.send_webhook(payment_id, "Transaction.Paid")
            return self._back(payment_id)

        @app.post("/checkout/{payment_id}/cancel", name="checkout_cancel", include_in_schema=False)
        async def checkout_cancel(payment_id: str) -> Response:
            if payment_id not in self.payments:
                return _error(404, "PAYMENT_NOT_FOUND", "결제 건이 존재하지 않습니다.")
            if self.payments[payment_id]["status"] == "READY":
                self.fail(payment_id)
                await self.send_webhook(payment_id, "Transaction.Failed")
            return self._back(payment_id, code="FAILURE_TYPE_PG", message="the customer cancelled")

        # --- test hooks: plain HTTP, so a test drives the fake as a browser or PG would

        @app.post("/_test/payments/{payment_id}", include_in_schema=False)
        async def set_payment(payment_id: str, change: dict[str, Any]) -> JSONResponse:
            """{"status": "PAID", "amount": 640, "currency": "KRW", "webhook": true};
            {"status": "CANCELLED", "cancelled": 640} (default: the whole amount)"""
            if payment_id not in self.payments:
                self.open(payment_id, total=int(change.get("amount", 0)))
            status = change.get("status")
            if status == "PAID":
                self.pay(payment_id, amount=change.get("amount"), currency=change.get("currency"))
            elif status == "FAILED":
                self.fail(payment_id)
            elif status == "CANCELLED":  # cancelled by hand in PortOne's console
                self.cancel_by_hand(payment_id, change.get("cancelled"))
            elif change.get("amount") is not None:
                self.payments[payment_id]["amount"] = _amount(int(change["amount"]))
            delivered = None
            if change.get("webhook"):
                event = "Transaction.Paid" if status == "PAID" else "Transaction.Ready"
                delivered = await self.send_webhook(payment_id, event)
            return JSONResponse({"payment": self.payments[payment_id], "webhook": delivered})

        @app.post("/_test/fail-cancels", include_in_schema=False)
        async def fail_cancels(change: dict[str, Any]) -> JSONResponse:
            """{"count": 1}: the next `count` cancel calls answer 500; with
            {"status": 409, "type": "PAYMENT_NOT_PAID", "message": "..."} that answer instead."""
            self.failing_cancels = int(change.get("count", 1))
            status = int(change.get("status", 500))
            self.cancel_failure = (
                status,
                str(change.get("type", "INTERNAL_ERROR" if status >= 500 else "INVALID_REQUEST")),
                str(change.get("message", "요청을 처리할 수 없습니다.")),
            )
            return JSONResponse({"failing_cancels": self.failing_cancels})

        @app.get("/_test/cancellations", include_in_schema=False)
        async def list_cancellations() -> JSONResponse:
            return JSONResponse([{"paymentId": p, "reason": r} for p, r in self.cancellations])

        return app

    def _back(self, payment_id: str, **query: str) -> Response:
        """Back to the merchant's redirectUrl with paymentId (and code/message on failure)."""
        target = self.redirects.get(payment_id)
        if not target:
            return HTMLResponse(_page("Done", "<p>Done. You can close this window.</p>"))
        separator = "&" if "?" in target else "?"
        return RedirectResponse(
            target + separator + urlencode({"paymentId": payment_id, **query}), status_code=303
        )


def _amount(total: int) -> dict[str, int]:
    return {
        "total": total,
        "taxFree": 0,
        "vat": total // 11,
        "supply": total - total // 11,
        "discount": 0,
        "paid": 0,
        "cancelled": 0,
        "cancelledTaxFree": 0,
    }


def _page(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>
body {{ font: 1.25rem/1.5 system-ui, sans-serif; max-width: 32rem; margin: 0 auto;
  padding: 1rem; background: #fff; color: #111; }}
.label {{ color: #444; font-size: 1rem; }}
.amount {{ font-size: 2rem; font-weight: 700; }}
button {{ width: 100%; min-height: 3.5rem; font-size: 1.25rem; margin: .5rem 0;
  border-radius: .5rem; border: 2px solid #111; }}
.pay {{ background: #0b57d0; color: #fff; border-color: #0b57d0; }}
.cancel {{ background: #fff; color: #111; }}
</style></head>
<body>{body}</body></html>"""
