"""The whole bot over HTTP: livecart's runtime talks to the Telegram simulator, and tests act
as Telegram users through the simulator's control API. Nothing in bot/ is patched."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.clock import FrozenClock
from catalog.models import Shop, Vendor
from livecart.demo import seed_demo_market
from livecart.runtime import Runtime, build_runtime, serve
from livecart.settings import load_settings
from livecart.simulator import SimulatorClient, SimulatorServer, run_simulator

TOKEN = "4242424242:livecart-test-token"
API_TOKEN = "bot-tests-admin-token"
WEBHOOK_SECRET = "bot-tests-webhook-secret"

JSON = dict[str, Any]


def words(text: str) -> int:
    return len(text.split())


@dataclass
class Person:
    """A Telegram user driving the bot through the simulator, counting their taps."""

    client: SimulatorClient
    user_id: int
    taps: int = 0
    seen: set[int] = field(default_factory=set)

    async def messages(self) -> list[JSON]:
        return await self.client.messages(self.user_id)

    async def bot_messages(self) -> list[JSON]:
        return [m for m in await self.messages() if m["from_bot"] and not m.get("deleted")]

    async def say(self, text: str, *, expect: int = 1, timeout: float = 10.0) -> list[JSON]:
        """Type `text`; wait for `expect` new bot messages and return them."""
        sent = await self.client.send_text(self.user_id, text)
        return await self.client.wait_for_messages(
            self.user_id, count=expect, after=sent["message_id"], timeout=timeout
        )

    async def share_phone(self, phone: str, *, expect: int = 1) -> list[JSON]:
        self.taps += 1
        sent = await self.client.share_contact(self.user_id, phone)
        return await self.client.wait_for_messages(
            self.user_id, count=expect, after=sent["message_id"]
        )

    async def tap(self, label: str | re.Pattern[str], message: JSON | None = None) -> JSON:
        """Tap the inline button whose label matches, on `message` or the newest one that has it;
        wait until the bot answered the tap (its screen is then up to date)."""
        if message is None:
            message = await self.message_with_button(label)
        button = find_button(message, label)
        self.taps += 1
        pressed = await self.client.press(
            self.user_id, message["message_id"], data=button["callback_data"]
        )
        answer: JSON = await self.client.wait_for_callback_answer(pressed["callback_query_id"])
        return answer

    async def message_with_button(self, label: str | re.Pattern[str]) -> JSON:
        for message in reversed(await self.bot_messages()):
            if _buttons(message) and any(_matches(b["text"], label) for b in _buttons(message)):
                return message
        raise AssertionError(f"no message has a button {label!r}")

    async def last(self) -> JSON:
        return (await self.bot_messages())[-1]


def _buttons(message: JSON) -> list[JSON]:
    markup = message.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def _matches(text: str, label: str | re.Pattern[str]) -> bool:
    return bool(label.search(text)) if isinstance(label, re.Pattern) else label in text


def find_button(message: JSON, label: str | re.Pattern[str]) -> JSON:
    for button in _buttons(message):
        if _matches(button["text"], label):
            return button
    raise AssertionError(
        f"no button {label!r} on message {message.get('text') or message.get('caption')!r}; "
        f"buttons: {[b['text'] for b in _buttons(message)]}"
    )


def text_of(message: JSON) -> str:
    return str(message.get("text") or message.get("caption") or "")


@dataclass
class Livecart:
    """A running livecart (bot + HTTP + sender) connected to a running simulator."""

    sim: SimulatorServer
    client: SimulatorClient
    runtime: Runtime
    clock: FrozenClock

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.runtime.web_port}"

    async def person(self, name: str = "김영희", language: str = "ko", **kwargs: Any) -> Person:
        user = await self.client.create_user(name, language_code=language, **kwargs)
        return Person(self.client, int(user["id"]))


@contextlib.asynccontextmanager
async def running_livecart(
    database_url: str, clock: FrozenClock, **overrides: Any
) -> AsyncIterator[Livecart]:
    async with run_simulator() as sim:
        sim.simulator.register_bot(TOKEN, "livecart_test_bot", "livecart")
        values: dict[str, Any] = {
            "bot_token": TOKEN,
            "telegram_api_url": sim.base_url,
            "database_url": database_url,
            "http_port": 0,
            "api_token": API_TOKEN,
            # the simulator enforces no send rates unless a test turns them on: pacing a test's
            # quick taps at Telegram's 1/s per chat would only slow the suite
            "send_rate_per_chat_per_second": 1000.0,
            **overrides,
        }
        settings = load_settings(**values)
        runtime = await build_runtime(settings, clock=clock)
        async with runtime.services.sessionmaker() as session:
            await seed_demo_market(session, now=clock.now())
            await session.commit()
        started = asyncio.Event()
        task = asyncio.create_task(serve(runtime, started=started, handle_signals=False))
        await started.wait()
        try:
            async with sim.client() as client:
                yield Livecart(sim, client, runtime, clock)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@pytest.fixture
async def livecart(database_url: str, clock: FrozenClock) -> AsyncIterator[Livecart]:
    async with running_livecart(database_url, clock) as app:
        yield app


@pytest.fixture
def db(livecart: Livecart) -> async_sessionmaker[AsyncSession]:
    return livecart.runtime.services.sessionmaker


async def bind_vendor(
    db: async_sessionmaker[AsyncSession],
    person: Person,
    shop_slug: str,
    *,
    name: str = "김가나",
    role: str = "owner",
    now: datetime | None = None,
) -> Shop:
    """Make a simulated user one of the shop's vendors (as an accepted invite would)."""
    async with db() as session:
        shop = await session.scalar(select(Shop).where(Shop.slug == shop_slug))
        assert shop is not None
        session.add(
            Vendor(
                shop_id=shop.id,
                telegram_user_id=person.user_id,
                chat_id=person.user_id,
                name=name,
                role=role,
                created_at=now or datetime.now(UTC),
            )
        )
        await session.commit()
        return shop
