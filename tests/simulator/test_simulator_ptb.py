"""python-telegram-bot, an independent Bot API client, also takes the simulator for Telegram."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import telegram
from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup

from livecart.simulator import SimulatorClient
from livecart.simulator.models import BotAccount

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data)] for text, data in buttons]
    )


async def test_get_me_describes_the_registered_bot(
    ptb_bot: telegram.Bot, bot_account: BotAccount
) -> None:
    me = await ptb_bot.get_me()

    assert (me.id, me.username, me.is_bot) == (bot_account.id, bot_account.username, True)


async def test_a_message_is_sent_edited_re_keyboarded_and_deleted(
    ptb_bot: telegram.Bot, sim: SimulatorClient, customer: dict[str, Any]
) -> None:
    chat_id = customer["id"]
    sent = await ptb_bot.send_message(
        chat_id, "<i>배</i> 3개", parse_mode="HTML", reply_markup=_keyboard(("담기", "cart:add:2"))
    )
    assert sent.text == "배 3개" and sent.entities[0].type == "italic"
    assert sent.reply_markup is not None
    assert sent.reply_markup.inline_keyboard[0][0].callback_data == "cart:add:2"
    assert sent.chat.id == chat_id and sent.from_user is not None and sent.from_user.is_bot

    edited = await ptb_bot.edit_message_text("배 2개", chat_id=chat_id, message_id=sent.message_id)
    assert isinstance(edited, telegram.Message) and edited.text == "배 2개"
    assert edited.reply_markup is None  # no reply_markup in the edit: Telegram drops the keyboard

    rekeyed = await ptb_bot.edit_message_reply_markup(
        chat_id=chat_id, message_id=sent.message_id, reply_markup=_keyboard(("취소", "cancel"))
    )
    assert isinstance(rekeyed, telegram.Message) and rekeyed.reply_markup is not None

    assert await ptb_bot.delete_message(chat_id, sent.message_id) is True
    [shown] = await sim.messages(chat_id)
    assert (shown["edits"], shown["deleted"]) == (2, True)


async def test_a_photo_upload_comes_back_byte_for_byte(
    ptb_bot: telegram.Bot, sim: SimulatorClient, customer: dict[str, Any], png: bytes
) -> None:
    sent = await ptb_bot.send_photo(customer["id"], png, caption="결제 QR", filename="qr.png")

    largest = sent.photo[-1]
    assert (largest.width, largest.height) == (48, 32) and sent.caption == "결제 QR"
    file = await ptb_bot.get_file(largest.file_id)
    assert bytes(await file.download_as_bytearray()) == png
    assert await sim.file_bytes(largest.file_id) == png


async def test_a_press_through_the_control_api_is_answered(
    ptb_bot: telegram.Bot, sim: SimulatorClient, customer: dict[str, Any]
) -> None:
    sent = await ptb_bot.send_message(
        customer["id"], "결제할까요?", reply_markup=_keyboard(("결제", "pay:7"))
    )

    pressed = await sim.press(customer["id"], sent.message_id, data="pay:7")
    [update] = await ptb_bot.get_updates(timeout=1)
    assert update.callback_query is not None
    assert update.callback_query.id == pressed["callback_query_id"]
    assert update.callback_query.data == "pay:7"
    await update.callback_query.answer("결제 페이지를 열어요")

    answer = await sim.callback_answer(pressed["callback_query_id"])
    assert (answer["answered"], answer["text"], answer["show_alert"]) == (
        True,
        "결제 페이지를 열어요",
        False,
    )


async def test_commands_round_trip(ptb_bot: telegram.Bot) -> None:
    await ptb_bot.set_my_commands([BotCommand("start", "시작"), BotCommand("cart", "장바구니")])

    commands = await ptb_bot.get_my_commands()

    assert [(c.command, c.description) for c in commands] == [
        ("start", "시작"),
        ("cart", "장바구니"),
    ]


async def test_long_polling_receives_a_text_a_contact_and_a_press(
    ptb_bot: telegram.Bot, sim: SimulatorClient, customer: dict[str, Any]
) -> None:
    chat_id = customer["id"]
    friend = await sim.create_user("지영")
    offer = await ptb_bot.send_message(chat_id, "귤", reply_markup=_keyboard(("사기", "buy:3")))

    async def customer_acts() -> None:
        await asyncio.sleep(0.1)
        await sim.send_text(chat_id, "귤 2개")
        await sim.share_contact(chat_id, "+821098765432", contact_user_id=friend["id"])
        await sim.press(chat_id, offer.message_id, button_text="사기")

    acting = asyncio.create_task(customer_acts())
    received: list[telegram.Update] = []
    offset = None
    while len(received) < 3:
        updates = await ptb_bot.get_updates(offset=offset, timeout=5)
        received.extend(updates)
        offset = updates[-1].update_id + 1 if updates else offset
    await acting

    text, contact, press = received
    assert text.message is not None and text.message.text == "귤 2개"
    assert contact.message is not None and contact.message.contact is not None
    assert contact.message.contact.user_id == friend["id"] != contact.message.from_user.id
    assert contact.message.contact.first_name == "지영"
    assert press.callback_query is not None and press.callback_query.data == "buy:3"
