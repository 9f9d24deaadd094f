"""Refusals the simulator gives, worded exactly as Telegram words them.

Bots classify Telegram errors by HTTP status and by the text of ``description`` (aiogram and
python-telegram-bot both do), so the wording here is part of the protocol, not decoration.
"""

from __future__ import annotations

from typing import Any


class BotAPIError(Exception):
    """A Bot API call that Telegram would refuse; the HTTP layer renders it as ``ok: false``."""

    def __init__(
        self, error_code: int, description: str, *, retry_after: int | None = None
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def to_json(self) -> dict[str, Any]:
        """The response body Telegram sends for this error (``parameters`` only when relevant)."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


class ControlError(Exception):
    """A control-API request the simulated world cannot carry out (no such user, no such button)."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


def bad_request(reason: str) -> BotAPIError:
    """400 with Telegram's ``Bad Request: ...`` prefix."""
    return BotAPIError(400, f"Bad Request: {reason}")


def forbidden(reason: str) -> BotAPIError:
    """403 with Telegram's ``Forbidden: ...`` prefix."""
    return BotAPIError(403, f"Forbidden: {reason}")


def conflict(reason: str) -> BotAPIError:
    """409 with Telegram's ``Conflict: ...`` prefix."""
    return BotAPIError(409, f"Conflict: {reason}")


def too_many_requests(retry_after: int) -> BotAPIError:
    """429 carrying ``parameters.retry_after`` in whole seconds, as Telegram sends it."""
    return BotAPIError(
        429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
    )


SERVER_ERROR_DESCRIPTIONS: dict[int, str] = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def server_error(status: int) -> BotAPIError:
    """A 5xx as Telegram's front end answers while it is unwell."""
    return BotAPIError(status, SERVER_ERROR_DESCRIPTIONS.get(status, "Internal Server Error"))


def unauthorized() -> BotAPIError:
    """A well-formed token that no registered bot owns."""
    return BotAPIError(401, "Unauthorized")


def not_found(reason: str | None = None) -> BotAPIError:
    """A malformed token, or a method Telegram does not know."""
    return BotAPIError(404, f"Not Found: {reason}" if reason else "Not Found")


# Descriptions that bots match on; kept together so tests and code agree on one spelling.
CHAT_NOT_FOUND = "chat not found"
BOT_BLOCKED = "bot was blocked by the user"
USER_DEACTIVATED = "user is deactivated"
MESSAGE_TEXT_EMPTY = "message text is empty"
MESSAGE_TOO_LONG = "message is too long"
CAPTION_TOO_LONG = "message caption is too long"
BUTTON_DATA_INVALID = "BUTTON_DATA_INVALID"
MESSAGE_TO_EDIT_NOT_FOUND = "message to edit not found"
MESSAGE_TO_DELETE_NOT_FOUND = "message to delete not found"
MESSAGE_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
MESSAGE_CANT_BE_EDITED = "message can't be edited"
NO_TEXT_TO_EDIT = "there is no text in the message to edit"
NO_CAPTION_TO_EDIT = "there is no caption in the message to edit"
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
WRONG_FILE_ID = "wrong file identifier/HTTP URL specified"
REPLY_MARKUP_JSON = "can't parse reply keyboard markup JSON object"
WEBHOOK_ACTIVE = (
    "can't use getUpdates method while webhook is active; use deleteWebhook to delete the "
    "webhook first"
)
POLLING_TERMINATED = (
    "terminated by other getUpdates request; make sure that only one bot instance is running"
)
