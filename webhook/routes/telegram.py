"""POST /telegram/webhook: updates from Telegram, checked against the secret token."""

from __future__ import annotations

import hmac
import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from webhook.deps import ContextDep
from webhook.problems import problem

log = logging.getLogger(__name__)

router = APIRouter(tags=["telegram"])


@router.post("/telegram/webhook", include_in_schema=False)
async def telegram_webhook(
    request: Request,
    ctx: ContextDep,
    secret: Annotated[str | None, Header(alias="X-Telegram-Bot-Api-Secret-Token")] = None,
) -> JSONResponse:
    """Answer 2xx only once the update is handled: Telegram retries anything else."""
    expected = ctx.telegram_secret
    if ctx.telegram_handler is None or not expected:
        return problem(404, detail="the bot is not in webhook mode")
    if secret is None or not hmac.compare_digest(secret.encode(), expected.encode()):
        return problem(401, detail="wrong or missing X-Telegram-Bot-Api-Secret-Token")
    try:
        update: Any = json.loads(await request.body())
    except ValueError:
        return problem(400, detail="the body is not JSON")
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        return problem(400, detail="not a Telegram update")
    try:
        await ctx.telegram_handler(update)
    except Exception as exc:  # the database or Redis is away: nothing was kept of this update
        log.warning(
            "update %s not handled (%r); Telegram will deliver it again", update["update_id"], exc
        )
        return problem(503, detail="the update could not be handled now; deliver it again")
    return JSONResponse({"ok": True})
