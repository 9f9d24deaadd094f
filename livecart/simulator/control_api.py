"""The control API under ``/control``: how tests and the demo page act as users and look inside.

JSON in, JSON out, pydantic models at the edge (so a typo in a test's request is a 422, not a
silently ignored field). Errors are ``{"detail": "..."}`` with a 4xx status.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from livecart.simulator.control_views import bot_view, callback_view, message_view, user_view
from livecart.simulator.errors import ControlError
from livecart.simulator.limits import LimitSettings
from livecart.simulator.models import JSON
from livecart.simulator.state import Simulator

_KEEPALIVE_SECONDS = 15.0


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BotIn(_Body):
    token: str
    username: str
    first_name: str | None = None


class UserIn(_Body):
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str = "ko"
    id: int | None = None
    phone_number: str | None = None


class TextIn(_Body):
    text: str
    bot: str | None = None


class ContactIn(_Body):
    phone_number: str
    first_name: str | None = None
    last_name: str | None = None
    user_id: int | None = Field(default=None, description="whose contact; default the sender")
    bot: str | None = None


class PressIn(_Body):
    message_id: int
    data: str | None = None
    button_text: str | None = None
    forge: bool = Field(default=False, description="send data even if no such button exists")
    bot: str | None = None


class ReplyButtonIn(_Body):
    text: str
    bot: str | None = None


class BlockIn(_Body):
    blocked: bool = True
    deactivated: bool = False
    bot: str | None = None


class LimitsIn(_Body):
    enforce: bool
    per_bot_per_second: float | None = Field(default=None, gt=0)
    per_chat_per_second: float | None = Field(default=None, gt=0)
    per_chat_burst: int | None = Field(default=None, ge=1)


class RateLimitBurstIn(_Body):
    count: int = Field(ge=0)
    retry_after: int = Field(default=1, ge=1)


class ServerErrorsIn(_Body):
    count: int = Field(ge=0)
    status: int = Field(default=502, ge=500, le=599)
    methods: list[str] | None = None


class DelaysIn(_Body):
    count: int = Field(ge=0)
    seconds: float = Field(ge=0, le=120)
    methods: list[str] | None = None


class FaultsIn(_Body):
    rate_limit_burst: RateLimitBurstIn | None = None
    server_errors: ServerErrorsIn | None = None
    delays: DelaysIn | None = None


def build_control_router(sim: Simulator) -> APIRouter:
    """Routes bound to one simulator (no globals: each server has its own)."""
    router = APIRouter(prefix="/control", tags=["control"])

    @router.post("/bots")
    async def register_bot(body: BotIn) -> JSON:
        sim.register_bot(body.token, body.username, body.first_name)
        return bot_view(sim.bots.resolve(body.token))

    @router.get("/bots")
    async def list_bots() -> list[JSON]:
        return [bot_view(runtime) for runtime in sim.bots.all()]

    @router.post("/users")
    async def create_user(body: UserIn) -> JSON:
        user = sim.create_user(
            body.first_name,
            last_name=body.last_name,
            username=body.username,
            language_code=body.language_code,
            user_id=body.id,
            phone_number=body.phone_number,
        )
        return user_view(user)

    @router.get("/users")
    async def list_users() -> list[JSON]:
        return [user_view(user) for user in sim.users.all()]

    @router.get("/users/{user_id}")
    async def get_user(user_id: int) -> JSON:
        return user_view(sim.users.require(user_id))

    @router.post("/users/{user_id}/text")
    async def send_text(user_id: int, body: TextIn) -> JSON:
        result = await sim.incoming.send_text(sim.bots.resolve(body.bot), user_id, body.text)
        return result.to_json()

    @router.post("/users/{user_id}/contact")
    async def share_contact(user_id: int, body: ContactIn) -> JSON:
        result = await sim.incoming.share_contact(
            sim.bots.resolve(body.bot),
            user_id,
            body.phone_number,
            first_name=body.first_name,
            last_name=body.last_name,
            contact_user_id=body.user_id,
        )
        return result.to_json()

    @router.post("/users/{user_id}/press")
    async def press(user_id: int, body: PressIn) -> JSON:
        result = await sim.incoming.press(
            sim.bots.resolve(body.bot),
            user_id,
            body.message_id,
            data=body.data,
            button_text=body.button_text,
            forge=body.forge,
        )
        return result.to_json()

    @router.post("/users/{user_id}/reply_button")
    async def tap_reply_button(user_id: int, body: ReplyButtonIn) -> JSON:
        result = await sim.incoming.tap_reply_button(sim.bots.resolve(body.bot), user_id, body.text)
        return result.to_json()

    @router.post("/users/{user_id}/block")
    async def block(user_id: int, body: BlockIn) -> JSON:
        user = await sim.incoming.set_blocked(
            sim.bots.resolve(body.bot), user_id, blocked=body.blocked, deactivated=body.deactivated
        )
        return user_view(user)

    @router.get("/chats/{chat_id}/messages")
    async def chat_messages(chat_id: int, bot: str | None = None) -> list[JSON]:
        return [message_view(message) for message in sim.messages(chat_id, bot)]

    @router.get("/chats/{chat_id}/callbacks")
    async def chat_callbacks(chat_id: int, bot: str | None = None) -> list[JSON]:
        return [callback_view(record) for record in sim.callbacks(chat_id, bot)]

    @router.get("/callbacks/{callback_query_id}")
    async def get_callback(callback_query_id: str) -> JSON:
        record = sim.chats.callback(callback_query_id)
        if record is None:
            raise ControlError(404, f"no callback query {callback_query_id}")
        return callback_view(record)

    @router.get("/limits")
    async def get_limits() -> JSON:
        return sim.gate.settings.to_json()

    @router.put("/limits")
    async def set_limits(body: LimitsIn) -> JSON:
        current = sim.gate.settings
        settings = LimitSettings(
            enforce=body.enforce,
            per_bot_per_second=body.per_bot_per_second or current.per_bot_per_second,
            per_chat_per_second=body.per_chat_per_second or current.per_chat_per_second,
            per_chat_burst=body.per_chat_burst or current.per_chat_burst,
        )
        sim.set_limits(settings)
        return settings.to_json()

    @router.post("/faults")
    async def inject_faults(body: FaultsIn) -> JSON:
        if body.rate_limit_burst is not None:
            burst = body.rate_limit_burst
            sim.faults.plan_rate_limit_burst(burst.count, burst.retry_after)
        if body.server_errors is not None:
            errors = body.server_errors
            sim.faults.plan_server_errors(errors.count, errors.status, errors.methods)
        if body.delays is not None:
            delays = body.delays
            sim.faults.plan_delays(delays.count, delays.seconds, delays.methods)
        return sim.faults.to_json()

    @router.delete("/faults")
    async def clear_faults() -> JSON:
        sim.faults.clear()
        return sim.faults.to_json()

    @router.get("/stats")
    async def stats() -> JSON:
        return sim.stats()

    @router.get("/files/{file_id}")
    async def file_bytes(file_id: str) -> Response:
        stored = sim.files.get(file_id)
        if stored is None:
            raise ControlError(404, f"no file {file_id}")
        headers = {}
        if stored.file_name:
            headers["Content-Disposition"] = (
                f"inline; filename*=UTF-8''{quote(stored.file_name, safe='')}"
            )
        return Response(stored.content, media_type=stored.mime_type, headers=headers)

    @router.get("/events")
    async def events() -> StreamingResponse:
        """Server-Sent Events: every message sent/edited/deleted, press, answer, delivery."""
        return StreamingResponse(
            _event_stream(sim),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @router.post("/reset")
    async def reset(bot_settings: bool = False) -> JSON:
        """Clear users, chats, files, counters, faults; ``bot_settings`` also webhook/commands."""
        await sim.reset(bot_settings=bot_settings)
        return {"ok": True}

    return router


async def _event_stream(sim: Simulator) -> AsyncIterator[str]:
    async with sim.events.subscribe() as queue:
        yield ": connected\n\n"
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), _KEEPALIVE_SECONDS)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if event is None:
                return
            data = json.dumps(event, ensure_ascii=False)
            yield f"id: {event['id']}\nevent: {event['type']}\ndata: {data}\n\n"
