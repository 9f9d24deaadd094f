"""Telling an outage (the database or Redis unreachable for a moment) from a real failure,
and riding one out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, InternalError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

log = logging.getLogger(__name__)

T = TypeVar("T")


def is_outage(exc: BaseException) -> bool:
    """The database or Redis could not be reached (restarting, connections cut, pool empty):
    the work may succeed if done again, unlike a bug or a refused request."""
    if isinstance(exc, DBAPIError):
        # asyncpg reports a connection killed mid-statement as an InternalError
        # ("cannot switch to state ...; another operation is in progress")
        return exc.connection_invalidated or isinstance(
            exc, OperationalError | InterfaceError | InternalError
        )
    return isinstance(
        exc, PoolTimeoutError | RedisConnectionError | RedisTimeoutError | ConnectionError
    )


async def retry_through_outage(
    work: Callable[[], Awaitable[T]], *, what: str, attempts: int = 10
) -> T:
    """Run `work` (idempotent: a whole transaction), again with backoff while the database
    is away (about half a minute in all); any other error, or a longer outage, goes up."""
    for attempt in range(attempts):
        try:
            return await work()
        except Exception as exc:
            if not is_outage(exc) or attempt == attempts - 1:
                raise
            delay = min(5.0, 0.2 * 2**attempt)
            log.warning("%s failed (%r); trying again in %.1f s", what, exc, delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")
