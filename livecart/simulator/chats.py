"""Private chats between a bot and a user: messages in order, shown keyboard, button presses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from livecart.simulator.models import JSON, CallbackQueryRecord, ChatMessage


@dataclass
class Conversation:
    """One (bot, user) chat. Message ids count up from 1 for both sides, like Telegram's."""

    bot_id: int
    chat_id: int
    messages: dict[int, ChatMessage] = field(default_factory=dict)
    reply_keyboard: JSON | None = None
    _last_message_id: int = 0

    def append(self, *, from_bot: bool, date: int, **fields: Any) -> ChatMessage:
        self._last_message_id += 1
        message = ChatMessage(
            message_id=self._last_message_id,
            chat_id=self.chat_id,
            bot_id=self.bot_id,
            from_bot=from_bot,
            date=date,
            **fields,
        )
        self.messages[message.message_id] = message
        return message

    def get(self, message_id: int) -> ChatMessage | None:
        """A message that still exists (deleted ones stay listed, but are gone for the bot)."""
        message = self.messages.get(message_id)
        return None if message is None or message.deleted else message

    def note_reply_markup(self, markup: JSON | None) -> None:
        """Track the reply keyboard the user currently sees under the input field."""
        if markup is None:
            return
        if "keyboard" in markup:
            self.reply_keyboard = markup
        elif markup.get("remove_keyboard"):
            self.reply_keyboard = None


class ChatStore:
    """Every conversation, and every callback query, of the simulated world."""

    def __init__(self) -> None:
        self._conversations: dict[tuple[int, int], Conversation] = {}
        self._callbacks: dict[str, CallbackQueryRecord] = {}

    def conversation(self, bot_id: int, chat_id: int) -> Conversation:
        key = (bot_id, chat_id)
        found = self._conversations.get(key)
        if found is None:
            found = self._conversations[key] = Conversation(bot_id, chat_id)
        return found

    def find(self, bot_id: int, chat_id: int) -> Conversation | None:
        return self._conversations.get((bot_id, chat_id))

    def add_callback(self, record: CallbackQueryRecord) -> None:
        self._callbacks[record.id] = record

    def callback(self, callback_query_id: str) -> CallbackQueryRecord | None:
        return self._callbacks.get(callback_query_id)

    def callbacks_in(self, bot_id: int, chat_id: int) -> list[CallbackQueryRecord]:
        return [
            record
            for record in self._callbacks.values()
            if record.bot_id == bot_id and record.chat_id == chat_id
        ]

    def clear(self) -> None:
        self._conversations.clear()
        self._callbacks.clear()
