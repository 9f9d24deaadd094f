"""A bot's queue of unconfirmed updates, consumed by long polling or by webhook delivery.

Waiting is event-driven: every change (a new update, a confirmation, a mode switch) swaps in a
fresh ``asyncio.Event`` after setting the old one, so waiters wake at once and never spin.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass

from livecart.simulator.models import JSON


@dataclass(frozen=True)
class PendingUpdate:
    """An update with the chat it belongs to; updates of one chat are delivered in order."""

    update_id: int
    chat_key: int
    payload: JSON


class UpdateQueue:
    """Updates in ``update_id`` order until confirmed (getUpdates offset or webhook 2xx)."""

    def __init__(self, first_update_id: int = 1) -> None:
        self._ids = itertools.count(first_update_id)
        self._pending: list[PendingUpdate] = []
        self._changed = asyncio.Event()

    def push(self, chat_key: int, body: JSON) -> PendingUpdate:
        """Append an update; ``body`` is the update without its ``update_id``."""
        update_id = next(self._ids)
        update = PendingUpdate(update_id, chat_key, {"update_id": update_id, **body})
        self._pending.append(update)
        self.notify()
        return update

    def pending(self) -> list[PendingUpdate]:
        return list(self._pending)

    def confirm(self, offset: int) -> None:
        """getUpdates ``offset`` semantics, including a negative offset counting from the end."""
        if offset < 0:
            self._pending = self._pending[offset:]
        else:
            self._pending = [update for update in self._pending if update.update_id >= offset]
        self.notify()

    def remove(self, update_id: int) -> None:
        self._pending = [update for update in self._pending if update.update_id != update_id]
        self.notify()

    def clear(self) -> None:
        self._pending.clear()
        self.notify()

    def notify(self) -> None:
        """Wake every waiter; they re-check whatever they are waiting for."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for_change(self, within: float | None) -> None:
        """Return on the next change, or after ``within`` seconds (None: no limit)."""
        changed = self._changed
        try:
            await asyncio.wait_for(changed.wait(), within)
        except TimeoutError:
            return
