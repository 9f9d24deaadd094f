"""Operations wiring: the readiness checks /readyz runs, and the worker's small HTTP server
(/healthz, /readyz, /metrics) on LIVECART_WORKER_HTTP_PORT."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import uvicorn

from livecart.settings import Settings
from webhook.app import create_worker_app
from webhook.context import WebContext

REDIS_TIMEOUT_SECONDS = 2.0


def readiness_checks(settings: Settings) -> dict[str, Callable[[], Awaitable[None]]]:
    """Redis when LIVECART_REDIS_URL is set (FSM state and event isolation live there)."""
    checks: dict[str, Callable[[], Awaitable[None]]] = {}
    if settings.redis_url:
        url = settings.redis_url

        async def redis_answers() -> None:
            from redis.asyncio import Redis

            client = Redis.from_url(
                url,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
            )
            try:
                await client.ping()
            finally:
                await client.aclose()

        checks["redis"] = redis_answers
    return checks


async def serve_worker_http(
    web: WebContext, host: str, port: int, *, started: asyncio.Event | None = None
) -> None:
    """Serve the worker's /healthz, /readyz and /metrics until cancelled."""
    config = uvicorn.Config(
        create_worker_app(web), host=host, port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                await task  # the port is taken, say: raise it
                raise RuntimeError("the worker's HTTP server stopped during start-up")
            await asyncio.sleep(0.02)
        if started is not None:
            started.set()
        await task
    finally:
        server.should_exit = True
        await asyncio.gather(task, return_exceptions=True)
