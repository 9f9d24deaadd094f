"""Catalog-browse benchmark: updates/s through livecart's real dispatcher (session middleware,
dedupe, locale, routers, replies after commit) against a bare aiogram Dispatcher with a trivial
handler, measured in the same run against the same Telegram simulator, on SQLite and PostgreSQL.

    .venv/bin/python bench/browse.py [--updates 1000] [--concurrency 20] [--users 100]
                                     [--backend sqlite|postgres|both]

The updates are what the simulator would deliver: half "/start shop_ganada-fruit" (the shop's
product list, read from the database and sent), half taps on a product button of that list
(the product card sent, the tap answered). The bare handler makes the same Bot API calls ("ok"
sent, the tap answered), so both sides pay the same HTTP cost and the ratio is livecart's own.
Updates are fed with `Dispatcher.feed_update` (no polling); C run at once, for different users.
Figures are ratios against the baseline of the same run, so the machine's speed cancels out.
PostgreSQL is LIVECART_TEST_DATABASE_URL (default: the local server); a throw-away database is
created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, Message, Update
from sqlalchemy import select
from throwaway_postgres import run_on_throwaway_postgres

from bot.callbacks import Nav, NavCb
from catalog.clock import FrozenClock
from catalog.migrate import upgrade_database
from catalog.models import Product, Shop
from livecart.demo import seed_demo_market
from livecart.runtime import Runtime, build_runtime
from livecart.settings import load_settings
from livecart.simulator import SimulatorServer, run_simulator

LIVECART_TOKEN = "4242424242:livecart-bench-token"
BARE_TOKEN = "4343434343:bare-bench-token"
SHOP = "ganada-fruit"
START = f"/start shop_{SHOP}"


@dataclass
class Result:
    name: str
    updates: int
    seconds: float
    latencies: list[float]
    calls: dict[str, int]

    @property
    def rate(self) -> float:
        return self.updates / self.seconds

    def pct(self, q: float) -> float:
        data = sorted(self.latencies)
        return data[min(len(data) - 1, int(q * len(data)))] * 1000


async def _race(
    items: list[Update], concurrency: int, op: Callable[[Update], Awaitable[Any]]
) -> tuple[float, list[float]]:
    """Feed every item, `concurrency` at a time; the wall time and each item's latency."""
    queue: asyncio.Queue[Update] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)
    latencies: list[float] = []

    async def worker() -> None:
        while True:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            start = time.perf_counter()
            await op(item)
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start, latencies


class Feeder:
    """Makes users act in the simulator and takes the resulting updates off the bot's queue,
    exactly as getUpdates would have returned them, bound to `bot`."""

    def __init__(self, sim: SimulatorServer, token: str, bot: Bot) -> None:
        self.sim = sim.simulator
        self.runtime = self.sim.bots.by_token(token)
        assert self.runtime is not None
        self.token = token
        self.bot = bot

    def _take(self, update_id: int) -> Update:
        [pending] = [u for u in self.runtime.updates.pending() if u.update_id == update_id]
        self.runtime.updates.clear()  # nobody polls: keep the queue empty
        return Update.model_validate(pending.payload, context={"bot": self.bot})

    async def start(self, user_id: int) -> Update:
        sent = await self.sim.incoming.send_text(self.runtime, user_id, START)
        return self._take(sent.update_id)

    async def press(self, user_id: int, message_id: int, data: str, *, forge: bool) -> Update:
        pressed = await self.sim.incoming.press(
            self.runtime, user_id, message_id, data=data, forge=forge
        )
        return self._take(pressed.update_id)

    def product_list(self, user_id: int, *, forge: bool) -> int:
        """The newest bot message with product buttons (any bot message if the tap is forged)."""
        prefix = NavCb(to=Nav.PRODUCT).pack().split(":")[:2]
        for message in reversed(self.sim.messages(user_id, bot=self.token)):
            if message.from_bot and (forge or _has_button(message.reply_markup, prefix)):
                return message.message_id
        raise LookupError(f"no product list in chat {user_id}")

    def calls(self) -> dict[str, int]:
        return dict(self.sim.api.calls_by_method)


def _has_button(markup: dict[str, Any] | None, prefix: list[str]) -> bool:
    rows = (markup or {}).get("inline_keyboard", [])
    return any(
        str(button.get("callback_data", "")).split(":")[:2] == prefix
        for row in rows
        for button in row
    )


def _bare_dispatcher() -> Dispatcher:
    """One Bot API call per message, two per tap: what livecart makes for the same updates."""
    router = Router()

    @router.message(F.text)
    async def on_message(message: Message) -> None:
        await message.answer("ok")

    @router.callback_query()
    async def on_tap(callback: CallbackQuery) -> None:
        assert isinstance(callback.message, Message)
        await callback.message.answer("ok")
        await callback.answer()

    dp = Dispatcher()
    dp.include_router(router)
    return dp


