"""Several instances behind a load balancer: two `livecart run` (webhook mode) and a
`livecart worker` share PostgreSQL and Redis. Any instance takes any update, an update
delivered twice (to both instances at once) is handled once, and cutting every database
connection mid-traffic loses no order and no message (the webhook answers 503; the update
comes again).

The tests share one cluster (starting three processes is most of the cost) on one database.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from sqlalchemy import select, text

from catalog.db import create_engine, create_sessionmaker
from catalog.models import Customer, Order, OrderLine, OutboxMessage, OutboxStatus, Product
from livecart.simulator import SimulatorClient
from tests.conftest import _require, _truncate_all
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

pytestmark = pytest.mark.asyncio(loop_scope="module")

TYPED = "2번 1개"  # item 2 of 박가네 건어물: 곱창김 100장, one of them
SKU = "seaweed-100"


@dataclass
class Shared:
    cluster: Cluster
    database_url: str


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(
    postgres_template: str | None, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Shared]:
    """Two `livecart run` in webhook mode and a `livecart worker`, on a clean PostgreSQL with
    the demo market (a big pile of everything), and Redis."""
    if postgres_template is None:
        _require("PostgreSQL is not reachable")
        raise AssertionError("unreachable")
    await _truncate_all(postgres_template)
    await seed(postgres_template, stock=100_000)
    workdir = tmp_path_factory.mktemp("several-instances")
    async with running_cluster(postgres_template, redis_url, workdir) as cluster:
        yield Shared(cluster, postgres_template)


async def _reserved(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            product = await session.scalar(select(Product).where(Product.sku == SKU))
            assert product is not None
            return product.reserved
    finally:
        await engine.dispose()


async def customers_shop_and_order(
    client: SimulatorClient, users: list[int], typed: int, *, at_once: int = 12
) -> list[int]:
    """Every customer's story; `at_once` of them at a time (plenty to keep two instances busy;
    more would mostly load the simulator with their polling)."""
    gate = asyncio.Semaphore(at_once)

    async def one(user: int) -> int:
        async with gate:
            return await shop_and_order(client, user, typed)

    return list(await asyncio.gather(*(one(user) for user in users)))


async def shop_and_order(client: SimulatorClient, user: int, typed: int) -> int:
    """A customer's flash-sale story in `typed + 5` updates: open the shop, type an order
    `typed` times in a row (sent without waiting, as a quick thumb does), then check out with
    buttons and a typed phone number. Returns how many updates were sent."""
    await say(client, user, "/start shop_park-dried-fish")
    first = None
    for _ in range(typed):
        sent = await client.send_text(user, TYPED)
        first = first or sent["message_id"]
    assert first is not None
    await client.wait_for_messages(user, count=typed, after=first - 1, timeout=ANSWER_TIMEOUT)
    await tap(client, user, "주문하기")
    await tap(client, user, "가게에서 찾기")
    await say(client, user, "010-1234-5678", expect=2)
    await tap(client, user, "주문 확정")
    await client.wait_for_messages(
        user, predicate=lambda m: text_of(m).startswith("🧾"), timeout=ANSWER_TIMEOUT
    )
    return typed + 5


async def _orders_by_customer(database_url: str) -> dict[int, list[int]]:
    """Each customer's orders (by Telegram id), as the quantities of their lines."""
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = (
                await session.execute(
                    select(Customer.telegram_user_id, OrderLine.quantity)
                    .join(Order, Order.customer_id == Customer.id)
                    .join(OrderLine, OrderLine.order_id == Order.id)
                )
            ).all()
    finally:
        await engine.dispose()
    orders: dict[int, list[int]] = {}
    for user, quantity in rows:
        orders.setdefault(int(user), []).append(int(quantity))
    return orders


