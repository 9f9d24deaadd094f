"""What the HTTP app needs from the composition root, passed in instead of imported."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
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
    timezone: str = "Asia/Seoul"  # of market shows that don't name one
    reservation_minutes: int = 15
    vendor_invite_hours: int = 72
    # set when the bot runs in webhook mode
    telegram_secret: str | None = None
    telegram_handler: TelegramUpdateHandler | None = None
    # called after a request's transaction commits (wakes the outbox sender)
    after_commit: Callable[[], None] | None = None
    # the bot's @username, known once it reached Telegram (getMe): links and posters need it
    bot_username: str | None = None
    # /readyz runs these beside the database check, by name ("redis"); raising = not ready
    readiness_checks: dict[str, Callable[[], Awaitable[None]]] = field(default_factory=dict)
    # LIVECART_METRICS_TOKEN: /metrics wants this bearer token when set
    metrics_token: str | None = None
    # PortOne V2 (LIVECART_PORTONE_*): payments are answered 404 until these are set
    portone_api_url: str | None = None
    portone_api_secret: str | None = None
    portone_webhook_secret: str | None = None
    portone_store_id: str | None = None
    # the pay page (GET /pay/{token}) opens PortOne's checkout with these
    portone_channel_key: str | None = None
    portone_browser_sdk_url: str = "https://cdn.portone.io/v2/browser-sdk.js"
    # where customers reach livecart (links, QR codes, PortOne's redirect); the request's own
    # address when unset
    public_base_url: str | None = None
    # the campaign console: signs its session cookies (None: derived from api_token);
    # when show reminders go out, seconds before the start (LIVECART_REMINDER_OFFSETS)
    console_secret: str | None = None
    reminder_offsets: tuple[int, ...] = (86400, 600, 0)
    # LIVECART_WEBHOOK_ALLOW_PRIVATE_URLS: merchant webhooks may point at http:// and local or
    # private network addresses (the demo, tests with a local receiver)
    webhook_allow_private_urls: bool = False
    # PortOne retries a webhook we don't answer; better to say 503 soon than to hang
    portone_timeout_seconds: float = 10.0
    # LIVECART_REDIS_URL: counts shared by every instance (the console's failed logins)
    redis_url: str | None = None

    @property
    def portone_configured(self) -> bool:
        return bool(
            self.portone_api_url and self.portone_api_secret and self.portone_webhook_secret
        )

    @property
    def pay_page_ready(self) -> bool:
        """The pay page can open PortOne's checkout (and livecart can check the result)."""
        return bool(self.portone_configured and self.portone_store_id and self.portone_channel_key)
