from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.clock import FrozenClock
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
