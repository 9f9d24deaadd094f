"""FSM state that follows the update's database transaction.

aiogram writes FSM state (Redis, or memory) the moment a handler sets it; the update's database
transaction commits later. If that commit fails (the database restarting, a connection cut),
the update is rolled back and delivered again, but the state would already say "done": the
retry then takes the wrong turn (a checkout that thinks it is past the phone step, an order
confirmed in Redis but not in the database). Here a handler's state writes are kept aside for
the update and written only after its transaction commits; a rolled-back update leaves the
state as it found it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey

log = logging.getLogger(__name__)

_UNSET = object()


@dataclass
class _Pending:
    state: object = _UNSET
    data: dict[str, Any] | None = None


@dataclass
class PendingWrites:
    """What one update set, by storage key, in the order it happened."""

    storage: BaseStorage
    writes: dict[StorageKey, _Pending] = field(default_factory=dict)
    # what the real storage said, read once per update: aiogram reads the state before the
    # handlers and they read it again (a Redis round trip each). Safe because event isolation
    # runs one user's updates one at a time, and nothing else writes a user's FSM keys.
    reads: dict[StorageKey, _Pending] = field(default_factory=dict)

    def seen_state(self, key: StorageKey, state: str | None) -> None:
        """The state aiogram read for this update just before (its `raw_state`): no re-read."""
        self.reads.setdefault(key, _Pending()).state = state

    async def apply(self) -> None:
        """Write everything set during the update (call after the commit)."""
        for key, pending in self.writes.items():
            if pending.state is not _UNSET:
                await self.storage.set_state(key, pending.state)  # type: ignore[arg-type]
            if pending.data is not None:
                await self.storage.set_data(key, pending.data)
        self.writes.clear()
        self.reads.clear()


_current: ContextVar[PendingWrites | None] = ContextVar("livecart_fsm_pending", default=None)


def _state_name(state: StateType) -> str | None:
    return state.state if isinstance(state, State) else state


class TransactionalStorage(BaseStorage):
    """Wraps the real FSM storage; inside `buffered()` writes wait for `apply()`."""

    def __init__(self, inner: BaseStorage) -> None:
        self.inner = inner

    @contextlib.contextmanager
    def buffered(self) -> Iterator[PendingWrites]:
        """Keep this update's writes aside; the caller applies them after its commit."""
        pending = PendingWrites(self.inner)
        token = _current.set(pending)
        try:
            yield pending
        finally:
            _current.reset(token)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        pending = _current.get()
        if pending is None:
            await self.inner.set_state(key, state)
            return
        pending.writes.setdefault(key, _Pending()).state = _state_name(state)

    async def get_state(self, key: StorageKey) -> str | None:
        pending = _current.get()
        if pending is not None and key in pending.writes:
            state = pending.writes[key].state
            if state is not _UNSET:
                return state  # type: ignore[return-value]
        if pending is None:
            return await self.inner.get_state(key)
        read = pending.reads.setdefault(key, _Pending())
        if read.state is _UNSET:
            read.state = await self.inner.get_state(key)
        return read.state  # type: ignore[return-value]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        pending = _current.get()
        if pending is None:
            await self.inner.set_data(key, data)
            return
        pending.writes.setdefault(key, _Pending()).data = dict(data)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        pending = _current.get()
        if pending is not None and key in pending.writes:
            data = pending.writes[key].data
            if data is not None:
                return dict(data)
        if pending is None:
            return await self.inner.get_data(key)
        read = pending.reads.setdefault(key, _Pending())
        if read.data is None:
            read.data = dict(await self.inner.get_data(key))
        return dict(read.data)

    async def close(self) -> None:
        await self.inner.close()
