"""Create or migrate the database schema with Alembic (`livecart db upgrade`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at livecart's migrations, without an alembic.ini file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


async def upgrade_database(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to `revision` (default: the newest) over an existing async engine.

    On PostgreSQL an advisory lock makes several instances starting at once migrate one at a time.
    """
    async with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            await connection.exec_driver_sql("SELECT pg_advisory_lock(727274)")
        try:
            await connection.run_sync(_upgrade, str(engine.url), revision)
            await connection.commit()
        finally:
            if connection.dialect.name == "postgresql":
                await connection.exec_driver_sql("SELECT pg_advisory_unlock(727274)")
                await connection.commit()


def _upgrade(connection: object, url: str, revision: str) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def schema_is_current(engine: AsyncEngine) -> bool:
    """Whether the database is at the newest migration (PostgreSQL is not migrated implicitly)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(str(engine.url))).get_current_head()

    def current(connection: object) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()  # type: ignore[arg-type]

    async with engine.connect() as connection:
        revision = await connection.run_sync(current)
    return revision == head
