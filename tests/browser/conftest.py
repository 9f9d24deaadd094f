"""Browser tests: headless Debian Chromium driven by Playwright, against a real `livecart demo`.

Chromium is found at LIVECART_TEST_CHROMIUM, /usr/bin/chromium or on PATH (`make test` installs
Debian's package when it can). Without it the tests skip with the reason, except under CI=true
where they must run. Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import _require
from tests.livecart.conftest import LivecartCli, Running, free_port

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

DEMO_API_TOKEN = "browser-test-token"
VIEWPORT = {"width": 1440, "height": 960}


def find_chromium() -> str | None:
    """The Chromium executable to drive, or None."""
    for candidate in (os.environ.get("LIVECART_TEST_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = find_chromium()
    if path is None:
        _require("Chromium is not installed (apt-get install chromium, or LIVECART_TEST_CHROMIUM)")
        raise AssertionError("unreachable")
    return path


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    """One headless Chromium per test module; each test gets its own context (cookies, storage).

    Module scope, not session: while Playwright's sync API is alive its event loop counts as
    running in this thread, and the async tests that follow (pytest-asyncio) could not start.
    Browser tests are plain (sync) functions.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page in a Korean-language browser context, 10 s default timeout."""
    context = browser.new_context(locale="ko-KR", viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@dataclass
class DemoServer:
    """`livecart demo` running as a real process on a free port with its own SQLite file."""

    base_url: str
    api_token: str
    cli: LivecartCli
    process: Running


def start_demo(home: Path, *, api_token: str = DEMO_API_TOKEN) -> tuple[DemoServer, LivecartCli]:
    """Start `livecart demo` in `home` and wait until it answers /healthz."""
    home.mkdir(parents=True, exist_ok=True)
    cli = LivecartCli(home=home, database=home / "livecart.db")
    port = free_port()
    running = cli.start("demo", "--port", str(port), LIVECART_API_TOKEN=api_token)
    base_url = f"http://127.0.0.1:{port}"
    running.wait_until_healthy(base_url)
    return DemoServer(base_url, api_token, cli, running), cli


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[DemoServer]:
    """A running demo (simulator at /sim, fake PortOne at /fake-portone); killed afterwards."""
    server, cli = start_demo(tmp_path / "demo")
    try:
        yield server
    finally:
        for running in cli.started:
            if running.process.poll() is None:
                running.process.terminate()
                try:
                    running.process.wait(timeout=10)
                except Exception:
                    running.process.kill()
                    running.process.wait(timeout=10)
