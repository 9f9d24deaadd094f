"""The simulated Telegram as one object: what the HTTP layer, the tests and the demo talk to.

Single process, asyncio only, everything in memory: this stands in for Telegram's servers, whose
state is not ours to persist.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import httpx

from livecart.simulator.bot_api import BotApi
from livecart.simulator.bots import BotRegistry, BotRuntime
from livecart.simulator.chats import ChatStore
from livecart.simulator.errors import ControlError
from livecart.simulator.events import EventBus
from livecart.simulator.faults import FaultInjector
from livecart.simulator.files import FileStore, MediaResolver
from livecart.simulator.incoming import IncomingActions
from livecart.simulator.limits import LimitSettings, SendGate
from livecart.simulator.methods import ALL_METHODS
from livecart.simulator.models import JSON, BotAccount, CallbackQueryRecord, ChatMessage, SimUser
from livecart.simulator.outgoing import OutgoingMessages
from livecart.simulator.telegram_json import message_json
from livecart.simulator.users import UserDirectory
from livecart.simulator.webhook import RetryPolicy, WebhookService


class Simulator:
    """Bots, users and chats, plus the machinery around them (limits, faults, webhooks, events).

    ``outgoing`` is the bots' side (what Bot API methods do), ``incoming`` the users' side (what
    control actions do); ``api`` answers raw Bot API calls.
    """

    def __init__(
        self,
        *,
        limits: LimitSettings | None = None,
        webhook_retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._default_limits = limits or LimitSettings()
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(10.0))
        self.bots = BotRegistry()
        self.users = UserDirectory()
        self.chats = ChatStore()
        self.files = FileStore()
        self.events = EventBus()
        self.faults = FaultInjector()
        self.gate = SendGate(dataclasses.replace(self._default_limits), self.faults, clock)
        self.outgoing = OutgoingMessages(
            users=self.users,
            chats=self.chats,
            media=MediaResolver(self.files, self.http),
            gate=self.gate,
            events=self.events,
            wall_clock=wall_clock,
        )
        self.incoming = IncomingActions(
            users=self.users, chats=self.chats, events=self.events, wall_clock=wall_clock
        )
        self.webhooks = WebhookService(
            self.http, webhook_retry or RetryPolicy(), self.events, wall_clock
        )
        self.api = BotApi(self, ALL_METHODS)
        self.webhooks.reply_handler = self.api.execute_webhook_reply
        self._closed = False

    def register_bot(self, token: str, username: str, first_name: str | None = None) -> BotAccount:
        """Register a bot; any ``<digits>:<letters, digits, _ or ->`` token is accepted."""
        runtime = self.bots.register(token, username, first_name)
        self.events.publish("bot_registered", bot_id=runtime.account.id)
        return runtime.account

    def create_user(
        self,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str = "ko",
        user_id: int | None = None,
        phone_number: str | None = None,
    ) -> SimUser:
        """A new user; their private chat id equals their user id."""
        user = self.users.create(
            first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            user_id=user_id,
            phone_number=phone_number,
        )
        self.events.publish("user_created", user_id=user.id)
        return user

    def message_json(self, message: ChatMessage) -> JSON:
        """A stored message as the Bot API returns it."""
        runtime = self.bots.by_id(message.bot_id)
        user = self.users.get(message.chat_id)
        if user is None:
            raise ControlError(404, f"chat {message.chat_id} no longer exists")
        return message_json(message, runtime.account, user)

    def messages(self, chat_id: int, bot: str | int | None = None) -> list[ChatMessage]:
        """Every message of a chat in order, both directions, deleted ones included."""
        runtime = self.bots.resolve(bot)
        conversation = self.chats.find(runtime.account.id, chat_id)
        return list(conversation.messages.values()) if conversation else []

    def callbacks(self, chat_id: int, bot: str | int | None = None) -> list[CallbackQueryRecord]:
        runtime = self.bots.resolve(bot)
        return self.chats.callbacks_in(runtime.account.id, chat_id)

    def set_limits(self, settings: LimitSettings) -> None:
        self.gate.configure(settings)
        self.events.publish("limits_changed", limits=settings.to_json())

    def stats(self) -> JSON:
        """Counters for tests: sends, 429s, ignored retry_after, webhook deliveries, calls."""
        return {
            **self.gate.stats.to_json(),
            **self.webhooks.stats(),
            "server_errors_injected": self.faults.server_errors_issued,
            "calls_by_method": dict(self.api.calls_by_method),
            "limits": self.gate.settings.to_json(),
            "faults": self.faults.to_json(),
        }

    async def reset(self, *, bot_settings: bool = False) -> None:
        """Forget users, chats, files, counters and faults; bots stay registered.

        Bot settings (webhook, commands, menu button, name and descriptions) stay too, since a
        running bot set them once at startup; ``bot_settings=True`` forgets them as well.
        """
        runtimes: list[BotRuntime] = self.bots.all()
        await self.webhooks.stop_all()
        for runtime in runtimes:
            runtime.updates.clear()
            if bot_settings:
                runtime.forget_settings()
        self.webhooks.resume_all(runtimes)
        self.users.clear()
        self.chats.clear()
        self.files.clear()
        self.faults.clear()
        self.gate.reset(dataclasses.replace(self._default_limits))
        self.api.calls_by_method.clear()
        self.events.publish("reset")

    async def aclose(self) -> None:
        """Stop deliveries, release long polls and event streams, close the HTTP client."""
        if self._closed:
            return
        self._closed = True
        for runtime in self.bots.all():
            runtime.closed = True
            runtime.updates.notify()
        self.events.close()
        await self.webhooks.aclose()
        await self.http.aclose()
