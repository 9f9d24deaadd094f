"""Engine and session factories; SQLite is made safe for concurrent writers here."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Integer, MetaData, event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Telegram ids need 64 bits; SQLite only autoincrements a plain INTEGER primary key.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create an async engine; on SQLite every transaction takes the write lock up front.

    SQLite's deferred transactions fail with "database is locked" when two readers both try
    to upgrade to writers; BEGIN IMMEDIATE plus a busy timeout makes concurrent writers queue.
    """
    if url.startswith("sqlite"):
        connect_args = kwargs.pop("connect_args", {})
        connect_args.setdefault("timeout", 60)
        if ":memory:" not in url:
            # SQLite has one writer at a time: queue for one connection in the pool (first come,
            # first served) rather than let many connections spin in SQLite's busy handler
            kwargs.setdefault("pool_size", 1)
            kwargs.setdefault("max_overflow", 0)
            kwargs.setdefault("pool_timeout", 120)
        engine = create_async_engine(url, connect_args=connect_args, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=60000")
            if ":memory:" not in url:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_async_engine(url, **kwargs)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit (the edge renders after commit)."""
    return async_sessionmaker(engine, expire_on_commit=False)


def is_postgres(session: AsyncSession) -> bool:
    """True when the session is bound to PostgreSQL (enables SKIP LOCKED and friends)."""
    bind = session.get_bind()
    return bind.dialect.name == "postgresql"
