"""A client of the simulator's control API, for tests and the demo.

It speaks HTTP only (no shared objects), so it works the same against a simulator in the test's
own event loop, in another process, or behind the demo's web page.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import httpx

JSON = dict[str, Any]
MessagePredicate = Callable[[JSON], bool]

_POLL_INTERVAL_SECONDS = 0.02


class SimulatorClient:
    """Act as users and read chats through ``{base_url}/control``."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=f"{self.base_url}/control", timeout=timeout)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._http.request(method, path, **kwargs)
        if response.is_error:
            raise SimulatorControlError(response.status_code, _detail(response))
        return response.json()

    # Bots and users

    async def register_bot(self, token: str, username: str, first_name: str | None = None) -> JSON:
        body = {"token": token, "username": username, "first_name": first_name}
        result: JSON = await self._request("POST", "/bots", json=body)
        return result

    async def create_user(
        self,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str = "ko",
        user_id: int | None = None,
        phone_number: str | None = None,
    ) -> JSON:
        """A new user (``result["id"]`` is also their chat id)."""
        body = {
            "first_name": first_name,
            "last_name": last_name,
            "username": username,
            "language_code": language_code,
            "id": user_id,
            "phone_number": phone_number,
        }
        result: JSON = await self._request("POST", "/users", json=body)
        return result

    async def block(
        self,
        user_id: int,
        blocked: bool = True,
        *,
        deactivated: bool = False,
        bot: str | None = None,
    ) -> JSON:
        body = {"blocked": blocked, "deactivated": deactivated, "bot": bot}
        result: JSON = await self._request("POST", f"/users/{user_id}/block", json=body)
        return result

    # What users do

    async def send_text(self, user_id: int, text: str, *, bot: str | None = None) -> JSON:
        """The user types ``text``; returns ``{update_id, message_id}``."""
        body = {"text": text, "bot": bot}
        result: JSON = await self._request("POST", f"/users/{user_id}/text", json=body)
        return result

    async def share_contact(
        self,
        user_id: int,
        phone_number: str,
        *,
        first_name: str | None = None,
        contact_user_id: int | None = None,
        bot: str | None = None,
    ) -> JSON:
        """Share a contact: the user's own, or someone else's with ``contact_user_id``."""
        body = {
            "phone_number": phone_number,
            "first_name": first_name,
            "user_id": contact_user_id,
            "bot": bot,
        }
        result: JSON = await self._request("POST", f"/users/{user_id}/contact", json=body)
        return result

    async def press(
        self,
        user_id: int,
        message_id: int,
        *,
        data: str | None = None,
        button_text: str | None = None,
        forge: bool = False,
        bot: str | None = None,
    ) -> JSON:
        """Tap an inline button by its callback data or label; returns ``callback_query_id``."""
        body = {
            "message_id": message_id,
            "data": data,
            "button_text": button_text,
            "forge": forge,
            "bot": bot,
        }
        result: JSON = await self._request("POST", f"/users/{user_id}/press", json=body)
        return result

    async def tap_reply_button(self, user_id: int, text: str, *, bot: str | None = None) -> JSON:
        body = {"text": text, "bot": bot}
        result: JSON = await self._request("POST", f"/users/{user_id}/reply_button", json=body)
        return result

    # What happened

    async def messages(self, chat_id: int, *, bot: str | None = None) -> list[JSON]:
        """Every message of the chat in order, both directions, deleted ones flagged."""
        params = {"bot": bot} if bot else None
        result: list[JSON] = await self._request("GET", f"/chats/{chat_id}/messages", params=params)
        return result

    async def callbacks(self, chat_id: int, *, bot: str | None = None) -> list[JSON]:
        params = {"bot": bot} if bot else None
        result: list[JSON] = await self._request(
            "GET", f"/chats/{chat_id}/callbacks", params=params
        )
        return result

    async def callback_answer(self, callback_query_id: str) -> JSON:
        result: JSON = await self._request("GET", f"/callbacks/{callback_query_id}")
        return result

    async def stats(self) -> JSON:
        result: JSON = await self._request("GET", "/stats")
        return result

    async def file_bytes(self, file_id: str) -> bytes:
        response = await self._http.get(f"/files/{file_id}")
        if response.is_error:
            raise SimulatorControlError(response.status_code, _detail(response))
        return response.content

    # Simulator settings

    async def set_limits(
        self,
        *,
        enforce: bool = True,
        per_bot_per_second: float | None = None,
        per_chat_per_second: float | None = None,
        per_chat_burst: int | None = None,
    ) -> JSON:
        body = {
            "enforce": enforce,
            "per_bot_per_second": per_bot_per_second,
            "per_chat_per_second": per_chat_per_second,
            "per_chat_burst": per_chat_burst,
        }
        result: JSON = await self._request("PUT", "/limits", json=body)
        return result

    async def inject_faults(
        self,
        *,
        rate_limit_burst: int = 0,
        retry_after: int = 1,
        server_errors: int = 0,
        server_error_status: int = 502,
        server_error_methods: list[str] | None = None,
        delays: int = 0,
        delay_seconds: float = 0.0,
        delay_methods: list[str] | None = None,
    ) -> JSON:
        """The next sends get 429 (``rate_limit_burst`` of them) and/or the next Bot API calls
        get a 5xx (``server_errors`` of them, optionally only for ``server_error_methods``)
        and/or are carried out but answered ``delay_seconds`` late (``delays`` of them,
        optionally only for ``delay_methods``)."""
        body: JSON = {}
        if rate_limit_burst:
            body["rate_limit_burst"] = {"count": rate_limit_burst, "retry_after": retry_after}
        if server_errors:
            body["server_errors"] = {
                "count": server_errors,
                "status": server_error_status,
                "methods": server_error_methods,
            }
        if delays:
            body["delays"] = {"count": delays, "seconds": delay_seconds, "methods": delay_methods}
        result: JSON = await self._request("POST", "/faults", json=body)
        return result

    async def reset(self, *, bot_settings: bool = False) -> None:
        """Clear users, chats, files, counters and faults (and webhook/commands if asked)."""
        params = {"bot_settings": "true"} if bot_settings else None
        await self._request("POST", "/reset", params=params)

    # Waiting for the bot

    async def wait_for_messages(
        self,
        chat_id: int,
        *,
        count: int = 1,
        predicate: MessagePredicate | None = None,
        after: int = 0,
        timeout: float = 10.0,
        bot: str | None = None,
    ) -> list[JSON]:
        """Wait until the bot has sent ``count`` messages (matching ``predicate``, with
        ``message_id > after``) to the chat; return them, or fail listing what the chat holds.

        Pass ``after=<the user's message_id>`` to wait for answers to that message only.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            messages = await self.messages(chat_id, bot=bot)
            matching = [
                message
                for message in messages
                if message["from_bot"]
                and message["message_id"] > after
                and (predicate is None or predicate(message))
            ]
            if len(matching) >= count:
                return matching
            if loop.time() >= deadline:
                raise AssertionError(
                    f"expected {count} bot message(s) in chat {chat_id}"
                    f"{' matching the predicate' if predicate else ''}"
                    f"{f' after message {after}' if after else ''} within {timeout}s, "
                    f"found {len(matching)}; the chat contains:\n{describe_chat(messages)}"
                )
            await asyncio.sleep(_POLL_INTERVAL_SECONDS)

    async def wait_for_callback_answer(
        self,
        callback_query_id: str,
        *,
        timeout: float = 10.0,
    ) -> JSON:
        """Wait until the bot has answered this button press; return the answer."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            answer = await self.callback_answer(callback_query_id)
            if answer["answered"]:
                return answer
            if loop.time() >= deadline:
                raise AssertionError(
                    f"the bot did not answer callback query {callback_query_id} within {timeout}s"
                )
            await asyncio.sleep(_POLL_INTERVAL_SECONDS)


