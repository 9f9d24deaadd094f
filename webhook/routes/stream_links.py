"""GET /s/{token}: count a tap on "watch the stream" and redirect to the stream."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import RedirectResponse

from catalog.stream_links import follow_stream_link
from webhook.deps import NowDep, SessionDep
from webhook.problems import PROBLEM_JSON, PROBLEM_SCHEMA

router = APIRouter(tags=["shows"])


@router.get(
    "/s/{token}",
    status_code=302,
    response_class=RedirectResponse,
    responses={
        404: {
            "description": "no such stream link",
            "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}},
        }
    },
)
async def follow(
    token: Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{8,32}$")],
    session: SessionDep,
    now: NowDep,
) -> RedirectResponse:
    """The tap is counted in the request's transaction, then the browser goes to the stream."""
    url = await follow_stream_link(session, token, now=now)
    return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})