async def _check_every_customer(
    cluster: Cluster, database_url: str, users: list[int], typed: int, reserved_before: int
) -> None:
    """One answer per update, one order per customer with exactly what they typed, one
    order message each; nothing left unsent in the outbox."""
    counts = {}
    for user in users:
        messages = await bot_messages(cluster.client, user)
        texts = [text_of(m) for m in messages]
        # shop screen, `typed` "added" answers, how-to-get, phone question, phone noted +
        # summary, and the order message (the summary is edited to "placed", not re-sent)
        counts[user] = len(messages)
        assert sum(1 for t in texts if t.startswith("🛒 곱창김")) == typed, texts
        assert sum(1 for t in texts if t.startswith("🧾")) == 1, texts
    assert set(counts.values()) == {typed + 6}, counts
    orders = await _orders_by_customer(database_url)
    assert {user: orders.get(user) for user in users} == {user: [typed] for user in users}
    assert await _reserved(database_url) - reserved_before == typed * len(users)
    engine = create_engine(database_url)
    try:
        # vendors' alerts may still be on their way (or waiting out a backoff): every outbox
        # row ends up sent, none set aside or dropped
        deadline = asyncio.get_running_loop().time() + ANSWER_TIMEOUT
        while True:
            async with create_sessionmaker(engine)() as session:
                unsent = (
                    await session.execute(
                        select(
                            OutboxMessage.status, OutboxMessage.kind, OutboxMessage.last_error
                        ).where(OutboxMessage.status != OutboxStatus.SENT)
                    )
                ).all()
            waiting = [
                row for row in unsent if row.status in (OutboxStatus.PENDING, OutboxStatus.SENDING)
            ]
            if not waiting or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.2)
    finally:
        await engine.dispose()
    assert unsent == [], unsent


async def test_two_instances_and_a_worker_handle_a_thousand_updates_with_duplicates_once(
    shared: Shared,
) -> None:
    customers, typed = 40, 20  # 40 × (20 + 5) = 1,000 updates
    cluster, client = shared.cluster, shared.cluster.client
    cluster.proxy.reset(duplicate_every=10)
    reserved_before = await _reserved(shared.database_url)
    users = [int((await client.create_user(f"손님{i}"))["id"]) for i in range(customers)]
    try:
        sent = await customers_shop_and_order(client, users, typed)
        await _check_every_customer(cluster, shared.database_url, users, typed, reserved_before)
    except BaseException:
        print(cluster.output())
        raise
    assert sum(sent) == len(cluster.proxy.attempts) == 1000
    assert len(cluster.proxy.duplicated) == 100
    # every update was in the end answered 2xx (a delivery that failed was delivered again)
    assert cluster.proxy.answered == set(cluster.proxy.attempts)


async def _cut_connections(database_url: str, *, busy_only: bool = False) -> int:
    """pg_terminate_backend every other connection to the database (the server stays up);
    `busy_only`: only those inside a query or a transaction, so an update is cut mid-way."""
    busy = " AND state IN ('active', 'idle in transaction')" if busy_only else ""
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            cut = await conn.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()" + busy
                )
            )
    finally:
        await engine.dispose()
    return int(cut or 0)


async def test_cutting_every_database_connection_mid_traffic_loses_nothing(
    shared: Shared,
) -> None:
    customers, typed = 12, 8
    cluster, client = shared.cluster, shared.cluster.client
    cluster.proxy.reset(duplicate_every=0)
    reserved_before = await _reserved(shared.database_url)
    users = [int((await client.create_user(f"손님{i}"))["id"]) for i in range(customers)]
    traffic = asyncio.ensure_future(customers_shop_and_order(client, users, typed))
    cuts = 0
    try:
        # every connection now and then (idle ones in the pools too), and in between those
        # busy with an update, so some updates are cut mid-transaction however fast they run
        for tick in itertools.count():
            await asyncio.sleep(0.25)
            if traffic.done():
                break
            cuts += await _cut_connections(shared.database_url, busy_only=tick % 3 != 2)
        await traffic
        await _check_every_customer(cluster, shared.database_url, users, typed, reserved_before)
    except BaseException:
        traffic.cancel()
        print(cluster.output())
        raise
    assert cuts > 0
    # some deliveries failed while the connections were cut, and were delivered again
    assert cluster.proxy.statuses[503] > 0
    assert cluster.proxy.answered == set(cluster.proxy.attempts)
