"""The shared pieces one livecart process runs on, built once by a factory and injected."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from catalog.clock import Clock, SystemClock
from catalog.db import create_engine, create_sessionmaker
from livecart.settings import Settings


@dataclass
class Services:
    """Settings, clock and database handles; passed to bot/ and webhook/ factories."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock = field(default_factory=SystemClock)

    async def close(self) -> None:
        await self.engine.dispose()


def build_services(settings: Settings, clock: Clock | None = None) -> Services:
    """Create the engine and session factory for these settings (nothing at import time)."""
    engine = create_engine(settings.database_url)
    return Services(
        settings=settings,
        engine=engine,
        sessionmaker=create_sessionmaker(engine),
        clock=clock or SystemClock(),
    )
