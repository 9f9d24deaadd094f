"""What the bot needs from the composition root, injected into every handler as `deps`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.rate_limits import RateLimits
from catalog.clock import Clock


@dataclass
class BotDeps:
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    default_locale: str = "ko"
    reservation_minutes: int = 15
    public_base_url: str | None = None
    # PortOne is configured and the pay page is reachable (LIVECART_PUBLIC_BASE_URL)
    online_payments: bool = False
    vendor_invite_hours: int = 72
    # wakes the outbox sender after a transaction that wrote outbox rows commits
    wake_sender: Callable[[], None] = field(default=lambda: None)
    # the send-rate limits the outbox sender counts in (Redis-shared): replies count there too
    send_limits: RateLimits | None = None
