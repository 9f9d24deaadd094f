"""getMe and the bot's profile: commands, menu button, name and descriptions."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from livecart.simulator.bots import BotRuntime
from livecart.simulator.errors import bad_request
from livecart.simulator.methods import common
from livecart.simulator.models import JSON
from livecart.simulator.params import MethodParams
from livecart.simulator.telegram_json import get_me_json

if TYPE_CHECKING:
    from livecart.simulator.bot_api import MethodHandler
    from livecart.simulator.state import Simulator

_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
_MAX_COMMANDS = 100
_TEXT_LIMITS = {"name": 64, "description": 512, "short_description": 120}


async def get_me(sim: Simulator, bot: BotRuntime, params: MethodParams) -> JSON:
    return get_me_json(bot.account)


def _commands_key(params: MethodParams) -> str:
    """Commands are stored per (scope, language), as Telegram keeps them."""
    scope = params.json_value("scope", invalid=bad_request("can't parse scope JSON object"))
    scope = scope if isinstance(scope, dict) else {"type": "default"}
    return json.dumps([scope, params.text("language_code") or ""], sort_keys=True)


def _validated_commands(value: Any) -> list[JSON]:
    if not isinstance(value, list) or len(value) > _MAX_COMMANDS:
        raise bad_request("can't parse commands JSON object")
    commands: list[JSON] = []
    for item in value:
        if not isinstance(item, dict):
            raise bad_request("can't parse commands JSON object")
        command = str(item.get("command", "")).removeprefix("/")
        description = str(item.get("description", ""))
        if not _COMMAND_NAME.match(command):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(description) <= 256:
            raise bad_request("command description must be 1-256 characters")
        commands.append({"command": command, "description": description})
    return commands


async def set_my_commands(sim: Simulator, bot: BotRuntime, params: MethodParams) -> bool:
    value = params.json_value("commands", invalid=bad_request("can't parse commands JSON object"))
    bot.commands[_commands_key(params)] = _validated_commands(value)
    return True


async def get_my_commands(sim: Simulator, bot: BotRuntime, params: MethodParams) -> list[JSON]:
    return bot.commands.get(_commands_key(params), [])


async def delete_my_commands(sim: Simulator, bot: BotRuntime, params: MethodParams) -> bool:
    bot.commands.pop(_commands_key(params), None)
    return True


def _menu_chat(params: MethodParams) -> int | None:
    return common.chat_id(params) if params.has("chat_id") else None


async def set_chat_menu_button(sim: Simulator, bot: BotRuntime, params: MethodParams) -> bool:
    invalid = bad_request("can't parse menu button JSON object")
    button = params.json_value("menu_button", invalid=invalid) or {"type": "default"}
    if not isinstance(button, dict) or button.get("type") not in ("commands", "web_app", "default"):
        raise invalid
    bot.menu_buttons[_menu_chat(params)] = button
    return True


async def get_chat_menu_button(sim: Simulator, bot: BotRuntime, params: MethodParams) -> JSON:
    chat = _menu_chat(params)
    return bot.menu_buttons.get(chat) or bot.menu_buttons.get(None) or {"type": "default"}


def _text_setter(field: str) -> MethodHandler:
    async def set_text(sim: Simulator, bot: BotRuntime, params: MethodParams) -> bool:
        value = params.text(field) or ""
        if len(value) > _TEXT_LIMITS[field]:
            raise bad_request(f"bot {field.replace('_', ' ')} is too long")
        bot.texts[f"{field}:{params.text('language_code') or ''}"] = value
        return True

    return set_text


def _text_getter(field: str) -> MethodHandler:
    async def get_text(sim: Simulator, bot: BotRuntime, params: MethodParams) -> JSON:
        language = params.text("language_code") or ""
        value = bot.texts.get(f"{field}:{language}", bot.texts.get(f"{field}:", ""))
        if field == "name" and not value:
            value = bot.account.first_name
        return {field: value}

    return get_text


METHODS: dict[str, MethodHandler] = {
    "getMe": get_me,
    "setMyCommands": set_my_commands,
    "getMyCommands": get_my_commands,
    "deleteMyCommands": delete_my_commands,
    "setChatMenuButton": set_chat_menu_button,
    "getChatMenuButton": get_chat_menu_button,
    "setMyName": _text_setter("name"),
    "getMyName": _text_getter("name"),
    "setMyDescription": _text_setter("description"),
    "getMyDescription": _text_getter("description"),
    "setMyShortDescription": _text_setter("short_description"),
    "getMyShortDescription": _text_getter("short_description"),
}
