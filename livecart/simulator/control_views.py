"""How the control API shows simulator records to tests and to the demo page.

Unlike Bot API JSON, these views show everything a test wants to assert on: the text exactly as
the bot sent it, the parsed text, who sent it, how often it was edited, and whether it is gone.
"""

from __future__ import annotations

from livecart.simulator.bots import BotRuntime
from livecart.simulator.models import JSON, CallbackQueryRecord, ChatMessage, SimUser
from livecart.simulator.telegram_json import document_json, photo_sizes_json


def message_view(message: ChatMessage) -> JSON:
    return {
        "message_id": message.message_id,
        "chat_id": message.chat_id,
        "bot_id": message.bot_id,
        "from_bot": message.from_bot,
        "date": message.date,
        "text": message.text,
        "plain_text": message.plain_text,
        "entities": message.entities,
        "parse_mode": message.parse_mode,
        "caption": message.caption,
        "plain_caption": message.plain_caption,
        "caption_entities": message.caption_entities,
        "reply_markup": message.reply_markup,
        "photo": photo_sizes_json(message.photo) if message.photo else None,
        "photo_file_id": message.photo.file_id if message.photo else None,
        "document": document_json(message.document) if message.document else None,
        "document_file_id": message.document.file_id if message.document else None,
        "contact": message.contact,
        "reply_to_message_id": message.reply_to_message_id,
        "edits": message.edits,
        "edit_date": message.edit_date,
        "deleted": message.deleted,
    }


def callback_view(record: CallbackQueryRecord) -> JSON:
    return {
        "callback_query_id": record.id,
        "bot_id": record.bot_id,
        "user_id": record.user_id,
        "chat_id": record.chat_id,
        "message_id": record.message_id,
        "data": record.data,
        "date": record.date,
        "answered": record.answered,
        "text": record.answer_text,
        "show_alert": record.show_alert,
        "url": record.url,
    }


def user_view(user: SimUser) -> JSON:
    return {
        "id": user.id,
        "chat_id": user.id,
        "is_bot": False,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "username": user.username,
        "language_code": user.language_code,
        "phone_number": user.phone_number,
        "blocked_bot_ids": sorted(user.blocked_bot_ids),
        "deactivated": user.deactivated,
    }


def bot_view(runtime: BotRuntime) -> JSON:
    account = runtime.account
    webhook = runtime.webhook
    return {
        "id": account.id,
        "username": account.username,
        "first_name": account.first_name,
        "webhook_url": webhook.url if webhook else None,
        "pending_update_count": len(runtime.updates.pending()),
        "commands": runtime.commands,
    }
