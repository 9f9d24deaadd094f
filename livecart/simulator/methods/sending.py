"""sendMessage, sendPhoto, sendDocument, copyMessage and sendChatAction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from livecart.simulator.bots import BotRuntime
from livecart.simulator.errors import bad_request
from livecart.simulator.methods import common
from livecart.simulator.models import JSON
from livecart.simulator.params import MethodParams

if TYPE_CHECKING:
    from livecart.simulator.bot_api import MethodHandler
    from livecart.simulator.state import Simulator


async def send_message(sim: Simulator, bot: BotRuntime, params: MethodParams) -> JSON:
    chat_id = common.chat_id(params)
    reply_to, allow_missing = common.reply_to(params)
    message = await sim.outgoing.send_message(
        bot.account,
        chat_id,
        params.text("text"),
        parse_mode=params.text("parse_mode"),
        entities=common.entities(params),
        reply_markup=common.reply_markup(params),
        reply_to_message_id=reply_to,
        allow_sending_without_reply=allow_missing,
    )
    return sim.message_json(message)


def _media_options(params: MethodParams) -> dict[str, Any]:
    reply_to, allow_missing = common.reply_to(params)
    return {
        "caption": params.text("caption"),
        "parse_mode": params.text("parse_mode"),
        "caption_entities": common.entities(params, "caption_entities"),
        "reply_markup": common.reply_markup(params),
        "reply_to_message_id": reply_to,
        "allow_sending_without_reply": allow_missing,
    }


async def send_photo(sim: Simulator, bot: BotRuntime, params: MethodParams) -> JSON:
    chat_id = common.chat_id(params)
    message = await sim.outgoing.send_photo(
        bot.account, chat_id, params.file("photo"), **_media_options(params)
    )
    return sim.message_json(message)


async def send_document(sim: Simulator, bot: BotRuntime, params: MethodParams) -> JSON:
    chat_id = common.chat_id(params)
    message = await sim.outgoing.send_document(
        bot.account, chat_id, params.file("document"), **_media_options(params)
    )
    return sim.message_json(message)


async def copy_message(sim: Simulator, bot: BotRuntime, params: MethodParams) -> JSON:
    message_id = common.message_id(params)
    if message_id is None:
        raise bad_request("message identifier is not specified")
    message = await sim.outgoing.copy_message(
        bot.account,
        common.chat_id(params),
        common.chat_id(params, "from_chat_id"),
        message_id,
        reply_markup=common.reply_markup(params),
    )
    return {"message_id": message.message_id}


async def send_chat_action(sim: Simulator, bot: BotRuntime, params: MethodParams) -> bool:
    await sim.outgoing.chat_action(bot.account, common.chat_id(params), params.text("action"))
    return True


METHODS: dict[str, MethodHandler] = {
    "sendMessage": send_message,
    "sendPhoto": send_photo,
    "sendDocument": send_document,
    "copyMessage": copy_message,
    "sendChatAction": send_chat_action,
}
