"""Replies a handler wants to make, sent only after its transaction commits.

A handler never talks to Telegram while it holds the database transaction: it queues what
to say here, the session middleware commits, then flushes. A rolled-back update sends
nothing, and the write lock (SQLite) is never held across a network call.

Each message sent takes its place in the send-rate limits shared with the outbox sender (and
with every other instance, through Redis): a reply counts against its chat's 1/s and the bot's
rate like any message, with an interactive message's priority (bulk sends leave it room).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    ForceReply,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.rate_limits import RateLimits

log = logging.getLogger(__name__)

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply | None


@dataclass
class _Toast:
    callback_id: str
    text: str | None
    alert: bool


class Replies:
    """An ordered list of things to say to the user who caused this update."""

    def __init__(self, chat_id: int | None, callback: CallbackQuery | None = None) -> None:
        self.chat_id = chat_id
        self._callback = callback
        self._actions: list[Callable[[Bot], Awaitable[Any]]] = []
        self._toast: _Toast | None = None
        self._limits: RateLimits | None = None

    async def _slot(self, chat_id: int) -> None:
        """Wait for this message's place in the send-rate limits (if any are given)."""
        if self._limits is not None:
            await self._limits.acquire_reply(chat_id)

    def send(self, text: str, markup: Markup = None, *, chat_id: int | None = None) -> None:
        """Send a new text message (to this chat unless another is named)."""
        target = chat_id if chat_id is not None else self.chat_id
        if target is None:
            return

        async def action(bot: Bot) -> None:
            await self._slot(target)
            await bot.send_message(target, text, reply_markup=markup)

        self._actions.append(action)

    def photo(self, photo: str | bytes, caption: str, markup: Markup = None) -> None:
        """Send a photo (a URL, a file id, or PNG bytes) with a caption."""
        target = self.chat_id
        if target is None:
            return
        media: Any = BufferedInputFile(photo, "photo.png") if isinstance(photo, bytes) else photo

        async def action(bot: Bot) -> None:
            await self._slot(target)
            try:
                await bot.send_photo(target, media, caption=caption, reply_markup=markup)
            except TelegramBadRequest as exc:  # a dead photo URL must not lose the message
                log.warning("photo failed (%s); sending text instead", exc.message)
                await self._slot(target)
                await bot.send_message(
                    target, caption, reply_markup=markup if not _is_reply_kb(markup) else None
                )

        self._actions.append(action)

    def edit(self, message: Message | None, text: str, markup: InlineKeyboardMarkup | None) -> None:
        """Replace the text of the message a button was pressed on; send anew if it can't be."""
        if message is None or message.photo or message.document:
            self.send(text, markup)
            return
        chat_id, message_id = message.chat.id, message.message_id

        async def action(bot: Bot) -> None:
            try:
                await bot.edit_message_text(
                    text=text, chat_id=chat_id, message_id=message_id, reply_markup=markup
                )
            except TelegramBadRequest as exc:
                if "message is not modified" in exc.message:
                    return  # the same tap twice: the screen already shows this
                await self._slot(chat_id)
                await bot.send_message(chat_id, text, reply_markup=markup)

        self._actions.append(action)

    def call(self, action: Callable[[Bot], Awaitable[Any]]) -> None:
        """Any other Bot API call, made after commit in order (a chat's command menu, say)."""
        self._actions.append(action)

    def toast(self, text: str | None = None, *, alert: bool = False) -> None:
        """Answer the pressed button (a short notice at the top of the chat)."""
        if self._callback is not None:
            self._toast = _Toast(self._callback.id, text, alert)

    def clear(self) -> None:
        """Forget what was queued (the transaction failed: say nothing of it)."""
        self._actions.clear()
        self._toast = None

    async def flush(self, bot: Bot, limits: RateLimits | None = None) -> None:
        """Send everything queued, in order, each message within `limits`; then answer the
        pressed button, always (an answer is no message: it waits for no slot).

        The answer comes last so that "answered" means the screen is up to date.
        """
        actions, self._actions = self._actions, []
        self._limits = limits
        try:
            for action in actions:
                await with_retries(action, bot, limits=limits)
        finally:
            if self._callback is not None:
                toast = self._toast or _Toast(self._callback.id, None, False)

                async def answer(bot: Bot) -> None:
                    await bot.answer_callback_query(
                        toast.callback_id, text=toast.text, show_alert=toast.alert
                    )

                try:
                    await with_retries(answer, bot)
                except TelegramBadRequest as exc:  # too old to answer
                    log.info("callback answer refused: %s", exc.message)


async def with_retries(
    action: Callable[[Bot], Awaitable[Any]],
    bot: Bot,
    *,
    attempts: int = 4,
    limits: RateLimits | None = None,
) -> Any:
    """Call Telegram, waiting out `retry_after` and backing off on 5xx and network errors.

    A reply is worth a short wait: the customer is looking at the chat right now. A 429's
    pause is shared with every sender (through `limits`), as Telegram means it for the bot.
    """
    for attempt in range(1, attempts + 1):
        try:
            return await action(bot)
        except TelegramRetryAfter as exc:
            if limits is not None:
                await limits.pause(exc.retry_after)
            if attempt == attempts:
                raise
            await asyncio.sleep(exc.retry_after)
        except (TelegramServerError, TelegramNetworkError):
            if attempt == attempts:
                raise
            await asyncio.sleep(0.5 * 2 ** (attempt - 1))
    return None


def _is_reply_kb(markup: Markup) -> bool:
    return isinstance(markup, ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply)


def pressed_message(callback: CallbackQuery) -> Message | None:
    """The message a button was pressed on, if Telegram still has it for us."""
    message = callback.message
    return message if isinstance(message, Message) else None
