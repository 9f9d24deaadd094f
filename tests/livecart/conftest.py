"""The `livecart` command as a real process, in its own directory with its own SQLite file."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

COMMAND_TIMEOUT = 60.0
START_TIMEOUT = 90.0  # a cold start on a loaded 2-CPU machine has taken over 20 s (imports)

# Terminal settings would change how Rich lays out the output we read; a pipe has none.
_TERMINAL_VARIABLES = {"COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"}


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass
class Running:
    """A `livecart` process started in the background; its output goes to files."""

    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def wait_until_healthy(self, base_url: str, timeout: float = START_TIMEOUT) -> httpx.Response:
        """Poll GET /healthz until it answers; fail with the process's output if it never does."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"livecart exited with {self.process.returncode} during start-up:\n"
                    f"{self.stdout}\n{self.stderr}"
                )
            try:
                return httpx.get(f"{base_url}/healthz", timeout=1.0)
            except httpx.TransportError:
                time.sleep(0.1)
        pytest.fail(f"livecart did not answer /healthz within {timeout} s:\n{self.stderr}")

    def interrupt(self, timeout: float) -> tuple[int | None, float]:
        """Ctrl-C: send SIGINT, wait up to `timeout`; the exit code (None if still running)."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, time.monotonic() - started
        return self.process.returncode, time.monotonic() - started


@dataclass
class LivecartCli:
    """Runs `python -m livecart.cli ...` in `home`, with LIVECART_DATABASE_URL set to `database`."""

    home: Path
    database: Path
    env: dict[str, str] = field(default_factory=dict)
    started: list[Running] = field(default_factory=list)

    def environment(self, **extra: str) -> dict[str, str]:
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.upper().startswith("LIVECART_") and name not in _TERMINAL_VARIABLES
        }
        env["LIVECART_DATABASE_URL"] = f"sqlite+aiosqlite:///{self.database}"
        env.update(self.env)
        env.update(extra)
        return env

    def __call__(
        self, *args: str, stdin: str | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "livecart.cli", *args],
            cwd=self.home,
            env=self.environment(**env),
            capture_output=True,
            text=True,
            input=stdin,
            encoding="utf-8",
            timeout=COMMAND_TIMEOUT,
            check=False,
        )

    def start(self, *args: str, **env: str) -> Running:
        name = f"{args[0]}-{len(self.started)}"
        stdout_path, stderr_path = self.home / f"{name}.out", self.home / f"{name}.err"
        with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "livecart.cli", *args],
                cwd=self.home,
                env=self.environment(**env),
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
            )
        running = Running(process, stdout_path, stderr_path)
        self.started.append(running)
        return running

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Read the SQLite file directly, as an outside tool would."""
        with closing(sqlite3.connect(self.database)) as connection:
            return connection.execute(sql, params).fetchall()


@pytest.fixture
def livecart_cli(tmp_path: Path) -> Iterator[LivecartCli]:
    """The command with a fresh working directory and database; stray processes are killed."""
    home = tmp_path / "home"
    home.mkdir()
    cli = LivecartCli(home=home, database=tmp_path / "livecart.db")
    try:
        yield cli
    finally:
        for running in cli.started:
            if running.process.poll() is None:
                running.process.kill()
                running.process.wait(timeout=10)
