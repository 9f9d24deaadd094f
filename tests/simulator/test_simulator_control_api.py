"""The control API: how tests and the demo act as users and look inside the simulator."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from aiogram import Bot
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from livecart.simulator import SimulatorClient, SimulatorControlError, SimulatorServer

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=text, callback_data=data)] for text, data in buttons
        ]
    )


async def test_users_get_realistic_ids_and_a_chat_of_the_same_id(sim: SimulatorClient) -> None:
    first = await sim.create_user("하나")
    chosen = await sim.create_user("둘", user_id=8_123_456_789, language_code="en")

    assert first["id"] > 2**32 and first["chat_id"] == first["id"]
    assert (chosen["id"], chosen["language_code"]) == (8_123_456_789, "en")
    with pytest.raises(SimulatorControlError) as duplicate:
        await sim.create_user("셋", user_id=8_123_456_789)
    assert duplicate.value.status_code == 409


async def test_pressing_a_button_that_is_not_there_is_refused(
    aiogram_bot: Bot, sim: SimulatorClient, customer: dict[str, Any]
) -> None:
    sent = await aiogram_bot.send_message(
        customer["id"], "수량", reply_markup=_keyboard(("1개", "q:1"))
    )

    with pytest.raises(SimulatorControlError, match="no inline button with text '3개'") as missing:
        await sim.press(customer["id"], sent.message_id, button_text="3개")
    assert missing.value.status_code == 400
    forged = await sim.press(customer["id"], sent.message_id, data="q:999", forge=True)
    [update] = await aiogram_bot.get_updates()
    assert update.callback_query is not None and update.callback_query.data == "q:999"
    assert update.callback_query.id == forged["callback_query_id"]


async def test_a_reply_keyboard_shares_the_phone_number_on_request(
    aiogram_bot: Bot, sim: SimulatorClient, customer: dict[str, Any]
) -> None:
    keyboard = ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text="📱 번호 보내기", request_contact=True)],
            [KeyboardButton(text="나중에")],
        ],
        resize_keyboard=True,
    )
    await aiogram_bot.send_message(customer["id"], "배송 연락처가 필요해요", reply_markup=keyboard)

    await sim.tap_reply_button(customer["id"], "📱 번호 보내기")
    await sim.tap_reply_button(customer["id"], "나중에")
    contact, later = await aiogram_bot.get_updates()

    assert contact.message is not None and contact.message.contact is not None
    assert contact.message.contact.phone_number == customer["phone_number"]
    assert contact.message.contact.user_id == customer["id"]
    assert later.message is not None and later.message.text == "나중에"
    await aiogram_bot.send_message(customer["id"], "감사합니다", reply_markup=ReplyKeyboardRemove())
    with pytest.raises(SimulatorControlError, match="no reply keyboard button"):
        await sim.tap_reply_button(customer["id"], "나중에")


async def test_the_transcript_shows_both_sides_in_order(
    aiogram_bot: Bot, sim: SimulatorClient, customer: dict[str, Any]
) -> None:
    await sim.send_text(customer["id"], "/start")
    await aiogram_bot.send_message(customer["id"], "어서 오세요")
    await sim.share_contact(customer["id"], "+821012345678")

    transcript = await sim.messages(customer["id"])

    assert [(m["message_id"], m["from_bot"]) for m in transcript] == [
        (1, False),
        (2, True),
        (3, False),
    ]
    assert transcript[2]["contact"]["phone_number"] == "+821012345678"


async def test_waiting_for_a_message_that_never_comes_lists_the_chat(
    aiogram_bot: Bot, sim: SimulatorClient, customer: dict[str, Any]
) -> None:
    await sim.send_text(customer["id"], "사과 있어요?")
    await aiogram_bot.send_message(
        customer["id"], "네, 있어요", reply_markup=_keyboard(("담기", "add"))
    )

    with pytest.raises(AssertionError) as failure:
        await sim.wait_for_messages(
            customer["id"], predicate=lambda m: "품절" in m["text"], timeout=0.2
        )

    assert "#1 user: '사과 있어요?'" in str(failure.value)
    assert "#2 bot : '네, 있어요' buttons=['담기']" in str(failure.value)


async def test_blocking_tells_the_bot_and_writing_again_unblocks(
    aiogram_bot: Bot, sim: SimulatorClient, customer: dict[str, Any]
) -> None:
    await sim.block(customer["id"])
    await sim.send_text(customer["id"], "/start")

    blocked, unblocked, start = await aiogram_bot.get_updates()

    assert blocked.my_chat_member is not None
    assert blocked.my_chat_member.new_chat_member.status == "kicked"
    assert unblocked.my_chat_member is not None
    assert unblocked.my_chat_member.new_chat_member.status == "member"
    assert start.message is not None and start.message.text == "/start"
    await aiogram_bot.send_message(customer["id"], "다시 오셨네요")


async def test_the_event_stream_reports_what_the_bot_does(
    sim_server: SimulatorServer, aiogram_bot: Bot, customer: dict[str, Any]
) -> None:
    events: list[dict[str, Any]] = []
    subscribed = asyncio.Event()

    async def listen() -> None:
        async with (
            httpx.AsyncClient(base_url=sim_server.base_url, timeout=30) as http,
            http.stream("GET", "/control/events") as stream,
        ):
            async for line in stream.aiter_lines():
                if line == ": connected":  # the simulator's first line, once subscribed
                    subscribed.set()
                if line.startswith("data: "):
                    events.append(json.loads(line.removeprefix("data: ")))
                    if events[-1]["type"] == "message_deleted":
                        return

    listening = asyncio.create_task(listen())
    await asyncio.wait_for(subscribed.wait(), 30)
    sent = await aiogram_bot.send_message(customer["id"], "라이브 시작!")
    await aiogram_bot.edit_message_text(
        text="라이브 중", chat_id=customer["id"], message_id=sent.message_id
    )
    await aiogram_bot.delete_message(customer["id"], sent.message_id)
    await asyncio.wait_for(listening, 30)

    assert [event["type"] for event in events] == [
        "message_sent",
        "message_edited",
        "message_deleted",
    ]
    assert events[0]["message"]["text"] == "라이브 시작!"


async def test_reset_forgets_people_and_chats_but_keeps_the_bot(
    aiogram_bot: Bot, sim: SimulatorClient, customer: dict[str, Any]
) -> None:
    before = await sim.send_text(customer["id"], "안녕")
    await sim.set_limits(enforce=True)

    await sim.reset()

    assert (await aiogram_bot.get_me()).is_bot
    assert await sim.messages(customer["id"]) == []
    with pytest.raises(SimulatorControlError, match="no user"):
        await sim.send_text(customer["id"], "안녕")
    newcomer = await sim.create_user("새 손님")
    after = await sim.send_text(newcomer["id"], "안녕")
    assert after["update_id"] > before["update_id"]  # a polling bot's offset stays valid
    stats = await sim.stats()
    assert (stats["limits"]["enforce"], stats["sent_total"]) == (False, 0)
