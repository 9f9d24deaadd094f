"""Operations surface: /readyz names the failed dependency (Redis down) and is ready with a real
Redis; /metrics can want a bearer token; `livecart worker` serves its own /metrics; the deploy
files parse (compose YAML, systemd units)."""

from __future__ import annotations

import asyncio
import configparser
import contextlib
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import yaml

from livecart.runtime import Runtime, build_runtime, serve_worker
from livecart.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "4242424242:livecart-ops-token"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def _app(
    sqlite_template: Path, tmp_path: Path, **overrides: object
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    path = tmp_path / "livecart.db"
    shutil.copy(sqlite_template, path)
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{path}", **overrides)
    runtime = await build_runtime(settings)
    transport = httpx.ASGITransport(app=runtime.app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://livecart") as client:
            yield runtime, client
    finally:
        await runtime.services.close()


async def test_readyz_says_redis_failed_when_it_is_down_and_ok_with_a_real_redis(
    sqlite_template: Path, tmp_path: Path, redis_url: str
) -> None:
    closed = f"redis://127.0.0.1:{_free_port()}/0"
    async with _app(sqlite_template, tmp_path, redis_url=closed) as (_runtime, client):
        answer = await client.get("/readyz")
        assert answer.status_code == 503
        body = answer.json()
        assert body["detail"] == "not ready: redis"
        assert body["checks"]["database"] == "ok"
        assert body["checks"]["redis"].startswith("failed: ")
        assert (await client.get("/healthz")).status_code == 200  # alive, just not ready
    async with _app(sqlite_template, tmp_path, redis_url=redis_url) as (_runtime, client):
        assert (await client.get("/readyz")).status_code == 200


async def test_metrics_want_the_bearer_token_when_one_is_set(
    sqlite_template: Path, tmp_path: Path
) -> None:
    async with _app(sqlite_template, tmp_path, metrics_token="scrape-me-please") as (_, client):
        refused = await client.get("/metrics")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert (await client.get("/no/such/page/42")).status_code == 404
        ok = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me-please"})
        assert ok.status_code == 200
        assert 'livecart_orders{status="paid"} 0.0' in ok.text
        # a path that matched nothing is one series, never one per raw path
        assert 'route="unmatched",status="404"' in ok.text
        assert "/no/such/page/42" not in ok.text


async def test_the_worker_serves_its_own_metrics_and_health(
    sqlite_template: Path, tmp_path: Path
) -> None:
    port = _free_port()
    path = tmp_path / "worker.db"
    shutil.copy(sqlite_template, path)
    settings = load_settings(
        database_url=f"sqlite+aiosqlite:///{path}",
        bot_token=TOKEN,
        telegram_api_url=f"http://127.0.0.1:{_free_port()}",  # never asked: nothing to send
        worker_http_port=port,
    )
    runtime = await build_runtime(settings)
    task = asyncio.create_task(serve_worker(runtime, handle_signals=False))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            for _ in range(200):
                with contextlib.suppress(httpx.ConnectError):
                    if (await client.get("/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.05)
            assert (await client.get("/readyz")).status_code == 200
            metrics = await client.get("/metrics")
            assert metrics.status_code == 200
            assert 'livecart_outbox_unsent{lane="bulk"} 0.0' in metrics.text
            assert "livecart_outbox_sends_total" in metrics.text
            assert (await client.get("/api/v1/shops")).status_code == 404  # no API here
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def test_the_deploy_files_parse() -> None:
    compose = yaml.safe_load((ROOT / "docs/deploy/docker-compose.yml").read_text())
    assert {"postgres", "redis", "migrate", "livecart", "worker"} <= compose["services"].keys()
    for unit in ("livecart.service", "livecart@.service", "livecart-worker.service"):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read_string((ROOT / "docs/deploy" / unit).read_text())
        assert {"Unit", "Service", "Install"} <= set(parser.sections()), unit
        assert parser["Service"]["ExecStart"].split()[1] in ("run", "worker"), unit
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "requirements.lock" in dockerfile
