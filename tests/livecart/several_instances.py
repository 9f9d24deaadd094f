"""Two `livecart run` processes in webhook mode and a `livecart worker`, on one PostgreSQL and
one Redis, with the simulator delivering updates through a small round-robin proxy that also
delivers some updates twice (to both instances at once), as Telegram's retries can.

Used by the several-instances tests and by bench/flash_sale_bot.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from aiohttp import web
from sqlalchemy import update

from catalog.db import create_engine, create_sessionmaker
from catalog.models import Product
from livecart.demo import seed_demo_market
from livecart.simulator import SimulatorClient, SimulatorServer, run_simulator
from livecart.simulator.client import JSON
from livecart.simulator.webhook import SECRET_HEADER
from tests.livecart.conftest import free_port

TOKEN = "4242424242:livecart-instances-token"
WEBHOOK_SECRET = "several-instances-secret"
START_TIMEOUT = 120.0
ANSWER_TIMEOUT = 90.0  # a loaded 2-CPU machine, two instances and a worker


@dataclass
class RoundRobinProxy:
    """The load balancer in front of the instances: each delivery goes to the next one; every
    `duplicate_every`-th new update is also delivered to another instance at the same time."""

    targets: list[str]
    duplicate_every: int = 10
    deliveries: int = 0
    duplicated: set[int] = field(default_factory=set)
    attempts: Counter[int] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    answered: set[int] = field(default_factory=set)  # updates some instance answered 2xx
    _turn: itertools.count[int] = field(default_factory=itertools.count)
    _http: httpx.AsyncClient | None = None

    def reset(self, duplicate_every: int) -> None:
        """Count from zero (another test starts on the same cluster)."""
        self.duplicate_every = duplicate_every
        self.deliveries = 0
        self.duplicated.clear()
        self.attempts.clear()
        self.statuses.clear()
        self.answered.clear()

    async def handle(self, request: web.Request) -> web.Response:
        assert self._http is not None
        body = await request.read()
        update_id = int(json.loads(body)["update_id"])
        first_time = update_id not in self.attempts
        self.attempts[update_id] += 1
        turn = next(self._turn)
        headers = {
            "Content-Type": "application/json",
            SECRET_HEADER: request.headers.get(SECRET_HEADER, ""),
        }
        chosen = [self.targets[turn % len(self.targets)]]
        if (
            self.duplicate_every
            and first_time
            and len(self.attempts) % self.duplicate_every == 0
            and len(self.targets) > 1
        ):
            self.duplicated.add(update_id)
            chosen.append(self.targets[(turn + 1) % len(self.targets)])

        async def post(target: str) -> int:
            try:
                response = await self._http.post(  # type: ignore[union-attr]
                    f"{target}/telegram/webhook", content=body, headers=headers, timeout=30
                )
            except httpx.HTTPError:
                return 502
            return response.status_code

        statuses = await asyncio.gather(*(post(target) for target in chosen))
        self.deliveries += len(chosen)
        for status in statuses:
            self.statuses[status] += 1
        if statuses[0] < 300:
            self.answered.add(update_id)
        return web.json_response({"ok": statuses[0] < 300}, status=statuses[0])

    @contextlib.asynccontextmanager
    async def serving(self, port: int) -> AsyncIterator[str]:
        app = web.Application()
        app.router.add_post("/telegram/webhook", self.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port)
        self._http = httpx.AsyncClient(limits=httpx.Limits(max_connections=200))
        await site.start()
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            await runner.cleanup()
            await self._http.aclose()


@dataclass
class Cluster:
    sim: SimulatorServer
    client: SimulatorClient
    proxy: RoundRobinProxy
    processes: list[subprocess.Popen[bytes]]
    logs: list[Path]
    instance_urls: list[str]

    def output(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}" for log in self.logs
        )


async def seed(database_url: str, *, stock: int) -> None:
    """The demo market, with `stock` of every product (a flash sale's pile)."""
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            from datetime import UTC, datetime

            await seed_demo_market(session, now=datetime.now(UTC))
            await session.execute(update(Product).values(available=stock))
            await session.commit()
    finally:
        await engine.dispose()


def _environment(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("LIVECART_")}
    env.update({f"LIVECART_{k.upper()}": v for k, v in values.items()})
    return env


async def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                output = log.read_text()  # noqa: ASYNC240
                raise AssertionError(f"an instance exited during start-up:\n{output}")
            with contextlib.suppress(httpx.TransportError):
                await http.get(f"{url}/healthz", timeout=1.0)
                return
            await asyncio.sleep(0.2)
    output = log.read_text()  # noqa: ASYNC240
    raise AssertionError(f"an instance did not start:\n{output}")


@contextlib.asynccontextmanager
async def running_cluster(
    database_url: str,
    redis_url: str,
    workdir: Path,
    *,
    instances: int = 2,
    duplicate_every: int = 10,
) -> AsyncIterator[Cluster]:
    """Start the simulator, the proxy, `instances` × `livecart run` and one `livecart worker`;
    yield when Telegram's webhook points at the proxy and every instance answers."""
    ports = [free_port() for _ in range(instances)]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    proxy = RoundRobinProxy(urls, duplicate_every=duplicate_every)
    prefix = f"livecart-test-{uuid.uuid4().hex[:8]}"
    async with run_simulator() as sim, proxy.serving(free_port()) as proxy_url:
        sim.simulator.register_bot(TOKEN, "livecart_cluster_bot", "livecart")
        common = {
            "bot_token": TOKEN,
            "telegram_api_url": sim.base_url,
            "database_url": database_url,
            "redis_url": redis_url,
            "redis_key_prefix": prefix,
            "webhook_base_url": proxy_url,
            "webhook_secret": WEBHOOK_SECRET,
        }
        processes: list[subprocess.Popen[bytes]] = []
        logs: list[Path] = []

        def start(command: str, name: str, **extra: str) -> subprocess.Popen[bytes]:
            log = workdir / f"{name}.log"
            logs.append(log)
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [sys.executable, "-m", "livecart.cli", command],
                    cwd=workdir,
                    env=_environment(**common, **extra),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            processes.append(process)
            return process

        try:
            runs = [start("run", f"run-{i}", http_port=str(port)) for i, port in enumerate(ports)]
            start("worker", "worker")
            for url, process, log in zip(urls, runs, logs, strict=False):
                await _wait_healthy(url, process, log)
            async with sim.client() as client:
                # every instance set the webhook (the same URL): wait until one did
                deadline = time.monotonic() + START_TIMEOUT
                while sim.simulator.bots.by_token(TOKEN).webhook is None:  # type: ignore[union-attr]
                    assert time.monotonic() < deadline, "no instance set the webhook"
                    await asyncio.sleep(0.1)
                yield Cluster(sim, client, proxy, processes, logs, urls)
        finally:
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)


def text_of(message: JSON) -> str:
    return str(message.get("text") or message.get("caption") or "")


async def bot_messages(client: SimulatorClient, user: int) -> list[JSON]:
    return [m for m in await client.messages(user) if m["from_bot"] and not m.get("deleted")]


async def tap(client: SimulatorClient, user: int, label: str) -> None:
    """Press the newest button labelled `label`; wait until the bot answered the press."""
    for message in reversed(await bot_messages(client, user)):
        rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        for button in (b for row in rows for b in row):
            if label in button["text"]:
                pressed = await client.press(
                    user, message["message_id"], data=button["callback_data"]
                )
                await client.wait_for_callback_answer(
                    pressed["callback_query_id"], timeout=ANSWER_TIMEOUT
                )
                return
    raise AssertionError(f"no button {label!r} in chat {user}")


async def say(client: SimulatorClient, user: int, words: str, expect: int = 1) -> None:
    sent = await client.send_text(user, words)
    await client.wait_for_messages(
        user, count=expect, after=sent["message_id"], timeout=ANSWER_TIMEOUT
    )
