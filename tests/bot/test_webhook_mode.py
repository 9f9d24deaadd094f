"""Webhook mode: the simulator delivers updates to POST /telegram/webhook with the secret;
a request without the right secret gets 401 and changes nothing."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.clock import FrozenClock
from catalog.models import Customer, ProcessedUpdate
from tests.bot.conftest import WEBHOOK_SECRET, Livecart, running_livecart, text_of


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def webhook_livecart(database_url: str, clock: FrozenClock) -> AsyncIterator[Livecart]:
    port = _free_port()
    async with running_livecart(
        database_url,
        clock,
        http_port=port,
        webhook_base_url=f"http://127.0.0.1:{port}",
        webhook_secret=WEBHOOK_SECRET,
    ) as app:
        yield app


async def test_updates_arrive_by_webhook_with_the_secret_and_get_answers(
    webhook_livecart: Livecart,
) -> None:
    customer = await webhook_livecart.person("최순자", "ko")
    answers = await customer.say("/start shop_sunhee-bindae")
    assert "순희네" in text_of(answers[-1])
    stats = await webhook_livecart.client.stats()
    assert stats["webhook_deliveries"] >= 1


async def test_a_wrong_or_missing_secret_is_refused_and_nothing_happens(
    webhook_livecart: Livecart,
) -> None:
    update = {
        "update_id": 777,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": 5550001, "type": "private", "first_name": "Mallory"},
            "from": {"id": 5550001, "is_bot": False, "first_name": "Mallory"},
            "text": "/start",
        },
    }
    url = f"{webhook_livecart.http_url}/telegram/webhook"
    async with httpx.AsyncClient() as http:
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
            response = await http.post(url, json=update, headers=headers)
            assert response.status_code == 401
    sessionmaker: async_sessionmaker[AsyncSession] = webhook_livecart.runtime.services.sessionmaker
    async with sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(Customer).where(Customer.telegram_user_id == 5550001)
        )
    assert count == 0


async def test_the_same_update_delivered_twice_is_handled_once(
    webhook_livecart: Livecart,
) -> None:
    customer = await webhook_livecart.person("Bob", "en")
    update = {
        "update_id": 424242,
        "message": {
            "message_id": 99,
            "date": 1_700_000_000,
            "chat": {"id": customer.user_id, "type": "private", "first_name": "Bob"},
            "from": {
                "id": customer.user_id,
                "is_bot": False,
                "first_name": "Bob",
                "language_code": "en",
            },
            "text": "/help",
        },
    }
    url = f"{webhook_livecart.http_url}/telegram/webhook"
    headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
    async with httpx.AsyncClient() as http:
        for _ in range(3):
            assert (await http.post(url, json=update, headers=headers)).status_code == 200
    helps = [m for m in await customer.bot_messages() if "How to order" in text_of(m)]
    assert len(helps) == 1


async def test_with_redis_down_an_update_answers_503_and_is_not_lost(
    postgres_url: str, clock: FrozenClock
) -> None:
    """FSM state lives in Redis: without it the update can't be handled now. The webhook says
    so (503, Telegram retries) and records nothing, so the retry is handled in full."""
    port = _free_port()
    async with running_livecart(
        postgres_url,
        clock,
        http_port=port,
        webhook_base_url=f"http://127.0.0.1:{port}",
        webhook_secret=WEBHOOK_SECRET,
        redis_url=f"redis://127.0.0.1:{_free_port()}/0",  # nothing listens there
    ) as app:
        customer = await app.person("Bob", "en")
        update = {
            "update_id": 515151,
            "message": {
                "message_id": 5,
                "date": 1_700_000_000,
                "chat": {"id": customer.user_id, "type": "private", "first_name": "Bob"},
                "from": {"id": customer.user_id, "is_bot": False, "first_name": "Bob"},
                "text": "/help",
            },
        }
        url = f"{app.http_url}/telegram/webhook"
        headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
        async with httpx.AsyncClient() as http:
            response = await http.post(url, json=update, headers=headers, timeout=30)
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("application/problem+json")
        sessionmaker: async_sessionmaker[AsyncSession] = app.runtime.services.sessionmaker
        async with sessionmaker() as session:
            seen = await session.scalar(
                select(func.count())
                .select_from(ProcessedUpdate)
                .where(ProcessedUpdate.update_id == 515151)
            )
        assert seen == 0  # the retry will be handled, not skipped
        assert await customer.bot_messages() == []  # no apology for a retry to come
