"""The FastAPI application: REST admin API, Telegram and payment webhooks, health."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from webhook.context import WebContext
from webhook.observability import RequestObservabilityMiddleware
from webhook.problems import document_problems, install_problem_handlers
from webhook.routes import (
    api_tokens,
    campaigns,
    health,
    metrics,
    orders,
    pay,
    payments,
    products,
    shops,
    shows,
    stock,
    stream_links,
    telegram,
    vendors,
    webhook_endpoints,
)
from webhook.routes.console import install_console


def create_app(ctx: WebContext) -> FastAPI:
    """Build the HTTP app around injected services (no globals, nothing at import time)."""
    app = FastAPI(
        title="livecart",
        version="1.0",
        description="Chat-commerce backend: shops, products and stock, orders, webhooks.",
    )
    app.state.ctx = ctx
    app.add_middleware(RequestObservabilityMiddleware)
    install_problem_handlers(app)
    _install_openapi(app)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(shops.router)
    app.include_router(products.router)
    app.include_router(vendors.router)
    app.include_router(orders.router)
    app.include_router(orders.sheet_router)
    app.include_router(shows.router)
    app.include_router(campaigns.router)
    app.include_router(stream_links.router)
    app.include_router(stock.router)
    app.include_router(api_tokens.router)
    app.include_router(webhook_endpoints.router)
    app.include_router(telegram.router)
    app.include_router(payments.router)
    app.include_router(pay.router)
    install_console(app)
    return app


def create_worker_app(ctx: WebContext) -> FastAPI:
    """The worker's small HTTP server: /healthz, /readyz and /metrics only."""
    app = FastAPI(title="livecart worker", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.ctx = ctx
    app.add_middleware(RequestObservabilityMiddleware)
    install_problem_handlers(app)
    app.include_router(health.router)
    app.include_router(metrics.router)
    return app


def _install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = document_problems(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
