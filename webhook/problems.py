"""Errors as RFC 9457 problem details (application/problem+json)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from catalog.errors import (
    DomainError,
    IdempotencyKeyReused,
    InvalidInput,
    InvalidTransition,
    InviteAlreadyUsed,
    InviteExpired,
    LastOwner,
    NotFound,
    NotShopOwner,
    OrderNotPayable,
    OutOfStock,
    ShopClosed,
)
from catalog.products import ProductInUse

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://livecart.invalid/problems/"

STATUS_BY_ERROR: tuple[tuple[type[DomainError], int], ...] = (
    (NotFound, 404),
    (InvalidInput, 422),
    (OutOfStock, 409),
    (InvalidTransition, 409),
    (OrderNotPayable, 409),
    (ProductInUse, 409),
    (ShopClosed, 409),
    (InviteAlreadyUsed, 409),
    (InviteExpired, 409),
    (LastOwner, 409),
    (NotShopOwner, 403),
    (IdempotencyKeyReused, 422),
)


def problem(
    status: int, title: str | None = None, detail: str | None = None, **extra: Any
) -> JSONResponse:
    """A problem+json response; `type` names the problem so clients can branch on it."""
    body: dict[str, Any] = {
        "type": extra.pop("type", "about:blank"),
        "title": title or HTTPStatus(status).phrase,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _status_for(exc: DomainError) -> int:
    for cls, status in STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return status
    return 400


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    extra: dict[str, Any] = {"type": PROBLEM_BASE + exc.code, "instance": request.url.path}
    if isinstance(exc, OutOfStock):
        extra["shortages"] = [
            {"sku": s.sku, "requested": s.requested, "available": s.available}
            for s in exc.shortages
        ]
    if isinstance(exc, InvalidInput) and exc.field:
        extra["field"] = exc.field
    return problem(_status_for(exc), detail=str(exc), **extra)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": [str(part) for part in e.get("loc", ())], "msg": str(e.get("msg", ""))}
        for e in exc.errors()
    ]
    return problem(
        422,
        detail="the request does not match the schema",
        type=PROBLEM_BASE + "validation",
        instance=request.url.path,
        errors=errors,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    response = problem(exc.status_code, detail=str(exc.detail), instance=request.url.path)
    for key, value in (exc.headers or {}).items():
        response.headers[key] = value
    return response


def install_problem_handlers(app: FastAPI) -> None:
    """Every error leaves the API as problem+json, never as a bare 500 page."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
    "additionalProperties": True,
}
PROBLEM_STATUSES = {
    "400": "the request can't be read",
    "401": "no valid bearer token",
    "403": "the token may not do this (another shop's token, or not the admin)",
    "404": "not found",
    "409": "a rule refuses it in the current state",
    "422": "the request breaks the schema or a rule about its values",
}


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Every error of the REST API is problem+json: say so in the OpenAPI document, replacing
    FastAPI's default 422 body, so clients and schemathesis see what really comes back."""
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, description in PROBLEM_STATUSES.items():
                responses[status] = {
                    "description": description,
                    "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}},
                }
    return schema
