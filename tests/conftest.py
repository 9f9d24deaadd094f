"""Fixtures: a real, migrated database per test (SQLite and PostgreSQL), a clock, factories.

PostgreSQL is found through LIVECART_TEST_DATABASE_URL (default: the local server's `test`
database). Each test run creates its own database on that server so parallel runs don't meet;
tests skip with a reason when the server is absent, except under CI=true where they must run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from catalog.clock import FrozenClock
from catalog.db import Base, create_engine, create_sessionmaker
from catalog.migrate import upgrade_database

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _require(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this test must run)")
    pytest.skip(reason)


def _pg_base_url() -> str:
    url = os.environ.get("LIVECART_TEST_DATABASE_URL", DEFAULT_PG)
    if url.startswith(("postgres://", "postgresql://")):
        url = "postgresql+asyncpg://" + url.split("://", 1)[1]
    return url


async def _create_pg_database(base_url: str, name: str) -> str:
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


async def _drop_pg_database(base_url: str, name: str) -> None:
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade_database(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str | None]:
    """A migrated PostgreSQL database for this run, or None if the server can't be reached."""
    base = _pg_base_url()
    name = f"livecart_test_{uuid.uuid4().hex[:10]}"
    try:
        url = asyncio.run(_create_pg_database(base, name))
    except Exception as exc:  # the server is absent or refuses us
        yield None
        print(f"PostgreSQL unavailable at {base}: {exc}")
        return
    asyncio.run(_migrate(url))
    yield url
    asyncio.run(_drop_pg_database(base, name))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies (faster than migrating every time)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


async def _truncate_all(url: str) -> None:
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.begin() as conn:
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    """The URL of a clean, migrated database: every test using it runs on both backends."""
    if request.param == "sqlite":
        path = tmp_path / "livecart.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template: str | None = request.getfixturevalue("postgres_template")
    if template is None:
        _require(f"PostgreSQL is not reachable at {_pg_base_url()}")
        return
    asyncio.run(_truncate_all(template))
    yield template


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> str:
    """A clean PostgreSQL database for tests that are about PostgreSQL itself."""
    template: str | None = request.getfixturevalue("postgres_template")
    if template is None:
        _require(f"PostgreSQL is not reachable at {_pg_base_url()}")
        raise AssertionError("unreachable")
    asyncio.run(_truncate_all(template))
    return template


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture
async def session(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A reachable Redis (LIVECART_TEST_REDIS_URL), or skip (fail under CI=true)."""
    url = os.environ.get("LIVECART_TEST_REDIS_URL", DEFAULT_REDIS)

    async def ping() -> None:
        from redis.asyncio import Redis

        client = Redis.from_url(url)
        try:
            await client.ping()
        finally:
            await client.aclose()

    try:
        asyncio.run(ping())
    except Exception as exc:
        _require(f"Redis is not reachable at {url}: {exc}")
    return url
