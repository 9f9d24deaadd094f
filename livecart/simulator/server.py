"""Run the simulator (or any ASGI app) with uvicorn inside the current event loop.

Tests and ``livecart demo`` share one loop with the bot, so the server must start on a free port
without threads or subprocesses and stop without leaving tasks behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

from livecart.simulator.app import create_simulator_app
from livecart.simulator.client import SimulatorClient
from livecart.simulator.state import Simulator

_STARTUP_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class RunningServer:
    """Where a server started by ``serve_app`` listens."""

    host: str
    port: int

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


@dataclass(frozen=True)
class SimulatorServer:
    """A running simulator: point a bot at ``base_url`` and drive users with ``client()``."""

    simulator: Simulator
    host: str
    port: int

    @property
    def base_url(self) -> str:
        return RunningServer(self.host, self.port).base_url

    def client(self) -> SimulatorClient:
        """A control-API client for this server (close it, or use ``async with``)."""
        return SimulatorClient(self.base_url)


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without signal handling: the host process (pytest, the CLI) owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@contextlib.asynccontextmanager
async def serve_app(
    app: ASGIApp,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    before_shutdown: Callable[[], Awaitable[None]] | None = None,
) -> AsyncIterator[RunningServer]:
    """Serve ``app`` until the block exits; ``port=0`` picks a free port (read it back).

    ``before_shutdown`` runs first on exit, to end long-lived requests (long polls, event
    streams) that would otherwise hold uvicorn's graceful shutdown open.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio only sets TCP_NODELAY on such sockets, and without it every
    # response waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    bound_port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=3,
        # clients keep connections open (aiogram's session, httpx): with uvicorn's 5-second
        # default a request sent just as the server closes an idle connection is lost
        # ("Server disconnected without sending a response") on a busy machine
        timeout_keep_alive=75,
    )
    server = _EmbeddedServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name=f"uvicorn-{host}:{bound_port}")
    try:
        await _wait_started(server, task)
        yield RunningServer(host, bound_port)
    finally:
        try:
            if before_shutdown is not None:
                await before_shutdown()
        finally:
            server.should_exit = True
            await task
            sock.close()


async def _wait_started(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    """uvicorn offers no startup event; check its flag until it flips or serving fails."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _STARTUP_TIMEOUT_SECONDS
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn stopped before it started serving")
        if loop.time() > deadline:
            raise RuntimeError("uvicorn did not start in time")
        await asyncio.sleep(0.005)


@contextlib.asynccontextmanager
async def run_simulator(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    simulator: Simulator | None = None,
) -> AsyncIterator[SimulatorServer]:
    """Run a simulator over HTTP for the duration of the block, then close it (a simulator
    passed in is closed too: its webhook deliveries and long polls end with the server).

    >>> async with run_simulator() as sim_server:  # doctest: +SKIP
    ...     sim_server.simulator.register_bot("123:ABC", "shop_bot")
    ...     bot = Bot("123:ABC", session=AiohttpSession(
    ...         api=TelegramAPIServer.from_base(sim_server.base_url)))
    """
    sim = simulator or Simulator()
    app = create_simulator_app(sim)
    async with serve_app(app, host=host, port=port, before_shutdown=sim.aclose) as running:
        yield SimulatorServer(simulator=sim, host=running.host, port=running.port)
