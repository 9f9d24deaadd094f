"""editMessageText, editMessageCaption, editMessageReplyMarkup, deleteMessage(s) and
answerCallbackQuery: changes to messages already in a chat."""

from __future__ import annotations

from typing import TYPE_CHECKING

from livecart.simulator.bots import BotRuntime
from livecart.simulator.errors import BotAPIError, bad_request
from livecart.simulator.methods import common
from livecart.simulator.models import JSON
from livecart.simulator.params import MethodParams

if TYPE_CHECKING:
    from livecart.simulator.bot_api import MethodHandler
    from livecart.simulator.state import Simulator


async def edit_message_text(sim: Simulator, bot: BotRuntime, params: MethodParams) -> JSON:
    common.inline_message_unsupported(params)
    message = await sim.outgoing.edit_text(
        bot.account,
        common.chat_id(params),
        common.message_id(params),
        params.text("text"),
        parse_mode=params.text("parse_mode"),
        entities=common.entities(params),
        reply_markup=common.reply_markup(params),
    )
    return sim.message_json(message)


async def edit_message_caption(sim: Simulator, bot: BotRuntime, params: MethodParams) -> JSON:
    common.inline_message_unsupported(params)
    message = await sim.outgoing.edit_caption(
        bot.account,
        common.chat_id(params),
        common.message_id(params),
        params.text("caption"),
        parse_mode=params.text("parse_mode"),
        caption_entities=common.entities(params, "caption_entities"),
        reply_markup=common.reply_markup(params),
    )
    return sim.message_json(message)


async def edit_message_reply_markup(sim: Simulator, bot: BotRuntime, params: MethodParams) -> JSON:
    common.inline_message_unsupported(params)
    message = await sim.outgoing.edit_reply_markup(
        bot.account,
        common.chat_id(params),
        common.message_id(params),
        common.reply_markup(params),
    )
    return sim.message_json(message)


async def delete_message(sim: Simulator, bot: BotRuntime, params: MethodParams) -> bool:
    await sim.outgoing.delete(bot.account, common.chat_id(params), common.message_id(params))
    return True


async def delete_messages(sim: Simulator, bot: BotRuntime, params: MethodParams) -> bool:
    """deleteMessages: deletes what exists; fails only if none of them could be deleted."""
    chat_id = common.chat_id(params)
    ids = params.json_value("message_ids", invalid=bad_request("can't parse message_ids"))
    if not isinstance(ids, list) or not ids:
        raise bad_request("message_ids is empty")
    deleted = 0
    for message_id in ids:
        try:
            await sim.outgoing.delete(bot.account, chat_id, int(message_id))
            deleted += 1
        except BotAPIError:
            continue
    if deleted == 0:
        raise bad_request("message to delete not found")
    return True


async def answer_callback_query(sim: Simulator, bot: BotRuntime, params: MethodParams) -> bool:
    await sim.outgoing.answer_callback(
        bot.account,
        params.text("callback_query_id"),
        text=params.text("text"),
        show_alert=params.boolean("show_alert"),
        url=params.text("url"),
    )
    return True


METHODS: dict[str, MethodHandler] = {
    "editMessageText": edit_message_text,
    "editMessageCaption": edit_message_caption,
    "editMessageReplyMarkup": edit_message_reply_markup,
    "deleteMessage": delete_message,
    "deleteMessages": delete_messages,
    "answerCallbackQuery": answer_callback_query,
}
