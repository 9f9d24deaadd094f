"""What the HTTP app needs from the composition root, passed in instead of imported."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.clock import Clock

TelegramUpdateHandler = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class WebContext:
    """Injected into the FastAPI app as `app.state.ctx`."""

    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    api_token: str | None
    default_locale: str = "ko"
    reservation_minutes: int = 15
    # set when the bot runs in webhook mode
    telegram_secret: str | None = None
    telegram_handler: TelegramUpdateHandler | None = None
    # called after a request's transaction commits (wakes the outbox sender)
    after_commit: Callable[[], None] | None = None
    readiness_checks: tuple[Callable[[], Awaitable[None]], ...] = ()
