"""GET /healthz (liveness) and GET /readyz (database and other dependencies)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from webhook.deps import ContextDep
from webhook.problems import problem
from webhook.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is alive."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses={503: {"description": "not ready"}})
async def readyz(ctx: ContextDep) -> Health | JSONResponse:
    """The database (and Redis, when configured) answer."""
    try:
        async with ctx.sessionmaker() as session:
            await session.execute(text("SELECT 1"))
        for check in ctx.readiness_checks:
            await check()
    except Exception as exc:
        return problem(503, detail=f"not ready: {type(exc).__name__}")
    return Health(status="ok")
