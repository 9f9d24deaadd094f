"""Bot API JSON for simulator records, complete enough for aiogram and python-telegram-bot.

Optional fields are left out rather than sent as null, as Telegram does.
"""

from __future__ import annotations

from livecart.simulator.models import (
    JSON,
    BotAccount,
    CallbackQueryRecord,
    ChatMessage,
    SimUser,
    StoredFile,
)


def bot_user_json(bot: BotAccount) -> JSON:
    return {"id": bot.id, "is_bot": True, "first_name": bot.first_name, "username": bot.username}


def get_me_json(bot: BotAccount) -> JSON:
    return {
        **bot_user_json(bot),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def user_json(user: SimUser) -> JSON:
    body: JSON = {"id": user.id, "is_bot": False, "first_name": user.first_name}
    if user.last_name:
        body["last_name"] = user.last_name
    if user.username:
        body["username"] = user.username
    if user.language_code:
        body["language_code"] = user.language_code
    return body


def private_chat_json(user: SimUser) -> JSON:
    body: JSON = {"id": user.id, "type": "private", "first_name": user.first_name}
    if user.last_name:
        body["last_name"] = user.last_name
    if user.username:
        body["username"] = user.username
    return body


def photo_sizes_json(stored: StoredFile) -> list[JSON]:
    return [
        {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "width": stored.width or 0,
            "height": stored.height or 0,
            "file_size": stored.file_size,
        }
    ]


def document_json(stored: StoredFile) -> JSON:
    body: JSON = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "mime_type": stored.mime_type,
        "file_size": stored.file_size,
    }
    if stored.file_name:
        body["file_name"] = stored.file_name
    return body


def file_json(stored: StoredFile) -> JSON:
    """getFile's File object; ``file_path`` is relative, as from Telegram."""
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.file_size,
        "file_path": stored.file_path,
    }


def message_json(message: ChatMessage, bot: BotAccount, user: SimUser) -> JSON:
    """A Message as the Bot API returns it, from the bot's point of view."""
    body: JSON = {
        "message_id": message.message_id,
        "from": bot_user_json(bot) if message.from_bot else user_json(user),
        "chat": private_chat_json(user),
        "date": message.date,
    }
    if message.edit_date is not None:
        body["edit_date"] = message.edit_date
    if message.reply_to_message_id is not None:
        body["reply_to_message"] = {
            "message_id": message.reply_to_message_id,
            "chat": private_chat_json(user),
            "date": message.date,
        }
    if message.plain_text is not None:
        body["text"] = message.plain_text
        if message.entities:
            body["entities"] = message.entities
    if message.photo is not None:
        body["photo"] = photo_sizes_json(message.photo)
    if message.document is not None:
        body["document"] = document_json(message.document)
    if message.plain_caption is not None:
        body["caption"] = message.plain_caption
        if message.caption_entities:
            body["caption_entities"] = message.caption_entities
    if message.contact is not None:
        body["contact"] = message.contact
    if message.reply_markup is not None and "inline_keyboard" in message.reply_markup:
        # Telegram echoes only inline keyboards; reply keyboards are not part of a Message.
        body["reply_markup"] = message.reply_markup
    return body


def callback_query_json(record: CallbackQueryRecord, user: SimUser, message: JSON) -> JSON:
    return {
        "id": record.id,
        "from": user_json(user),
        "message": message,
        "chat_instance": str(record.bot_id * 7919 + record.chat_id),
        "data": record.data,
    }
