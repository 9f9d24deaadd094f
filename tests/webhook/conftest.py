from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.clock import FrozenClock
from livecart.fake_portone import FakePortOne
from livecart.simulator.server import serve_app
from tests.webhook.portone_world import (
    API_SECRET,
    CHANNEL_KEY,
    STORE_ID,
    WEBHOOK_SECRET,
    fake_portone,
)
from webhook.app import create_app
from webhook.context import WebContext

API_TOKEN = "test-admin-token-1234567890"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.fixture
def web_context(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> WebContext:
    return WebContext(sessionmaker=sessionmaker, clock=clock, api_token=API_TOKEN)


@pytest.fixture
async def api(web_context: WebContext) -> AsyncIterator[httpx.AsyncClient]:
    """The real FastAPI app over httpx's ASGI transport (no token by default)."""
    app = create_app(web_context)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://livecart.test") as client:
        yield client


@pytest.fixture
async def portone() -> AsyncIterator[FakePortOne]:
    """livecart's fake PortOne (livecart/fake_portone.py), served over real HTTP."""
    fake = fake_portone()
    async with serve_app(fake.app()) as running:
        fake.base_url = running.base_url
        yield fake


@pytest.fixture
def payment_context(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, portone: FakePortOne
) -> WebContext:
    """livecart configured for PortOne, talking to the fake."""
    return WebContext(
        sessionmaker=sessionmaker,
        clock=clock,
        api_token=None,
        portone_api_url=portone.base_url,
        portone_api_secret=API_SECRET,
        portone_webhook_secret=WEBHOOK_SECRET,
        portone_store_id=STORE_ID,
        portone_channel_key=CHANNEL_KEY,
        portone_browser_sdk_url=f"{portone.base_url}/browser-sdk.js",
        portone_timeout_seconds=2.0,
    )


@pytest.fixture
async def http(payment_context: WebContext) -> AsyncIterator[httpx.AsyncClient]:
    """livecart's app over httpx's ASGI transport, configured for PortOne."""
    transport = httpx.ASGITransport(app=create_app(payment_context), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://livecart.test") as client:
        yield client
