"""Shows, subscriptions, reminders due once, broadcasts to segments, and their stats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.broadcasts import (
    BroadcastDraft,
    broadcast_audience,
    cancel_broadcast,
    confirm_broadcast,
    create_broadcast,
    enqueue_due_broadcasts,
)
from catalog.campaign_staff import add_staff, can_run_show, remove_staff, staff_markets
from catalog.cart import cart_lines, set_cart_quantity
from catalog.clock import FrozenClock
from catalog.delivery_stats import broadcast_stats, show_stats
from catalog.errors import InvalidInput, InvalidTransition, PriceChanged
from catalog.models import (
    BroadcastSegment,
    BroadcastStatus,
    CartItem,
    Fulfilment,
    Order,
    OrderStatus,
    OutboxLane,
    OutboxMessage,
    OutboxStatus,
    ShowReminder,
    SubscriptionTarget,
    WaitlistEntry,
    WaitlistStatus,
)
from catalog.orders import RequestedLine, mark_paid, place_order
from catalog.outbox import mark_dropped, mark_sent
from catalog.pricing import live_prices
from catalog.products import list_products, list_products_priced, product_card
from catalog.reminders import (
    enqueue_due_reminders,
    enqueue_due_replays,
    enqueue_sold_out_updates,
    parse_offsets,
)
from catalog.shows import Day, FeaturedInput, get_show, list_shows, plain_when, upsert_show
from catalog.stream_links import follow_stream_link, stream_link_token
from catalog.subscriptions import show_audience, subscribe, unsubscribe_everything
from catalog.waitlist import held_units
from tests.factories import make_customer, make_market, make_order, make_product, make_shop

OFFSETS = [86400, 600, 0]
SEOUL_7PM = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)  # 19:00 in Seoul on 26 November


async def _setup(session: AsyncSession, clock: FrozenClock):  # type: ignore[no-untyped-def]
    market = await make_market(session, clock)
    shop = await make_shop(session, clock, market=market)
    apple = await make_product(session, clock, shop)
    pear = await make_product(session, clock, shop, sku="pear", name="배", price=20000, stock=2)
    show, created = await upsert_show(
        session,
        7,
        now=clock.now(),
        fields={
            "shop": shop.slug,
            "title": "가나청과 라이브",
            "starts_at": datetime(2026, 11, 26, 19, 0),  # naive: Seoul wall-clock time
            "ends_at": datetime(2026, 11, 26, 20, 0),
            "stream_url": "https://youtube.com/live/abc",
        },
        featured=[FeaturedInput("pear", live_price=15000), FeaturedInput(apple.sku)],
    )
    assert created
    return market, shop, apple, pear, show


async def _rows(session: AsyncSession, ref: str) -> list[OutboxMessage]:
    return list(await session.scalars(select(OutboxMessage).where(OutboxMessage.ref == ref)))


async def test_a_show_is_stored_in_utc_with_its_featured_products_in_order(
    session: AsyncSession, clock: FrozenClock
) -> None:
    _market, shop, _apple, _pear, show = await _setup(session, clock)

    assert show.starts_at == SEOUL_7PM and show.timezone == "Asia/Seoul"
    assert [f.product.sku for f in show.featured] == ["pear", "apple-5kg"]
    assert show.featured[0].live_price == 15000 and show.featured[1].live_price is None
    with pytest.raises(InvalidInput):
        await upsert_show(
            session, 7, now=clock.now(), fields={"ends_at": datetime(2026, 11, 26, 18, 0)}
        )
    assert [s.id for s in await list_shows(session, shop=shop.slug)] == [7]


@pytest.mark.parametrize(
    ("zone", "now", "starts", "day"),
    [
        # 23:50 in Seoul; the show starts 40 minutes later, after midnight: tomorrow
        ("Asia/Seoul", datetime(2026, 11, 25, 14, 50, tzinfo=UTC),
         datetime(2026, 11, 25, 15, 30, tzinfo=UTC), Day.TOMORROW),
        # 00:10 in Seoul; a show 23 hours later is still today
        ("Asia/Seoul", datetime(2026, 11, 25, 15, 10, tzinfo=UTC),
         datetime(2026, 11, 26, 14, 0, tzinfo=UTC), Day.TODAY),
        # the same instants in New York: 09:50 and 10:30 on the same day
        ("America/New_York", datetime(2026, 11, 25, 14, 50, tzinfo=UTC),
         datetime(2026, 11, 25, 15, 30, tzinfo=UTC), Day.TODAY),
        # 23:30 in New York (04:30 UTC next day); 01:00 start is tomorrow there
        ("America/New_York", datetime(2026, 11, 26, 4, 30, tzinfo=UTC),
         datetime(2026, 11, 26, 6, 0, tzinfo=UTC), Day.TOMORROW),
        ("Asia/Seoul", datetime(2026, 11, 25, 1, 0, tzinfo=UTC),
         datetime(2026, 11, 29, 10, 0, tzinfo=UTC), Day.THIS_WEEK),
        ("Asia/Seoul", datetime(2026, 11, 25, 1, 0, tzinfo=UTC),
         datetime(2026, 12, 10, 10, 0, tzinfo=UTC), Day.LATER),
    ],
)  # fmt: skip
def test_today_and_tomorrow_follow_the_calendar_of_the_show_time_zone(
    zone: str, now: datetime, starts: datetime, day: Day
) -> None:
    when = plain_when(starts, now, zone, starts + timedelta(hours=1))
    assert when.day is day
    assert when.local.tzinfo is not None and when.local.utcoffset() is not None


def test_a_show_on_air_is_live_and_one_that_ended_is_past() -> None:
    start = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    end = start + timedelta(hours=1)
    assert plain_when(start, start + timedelta(minutes=5), "Asia/Seoul", end).day is Day.LIVE
    assert plain_when(start, end, "Asia/Seoul", end).day is Day.PAST


def test_reminder_offsets_read_like_people_write_them() -> None:
    assert parse_offsets("1d,10m,0") == [86400, 600, 0]
    assert parse_offsets(" 2h , 30s,2h") == [7200, 30]
    for bad in ("", "soon", "-1m", "40d"):
        with pytest.raises(ValueError):
            parse_offsets(bad)


async def test_a_market_subscription_covers_the_shows_of_its_shops_and_stop_ends_all(
    session: AsyncSession, clock: FrozenClock
) -> None:
    market, _shop, _apple, _pear, show = await _setup(session, clock)
    by_market = await make_customer(session, clock, user_id=11)
    by_show = await make_customer(session, clock, user_id=12)
    never = await make_customer(session, clock, user_id=13)
    await subscribe(session, by_market, SubscriptionTarget.MARKET, market.id, now=clock.now())
    await subscribe(session, by_show, SubscriptionTarget.SHOW, show.id, now=clock.now())
    await subscribe(session, by_show, SubscriptionTarget.MARKET, market.id, now=clock.now())

    assert {chat for _cid, chat in await show_audience(session, show)} == {11, 12}
    assert by_show.marketing_consent_at == clock.now()
    assert never.marketing_consent_at is None

    assert await unsubscribe_everything(session, by_show, now=clock.now()) == 2
    assert {chat for _cid, chat in await show_audience(session, show)} == {11}


async def test_each_reminder_is_enqueued_once_per_subscriber_and_late_ones_are_skipped(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with sessionmaker() as session:
        market, _shop, _apple, _pear, show = await _setup(session, clock)
        for user_id in range(100, 110):
            customer = await make_customer(session, clock, user_id=user_id)
            await subscribe(
                session, customer, SubscriptionTarget.MARKET, market.id, now=clock.now()
            )
        await session.commit()
    clock.set(SEOUL_7PM - timedelta(days=1))  # the day before, 19:00

    async def run_scheduler() -> int:  # as each instance does, one transaction per run
        async with sessionmaker() as session:
            written = await enqueue_due_reminders(session, now=clock.now(), offsets=OFFSETS)
            await session.commit()
        return written

    assert [await run_scheduler(), await run_scheduler()] == [10, 0]
    clock.set(SEOUL_7PM + timedelta(minutes=1))  # down through the 10-minute mark: now live
    assert [await run_scheduler(), await run_scheduler()] == [10, 0]
    clock.set(SEOUL_7PM + timedelta(hours=2))
    assert await run_scheduler() == 0

    async with sessionmaker() as session:
        rows = await _rows(session, f"show:{show.id}")
        claims = {
            c.offset_seconds: c.skipped
            for c in await session.scalars(select(ShowReminder).where(ShowReminder.show_id == 7))
        }
    assert len(rows) == 20 and {r.lane for r in rows} == {OutboxLane.BULK}
    assert sorted(r.payload["offset"] for r in rows) == [0] * 10 + [86400] * 10
    assert claims == {86400: False, 600: True, 0: False}


async def test_only_customers_with_a_live_opt_in_who_did_not_block_get_reminders(
    session: AsyncSession, clock: FrozenClock
) -> None:
    market, _shop, _apple, _pear, _show = await _setup(session, clock)
    customers = [await make_customer(session, clock, user_id=200 + n) for n in range(3)]
    for customer in customers:
        await subscribe(session, customer, SubscriptionTarget.MARKET, market.id, now=clock.now())
    customers[1].blocked_at = clock.now()
    customers[2].marketing_revoked_at = clock.now()
    clock.set(SEOUL_7PM)

    assert await enqueue_due_reminders(session, now=clock.now(), offsets=[0]) == 1
    assert [r.chat_id for r in await _rows(session, "show:7")] == [200]


async def test_a_sold_out_featured_product_is_announced_once_when_the_show_asked_for_it(
    session: AsyncSession, clock: FrozenClock
) -> None:
    _market, shop, _apple, pear, show = await _setup(session, clock)
    fan = await make_customer(session, clock, user_id=300)
    await subscribe(session, fan, SubscriptionTarget.SHOW, show.id, now=clock.now())
    clock.set(SEOUL_7PM + timedelta(minutes=5))
    await make_order(session, clock, shop, pear, 2)  # the last two pears
    assert await enqueue_sold_out_updates(session, now=clock.now()) == 0  # not asked for

    await upsert_show(session, 7, now=clock.now(), fields={"sold_out_updates": True})
    assert await enqueue_sold_out_updates(session, now=clock.now()) == 1
    assert await enqueue_sold_out_updates(session, now=clock.now()) == 0
    [row] = await _rows(session, "show:7")
    assert (row.kind, row.payload["product_id"]) == ("show_sold_out", pear.id)


async def test_a_broadcast_reaches_its_segment_once_and_counts_what_it_brought(
    session: AsyncSession, clock: FrozenClock
) -> None:
    market, shop, apple, _pear, show = await _setup(session, clock)
    ko = await make_customer(session, clock, user_id=400)
    en = await make_customer(session, clock, user_id=401, language="en")
    buyer = await make_customer(session, clock, user_id=402)
    for customer in (ko, en):
        await subscribe(session, customer, SubscriptionTarget.SHOP, shop.id, now=clock.now())
    await subscribe(session, buyer, SubscriptionTarget.SHOW, 7, now=clock.now())
    paid = await make_order(session, clock, shop, apple, customer=buyer)
    await mark_paid(session, paid, now=clock.now(), actor="test")
    draft = BroadcastDraft(
        segment=BroadcastSegment.SUBSCRIBERS,
        text="오늘 저녁 7시!",
        market_id=market.id,
        language="ko",
    )
    broadcast = await create_broadcast(session, draft, created_by="staff:1", now=clock.now())

    assert {c for _i, c in await broadcast_audience(session, broadcast)} == {400, 402}
    confirmed = await confirm_broadcast(session, broadcast, now=clock.now())
    assert (confirmed.status, confirmed.recipients) == (BroadcastStatus.ENQUEUED, 2)
    with pytest.raises(InvalidTransition):  # a second "send" tap sends nothing more
        await confirm_broadcast(session, broadcast, now=clock.now())

    buyers = BroadcastDraft(
        segment=BroadcastSegment.ORDERED_BEFORE, text="감사합니다", shop_id=shop.id
    )
    thanks = await create_broadcast(session, buyers, created_by="api", now=clock.now())
    assert [c for _i, c in await broadcast_audience(session, thanks)] == [402]

    rows = await _rows(session, f"broadcast:{broadcast.id}")
    by_chat = {r.chat_id: r for r in rows}
    await mark_sent(session, by_chat[400].id, now=clock.now(), telegram_message_id=1)
    await mark_dropped(session, by_chat[402].id, error="Forbidden: bot was blocked by the user")
    clock.advance(timedelta(hours=1))
    later = await make_order(session, clock, shop, apple, customer=ko)
    await mark_paid(session, later, now=clock.now(), actor="test")
    unpaid = await make_order(session, clock, shop, apple, customer=ko)
    assert unpaid.status is OrderStatus.PENDING_PAYMENT
    token = await stream_link_token(
        session, show_id=7, customer_id=ko.id, source=f"broadcast:{broadcast.id}", now=clock.now()
    )
    assert await follow_stream_link(session, token, now=clock.now()) == show.stream_url
    await follow_stream_link(session, token, now=clock.now())

    stats = await broadcast_stats(session, confirmed)
    assert (stats.recipients, stats.sent, stats.blocked, stats.failed) == (
        2,
        1,
        1,
        {"blocked": 1},
    )
    assert (stats.orders, stats.revenue, stats.stream_clicks, stats.stream_clickers) == (
        1,
        32000,
        2,
        1,
    )
    assert (await show_stats(session, await get_show(session, 7))).stream_clicks == 2


async def test_a_scheduled_broadcast_goes_out_once_when_its_time_comes(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with sessionmaker() as session:
        market, _shop, *_ = await _setup(session, clock)
        fan = await make_customer(session, clock, user_id=500)
        await subscribe(session, fan, SubscriptionTarget.MARKET, market.id, now=clock.now())
        draft = BroadcastDraft(
            segment=BroadcastSegment.SUBSCRIBERS, text="내일 만나요", market_id=market.id
        )
        later = await create_broadcast(session, draft, created_by="api", now=clock.now())
        await confirm_broadcast(
            session, later, now=clock.now(), send_at=clock.now() + timedelta(hours=2)
        )
        dropped = await create_broadcast(session, draft, created_by="api", now=clock.now())
        await cancel_broadcast(session, dropped, now=clock.now())
        await session.commit()

    async def tick() -> int:
        async with sessionmaker() as session:
            written = await enqueue_due_broadcasts(session, now=clock.now())
            await session.commit()
        return written

    assert await tick() == 0
    clock.advance(timedelta(hours=2))
    assert [await tick(), await tick()] == [1, 0]
    async with sessionmaker() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == "broadcast", OutboxMessage.status == OutboxStatus.PENDING)
        )
    assert count == 1


async def test_campaign_staff_run_the_shows_of_their_market_only(
    session: AsyncSession, clock: FrozenClock
) -> None:
    market, _shop, _apple, _pear, show = await _setup(session, clock)
    other = await make_market(session, clock, slug="mangwon", name="망원시장")
    await add_staff(session, market.slug, 77, name="캠페인", now=clock.now())
    await add_staff(session, other.slug, 78, name="", now=clock.now())

    assert [m.slug for m in await staff_markets(session, 77)] == ["gwangjang"]
    assert await can_run_show(session, 77, show)
    assert not await can_run_show(session, 78, show)
    await remove_staff(session, market.slug, 77)
    assert not await can_run_show(session, 77, show)


async def test_the_live_price_is_charged_only_while_the_show_is_on_air(
    session: AsyncSession, clock: FrozenClock
) -> None:
    _market, shop, apple, pear, _show = await _setup(session, clock)
    customer = await make_customer(session, clock)
    await set_cart_quantity(session, customer, pear, 1, now=clock.now())
    one_pear = [RequestedLine(pear.id, 1)]

    async def order_at(at: datetime) -> Order:
        order = await place_order(
            session, shop=shop, customer=customer, lines=one_pear,
            fulfilment=Fulfilment.PICKUP, now=at,
        )  # fmt: skip
        await session.flush()
        return order

    before, on_air, after = (
        SEOUL_7PM - timedelta(minutes=1),
        SEOUL_7PM,
        SEOUL_7PM + timedelta(hours=1),
    )
    assert await live_prices(session, [pear.id, apple.id], before) == {}
    assert await live_prices(session, [pear.id, apple.id], on_air) == {pear.id: 15000}
    assert [line.line_total for line in await cart_lines(session, customer, now=on_air)] == [15000]
    assert [line.line_total for line in await cart_lines(session, customer, now=after)] == [20000]

    assert await live_prices(session, [pear.id], after) == {}
    charged = [await order_at(at) for at in (before, on_air)]  # the pear's whole stock: 2
    assert [o.total for o in charged] == [20000, 15000]
    assert [o.lines[0].unit_price for o in charged] == [20000, 15000]


async def test_a_product_card_reads_what_the_separate_queries_read(
    session: AsyncSession, clock: FrozenClock
) -> None:
    """product_card's one query = list_products' number, the cart row, held_units and
    live_prices (the product tap's hot path)."""
    _market, shop, apple, pear, _show = await _setup(session, clock)
    plum = await make_product(session, clock, shop, sku="plum", name="자두", price=9000)
    customer = await make_customer(session, clock)
    await set_cart_quantity(session, customer, pear, 2, now=clock.now())
    apple.position, pear.position, plum.position = 5, 1, 0
    plum.is_hidden = True
    session.add(  # a restocked apple held for the customer (a waitlist offer)
        WaitlistEntry(
            product_id=apple.id, customer_id=customer.id, status=WaitlistStatus.OFFERED,
            joined_at=clock.now(), expires_at=clock.now() + timedelta(days=30),
        )
    )  # fmt: skip
    await session.flush()
    on_air, before = SEOUL_7PM, SEOUL_7PM - timedelta(minutes=1)

    for product in (apple, pear, plum):
        for who, at in ((customer, on_air), (None, before)):
            card = await product_card(session, product, who.id if who else None, at)
            visible = [p.id for p in await list_products(session, shop)]
            in_cart = await session.scalar(
                select(CartItem.quantity).where(
                    CartItem.customer_id == customer.id, CartItem.product_id == product.id
                )
            )
            assert card.shop is shop
            assert card.number == (visible.index(product.id) + 1 if product.id in visible else None)
            assert card.in_cart == ((in_cart or 0) if who else 0)
            held = await held_units(session, customer.id, [product.id])
            assert card.held == (held.get(product.id, 0) if who else 0)
            assert card.prices(product) == await live_prices(session, [product.id], at)
    assert (await product_card(session, pear, customer.id, on_air)).number == 1
    assert (await product_card(session, pear, customer.id, on_air)).in_cart == 2
    assert (await product_card(session, pear, None, on_air)).live_price == 15000
    assert (await product_card(session, apple, customer.id, on_air)).held == 1
    for at in (on_air, before):  # the shop's list with its live prices, in one query too
        listed, prices = await list_products_priced(session, shop, at)
        assert listed == await list_products(session, shop) == [pear, apple]
        assert prices == await live_prices(session, [pear.id, apple.id], at)
    assert (await list_products_priced(session, shop, on_air))[1] == {pear.id: 15000}


async def test_an_order_confirmed_at_one_price_is_not_placed_at_another(
    session: AsyncSession, clock: FrozenClock
) -> None:
    _market, shop, _apple, pear, _show = await _setup(session, clock)
    customer = await make_customer(session, clock)
    seen_before_the_show = {pear.id: 20000}

    with pytest.raises(PriceChanged) as changed:
        await place_order(
            session, shop=shop, customer=customer, lines=[RequestedLine(pear.id, 1)],
            fulfilment=Fulfilment.PICKUP, now=SEOUL_7PM, confirmed_prices=seen_before_the_show,
        )  # fmt: skip

    assert changed.value.names == ["배"]
    assert await session.scalar(select(func.count()).select_from(Order)) == 0
    await session.refresh(pear)
    assert (pear.available, pear.reserved) == (2, 0)


async def test_a_replay_goes_once_after_the_end_only_with_a_link_and_within_a_week(
    session: AsyncSession, clock: FrozenClock
) -> None:
    _market, _shop, _apple, _pear, show = await _setup(session, clock)
    fan = await make_customer(session, clock, user_id=5_000_000_011)
    gone = await make_customer(session, clock, user_id=5_000_000_012)
    for customer in (fan, gone):
        await subscribe(session, customer, SubscriptionTarget.SHOW, show.id, now=clock.now())
    await unsubscribe_everything(session, gone, now=clock.now())
    await upsert_show(session, show.id, now=clock.now(), fields={"send_replay": True})

    after_end = show.ends_at + timedelta(minutes=1)
    assert await enqueue_due_replays(session, now=after_end) == 0  # no link yet
    with pytest.raises(InvalidInput):
        await upsert_show(session, show.id, now=clock.now(), fields={"replay_url": "ftp://x"})
    await upsert_show(
        session, show.id, now=clock.now(), fields={"replay_url": "https://youtu.be/again"}
    )
    assert await enqueue_due_replays(session, now=show.ends_at - timedelta(minutes=1)) == 0
    assert await enqueue_due_replays(session, now=after_end) == 1
    assert await enqueue_due_replays(session, now=after_end) == 0  # claimed: once
    rows = [r for r in await _rows(session, f"show:{show.id}") if r.kind == "show_replay"]
    assert [r.chat_id for r in rows] == [fan.chat_id]

    late, _created = await upsert_show(
        session,
        8,
        now=clock.now(),
        fields={
            "shop": "ganada",
            "title": "지난 방송",
            "starts_at": datetime(2026, 11, 1, 19, 0),
            "ends_at": datetime(2026, 11, 1, 20, 0),
            "replay_url": "https://youtu.be/old",
            "send_replay": True,
        },
    )
    await subscribe(session, fan, SubscriptionTarget.SHOW, late.id, now=clock.now())
    assert await enqueue_due_replays(session, now=late.ends_at + timedelta(days=8)) == 0
