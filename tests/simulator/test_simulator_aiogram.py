"""aiogram, the bot's own framework, cannot tell the simulator from Telegram."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from livecart.simulator import SimulatorClient
from livecart.simulator.models import BotAccount

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=text, callback_data=data)] for text, data in buttons
        ]
    )


async def test_get_me_describes_the_registered_bot(
    aiogram_bot: Bot, bot_account: BotAccount
) -> None:
    me = await aiogram_bot.get_me()

    assert (me.id, me.username, me.is_bot) == (bot_account.id, bot_account.username, True)
    assert me.id == 7000000001


async def test_a_message_is_sent_edited_re_keyboarded_and_deleted(
    aiogram_bot: Bot, sim: SimulatorClient, customer: dict[str, Any]
) -> None:
    chat_id = customer["id"]
    sent = await aiogram_bot.send_message(
        chat_id,
        "<b>사과</b> 1박스 ₩12,000",
        parse_mode="HTML",
        reply_markup=_keyboard(("담기", "cart:add:1")),
    )
    assert sent.text == "사과 1박스 ₩12,000"
    assert sent.entities is not None and sent.entities[0].type == "bold"
    assert sent.reply_markup is not None
    assert sent.reply_markup.inline_keyboard[0][0].callback_data == "cart:add:1"
    assert sent.from_user is not None and sent.from_user.is_bot
    assert sent.chat.id == chat_id and sent.chat.type == "private"

    edited = await aiogram_bot.edit_message_text(
        text="<b>사과</b> 품절",
        chat_id=chat_id,
        message_id=sent.message_id,
        parse_mode="HTML",
        reply_markup=_keyboard(("알림 받기", "notify:1")),
    )
    assert isinstance(edited, Message) and edited.text == "사과 품절"
    assert edited.edit_date is not None

    rekeyed = await aiogram_bot.edit_message_reply_markup(
        chat_id=chat_id, message_id=sent.message_id, reply_markup=_keyboard(("닫기", "close"))
    )
    assert isinstance(rekeyed, Message) and rekeyed.reply_markup is not None

    assert await aiogram_bot.delete_message(chat_id, sent.message_id) is True

    [shown] = await sim.messages(chat_id)
    assert shown["text"] == "<b>사과</b> 품절"
    assert shown["plain_text"] == "사과 품절"
    assert shown["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "close"
    assert (shown["edits"], shown["deleted"]) == (2, True)


async def test_a_photo_upload_comes_back_byte_for_byte(
    aiogram_bot: Bot, sim: SimulatorClient, customer: dict[str, Any], png: bytes
) -> None:
    sent = await aiogram_bot.send_photo(
        customer["id"], BufferedInputFile(png, "qr.png"), caption="결제 QR"
    )

    assert sent.photo is not None and sent.caption == "결제 QR"
    largest = sent.photo[-1]
    assert (largest.width, largest.height, largest.file_size) == (48, 32, len(png))
    file = await aiogram_bot.get_file(largest.file_id)
    assert file.file_path is not None
    downloaded = await aiogram_bot.download_file(file.file_path)
    assert downloaded is not None and downloaded.getvalue() == png
    assert await sim.file_bytes(largest.file_id) == png

    again = await aiogram_bot.send_photo(customer["id"], largest.file_id)
    assert again.photo is not None and again.photo[-1].file_id == largest.file_id


async def test_a_document_keeps_its_file_name(
    aiogram_bot: Bot, sim: SimulatorClient, customer: dict[str, Any]
) -> None:
    content = "주문번호,수량\n1001,2\n".encode()

    sent = await aiogram_bot.send_document(
        customer["id"], BufferedInputFile(content, "주문내역.csv")
    )

    assert sent.document is not None
    assert sent.document.file_name == "주문내역.csv"
    assert sent.document.mime_type == "text/csv"
    assert await sim.file_bytes(sent.document.file_id) == content


async def test_a_press_through_the_control_api_is_answered_with_an_alert(
    aiogram_bot: Bot, sim: SimulatorClient, customer: dict[str, Any]
) -> None:
    sent = await aiogram_bot.send_message(
        customer["id"],
        "몇 개 담을까요?",
        reply_markup=_keyboard(("1개", "qty:1"), ("2개", "qty:2")),
    )

    pressed = await sim.press(customer["id"], sent.message_id, button_text="2개")
    [update] = await aiogram_bot.get_updates(timeout=1)
    query = update.callback_query
    assert query is not None and query.id == pressed["callback_query_id"]
    assert query.data == "qty:2" and query.from_user.id == customer["id"]
    assert isinstance(query.message, Message) and query.message.message_id == sent.message_id
    await aiogram_bot.answer_callback_query(query.id, text="2개 담았어요", show_alert=True)

    answer = await sim.callback_answer(query.id)
    assert (answer["answered"], answer["text"], answer["show_alert"]) == (
        True,
        "2개 담았어요",
        True,
    )


async def test_commands_are_stored_per_language(aiogram_bot: Bot) -> None:
    korean = [
        BotCommand(command="start", description="시작"),
        BotCommand(command="orders", description="내 주문"),
    ]
    await aiogram_bot.set_my_commands(korean, language_code="ko")

    stored = await aiogram_bot.get_my_commands(language_code="ko")
    assert [(c.command, c.description) for c in stored] == [
        ("start", "시작"),
        ("orders", "내 주문"),
    ]
    assert await aiogram_bot.get_my_commands() == []
    assert await aiogram_bot.delete_my_commands(language_code="ko") is True
    assert await aiogram_bot.get_my_commands(language_code="ko") == []


async def test_long_polling_receives_a_text_a_contact_and_a_press(
    aiogram_bot: Bot, sim: SimulatorClient, customer: dict[str, Any]
) -> None:
    chat_id = customer["id"]
    offer = await aiogram_bot.send_message(
        chat_id, "사과", reply_markup=_keyboard(("사기", "buy:1"))
    )

    async def customer_acts() -> None:
        await asyncio.sleep(0.1)  # let the long poll start waiting first
        await sim.send_text(chat_id, "/start show_42")
        await sim.share_contact(chat_id, "+821012345678")
        await sim.press(chat_id, offer.message_id, data="buy:1")

    acting = asyncio.create_task(customer_acts())
    received = []
    offset = None
    while len(received) < 3:
        updates = await aiogram_bot.get_updates(offset=offset, timeout=5)
        received.extend(updates)
        offset = updates[-1].update_id + 1 if updates else offset
    await acting

    text, contact, press = received
    assert text.message is not None and text.message.text == "/start show_42"
    assert text.message.entities is not None
    assert (text.message.entities[0].type, text.message.entities[0].length) == ("bot_command", 6)
    assert contact.message is not None and contact.message.contact is not None
    assert contact.message.contact.user_id == chat_id
    assert contact.message.contact.phone_number == "+821012345678"
    assert press.callback_query is not None and press.callback_query.data == "buy:1"
    assert [u.update_id for u in received] == sorted({u.update_id for u in received})
    assert await aiogram_bot.get_updates(offset=offset, timeout=0) == []


async def test_a_dispatcher_answers_a_deep_link_start(
    aiogram_bot: Bot, sim: SimulatorClient, customer: dict[str, Any]
) -> None:
    dispatcher = Dispatcher()

    @dispatcher.message(CommandStart(deep_link=True))
    async def start(message: Message, command: CommandObject) -> None:
        await message.answer(
            f"방송 {command.args}에 오신 걸 환영해요",
            reply_markup=_keyboard(("구경하기", "browse")),
        )

    @dispatcher.callback_query(F.data == "browse")
    async def browse(query: CallbackQuery) -> None:
        await query.answer("상품 목록")

    polling = asyncio.create_task(
        dispatcher.start_polling(
            aiogram_bot, handle_signals=False, close_bot_session=False, polling_timeout=1
        )
    )
    try:
        sent = await sim.send_text(customer["id"], "/start show_42")
        [welcome] = await sim.wait_for_messages(customer["id"], after=sent["message_id"])
        assert welcome["text"] == "방송 show_42에 오신 걸 환영해요"
        pressed = await sim.press(customer["id"], welcome["message_id"], button_text="구경하기")
        answer = await sim.wait_for_callback_answer(pressed["callback_query_id"])
        assert answer["text"] == "상품 목록"
    finally:
        await dispatcher.stop_polling()
        await polling
