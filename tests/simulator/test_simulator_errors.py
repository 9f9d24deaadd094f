"""Refusals arrive as each library's own exception, with Telegram's wording and parameters."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import telegram
import telegram.error
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup

from livecart.simulator import SimulatorClient

pytestmark = pytest.mark.asyncio(loop_scope="module")

# 22 Hangul syllables are 66 UTF-8 bytes: two over Telegram's 64-byte callback_data limit.
TOO_LONG_CALLBACK_DATA = "가" * 22
LONGEST_CALLBACK_DATA = "가" * 21 + "a"  # 64 bytes


def _keyboard(data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="담기", callback_data=data)]]
    )


class TestAiogram:
    async def test_a_forced_rate_limit_raises_retry_after_with_its_value(
        self, aiogram_bot: Bot, sim: SimulatorClient, customer: dict[str, Any]
    ) -> None:
        await sim.inject_faults(rate_limit_burst=1, retry_after=7)

        with pytest.raises(TelegramRetryAfter) as raised:
            await aiogram_bot.send_message(customer["id"], "알림")

        assert raised.value.retry_after == 7
        assert "Too Many Requests: retry after 7" in raised.value.message

    async def test_a_user_who_blocked_the_bot_is_forbidden(
        self, aiogram_bot: Bot, sim: SimulatorClient, customer: dict[str, Any]
    ) -> None:
        await sim.block(customer["id"])

        with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
            await aiogram_bot.send_message(customer["id"], "방송 시작!")

    async def test_a_deactivated_user_is_forbidden(
        self, aiogram_bot: Bot, sim: SimulatorClient, customer: dict[str, Any]
    ) -> None:
        await sim.block(customer["id"], blocked=False, deactivated=True)

        with pytest.raises(TelegramForbiddenError, match="user is deactivated"):
            await aiogram_bot.send_message(customer["id"], "방송 시작!")

    async def test_callback_data_over_64_bytes_is_refused(
        self, aiogram_bot: Bot, customer: dict[str, Any]
    ) -> None:
        assert len(TOO_LONG_CALLBACK_DATA.encode()) == 66

        with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
            await aiogram_bot.send_message(
                customer["id"], "상품", reply_markup=_keyboard(TOO_LONG_CALLBACK_DATA)
            )
        await aiogram_bot.send_message(
            customer["id"], "상품", reply_markup=_keyboard(LONGEST_CALLBACK_DATA)
        )

    async def test_an_edit_that_changes_nothing_is_not_modified(
        self, aiogram_bot: Bot, customer: dict[str, Any]
    ) -> None:
        sent = await aiogram_bot.send_message(
            customer["id"], "재고 3개", reply_markup=_keyboard("stock")
        )

        with pytest.raises(TelegramBadRequest, match="message is not modified"):
            await aiogram_bot.edit_message_text(
                text="재고 3개",
                chat_id=customer["id"],
                message_id=sent.message_id,
                reply_markup=_keyboard("stock"),
            )

    async def test_editing_a_missing_message_and_writing_to_an_unknown_chat_fail(
        self, aiogram_bot: Bot, customer: dict[str, Any]
    ) -> None:
        with pytest.raises(TelegramBadRequest, match="message to edit not found"):
            await aiogram_bot.edit_message_text(text="x", chat_id=customer["id"], message_id=999)
        with pytest.raises(TelegramBadRequest, match="chat not found"):
            await aiogram_bot.send_message(424242, "안녕하세요")

    @pytest.mark.parametrize(
        ("text", "error"),
        [
            ("", "message text is empty"),
            ("   \n ", "message text is empty"),
            ("가" * 4097, "message is too long"),
            ("3 < 5 할인", 'can\'t parse entities: Unsupported start tag "" at byte offset 2'),
            (
                "<b>굵게",
                "can't parse entities: Can't find end tag corresponding to start tag \"b\"",
            ),
        ],
    )
    async def test_invalid_text_is_refused(
        self, aiogram_bot: Bot, customer: dict[str, Any], text: str, error: str
    ) -> None:
        with pytest.raises(TelegramBadRequest) as raised:
            await aiogram_bot.send_message(customer["id"], text, parse_mode="HTML")

        assert raised.value.message == f"Bad Request: {error}"

    async def test_the_longest_allowed_text_and_caption_pass_and_one_more_fails(
        self, aiogram_bot: Bot, customer: dict[str, Any], png: bytes
    ) -> None:
        await aiogram_bot.send_message(customer["id"], "가" * 4096)
        await aiogram_bot.send_photo(
            customer["id"], BufferedInputFile(png, "a.png"), caption="나" * 1024
        )

        with pytest.raises(TelegramBadRequest, match="message caption is too long"):
            await aiogram_bot.send_photo(
                customer["id"], BufferedInputFile(png, "a.png"), caption="나" * 1025
            )

    async def test_injected_server_errors_raise_then_recover(
        self, aiogram_bot: Bot, sim: SimulatorClient, customer: dict[str, Any]
    ) -> None:
        await sim.inject_faults(server_errors=2, server_error_methods=["sendMessage"])

        for _ in range(2):
            with pytest.raises(TelegramServerError, match="Bad Gateway"):
                await aiogram_bot.send_message(customer["id"], "재시도")
        await aiogram_bot.send_message(customer["id"], "재시도")

        stats = await sim.stats()
        assert (stats["server_errors_injected"], stats["sent_total"]) == (2, 1)

    async def test_a_delayed_answer_times_out_the_caller_but_the_message_arrives(
        self, aiogram_bot: Bot, sim: SimulatorClient, customer: dict[str, Any]
    ) -> None:
        faults = await sim.inject_faults(delays=1, delay_seconds=1.0, delay_methods=["sendMessage"])
        assert faults["delays"] == {
            "remaining": 1,
            "seconds": 1.0,
            "methods": ["sendmessage"],
            "issued": 0,
        }

        with pytest.raises(TelegramNetworkError, match="timeout"):
            await aiogram_bot.send_message(customer["id"], "느린 답", request_timeout=0.2)
        await aiogram_bot.get_me()  # other methods and later calls answer at once

        messages = [m["text"] for m in await sim.messages(customer["id"]) if m["from_bot"]]
        assert messages == ["느린 답"]  # carried out: only the answer was late
        assert (await sim.stats())["faults"]["delays"]["issued"] == 1


class TestPythonTelegramBot:
    @pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
    async def test_a_forced_rate_limit_raises_retry_after(
        self, ptb_bot: telegram.Bot, sim: SimulatorClient, customer: dict[str, Any]
    ) -> None:
        await sim.inject_faults(rate_limit_burst=1, retry_after=3)

        with pytest.raises(telegram.error.RetryAfter) as raised:
            await ptb_bot.send_message(customer["id"], "알림")

        retry_after = raised.value.retry_after
        seconds = (
            retry_after.total_seconds() if isinstance(retry_after, dt.timedelta) else retry_after
        )
        assert seconds == 3

    async def test_a_user_who_blocked_the_bot_is_forbidden(
        self, ptb_bot: telegram.Bot, sim: SimulatorClient, customer: dict[str, Any]
    ) -> None:
        await sim.block(customer["id"])

        with pytest.raises(telegram.error.Forbidden, match="bot was blocked by the user"):
            await ptb_bot.send_message(customer["id"], "방송 시작!")

    async def test_callback_data_over_64_bytes_is_a_bad_request(
        self, ptb_bot: telegram.Bot, customer: dict[str, Any]
    ) -> None:
        markup = telegram.InlineKeyboardMarkup(
            [[telegram.InlineKeyboardButton("담기", callback_data=TOO_LONG_CALLBACK_DATA)]]
        )

        with pytest.raises(telegram.error.BadRequest, match="Button_data_invalid"):
            await ptb_bot.send_message(customer["id"], "상품", reply_markup=markup)

    async def test_an_edit_that_changes_nothing_is_a_bad_request(
        self, ptb_bot: telegram.Bot, customer: dict[str, Any]
    ) -> None:
        sent = await ptb_bot.send_message(customer["id"], "재고 3개")

        with pytest.raises(telegram.error.BadRequest, match="Message is not modified"):
            await ptb_bot.edit_message_text(
                "재고 3개", chat_id=customer["id"], message_id=sent.message_id
            )
