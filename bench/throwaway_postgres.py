"""A PostgreSQL database made for one benchmark run and dropped after it.

The server is LIVECART_TEST_DATABASE_URL (default: the local one). Shared by the benchmarks.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.engine import make_url

from catalog.db import create_engine

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


async def run_on_throwaway_postgres(job: Callable[[str], Awaitable[list[str]]]) -> list[str]:
    """Run `job(url)` on a new database; a server that can't be reached skips with the reason."""
    base = os.environ.get("LIVECART_TEST_DATABASE_URL", DEFAULT_PG)
    if base.startswith(("postgres://", "postgresql://")):
        base = "postgresql+asyncpg://" + base.split("://", 1)[1]
    name = f"livecart_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        await admin.dispose()
        return [f"postgres   skipped: {exc.__class__.__name__}: {exc}"]
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        return await job(url)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
