"""Flash sale through the whole bot: simulated Telegram updates, by webhook, through a
round-robin proxy to two `livecart run` instances (plus a `livecart worker`) on one
PostgreSQL and one Redis; the order is placed by the confirm tap and its message goes out
through the outbox. Compared with a raw conditional UPDATE measured in the same run.

    .venv/bin/python bench/flash_sale_bot.py [--customers 200] [--baseline 2000]

Every customer first fills a cart and reaches the order summary (5 updates each); then all of
them tap "confirm" at once for a pile of 3/4 as many units. Measured from that moment:
confirms/s, latency of a tap until it is answered (order placed, or sold out) and until the
order message (from the outbox) arrives; oversold must be 0. PostgreSQL is
LIVECART_TEST_DATABASE_URL (default: the local server; a throw-away database), Redis is
LIVECART_TEST_REDIS_URL (default: redis://127.0.0.1:6379/15).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select, text
from throwaway_postgres import run_on_throwaway_postgres

from catalog.db import create_engine, create_sessionmaker
from catalog.migrate import upgrade_database
from catalog.models import Order, Product
from livecart.simulator import SimulatorClient
from tests.livecart.several_instances import (
    ANSWER_TIMEOUT,
    Cluster,
    bot_messages,
    running_cluster,
    say,
    seed,
    tap,
    text_of,
)

DEFAULT_REDIS = "redis://127.0.0.1:6379/15"
SKU = "seaweed-100"


def pct(values: list[float], q: float) -> float:
    data = sorted(values)
    return data[min(len(data) - 1, int(q * len(data)))] * 1000


async def raw_baseline(url: str, attempts: int, concurrency: int) -> float:
    """Conditional UPDATEs per second on the same database (the floor of any order path)."""
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session:
        pid = await session.scalar(select(Product.id).where(Product.sku == "anchovy-1-5kg"))
        await session.execute(
            text("UPDATE products SET available = :n WHERE id = :id"),
            {"n": attempts * 3 // 4, "id": pid},
        )
        await session.commit()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(attempts):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            queue.get_nowait()
            async with sessionmaker() as session:
                await session.execute(
                    text(
                        "UPDATE products SET available = available - 1, "
                        "reserved = reserved + 1 WHERE id = :id AND available >= 1"
                    ),
                    {"id": pid},
                )
                await session.commit()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    rate = attempts / (time.perf_counter() - started)
    await engine.dispose()
    return rate


async def to_summary(client: SimulatorClient, user: int) -> None:
    """Open the shop, type an order, start checkout, pick up, give a phone: the summary."""
    await say(client, user, "/start shop_park-dried-fish")
    await say(client, user, "2번 1개")
    await tap(client, user, "주문하기")
    await tap(client, user, "가게에서 찾기")
    await say(client, user, "010-1234-5678", expect=2)


async def confirm_all(cluster: Cluster, users: list[int]) -> tuple[list[float], list[float]]:
    """Every customer taps "confirm" at once. Latencies (s) from each tap until it was answered
    (order placed, or sold out), and until the order message came for those who got one.

    Watched through the simulator's own event stream, not by polling it: 200 pollers would
    load the simulator more than the bot does.
    """
    client = cluster.client
    buttons: dict[int, tuple[int, str]] = {}
    for user in users:
        for message in reversed(await bot_messages(client, user)):
            rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
            button = next((b for row in rows for b in row if "주문 확정" in b["text"]), None)
            if button is not None:
                buttons[user] = (message["message_id"], button["callback_data"])
                break
        else:
            raise AssertionError(f"no summary in chat {user}")
    pressed_at: dict[str, float] = {}
    answered: dict[str, float] = {}
    tapped_by: dict[int, float] = {}
    placed_edit: set[int] = set()
    order_message: dict[int, float] = {}
    async with cluster.sim.simulator.events.subscribe() as events:

        async def press(user: int) -> None:
            message_id, data = buttons[user]
            tapped_by[user] = time.time()
            pressed = await client.press(user, message_id, data=data)
            pressed_at[pressed["callback_query_id"]] = tapped_by[user]

        await asyncio.gather(*(press(user) for user in users))
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while len(answered) < len(users) or len(order_message) < len(placed_edit):
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                raise AssertionError(f"{len(answered)} of {len(users)} taps answered in time")
            event = await asyncio.wait_for(events.get(), timeout)
            if event is None:
                raise AssertionError("the simulator stopped")
            kind = event["type"]
            if kind == "callback_answered":
                answered[event["callback"]["callback_query_id"]] = event["at"]
            elif kind == "message_edited" and text_of(event["message"]).startswith("✅ "):
                placed_edit.add(event["message"]["chat_id"])
            elif kind == "message_sent" and text_of(event["message"]).startswith("🧾"):
                order_message[event["message"]["chat_id"]] = event["at"]
    # a tap answered before `press` returned was recorded under its id as well
    tap_latency = [answered[cid] - at for cid, at in pressed_at.items()]
    placed_latency = [at - tapped_by[chat] for chat, at in order_message.items()]
    return tap_latency, placed_latency


async def bench(url: str, redis_url: str, customers: int, baseline: int) -> list[str]:
    engine = create_engine(url)
    await upgrade_database(engine)
    await engine.dispose()
    units = customers * 3 // 4
    await seed(url, stock=units)
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        async with running_cluster(url, redis_url, Path(tmp), duplicate_every=0) as cluster:
            client = cluster.client
            users = [int((await client.create_user(f"손님{i}"))["id"]) for i in range(customers)]
            gate = asyncio.Semaphore(20)  # the set-up is not measured: keep the simulator calm

            async def prepare(user: int) -> None:
                async with gate:
                    await to_summary(client, user)

            await asyncio.gather(*(prepare(u) for u in users))
            started = time.perf_counter()
            answered, placed = await confirm_all(cluster, users)
            seconds = time.perf_counter() - started
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        product = await session.scalar(select(Product).where(Product.sku == SKU))
        assert product is not None
        orders = len(list(await session.scalars(select(Order.id))))
    await engine.dispose()
    oversold = max(0, product.reserved - units) + (1 if product.available < 0 else 0)
    assert orders == len(placed) == product.reserved == units, (orders, len(placed), units)
    rate = customers / seconds
    raw = await raw_baseline(url, baseline, 20)
    lines.append(
        f"bot path   {customers} confirms at once, 2 instances + worker: {rate:7.1f} confirms/s  "
        f"tap answered p50 {pct(answered, 0.5):6.0f} ms p99 {pct(answered, 0.99):6.0f} ms  "
        f"order message p50 {pct(placed, 0.5):6.0f} ms p99 {pct(placed, 0.99):6.0f} ms  "
        f"sold {len(placed)}/{units}  oversold {oversold}"
    )
    lines.append(f"raw        conditional UPDATE, 20 at once: {raw:7.0f} attempts/s")
    lines.append(f"ratio      bot path / raw UPDATE: {rate / raw:.3f}x throughput")
    return lines


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--baseline", type=int, default=2000, help="raw UPDATE attempts")
    args = parser.parse_args()
    redis_url = os.environ.get("LIVECART_TEST_REDIS_URL", DEFAULT_REDIS)
    print(
        f"flash sale through the bot: {args.customers} customers, "
        f"{args.customers * 3 // 4} units, PostgreSQL + Redis"
    )
    for line in await run_on_throwaway_postgres(
        lambda url: bench(url, redis_url, args.customers, args.baseline)
    ):
        print(line)


if __name__ == "__main__":
    asyncio.run(main())
