"""A small PortOne V2 REST client: read a payment back, cancel (refund) one.

The official portone-server-sdk's PaymentClient makes its own httpx clients with a fixed
60-second timeout and no way to close them, and fails on error bodies that are not JSON; a
webhook must answer PortOne quickly, so livecart calls the two endpoints itself and reads the
JSON the SDK's types document (`Payment`: `status`, `amount.total`, `currency`;
`CancelPaymentResponse`: `cancellation.status`; errors: `{type, message}`).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from catalog.models import PaymentStatus

#: PortOne's payment statuses (the `status` discriminator of the SDK's Payment union)
STATUS_FROM_PORTONE: dict[str, PaymentStatus] = {
    "READY": PaymentStatus.PENDING,
    "PAY_PENDING": PaymentStatus.PENDING,
    "VIRTUAL_ACCOUNT_ISSUED": PaymentStatus.PENDING,
    "PAID": PaymentStatus.PAID,
    "FAILED": PaymentStatus.FAILED,
    # livecart never cancels part of a payment: any cancellation means the money is not kept
    "PARTIAL_CANCELLED": PaymentStatus.CANCELLED,
    "CANCELLED": PaymentStatus.CANCELLED,
}

#: what livecart keeps of PortOne's answer: enough to settle a dispute, and no personal data
#: (PortOne's payment also carries the customer's name, phone, e-mail and address)
RECORDED_FIELDS = (
    "id",
    "transactionId",
    "status",
    "amount",
    "currency",
    "requestedAt",
    "paidAt",
    "failedAt",
    "cancelledAt",
    "statusChangedAt",
    "pgTxId",
    "receiptUrl",
)


class PortOneError(Exception):
    """PortOne could not answer the request."""


class PortOneUnavailable(PortOneError):
    """Timeout, connection failure, a 5xx or an unreadable answer: worth retrying later."""


class PortOneRejected(PortOneError):
    """PortOne refused the request (4xx but 408/429); `type` is PortOne's error type, e.g.
    PAYMENT_NOT_FOUND. Asking again gets the same answer."""

    def __init__(self, status_code: int, type: str, message: str) -> None:
        super().__init__(f"PortOne answered {status_code} {type}: {message}")
        self.status_code = status_code
        self.type = type
        self.message = message


@dataclass(frozen=True)
class PortOnePayment:
    """The fields of a PortOne payment that decide whether an order is paid."""

    id: str
    portone_status: str
    status: PaymentStatus
    amount: int
    currency: str
    raw: dict[str, Any]  # RECORDED_FIELDS only


@dataclass(frozen=True)
class PortOneCancellation:
    """`cancellation.status`: SUCCEEDED, REQUESTED (the PG is still working) or FAILED."""

    status: str
    raw: dict[str, Any]

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"


class PortOneClient:
    """`GET /payments/{id}` and `POST /payments/{id}/cancel`, authorised by the API secret."""

    def __init__(
        self,
        *,
        api_url: str,
        api_secret: str,
        store_id: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._store_id = store_id
        self._http = httpx.AsyncClient(
            base_url=api_url.rstrip("/"),
            headers={"Authorization": f"PortOne {api_secret}"},
            timeout=timeout,
        )

    async def __aenter__(self) -> PortOneClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def get_payment(self, payment_id: str) -> PortOnePayment:
        """The payment as PortOne holds it now (the webhook body is only a trigger)."""
        params = {"storeId": self._store_id} if self._store_id else None
        body = await self._call("GET", f"/payments/{quote(payment_id, safe='')}", params=params)
        try:
            portone_status = str(body["status"])
            amount = body["amount"]["total"]
            currency = str(body["currency"])
        except (KeyError, TypeError) as exc:
            raise PortOneUnavailable(f"not a PortOne payment: missing {exc}") from exc
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise PortOneUnavailable(f"not a PortOne payment: amount.total is {amount!r}")
        status = STATUS_FROM_PORTONE.get(portone_status)
        if status is None:
            raise PortOneUnavailable(f"unknown PortOne payment status {portone_status!r}")
        return PortOnePayment(
            id=str(body.get("id", payment_id)),
            portone_status=portone_status,
            status=status,
            amount=amount,
            currency=currency,
            raw={key: body[key] for key in RECORDED_FIELDS if key in body},
        )

    async def cancel_payment(
        self, payment_id: str, reason: str, *, amount: int
    ) -> PortOneCancellation:
        """Cancel the whole payment (refund it).

        A payment PortOne says is already cancelled counts as done when the cancelled amount
        is `amount` (what must go back); cancelled for another amount it stays a
        PortOneRejected, which only a person can sort out.
        """
        request: dict[str, Any] = {"reason": reason}
        if self._store_id:
            request["storeId"] = self._store_id
        try:
            body = await self._call(
                "POST", f"/payments/{quote(payment_id, safe='')}/cancel", json=request
            )
        except PortOneRejected as exc:
            if exc.type != "PAYMENT_ALREADY_CANCELLED":
                raise
            payment = await self.get_payment(payment_id)
            held = payment.raw.get("amount")
            cancelled = held.get("cancelled") if isinstance(held, dict) else None
            if cancelled != amount:
                raise PortOneRejected(
                    exc.status_code,
                    exc.type,
                    f"already cancelled for {cancelled!r}, not the {amount} owed",
                ) from exc
            return PortOneCancellation(
                status="SUCCEEDED", raw={"type": exc.type, "cancelledAmount": cancelled}
            )
        cancellation = body.get("cancellation")
        if not isinstance(cancellation, dict) or "status" not in cancellation:
            raise PortOneUnavailable("not a PortOne cancellation: missing cancellation.status")
        return PortOneCancellation(status=str(cancellation["status"]), raw=body)

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise PortOneUnavailable(f"PortOne {method} {path}: {exc!r}") from exc
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        # 408 and 429 say "not now", like a 5xx: the request may succeed later
        transient = response.status_code >= 500 or response.status_code in (408, 429)
        if transient or not isinstance(body, dict):
            raise PortOneUnavailable(f"PortOne {method} {path} answered {response.status_code}")
        if response.status_code != 200:
            raise PortOneRejected(
                response.status_code, str(body.get("type", "")), str(body.get("message", ""))
            )
        return body
