"""Reply markup: Telegram's validation of keyboards, and finding the button a user taps.

The markup is stored exactly as the bot sent it; only validation is Telegram's. The 64-byte
``callback_data`` limit counts UTF-8 bytes, which is what bites Korean button payloads.
"""

from __future__ import annotations

from typing import Any

from livecart.simulator.errors import (
    BUTTON_DATA_INVALID,
    REPLY_MARKUP_JSON,
    ControlError,
    bad_request,
)
from livecart.simulator.models import JSON

MAX_CALLBACK_DATA_BYTES = 64
_INLINE_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


def validate_reply_markup(markup: Any) -> JSON | None:
    """Check a ``reply_markup`` value like Telegram; return it unchanged for storage."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request(REPLY_MARKUP_JSON)
    if "inline_keyboard" in markup:
        _validate_inline_keyboard(markup["inline_keyboard"])
    elif "keyboard" in markup:
        _validate_rows(markup["keyboard"], "keyboard")
    elif not ("remove_keyboard" in markup or "force_reply" in markup):
        raise bad_request(REPLY_MARKUP_JSON)
    return markup


def require_inline_markup(markup: JSON | None) -> None:
    """Edits may only carry inline keyboards (Telegram's rule for editMessage*)."""
    if markup is not None and "inline_keyboard" not in markup:
        raise bad_request("inline keyboard expected")


def is_inline(markup: JSON | None) -> bool:
    return markup is not None and "inline_keyboard" in markup


def _validate_rows(rows: Any, field: str) -> list[list[Any]]:
    if not isinstance(rows, list):
        raise bad_request(f'field "{field}" must be an Array')
    for row in rows:
        if not isinstance(row, list):
            raise bad_request(f'field "{field}" must be an Array of Arrays')
    return rows


def _validate_inline_keyboard(rows: Any) -> None:
    for row in _validate_rows(rows, "inline_keyboard"):
        for button in row:
            _validate_inline_button(button)


def _validate_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request(
            'can\'t parse inline keyboard button: Field "text" must be of type String'
        )
    if not any(action in button for action in _INLINE_ACTIONS):
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        size = len(data.encode("utf-8")) if isinstance(data, str) else 0
        if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
            raise bad_request(BUTTON_DATA_INVALID)
    if "url" in button and not (isinstance(button["url"], str) and button["url"]):
        raise bad_request("BUTTON_URL_INVALID")


def inline_buttons(markup: JSON | None) -> list[JSON]:
    """All inline buttons of a message, row by row."""
    if not is_inline(markup):
        return []
    assert markup is not None
    return [button for row in markup["inline_keyboard"] for button in row]


def find_inline_button(markup: JSON | None, *, data: str | None, text: str | None) -> JSON:
    """The callback button a user presses, by its data or by its label."""
    for button in inline_buttons(markup):
        if data is not None and button.get("callback_data") == data:
            return button
        if data is None and button.get("text") == text:
            if "callback_data" not in button:
                raise ControlError(400, f"button {text!r} sends no callback query")
            return button
    labels = [button.get("text") for button in inline_buttons(markup)]
    wanted = f"data {data!r}" if data is not None else f"text {text!r}"
    raise ControlError(400, f"no inline button with {wanted} on this message; buttons: {labels}")


def find_reply_button(markup: JSON | None, text: str) -> JSON:
    """The reply-keyboard button with this label (plain-string buttons become ``{text}``)."""
    rows = markup.get("keyboard", []) if markup else []
    labels: list[str] = []
    for row in rows:
        for button in row:
            normalized: JSON = {"text": button} if isinstance(button, str) else button
            if normalized.get("text") == text:
                return normalized
            labels.append(str(normalized.get("text")))
    raise ControlError(400, f"no reply keyboard button {text!r} is shown; buttons: {labels}")
