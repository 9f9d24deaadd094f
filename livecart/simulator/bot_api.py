"""The Bot API endpoint's logic, independent of HTTP: authenticate, fail on purpose, dispatch.

``BotApi.call`` answers every request with a Telegram-shaped body and status; the HTTP layer only
copies them onto the wire. Webhook replies that carry a method call go through the same path.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from livecart.simulator.bots import TOKEN_PATTERN, BotRuntime
from livecart.simulator.errors import BotAPIError, not_found, unauthorized
from livecart.simulator.models import JSON
from livecart.simulator.params import MethodParams

if TYPE_CHECKING:
    from livecart.simulator.state import Simulator

MethodHandler = Callable[["Simulator", BotRuntime, MethodParams], Awaitable[Any]]


@dataclass(frozen=True)
class Described:
    """A result that Telegram sends with a ``description`` (setWebhook's "Webhook was set")."""

    result: Any
    description: str


@dataclass(frozen=True)
class ApiReply:
    """Status code and JSON body of one Bot API answer."""

    status_code: int
    body: JSON


class BotApi:
    """Routes ``/bot<token>/<method>`` calls to method handlers (names are case-insensitive)."""

    def __init__(self, simulator: Simulator, methods: Mapping[str, MethodHandler]) -> None:
        self._simulator = simulator
        self._methods = {name.lower(): handler for name, handler in methods.items()}
        self.calls_by_method: Counter[str] = Counter()

    async def call(
        self, token: str, method: str, load_params: Callable[[], Awaitable[MethodParams]]
    ) -> ApiReply:
        try:
            runtime = self._authenticate(token)
            handler = self._methods.get(method.lower())
            if handler is None:
                raise not_found("method not found")
            self.calls_by_method[method] += 1
            injected = self._simulator.faults.next_server_error(method)
            if injected is not None:
                raise injected
            delay = self._simulator.faults.next_delay(method)
            try:
                result = await handler(self._simulator, runtime, await load_params())
            finally:
                if delay:  # carried out (or refused) now, answered late: a slow Telegram
                    await asyncio.sleep(delay)
        except BotAPIError as error:
            return ApiReply(error.error_code, error.to_json())
        if isinstance(result, Described):
            return ApiReply(
                200, {"ok": True, "result": result.result, "description": result.description}
            )
        return ApiReply(200, {"ok": True, "result": result})

    async def execute_webhook_reply(self, runtime: BotRuntime, response: httpx.Response) -> None:
        """Run the method a webhook receiver returned in its 2xx answer, as Telegram does."""
        content_type = response.headers.get("content-type", "")
        params = await MethodParams.from_body(content_type, response.content)
        method = params.text("method")
        if not method:
            return
        reply = await self.call(runtime.account.token, method, _returning(params))
        if reply.status_code != 200:
            raise BotAPIError(reply.status_code, str(reply.body.get("description")))

    def _authenticate(self, token: str) -> BotRuntime:
        if TOKEN_PATTERN.match(token) is None:
            raise not_found()
        runtime = self._simulator.bots.by_token(token)
        if runtime is None:
            raise unauthorized()
        return runtime


def _returning(params: MethodParams) -> Callable[[], Awaitable[MethodParams]]:
    async def load() -> MethodParams:
        return params

    return load
