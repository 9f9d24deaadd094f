"""Registered bots and each bot's own state: its update queue, webhook and profile settings."""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass, field

from livecart.simulator.errors import (
    POLLING_TERMINATED,
    WEBHOOK_ACTIVE,
    ControlError,
    conflict,
)
from livecart.simulator.models import JSON, BotAccount
from livecart.simulator.updates import UpdateQueue

TOKEN_PATTERN = re.compile(r"^(?P<id>[0-9]{1,20}):[A-Za-z0-9_-]{1,100}$")
MAX_UPDATES_PER_CALL = 100


@dataclass
class WebhookConfig:
    """What setWebhook stored, and the last delivery error getWebhookInfo reports."""

    url: str
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class BotRuntime:
    """One bot: account, pending updates, webhook, commands and descriptions."""

    account: BotAccount
    # Telegram starts a bot's update ids at an arbitrary number; so do we, so that a restarted
    # simulator never reuses ids a bot has already recorded as handled
    updates: UpdateQueue = field(
        default_factory=lambda: UpdateQueue(first_update_id=secrets.randbelow(2**30) + 1)
    )
    webhook: WebhookConfig | None = None
    commands: dict[str, list[JSON]] = field(default_factory=dict)
    menu_buttons: dict[int | None, JSON] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    closed: bool = False
    _poll_generation: int = 0

    def forget_settings(self) -> None:
        """Back to a freshly registered bot's settings (the webhook must be stopped first)."""
        self.webhook = None
        self.commands.clear()
        self.menu_buttons.clear()
        self.texts.clear()
        self.updates.notify()

    async def get_updates(self, offset: int | None, limit: int, poll_seconds: float) -> list[JSON]:
        """getUpdates: confirm up to ``offset``, then wait up to ``poll_seconds``.

        A newer getUpdates call ends an older waiting one with 409, as Telegram does when two
        instances of a bot poll at once.
        """
        if self.webhook is not None:
            raise conflict(WEBHOOK_ACTIVE)
        if offset is not None:
            self.updates.confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        self.updates.notify()
        limit = min(max(limit, 1), MAX_UPDATES_PER_CALL)
        deadline = asyncio.get_running_loop().time() + max(poll_seconds, 0.0)
        while True:
            pending = self.updates.pending()
            if pending or self.closed:
                return [update.payload for update in pending[:limit]]
            if generation != self._poll_generation:
                raise conflict(POLLING_TERMINATED)
            if self.webhook is not None:
                raise conflict(WEBHOOK_ACTIVE)
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return []
            await self.updates.wait_for_change(remaining)


class BotRegistry:
    """Bots by token; the first registered bot is the default target of control actions."""

    def __init__(self) -> None:
        self._by_token: dict[str, BotRuntime] = {}

    def register(self, token: str, username: str, first_name: str | None = None) -> BotRuntime:
        """Register (or re-register, keeping its state) a bot under a Telegram-shaped token."""
        match = TOKEN_PATTERN.match(token)
        if match is None:
            raise ControlError(400, "a token looks like '123456:ABC-def_ghi'")
        existing = self._by_token.get(token)
        account = BotAccount(
            token=token,
            id=int(match.group("id")),
            username=username.removeprefix("@"),
            first_name=first_name or username.removeprefix("@"),
        )
        if existing is not None:
            existing.account = account
            return existing
        runtime = BotRuntime(account)
        self._by_token[token] = runtime
        return runtime

    def by_token(self, token: str) -> BotRuntime | None:
        return self._by_token.get(token)

    def all(self) -> list[BotRuntime]:
        return list(self._by_token.values())

    def by_id(self, bot_id: int) -> BotRuntime:
        for runtime in self._by_token.values():
            if runtime.account.id == bot_id:
                return runtime
        raise ControlError(404, f"no bot with id {bot_id}")

    def resolve(self, reference: str | int | None) -> BotRuntime:
        """A bot by username, token or id; None means the first registered bot."""
        bots = self.all()
        if not bots:
            raise ControlError(409, "no bot is registered")
        if reference is None or reference == "":
            return bots[0]
        text = str(reference).removeprefix("@")
        for runtime in bots:
            account = runtime.account
            if text in (account.username, account.token, str(account.id)):
                return runtime
        raise ControlError(404, f"no bot {reference!r} is registered")
