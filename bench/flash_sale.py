"""Flash-sale benchmark: orders/s and latency of the catalog service path (place_order) against
a raw conditional UPDATE baseline measured in the same run, on SQLite and PostgreSQL.

    .venv/bin/python bench/flash_sale.py [--orders 2000] [--concurrency 20] [--backend sqlite]

Figures are ratios against the baseline of the same run, so the machine's speed cancels out.
PostgreSQL is LIVECART_TEST_DATABASE_URL (default: the local server); a throw-away database is
created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from throwaway_postgres import run_on_throwaway_postgres

from catalog.clock import FrozenClock
from catalog.customers import ensure_customer
from catalog.db import create_engine, create_sessionmaker
from catalog.errors import OutOfStock
from catalog.migrate import upgrade_database
from catalog.models import Customer, Fulfilment, Product
from catalog.orders import RequestedLine, place_order
from catalog.products import upsert_product
from catalog.shops import get_shop, upsert_shop


@dataclass
class Result:
    name: str
    ok: int
    sold_out: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return (self.ok + self.sold_out) / self.seconds

    def pct(self, q: float) -> float:
        data = sorted(self.latencies)
        return data[min(len(data) - 1, int(q * len(data)))] * 1000


async def _race(
    name: str, attempts: int, concurrency: int, op: Callable[[int], Awaitable[bool]]
) -> Result:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(attempts):
        queue.put_nowait(i)
    latencies: list[float] = []
    counts = {"ok": 0, "sold_out": 0}

    async def worker() -> None:
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            start = time.perf_counter()
            ok = await op(i)
            latencies.append(time.perf_counter() - start)
            counts["ok" if ok else "sold_out"] += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Result(name, counts["ok"], counts["sold_out"], time.perf_counter() - start, latencies)


async def _seed(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, units: int, customers: int
) -> tuple[int, list[Customer]]:
    async with sessionmaker() as session:
        shop, _ = await upsert_shop(
            session, slug="bench", now=clock.now(), fields={"name": "Bench"}
        )
        product, _ = await upsert_product(
            session,
            shop,
            sku="deal",
            fields={"name": "Deal", "price": 1000, "stock": units},
            now=clock.now(),
        )
        people = [
            await ensure_customer(
                session,
                telegram_user_id=10_000_000_000 + i,
                chat_id=10_000_000_000 + i,
                name="c",
                language="ko",
                now=clock.now(),
            )
            for i in range(customers)
        ]
        await session.commit()
        return product.id, people


async def _reset_stock(
    sessionmaker: async_sessionmaker[AsyncSession], pid: int, units: int
) -> None:
    async with sessionmaker() as session:
        await session.execute(
            update(Product).where(Product.id == pid).values(available=units, reserved=0)
        )
        await session.commit()


async def _sold(sessionmaker: async_sessionmaker[AsyncSession], pid: int) -> tuple[int, int]:
    async with sessionmaker() as session:
        row = (
            await session.execute(
                select(Product.available, Product.reserved).where(Product.id == pid)
            )
        ).one()
        return row.available, row.reserved


async def bench_backend(url: str, label: str, attempts: int, concurrency: int) -> list[str]:
    engine = create_engine(url)
    await upgrade_database(engine)
    sessionmaker = create_sessionmaker(engine)
    clock = FrozenClock()
    units = attempts * 3 // 4  # a quarter of the customers find it sold out
    pid, people = await _seed(sessionmaker, clock, units, attempts)

    async def raw_update(i: int) -> bool:
        async with sessionmaker() as session:
            result = await session.execute(
                text(
                    "UPDATE products SET available = available - 1, reserved = reserved + 1 "
                    "WHERE id = :id AND available >= 1"
                ),
                {"id": pid},
            )
            await session.commit()
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def service(i: int) -> bool:
        async with sessionmaker() as session:
            try:
                shop = await get_shop(session, "bench")
                await place_order(
                    session,
                    shop=shop,
                    customer=people[i],
                    lines=[RequestedLine(pid, 1)],
                    fulfilment=Fulfilment.PICKUP,
                    now=clock.now(),
                )
                await session.commit()
                return True
            except OutOfStock:
                await session.rollback()
                return False

    lines = []
    results = []
    for name, op in (("raw conditional UPDATE", raw_update), ("catalog place_order", service)):
        await _reset_stock(sessionmaker, pid, units)
        await _race(name, min(50, attempts), concurrency, op)  # warm-up
        await _reset_stock(sessionmaker, pid, units)
        result = await _race(name, attempts, concurrency, op)
        available, reserved = await _sold(sessionmaker, pid)
        oversold = max(0, result.ok - units) + (1 if available < 0 else 0)
        assert reserved == result.ok == units, (reserved, result.ok, units)
        results.append(result)
        lines.append(
            f"{label:<10} {name:<24} {result.rate:>9.0f} attempts/s  p50 {result.pct(0.5):6.1f} ms"
            f"  p99 {result.pct(0.99):6.1f} ms  sold {result.ok}/{units}  oversold {oversold}"
        )
    ratio = results[1].rate / results[0].rate
    lines.append(
        f"{label:<10} ratio place_order / raw UPDATE: {ratio:.2f}x throughput, "
        f"p50 {results[1].pct(0.5) / max(results[0].pct(0.5), 1e-9):.1f}x latency"
    )
    await engine.dispose()
    return lines


async def _with_postgres(attempts: int, concurrency: int) -> list[str]:
    return await run_on_throwaway_postgres(
        lambda url: bench_backend(url, "postgres", attempts, concurrency)
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000, help="order attempts per run")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    print(
        f"flash sale: {args.orders} customers, {args.orders * 3 // 4} units, "
        f"{args.concurrency} at once"
    )
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/bench.db"
            for line in await bench_backend(url, "sqlite", args.orders, args.concurrency):
                print(line)
    if args.backend in ("postgres", "both"):
        for line in await _with_postgres(args.orders, args.concurrency):
            print(line)


if __name__ == "__main__":
    asyncio.run(main())