class SimulatorControlError(Exception):
    """The control API refused a request (unknown user, no such button...)."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(f"{status_code}: {detail}")
        self.status_code = status_code
        self.detail = detail


def describe_chat(messages: list[JSON]) -> str:
    """A readable transcript for assertion messages."""
    if not messages:
        return "  (no messages)"
    return "\n".join(_describe_message(message) for message in messages)


def _describe_message(message: JSON) -> str:
    who = "bot " if message["from_bot"] else "user"
    if message.get("text") is not None:
        body = repr(message["text"])
    elif message.get("photo_file_id"):
        body = f"[photo] {message.get('caption')!r}"
    elif message.get("document_file_id"):
        body = f"[document {message['document'].get('file_name')}] {message.get('caption')!r}"
    elif message.get("contact"):
        body = f"[contact {message['contact'].get('phone_number')}]"
    else:
        body = "[message]"
    markup = message.get("reply_markup") or {}
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    labels = [
        button if isinstance(button, str) else button.get("text") for row in rows for button in row
    ]
    buttons = f" buttons={labels}" if labels else ""
    flags = (" (deleted)" if message.get("deleted") else "") + (
        f" (edited x{message['edits']})" if message.get("edits") else ""
    )
    return f"  #{message['message_id']} {who}: {body}{buttons}{flags}"


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    return response.text
