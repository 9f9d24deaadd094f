"""Bot API method parameters from any of the encodings Telegram accepts.

Telegram takes the query string, ``application/json``, ``x-www-form-urlencoded`` and
``multipart/form-data``. In the form encodings every value is a string and complex values are
JSON (aiogram sends everything as multipart), so each accessor converts by the parameter's type
in the Bot API, as Telegram does, rather than guessing from the value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.types import Message, Scope

from livecart.simulator.errors import BotAPIError, bad_request

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    content: bytes
    filename: str | None
    content_type: str | None


class MethodParams:
    """Typed access to one call's parameters, whatever encoding carried them."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    @classmethod
    async def from_request(cls, request: Request) -> MethodParams:
        """Read query string and body; a body that cannot be parsed is a 400, like Telegram."""
        values: dict[str, Any] = dict(request.query_params)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            if content_type == "application/json":
                body = await request.body()
                decoded = json.loads(body) if body.strip() else {}
                if not isinstance(decoded, dict):
                    raise bad_request("parameters must be a JSON object")
                values.update(decoded)
            elif content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
                async with request.form(max_files=100, max_fields=1000) as form:
                    for key, value in form.multi_items():
                        values[key] = await _read_form_value(value)
        except (ValueError, KeyError, MultiPartException) as error:
            raise bad_request(f"can't parse request body: {error}") from error
        except HTTPException as error:  # Starlette's wrapping of a MultiPartException
            raise bad_request(f"can't parse request body: {error.detail}") from error
        return cls(values)

    @classmethod
    async def from_body(cls, content_type: str, body: bytes) -> MethodParams:
        """Parse a body outside a request (a method call returned in a webhook reply)."""
        scope: Scope = {
            "type": "http",
            "method": "POST",
            "path": "/",
            "query_string": b"",
            "headers": [(b"content-type", content_type.encode("latin-1"))],
        }
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await cls.from_request(Request(scope, receive))

    def has(self, name: str) -> bool:
        return self._values.get(name) not in (None, "")

    def raw(self, name: str) -> Any:
        return self._values.get(name)

    def text(self, name: str) -> str | None:
        """A String parameter; JSON numbers are accepted and converted, as Telegram does."""
        value = self._values.get(name)
        if value is None or isinstance(value, UploadedFile):
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        return value if isinstance(value, str) else str(value)

    def integer(self, name: str, *, invalid: BotAPIError) -> int | None:
        """An Integer parameter; ``invalid`` is Telegram's answer to a non-integer."""
        value = self._values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise invalid
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            raise invalid from None

    def number(self, name: str) -> float | None:
        value = self._values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f'field "{name}" must be a Number') from None

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self._values.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        lowered = str(value).strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise bad_request(f'field "{name}" must be of type Boolean')

    def json_value(self, name: str, *, invalid: BotAPIError) -> Any:
        """A JSON-serialized parameter (reply_markup, entities, commands...)."""
        value = self._values.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise invalid from None

    def file(self, name: str) -> UploadedFile | str | None:
        """An InputFile: an upload under this name or via ``attach://<part>``, or a string."""
        value = self._values.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            value = self._values.get(value.removeprefix("attach://"))
            if not isinstance(value, UploadedFile):
                raise bad_request(f"can't find the attached file for {name!r}")
        if isinstance(value, UploadedFile):
            return value
        if value is None or value == "":
            return None
        return str(value)


async def _read_form_value(value: UploadFile | str) -> UploadedFile | str:
    if isinstance(value, str):
        return value
    return UploadedFile(await value.read(), value.filename, value.content_type)
