"""FSM state follows the update's transaction: written after a commit, forgotten on rollback."""

from __future__ import annotations

from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import MemoryStorage

from bot.fsm_buffer import TransactionalStorage
from bot.routers.checkout import Checkout

KEY = StorageKey(bot_id=1, chat_id=7, user_id=7)


async def test_a_rolled_back_update_leaves_the_state_as_it_found_it() -> None:
    storage = TransactionalStorage(MemoryStorage())
    await storage.set_state(KEY, Checkout.phone)  # outside an update: written at once
    await storage.update_data(KEY, {"shop_id": 3})
    with storage.buffered():
        await storage.set_state(KEY, Checkout.confirm)
        await storage.update_data(KEY, {"token": "abc"})
        # the handler sees its own writes
        assert await storage.get_state(KEY) == Checkout.confirm.state
        assert await storage.get_data(KEY) == {"shop_id": 3, "token": "abc"}
        # ...the commit fails: nothing is applied
    assert await storage.get_state(KEY) == Checkout.phone.state
    assert await storage.get_data(KEY) == {"shop_id": 3}


async def test_a_committed_update_writes_its_state() -> None:
    storage = TransactionalStorage(MemoryStorage())
    with storage.buffered() as pending:
        await storage.set_state(KEY, Checkout.confirm)
        await storage.set_state(KEY, None)  # the last write wins
        await storage.update_data(KEY, {"placed_token": "abc"})
        assert await storage.inner.get_data(KEY) == {}  # not yet
        await pending.apply()
    assert await storage.get_state(KEY) is None
    assert await storage.get_data(KEY) == {"placed_token": "abc"}


class CountingStorage(MemoryStorage):
    """MemoryStorage that counts reads (each one a Redis round trip in production)."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    async def get_state(self, key: StorageKey) -> str | None:
        self.reads += 1
        return await super().get_state(key)

    async def get_data(self, key: StorageKey) -> dict[str, object]:
        self.reads += 1
        return await super().get_data(key)


async def test_an_update_reads_the_real_storage_once_per_key() -> None:
    inner = CountingStorage()
    storage = TransactionalStorage(inner)
    await storage.set_state(KEY, Checkout.confirm)
    await storage.set_data(KEY, {"token": "abc"})
    with storage.buffered() as pending:
        pending.seen_state(KEY, Checkout.confirm.state)  # what aiogram read before the handler
        for _ in range(3):
            assert await storage.get_state(KEY) == Checkout.confirm.state
            data = await storage.get_data(KEY)
            assert data == {"token": "abc"}
            data["token"] = "changed by the caller"  # a copy: the cached read stays as read
        assert inner.reads == 1  # the data, once; the state not at all
        await storage.set_state(KEY, None)
        await storage.update_data(KEY, {"placed_token": "abc"})
        assert await storage.get_state(KEY) is None  # its own writes win over the cached read
        assert await storage.get_data(KEY) == {"token": "abc", "placed_token": "abc"}
        await pending.apply()
    # the next update reads afresh
    with storage.buffered():
        assert await storage.get_state(KEY) is None
        assert await storage.get_data(KEY) == {"token": "abc", "placed_token": "abc"}
    assert inner.reads == 3
