"""What users do, turned into Bot API updates: typing, sharing a contact, tapping buttons.

Each action adds the user's message to the chat (so transcripts show both sides) and queues an
update shaped exactly like Telegram's, including the ``bot_command`` entity of ``/start payload``.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from livecart.simulator.bots import BotRuntime
from livecart.simulator.chats import ChatStore
from livecart.simulator.control_views import callback_view, message_view
from livecart.simulator.errors import ControlError
from livecart.simulator.events import EventBus
from livecart.simulator.formatting import utf16_length
from livecart.simulator.markup import find_inline_button, find_reply_button
from livecart.simulator.models import JSON, CallbackQueryRecord, ChatMessage, SimUser
from livecart.simulator.telegram_json import (
    bot_user_json,
    callback_query_json,
    message_json,
    private_chat_json,
    user_json,
)
from livecart.simulator.users import UserDirectory

_COMMAND = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?=\s|$)")
MAX_USER_TEXT_LENGTH = 4096


@dataclass(frozen=True)
class UserActionResult:
    """What a control action produced: the queued update and the message or query it carries."""

    update_id: int
    message_id: int | None = None
    callback_query_id: str | None = None

    def to_json(self) -> JSON:
        body: JSON = {"update_id": self.update_id}
        if self.message_id is not None:
            body["message_id"] = self.message_id
        if self.callback_query_id is not None:
            body["callback_query_id"] = self.callback_query_id
        return body


class IncomingActions:
    """The users' side of every chat."""

    def __init__(
        self,
        *,
        users: UserDirectory,
        chats: ChatStore,
        events: EventBus,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._users = users
        self._chats = chats
        self._events = events
        self._wall_clock = wall_clock

    def _now(self) -> int:
        return int(self._wall_clock())

    async def send_text(self, bot: BotRuntime, user_id: int, text: str) -> UserActionResult:
        """The user types ``text``; a leading /command gets its ``bot_command`` entity."""
        if not text.strip():
            raise ControlError(400, "a user cannot send an empty message")
        if len(text) > MAX_USER_TEXT_LENGTH:
            raise ControlError(400, "a message is at most 4096 characters")
        user = self._actor(bot, user_id)
        entities = None
        command = _COMMAND.match(text)
        if command is not None:
            entities = [{"type": "bot_command", "offset": 0, "length": utf16_length(command[0])}]
        message = self._chats.conversation(bot.account.id, user.id).append(
            from_bot=False, date=self._now(), text=text, plain_text=text, entities=entities
        )
        return self._queue_message(bot, user, message)

    async def share_contact(
        self,
        bot: BotRuntime,
        user_id: int,
        phone_number: str,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        contact_user_id: int | None = None,
    ) -> UserActionResult:
        """The user shares a contact: their own by default, or someone else's (``contact_user_id``).

        Bots must check ``contact.user_id == from.id`` before trusting a number as the user's own.
        """
        user = self._actor(bot, user_id)
        owner_id = user.id if contact_user_id is None else contact_user_id
        owner = self._users.get(owner_id)
        contact: JSON = {
            "phone_number": phone_number,
            "first_name": first_name or (owner.first_name if owner else "Contact"),
            "user_id": owner_id,
        }
        surname = last_name or (owner.last_name if owner else None)
        if surname:
            contact["last_name"] = surname
        if owner_id == user.id and user.phone_number is None:
            user.phone_number = phone_number
        message = self._chats.conversation(bot.account.id, user.id).append(
            from_bot=False, date=self._now(), contact=contact
        )
        return self._queue_message(bot, user, message)

    async def press(
        self,
        bot: BotRuntime,
        user_id: int,
        message_id: int,
        *,
        data: str | None = None,
        button_text: str | None = None,
        forge: bool = False,
    ) -> UserActionResult:
        """The user taps an inline button on a bot message (by its data or its label).

        ``forge`` sends ``data`` even if no such button exists, to test a bot against tampered
        callback data.
        """
        if data is None and button_text is None:
            raise ControlError(400, "press needs data or button_text")
        user = self._actor(bot, user_id)
        conversation = self._chats.find(bot.account.id, user.id)
        message = conversation.get(message_id) if conversation else None
        if message is None or not message.from_bot:
            raise ControlError(400, f"no bot message {message_id} in chat {user.id}")
        if forge:
            if data is None:
                raise ControlError(400, "a forged press needs data")
            pressed = data
        else:
            button = find_inline_button(message.reply_markup, data=data, text=button_text)
            pressed = str(button["callback_data"])
        record = CallbackQueryRecord(
            id=str(secrets.randbits(63)),
            bot_id=bot.account.id,
            user_id=user.id,
            chat_id=user.id,
            message_id=message.message_id,
            data=pressed,
            date=self._now(),
        )
        self._chats.add_callback(record)
        payload = callback_query_json(record, user, message_json(message, bot.account, user))
        update = bot.updates.push(user.id, {"callback_query": payload})
        self._events.publish("callback_query", callback=callback_view(record))
        return UserActionResult(update.update_id, callback_query_id=record.id)

    async def tap_reply_button(self, bot: BotRuntime, user_id: int, text: str) -> UserActionResult:
        """The user taps a reply-keyboard button: its text, or their contact if it asks for one."""
        user = self._actor(bot, user_id)
        conversation = self._chats.conversation(bot.account.id, user.id)
        button = find_reply_button(conversation.reply_keyboard, text)
        if not button.get("request_contact"):
            return await self.send_text(bot, user_id, str(button["text"]))
        if user.phone_number is None:
            raise ControlError(400, f"user {user.id} has no phone_number to share")
        return await self.share_contact(bot, user_id, user.phone_number)

    async def set_blocked(
        self, bot: BotRuntime, user_id: int, *, blocked: bool, deactivated: bool = False
    ) -> SimUser:
        """Block/unblock the bot (Telegram tells the bot with a ``my_chat_member`` update)."""
        user = self._users.require(user_id)
        user.deactivated = deactivated
        was_blocked = bot.account.id in user.blocked_bot_ids
        if blocked and not was_blocked:
            user.blocked_bot_ids.add(bot.account.id)
            self._queue_membership(bot, user, old="member", new="kicked")
        elif not blocked and was_blocked:
            user.blocked_bot_ids.discard(bot.account.id)
            self._queue_membership(bot, user, old="kicked", new="member")
        return user

    def _actor(self, bot: BotRuntime, user_id: int) -> SimUser:
        """The acting user; acting in a blocked chat unblocks it, like Telegram's Restart."""
        user = self._users.require(user_id)
        if user.deactivated:
            raise ControlError(409, f"user {user_id} is deactivated")
        if bot.account.id in user.blocked_bot_ids:
            user.blocked_bot_ids.discard(bot.account.id)
            self._queue_membership(bot, user, old="kicked", new="member")
        return user

    def _queue_message(
        self, bot: BotRuntime, user: SimUser, message: ChatMessage
    ) -> UserActionResult:
        update = bot.updates.push(user.id, {"message": message_json(message, bot.account, user)})
        self._events.publish("user_message", message=message_view(message))
        return UserActionResult(update.update_id, message_id=message.message_id)

    def _queue_membership(self, bot: BotRuntime, user: SimUser, *, old: str, new: str) -> None:
        bot_user = bot_user_json(bot.account)
        new_member: JSON = {"user": bot_user, "status": new}
        if new == "kicked":
            new_member["until_date"] = 0
        old_member: JSON = {"user": bot_user, "status": old}
        if old == "kicked":
            old_member["until_date"] = 0
        body = {
            "chat": private_chat_json(user),
            "from": user_json(user),
            "date": self._now(),
            "old_chat_member": old_member,
            "new_chat_member": new_member,
        }
        bot.updates.push(user.id, {"my_chat_member": body})
        self._events.publish(
            "membership_changed", bot_id=bot.account.id, user_id=user.id, status=new
        )
