"""A live feed of what happens in the simulator, for the demo page's Server-Sent Events.

Publishing never waits: a subscriber that falls behind loses its oldest events, so a stalled
browser tab can never slow the bot down.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from livecart.simulator.models import JSON

_SUBSCRIBER_BUFFER = 1000


class EventBus:
    """Fan-out of events to any number of subscribers."""

    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[JSON | None]] = set()
        self._ids = itertools.count(1)
        self._closed = False

    def publish(self, event_type: str, **payload: Any) -> None:
        event: JSON = {"id": next(self._ids), "type": event_type, "at": time.time(), **payload}
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[JSON | None]]:
        """A queue of events; ``None`` in it means the simulator is shutting down."""
        queue: asyncio.Queue[JSON | None] = asyncio.Queue(maxsize=_SUBSCRIBER_BUFFER)
        if self._closed:
            queue.put_nowait(None)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    def close(self) -> None:
        """End every subscription so streaming responses finish and the server can stop."""
        self._closed = True
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(None)
