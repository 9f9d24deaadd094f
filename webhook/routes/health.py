"""GET /healthz (liveness) and GET /readyz (database and other dependencies)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from webhook.context import WebContext
from webhook.deps import ContextDep
from webhook.problems import problem
from webhook.schemas import Health

router = APIRouter(tags=["health"])

CHECK_TIMEOUT_SECONDS = 3.0


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is alive."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses={503: {"description": "not ready"}})
async def readyz(ctx: ContextDep) -> Health | JSONResponse:
    """The database (and Redis, when configured) answer; 503 names every check that failed."""
    checks = {"database": lambda: _database(ctx), **ctx.readiness_checks}
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            await asyncio.wait_for(check(), CHECK_TIMEOUT_SECONDS)
            results[name] = "ok"
        except Exception as exc:
            results[name] = f"failed: {type(exc).__name__}"
    failed = [name for name, result in results.items() if result != "ok"]
    if failed:
        return problem(503, detail=f"not ready: {', '.join(failed)}", checks=results)
    return Health(status="ok")


async def _database(ctx: WebContext) -> None:
    async with ctx.sessionmaker() as session:
        await session.execute(text("SELECT 1"))
