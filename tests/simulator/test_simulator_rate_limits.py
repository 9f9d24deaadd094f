"""Telegram's send limits, enforced on demand, and the evidence a sender respected them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter

from livecart.simulator import SimulatorClient

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def _send_counting_refusals(bot: Bot, chat_id: int, count: int) -> list[int]:
    """Send ``count`` messages back to back, ignoring any retry_after; return the refusals."""
    refusals = []
    for number in range(count):
        try:
            await bot.send_message(chat_id, f"알림 {number}")
        except TelegramRetryAfter as error:
            refusals.append(error.retry_after)
    return refusals


async def test_limits_are_off_by_default(
    aiogram_bot: Bot, sim: SimulatorClient, customer: dict[str, Any]
) -> None:
    assert await _send_counting_refusals(aiogram_bot, customer["id"], 10) == []

    assert (await sim.stats())["sent_total"] == 10


async def test_five_quick_messages_to_one_chat_are_mostly_refused(
    aiogram_bot: Bot, sim: SimulatorClient, customer: dict[str, Any]
) -> None:
    await sim.set_limits(enforce=True, per_chat_per_second=1, per_chat_burst=1)

    refusals = await _send_counting_refusals(aiogram_bot, customer["id"], 5)

    assert len(refusals) == 4 and all(seconds >= 1 for seconds in refusals)
    stats = await sim.stats()
    chat = str(customer["id"])
    assert (stats["sent_total"], stats["sent_by_chat"][chat]) == (1, 1)
    assert (stats["rate_limited_total"], stats["rate_limited_by_chat"][chat]) == (4, 4)
    # The first refusal opened a retry_after window; the three sends after it ignored it.
    assert stats["retry_after_ignored"] == 3
    assert stats["retry_after_ignored_by_chat"][chat] == 3


async def test_a_sender_that_waits_out_retry_after_is_not_flagged(
    aiogram_bot: Bot, sim: SimulatorClient, customer: dict[str, Any]
) -> None:
    await sim.set_limits(enforce=True, per_chat_per_second=1, per_chat_burst=1)

    for text in ("첫 알림", "두 번째 알림"):
        while True:
            try:
                await aiogram_bot.send_message(customer["id"], text)
                break
            except TelegramRetryAfter as error:
                await asyncio.sleep(error.retry_after)

    stats = await sim.stats()
    assert (stats["sent_total"], stats["rate_limited_total"], stats["retry_after_ignored"]) == (
        2,
        1,
        0,
    )


async def test_the_per_bot_limit_spans_chats(aiogram_bot: Bot, sim: SimulatorClient) -> None:
    await sim.set_limits(enforce=True, per_bot_per_second=2, per_chat_burst=5)
    users = [await sim.create_user(f"손님{number}") for number in range(3)]

    refusals = [await _send_counting_refusals(aiogram_bot, user["id"], 1) for user in users]

    assert refusals[:2] == [[], []] and len(refusals[2]) == 1
    assert (await sim.stats())["rate_limited_by_chat"] == {str(users[2]["id"]): 1}


async def test_edits_answers_and_chat_actions_do_not_count_as_sends(
    aiogram_bot: Bot, sim: SimulatorClient, customer: dict[str, Any]
) -> None:
    await sim.set_limits(enforce=True, per_chat_per_second=1, per_chat_burst=1)
    sent = await aiogram_bot.send_message(customer["id"], "재고 5")

    for stock in (4, 3, 2):
        await aiogram_bot.edit_message_text(
            text=f"재고 {stock}", chat_id=customer["id"], message_id=sent.message_id
        )
    await aiogram_bot.send_chat_action(customer["id"], "typing")

    stats = await sim.stats()
    assert (stats["sent_total"], stats["rate_limited_total"]) == (1, 0)


async def test_a_forced_burst_refuses_the_next_sends_then_lets_them_through(
    aiogram_bot: Bot, sim: SimulatorClient, customer: dict[str, Any]
) -> None:
    await sim.inject_faults(rate_limit_burst=2, retry_after=1)
    second_user = await sim.create_user("지민")

    first = await _send_counting_refusals(aiogram_bot, customer["id"], 1)
    second = await _send_counting_refusals(aiogram_bot, second_user["id"], 1)
    third = await _send_counting_refusals(aiogram_bot, second_user["id"], 1)

    assert (first, second) == ([1], [1])
    assert third == [1]  # sent inside the window the forced 429 opened: refused and flagged
    stats = await sim.stats()
    assert (stats["rate_limited_total"], stats["retry_after_ignored"], stats["sent_total"]) == (
        3,
        1,
        0,
    )
