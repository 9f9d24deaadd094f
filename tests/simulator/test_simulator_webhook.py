"""Webhook delivery behaves like Telegram's: secret header, retries, order per chat."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiogram import Bot
from aiogram.exceptions import TelegramConflictError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from livecart.simulator import (
    RetryPolicy,
    RunningServer,
    Simulator,
    SimulatorClient,
    SimulatorServer,
    run_simulator,
    serve_app,
)
from livecart.simulator.models import BotAccount

pytestmark = pytest.mark.asyncio(loop_scope="module")

SECRET = "s3cret-Token_1"


class Receiver:
    """A real HTTP webhook endpoint that records deliveries and answers as scripted."""

    def __init__(self) -> None:
        self.app = Starlette(routes=[Route("/hook", self._hook, methods=["POST"])])
        self._arrived = asyncio.Event()
        self.clear()

    def clear(self) -> None:
        self.deliveries: list[dict[str, Any]] = []
        self.statuses: list[int] = []  # answered in turn; then 200
        self.reply: dict[str, Any] | None = None
        self.slow_texts: dict[str, float] = {}
        self.log: list[str] = []

    async def _hook(self, request: Request) -> Response:
        update = await request.json()
        self.deliveries.append({"headers": dict(request.headers), "update": update})
        self._arrived.set()
        text = update.get("message", {}).get("text", "")
        self.log.append(f"start {text}")
        await asyncio.sleep(self.slow_texts.get(text, 0))
        self.log.append(f"end {text}")
        if self.statuses:
            return Response(status_code=self.statuses.pop(0))
        if self.reply is not None:
            return JSONResponse(self.reply)
        return Response(status_code=200)

    async def wait_for(self, count: int) -> list[dict[str, Any]]:
        async with asyncio.timeout(5):
            while len(self.deliveries) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.deliveries


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def receiver_server() -> AsyncIterator[tuple[Receiver, str]]:
    hook = Receiver()
    async with serve_app(hook.app) as running:
        yield hook, f"{running.base_url}/hook"


@pytest.fixture
def receiver(receiver_server: tuple[Receiver, str]) -> tuple[Receiver, str]:
    """The module's webhook receiver, with nothing recorded and default answers."""
    receiver_server[0].clear()
    return receiver_server


async def test_an_update_arrives_with_the_secret_header(
    aiogram_bot: Bot,
    sim: SimulatorClient,
    customer: dict[str, Any],
    receiver: tuple[Receiver, str],
) -> None:
    hook, url = receiver
    assert await aiogram_bot.set_webhook(url, secret_token=SECRET) is True

    sent = await sim.send_text(customer["id"], "/start")
    [delivery] = await hook.wait_for(1)

    assert delivery["headers"]["x-telegram-bot-api-secret-token"] == SECRET
    assert delivery["headers"]["content-type"] == "application/json"
    assert delivery["update"]["update_id"] == sent["update_id"]
    assert delivery["update"]["message"]["text"] == "/start"
    info = await aiogram_bot.get_webhook_info()
    assert (info.url, info.pending_update_count) == (url, 0)


async def test_get_updates_conflicts_while_a_webhook_is_set(
    aiogram_bot: Bot, receiver: tuple[Receiver, str]
) -> None:
    _hook, url = receiver
    await aiogram_bot.set_webhook(url)

    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await aiogram_bot.get_updates()
    await aiogram_bot.delete_webhook()
    assert await aiogram_bot.get_updates() == []


async def test_a_failed_delivery_is_retried_with_the_same_update(
    aiogram_bot: Bot,
    sim: SimulatorClient,
    customer: dict[str, Any],
    receiver: tuple[Receiver, str],
) -> None:
    hook, url = receiver
    hook.statuses = [500]
    await aiogram_bot.set_webhook(url)

    sent = await sim.send_text(customer["id"], "사과 2개")
    first, second = await hook.wait_for(2)

    assert first["update"] == second["update"]
    assert second["update"]["update_id"] == sent["update_id"]
    await asyncio.sleep(0.05)  # the 2xx is recorded once the response is read
    stats = await sim.stats()
    assert [a["status_code"] for a in stats["webhook_attempts"]] == [500, 200]
    assert stats["webhook_deliveries"] == 1
    info = await aiogram_bot.get_webhook_info()
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"


async def test_updates_of_one_chat_wait_for_each_other_but_other_chats_do_not(
    aiogram_bot: Bot, sim: SimulatorClient, receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    hook.slow_texts = {"a1": 0.3}
    await aiogram_bot.set_webhook(url)
    alice = await sim.create_user("Alice")
    bob = await sim.create_user("Bob")

    await sim.send_text(alice["id"], "a1")
    await sim.send_text(alice["id"], "a2")
    await sim.send_text(bob["id"], "b1")
    await hook.wait_for(3)
    await asyncio.sleep(0.05)

    assert hook.log.index("end a1") < hook.log.index("start a2")
    assert hook.log.index("start b1") < hook.log.index("end a1")


async def test_a_method_in_the_webhook_reply_is_executed(
    aiogram_bot: Bot,
    sim: SimulatorClient,
    customer: dict[str, Any],
    receiver: tuple[Receiver, str],
) -> None:
    hook, url = receiver
    hook.reply = {"method": "sendMessage", "chat_id": customer["id"], "text": "바로 답장"}
    await aiogram_bot.set_webhook(url)

    sent = await sim.send_text(customer["id"], "안녕")

    [reply] = await sim.wait_for_messages(customer["id"], after=sent["message_id"])
    assert reply["text"] == "바로 답장"


async def test_delivery_gives_up_after_the_last_attempt_and_moves_on(
    bot_account: BotAccount, receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    hook.statuses = [503, 503, 503]
    simulator = Simulator(webhook_retry=RetryPolicy(max_attempts=3, first_delay=0.01))
    async with run_simulator(simulator=simulator) as server, server.client() as client:
        simulator.register_bot(bot_account.token, bot_account.username)
        await _set_webhook(server, bot_account, url)
        user = await client.create_user("Dana")

        await client.send_text(user["id"], "lost")
        await client.send_text(user["id"], "kept")
        deliveries = await hook.wait_for(4)
        await asyncio.sleep(0.05)

        texts = [d["update"]["message"]["text"] for d in deliveries]
        assert texts == ["lost", "lost", "lost", "kept"]
        stats = await client.stats()
        assert (stats["webhook_abandoned"], stats["webhook_deliveries"]) == (1, 1)


async def _set_webhook(server: SimulatorServer | RunningServer, bot: BotAccount, url: str) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{server.base_url}/bot{bot.token}/setWebhook", json={"url": url}
        )
    assert response.json() == {"ok": True, "result": True, "description": "Webhook was set"}