async def _workload(
    feeder: Feeder, users: list[int], products: list[int], count: int, *, forge: bool
) -> list[Update]:
    """`count` updates: blocks of one /start per user, then one product tap per user, and so on
    (neighbouring updates come from different users, so per-user isolation doesn't serialize
    them). Taps are on the product list each user already has in the chat."""
    lists = {user: feeder.product_list(user, forge=forge) for user in users}
    updates = []
    for i in range(count):
        user = users[i % len(users)]
        if (i // len(users)) % 2 == 0:
            updates.append(await feeder.start(user))
        else:
            data = NavCb(to=Nav.PRODUCT, id=products[i % len(products)]).pack()
            updates.append(await feeder.press(user, lists[user], data, forge=forge))
    return updates


async def _measure(
    name: str,
    feeder: Feeder,
    dispatcher: Dispatcher,
    users: list[int],
    products: list[int],
    count: int,
    concurrency: int,
    *,
    forge: bool,
) -> Result:
    async def feed(update: Update) -> None:
        await dispatcher.feed_update(feeder.bot, update)

    # warm-up: every user opens the shop (their first update: livecart creates the customer),
    # then opens it again and taps a product
    await _race([await feeder.start(u) for u in users], concurrency, feed)
    await _race(
        await _workload(feeder, users, products, 2 * len(users), forge=forge), concurrency, feed
    )
    updates = await _workload(feeder, users, products, count, forge=forge)
    before = feeder.calls()
    seconds, latencies = await _race(updates, concurrency, feed)
    after = feeder.calls()
    calls = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    return Result(name, count, seconds, latencies, {k: v for k, v in calls.items() if v})


async def _livecart_runtime(sim: SimulatorServer, url: str) -> Runtime:
    settings = load_settings(
        bot_token=LIVECART_TOKEN,
        telegram_api_url=sim.base_url,
        database_url=url,
        redis_url=None,
        webhook_base_url=None,
    )
    clock = FrozenClock()
    runtime = await build_runtime(settings, clock=clock)
    await upgrade_database(runtime.services.engine)
    async with runtime.services.sessionmaker() as session:
        await seed_demo_market(session, now=clock.now())
        await session.commit()
    return runtime


async def _close_runtime(runtime: Runtime) -> None:
    if runtime.dispatcher is not None:
        with contextlib.suppress(Exception):
            await runtime.dispatcher.storage.close()
    if runtime.bot is not None:
        await runtime.bot.session.close()
    await runtime.services.close()


def _describe(label: str, result: Result) -> str:
    calls = ", ".join(f"{k} {v}" for k, v in sorted(result.calls.items()))
    return (
        f"{label:<10} {result.name:<22} {result.rate:>6.0f} updates/s"
        f"  p50 {result.pct(0.5):6.1f} ms  p99 {result.pct(0.99):6.1f} ms  ({calls})"
    )


async def bench_backend(
    sim: SimulatorServer, url: str, label: str, count: int, concurrency: int, user_count: int
) -> list[str]:
    users = [
        sim.simulator.create_user(f"손님{i}", language_code="ko").id for i in range(user_count)
    ]
    bare_bot = Bot(
        BARE_TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(sim.base_url))
    )
    runtime = await _livecart_runtime(sim, url)
    try:
        assert runtime.bot is not None and runtime.dispatcher is not None
        async with runtime.services.sessionmaker() as session:
            products = list(
                (
                    await session.scalars(
                        select(Product.id)
                        .join(Shop, Shop.id == Product.shop_id)
                        .where(Shop.slug == SHOP, Product.is_hidden.is_(False))
                        .order_by(Product.id)
                    )
                ).all()
            )
        bare = await _measure(
            "bare aiogram",
            Feeder(sim, BARE_TOKEN, bare_bot),
            _bare_dispatcher(),
            users,
            products,
            count,
            concurrency,
            forge=True,  # the bare bot's "ok" has no buttons; the tap carries the same data
        )
        live = await _measure(
            "livecart dispatcher",
            Feeder(sim, LIVECART_TOKEN, runtime.bot),
            runtime.dispatcher,
            users,
            products,
            count,
            concurrency,
            forge=False,
        )
    finally:
        await _close_runtime(runtime)
        await bare_bot.session.close()
    return [
        _describe(label, bare),
        _describe(label, live),
        f"{label:<10} ratio livecart / bare: {live.rate / bare.rate:.2f}x throughput, "
        f"p50 {live.pct(0.5) / max(bare.pct(0.5), 1e-9):.1f}x latency, "
        f"p99 {live.pct(0.99) / max(bare.pct(0.99), 1e-9):.1f}x latency",
    ]


async def _with_postgres(
    sim: SimulatorServer, count: int, concurrency: int, user_count: int
) -> list[str]:
    return await run_on_throwaway_postgres(
        lambda url: bench_backend(sim, url, "postgres", count, concurrency, user_count)
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=1000, help="updates measured per side")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--users", type=int, default=100, help="distinct customers")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    users = max(args.users, args.concurrency)
    print(
        f"catalog browse: {args.updates} updates (/start shop link, product tap) per side, "
        f"{users} users, {args.concurrency} at once"
    )
    async with run_simulator() as sim:
        sim.simulator.register_bot(LIVECART_TOKEN, "livecart_bench_bot", "livecart")
        sim.simulator.register_bot(BARE_TOKEN, "bare_bench_bot", "bare")
        if args.backend in ("sqlite", "both"):
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite+aiosqlite:///{tmp}/bench.db"
                for line in await bench_backend(
                    sim, url, "sqlite", args.updates, args.concurrency, users
                ):
                    print(line, flush=True)
        if args.backend in ("postgres", "both"):
            for line in await _with_postgres(sim, args.updates, args.concurrency, users):
                print(line, flush=True)


if __name__ == "__main__":
    asyncio.run(main())
