"""Stock-sync benchmark: idempotent, versioned stock updates/s through the catalog service
(apply_stock_batch, one transaction per request as the REST route runs it), with a check that
no update was lost.

    .venv/bin/python bench/stock_sync.py [--requests 2000] [--batch 10] [--concurrency 16]
                                         [--skus 50] [--retries 0.2] [--backend postgres]

Writers send batches of `set` updates whose versions are shuffled across writers; a share of
requests is sent twice with the same Idempotency-Key (a client retry). At the end every sku
must hold its newest version: `lost` counts those that don't (it must be 0).
PostgreSQL is LIVECART_TEST_DATABASE_URL (default: the local server), in a throw-away database.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select
from throwaway_postgres import run_on_throwaway_postgres

from catalog.clock import FrozenClock
from catalog.db import create_engine, create_sessionmaker
from catalog.migrate import upgrade_database
from catalog.models import Product
from catalog.products import upsert_product
from catalog.shops import get_shop, upsert_shop
from catalog.stock_sync import StockUpdate, apply_stock_batch


async def bench_backend(url: str, label: str, args: argparse.Namespace) -> list[str]:
    engine = create_engine(url)
    await upgrade_database(engine)
    sessionmaker = create_sessionmaker(engine)
    clock = FrozenClock()
    skus = [f"sku-{i:04d}" for i in range(args.skus)]
    async with sessionmaker() as session:
        shop, _ = await upsert_shop(session, slug="bench", now=clock.now(), fields={"name": "b"})
        for sku in skus:
            await upsert_product(
                session,
                shop,
                sku=sku,
                fields={"name": sku, "price": 1000, "stock": 0},
                now=clock.now(),
            )
        await session.commit()
    rng = random.Random(7)
    # request i carries version i+1 for `batch` random skus: versions interleave across writers
    plans = [
        [
            StockUpdate(sku=s, version=i + 1, set=(i + 1) % 1_000_000)
            for s in rng.sample(skus, args.batch)
        ]
        for i in range(args.requests)
    ]
    newest = {sku: 0 for sku in skus}
    for i, items in enumerate(plans):
        for item in items:
            newest[item.sku] = max(newest[item.sku], i + 1)
    sends = [(i, f"key-{i}") for i in range(args.requests)]
    sends += [
        (i, f"key-{i}") for i in rng.sample(range(args.requests), int(args.requests * args.retries))
    ]
    rng.shuffle(sends)
    queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for send in sends:
        queue.put_nowait(send)
    latencies: list[float] = []
    counts = {"applied": 0, "stale": 0, "replayed": 0, "errors": 0}

    async def writer() -> None:
        while not queue.empty():
            index, key = queue.get_nowait()
            start = time.perf_counter()
            for attempt in range(5):  # a serialization hiccup is retried, like a client would
                try:
                    async with sessionmaker() as session:
                        shop = await get_shop(session, "bench")
                        answer, replayed = await apply_stock_batch(
                            session,
                            shop,
                            plans[index],
                            now=clock.now(),
                            idempotency_key=key,
                            request_hash=key,
                        )
                        await session.commit()
                    break
                except Exception:
                    if attempt == 4:
                        counts["errors"] += 1
                        answer, replayed = {"results": []}, False
            latencies.append(time.perf_counter() - start)
            if replayed:
                counts["replayed"] += 1
            else:
                for result in answer["results"]:
                    counts["applied" if result["outcome"] == "applied" else "stale"] += 1

    start = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(args.concurrency)))
    seconds = time.perf_counter() - start
    async with sessionmaker() as session:
        final = dict((await session.execute(select(Product.sku, Product.stock_version))).all())
    await engine.dispose()
    lost = sum(1 for sku in skus if final[sku] != newest[sku])
    data = sorted(latencies)
    p50, p99 = data[len(data) // 2] * 1000, data[int(len(data) * 0.99)] * 1000
    items = args.requests * args.batch
    return [
        f"{label:<9} {len(sends)} requests ({counts['replayed']} replayed) x {args.batch} items, "
        f"{args.concurrency} writers, {args.skus} skus: {items / seconds:,.0f} updates/s, "
        f"{len(sends) / seconds:,.0f} requests/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms; "
        f"applied {counts['applied']}, stale {counts['stale']}, errors {counts['errors']}, "
        f"lost {lost}"
    ]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--skus", type=int, default=50)
    parser.add_argument("--retries", type=float, default=0.2)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    lines: list[str] = []
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            lines += await bench_backend(f"sqlite+aiosqlite:///{tmp}/bench.db", "sqlite", args)
    if args.backend in ("postgres", "both"):
        lines += await run_on_throwaway_postgres(lambda url: bench_backend(url, "postgres", args))
    print("\n".join(lines))


if __name__ == "__main__":
    asyncio.run(main())
