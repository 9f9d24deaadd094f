"""What a bot does to its chats through the Bot API: send, edit, delete, answer presses.

Each operation validates like Telegram first (content, then the chat, then the rate limit), so a
refused call changes nothing, and publishes an event once it took effect.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from livecart.simulator.chats import ChatStore, Conversation
from livecart.simulator.control_views import callback_view, message_view
from livecart.simulator.errors import (
    CAPTION_TOO_LONG,
    CHAT_NOT_FOUND,
    MESSAGE_CANT_BE_EDITED,
    MESSAGE_NOT_MODIFIED,
    MESSAGE_TEXT_EMPTY,
    MESSAGE_TO_DELETE_NOT_FOUND,
    MESSAGE_TO_EDIT_NOT_FOUND,
    MESSAGE_TOO_LONG,
    NO_CAPTION_TO_EDIT,
    NO_TEXT_TO_EDIT,
    QUERY_TOO_OLD,
    bad_request,
)
from livecart.simulator.events import EventBus
from livecart.simulator.files import MediaResolver
from livecart.simulator.formatting import FormattedText, format_text, normalize_parse_mode
from livecart.simulator.limits import SendGate
from livecart.simulator.markup import is_inline, require_inline_markup, validate_reply_markup
from livecart.simulator.models import JSON, BotAccount, ChatMessage, StoredFile
from livecart.simulator.params import UploadedFile
from livecart.simulator.users import UserDirectory

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)


class OutgoingMessages:
    """The bot's side of every chat."""

    def __init__(
        self,
        *,
        users: UserDirectory,
        chats: ChatStore,
        media: MediaResolver,
        gate: SendGate,
        events: EventBus,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._users = users
        self._chats = chats
        self._media = media
        self._gate = gate
        self._events = events
        self._wall_clock = wall_clock

    def _now(self) -> int:
        return int(self._wall_clock())

    async def send_message(
        self,
        bot: BotAccount,
        chat_id: int,
        text: str | None,
        *,
        parse_mode: str | None = None,
        entities: list[JSON] | None = None,
        reply_markup: Any = None,
        reply_to_message_id: int | None = None,
        allow_sending_without_reply: bool = False,
    ) -> ChatMessage:
        mode = normalize_parse_mode(parse_mode)
        formatted = _message_text(text, mode, entities)
        markup = validate_reply_markup(reply_markup)
        conversation = self._conversation(bot, chat_id)
        reply_to = _reply_target(conversation, reply_to_message_id, allow_sending_without_reply)
        self._gate.admit(bot.id, chat_id, "sendMessage")
        message = conversation.append(
            from_bot=True,
            date=self._now(),
            text=text,
            plain_text=formatted.text,
            entities=formatted.entities or None,
            parse_mode=mode,
            reply_markup=markup,
            reply_to_message_id=reply_to,
        )
        return self._sent(conversation, message)

    async def send_photo(
        self,
        bot: BotAccount,
        chat_id: int,
        photo: UploadedFile | str | None,
        **options: Any,
    ) -> ChatMessage:
        """sendPhoto; ``options``: caption, parse_mode, caption_entities, reply_markup, reply_to."""
        if photo is None:
            raise bad_request("there is no photo in the request")
        return await self._send_media(bot, chat_id, "sendPhoto", photo, **options)

    async def send_document(
        self,
        bot: BotAccount,
        chat_id: int,
        document: UploadedFile | str | None,
        **options: Any,
    ) -> ChatMessage:
        """sendDocument; the uploaded file name is kept."""
        if document is None:
            raise bad_request("there is no document in the request")
        return await self._send_media(bot, chat_id, "sendDocument", document, **options)

    async def _send_media(
        self,
        bot: BotAccount,
        chat_id: int,
        method: str,
        source: UploadedFile | str,
        *,
        caption: str | None = None,
        parse_mode: str | None = None,
        caption_entities: list[JSON] | None = None,
        reply_markup: Any = None,
        reply_to_message_id: int | None = None,
        allow_sending_without_reply: bool = False,
    ) -> ChatMessage:
        mode = normalize_parse_mode(parse_mode)
        formatted = _caption_text(caption, mode, caption_entities)
        markup = validate_reply_markup(reply_markup)
        conversation = self._conversation(bot, chat_id)
        reply_to = _reply_target(conversation, reply_to_message_id, allow_sending_without_reply)
        stored: StoredFile
        if method == "sendPhoto":
            stored = await self._media.photo(source)
        else:
            stored = await self._media.document(source)
        self._gate.admit(bot.id, chat_id, method)
        message = conversation.append(
            from_bot=True,
            date=self._now(),
            photo=stored if stored.kind == "photo" else None,
            document=stored if stored.kind == "document" else None,
            caption=caption if formatted else None,
            plain_caption=formatted.text if formatted else None,
            caption_entities=(formatted.entities or None) if formatted else None,
            parse_mode=mode,
            reply_markup=markup,
            reply_to_message_id=reply_to,
        )
        return self._sent(conversation, message)

    async def copy_message(
        self,
        bot: BotAccount,
        chat_id: int,
        from_chat_id: int,
        message_id: int,
        *,
        reply_markup: Any = None,
    ) -> ChatMessage:
        """copyMessage: the same content, a new message, no link to the original."""
        markup = validate_reply_markup(reply_markup)
        source_chat = self._chats.find(bot.id, from_chat_id)
        source = source_chat.get(message_id) if source_chat else None
        if source is None:
            raise bad_request("message to copy not found")
        conversation = self._conversation(bot, chat_id)
        self._gate.admit(bot.id, chat_id, "copyMessage")
        message = conversation.append(
            from_bot=True,
            date=self._now(),
            text=source.text,
            plain_text=source.plain_text,
            entities=source.entities,
            caption=source.caption,
            plain_caption=source.plain_caption,
            caption_entities=source.caption_entities,
            parse_mode=source.parse_mode,
            photo=source.photo,
            document=source.document,
            contact=source.contact,
            reply_markup=markup,
        )
        return self._sent(conversation, message)

    async def edit_text(
        self,
        bot: BotAccount,
        chat_id: int,
        message_id: int | None,
        text: str | None,
        *,
        parse_mode: str | None = None,
        entities: list[JSON] | None = None,
        reply_markup: Any = None,
    ) -> ChatMessage:
        """editMessageText; leaving out reply_markup removes the inline keyboard, as on Telegram."""
        message = self._editable(bot, chat_id, message_id)
        if message.text is None:
            raise bad_request(NO_TEXT_TO_EDIT)
        mode = normalize_parse_mode(parse_mode)
        formatted = _message_text(text, mode, entities)
        markup = _edit_markup(reply_markup)
        unchanged = (
            formatted.text == message.plain_text
            and (formatted.entities or None) == message.entities
            and markup == _inline_markup(message)
        )
        if unchanged:
            raise bad_request(MESSAGE_NOT_MODIFIED)
        message.text = text
        message.plain_text = formatted.text
        message.entities = formatted.entities or None
        message.parse_mode = mode
        message.reply_markup = markup
        return self._edited(message)

    async def edit_caption(
        self,
        bot: BotAccount,
        chat_id: int,
        message_id: int | None,
        caption: str | None,
        *,
        parse_mode: str | None = None,
        caption_entities: list[JSON] | None = None,
        reply_markup: Any = None,
    ) -> ChatMessage:
        message = self._editable(bot, chat_id, message_id)
        if not message.has_media:
            raise bad_request(NO_CAPTION_TO_EDIT)
        mode = normalize_parse_mode(parse_mode)
        formatted = _caption_text(caption, mode, caption_entities)
        markup = _edit_markup(reply_markup)
        plain = formatted.text if formatted else None
        entities = (formatted.entities or None) if formatted else None
        unchanged = (
            plain == message.plain_caption
            and entities == message.caption_entities
            and markup == _inline_markup(message)
        )
        if unchanged:
            raise bad_request(MESSAGE_NOT_MODIFIED)
        message.caption = caption if formatted else None
        message.plain_caption = plain
        message.caption_entities = entities
        message.parse_mode = mode
        message.reply_markup = markup
        return self._edited(message)

    async def edit_reply_markup(
        self, bot: BotAccount, chat_id: int, message_id: int | None, reply_markup: Any
    ) -> ChatMessage:
        message = self._editable(bot, chat_id, message_id)
        markup = _edit_markup(reply_markup)
        if markup == _inline_markup(message):
            raise bad_request(MESSAGE_NOT_MODIFIED)
        message.reply_markup = markup
        return self._edited(message)

    async def delete(self, bot: BotAccount, chat_id: int, message_id: int | None) -> None:
        """deleteMessage; in a private chat the bot may delete both sides' messages."""
        if self._users.get(chat_id) is None:
            raise bad_request(CHAT_NOT_FOUND)
        conversation = self._chats.find(bot.id, chat_id)
        message = conversation.get(message_id) if conversation and message_id else None
        if message is None:
            raise bad_request(MESSAGE_TO_DELETE_NOT_FOUND)
        message.deleted = True
        self._events.publish("message_deleted", message=message_view(message))

    async def answer_callback(
        self,
        bot: BotAccount,
        callback_query_id: str | None,
        *,
        text: str | None = None,
        show_alert: bool = False,
        url: str | None = None,
    ) -> None:
        """answerCallbackQuery; a query can be answered once, as on Telegram."""
        record = self._chats.callback(callback_query_id or "")
        if record is None or record.bot_id != bot.id or record.answered:
            raise bad_request(QUERY_TOO_OLD)
        record.answered = True
        record.answer_text = text
        record.show_alert = show_alert
        record.url = url
        record.answered_at = self._wall_clock()
        self._events.publish("callback_answered", callback=callback_view(record))

    async def chat_action(self, bot: BotAccount, chat_id: int, action: str | None) -> None:
        self._users.reachable(bot.id, chat_id)
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self._events.publish("chat_action", bot_id=bot.id, chat_id=chat_id, action=action)

    def _conversation(self, bot: BotAccount, chat_id: int) -> Conversation:
        self._users.reachable(bot.id, chat_id)
        return self._chats.conversation(bot.id, chat_id)

    def _editable(self, bot: BotAccount, chat_id: int, message_id: int | None) -> ChatMessage:
        conversation = self._conversation(bot, chat_id)
        message = conversation.get(message_id) if message_id is not None else None
        if message is None:
            raise bad_request(MESSAGE_TO_EDIT_NOT_FOUND)
        if not message.from_bot:
            raise bad_request(MESSAGE_CANT_BE_EDITED)
        return message

    def _sent(self, conversation: Conversation, message: ChatMessage) -> ChatMessage:
        conversation.note_reply_markup(message.reply_markup)
        self._events.publish("message_sent", message=message_view(message))
        return message

    def _edited(self, message: ChatMessage) -> ChatMessage:
        message.edits += 1
        message.edit_date = self._now()
        self._events.publish("message_edited", message=message_view(message))
        return message


def _message_text(
    text: str | None, parse_mode: str | None, entities: list[JSON] | None
) -> FormattedText:
    if text is None or not text.strip():
        raise bad_request(MESSAGE_TEXT_EMPTY)
    formatted = format_text(text, parse_mode, entities)
    if not formatted.text:
        raise bad_request(MESSAGE_TEXT_EMPTY)
    if len(formatted.text) > MAX_TEXT_LENGTH:
        raise bad_request(MESSAGE_TOO_LONG)
    return formatted


def _caption_text(
    caption: str | None, parse_mode: str | None, entities: list[JSON] | None
) -> FormattedText | None:
    if caption is None:
        return None
    formatted = format_text(caption, parse_mode, entities)
    if len(formatted.text) > MAX_CAPTION_LENGTH:
        raise bad_request(CAPTION_TOO_LONG)
    return formatted if formatted.text else None


def _edit_markup(reply_markup: Any) -> JSON | None:
    markup = validate_reply_markup(reply_markup)
    require_inline_markup(markup)
    return markup


def _inline_markup(message: ChatMessage) -> JSON | None:
    return message.reply_markup if is_inline(message.reply_markup) else None


def _reply_target(
    conversation: Conversation, message_id: int | None, allow_missing: bool
) -> int | None:
    if message_id is None:
        return None
    if conversation.get(message_id) is None:
        if allow_missing:
            return None
        raise bad_request("message to be replied not found")
    return message_id
