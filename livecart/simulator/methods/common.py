"""Parameter parsing shared by method handlers, with Telegram's error for each bad value."""

from __future__ import annotations

from typing import Any

from livecart.simulator.errors import CHAT_NOT_FOUND, REPLY_MARKUP_JSON, bad_request
from livecart.simulator.models import JSON
from livecart.simulator.params import MethodParams


def chat_id(params: MethodParams, name: str = "chat_id") -> int:
    """A private chat id; ``@username`` never names a private chat, so it is not found."""
    if not params.has(name):
        raise bad_request(f"{name} is empty")
    value = params.integer(name, invalid=bad_request(CHAT_NOT_FOUND))
    assert value is not None
    return value


def message_id(params: MethodParams) -> int | None:
    return params.integer("message_id", invalid=bad_request("message identifier is not specified"))


def reply_markup(params: MethodParams) -> Any:
    return params.json_value("reply_markup", invalid=bad_request(REPLY_MARKUP_JSON))


def entities(params: MethodParams, name: str = "entities") -> list[JSON] | None:
    value = params.json_value(name, invalid=bad_request(f"can't parse {name} JSON object"))
    if value is not None and not isinstance(value, list):
        raise bad_request(f'field "{name}" must be an Array')
    return value


def reply_to(params: MethodParams) -> tuple[int | None, bool]:
    """reply_parameters (current API) or reply_to_message_id (older clients)."""
    invalid = bad_request("can't parse reply parameters JSON object")
    parameters = params.json_value("reply_parameters", invalid=invalid)
    if isinstance(parameters, dict) and "message_id" in parameters:
        allow = bool(parameters.get("allow_sending_without_reply", False))
        return int(parameters["message_id"]), allow
    target = params.integer(
        "reply_to_message_id", invalid=bad_request("message to be replied not found")
    )
    return target, params.boolean("allow_sending_without_reply")


def inline_message_unsupported(params: MethodParams) -> None:
    """Inline-mode messages are outside what livecart uses; refuse clearly rather than pretend."""
    if params.has("inline_message_id") and not params.has("chat_id"):
        raise bad_request("inline messages are not supported by the simulator")
