"""Migrations: they build exactly the schema the models describe, and they go down and up again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import catalog.models  # noqa: F401  (registers the tables on Base.metadata)
from catalog.db import Base, create_engine
from catalog.migrate import alembic_config, upgrade_database


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, Base.metadata))


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _downgrade(connection: Connection, url: str, revision: str) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def downgrade_database(engine: AsyncEngine, revision: str) -> None:
    """The mirror of catalog.migrate.upgrade_database (livecart itself never downgrades)."""
    async with engine.connect() as connection:
        await connection.run_sync(_downgrade, str(engine.url), revision)
        await connection.commit()


async def schema_differences(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as connection:
        return await connection.run_sync(_differences)


async def test_autogenerate_finds_nothing_the_migrations_missed(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        differences = await schema_differences(engine)
    finally:
        await engine.dispose()

    assert differences == []


async def test_the_schema_goes_down_to_nothing_and_back_up_to_head_on_sqlite(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'livecart.db'}"
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    engine = create_engine(url)
    try:
        await upgrade_database(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(_revision) == head
            assert set(Base.metadata.tables) <= await connection.run_sync(_tables)

        await downgrade_database(engine, "base")

        async with engine.connect() as connection:
            assert await connection.run_sync(_revision) is None
            assert await connection.run_sync(_tables) == {"alembic_version"}

        await upgrade_database(engine)

        async with engine.connect() as connection:
            assert await connection.run_sync(_revision) == head
        assert await schema_differences(engine) == []
    finally:
        await engine.dispose()
