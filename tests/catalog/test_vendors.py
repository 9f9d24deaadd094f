"""Vendor invites: one link, one person, before it expires; owners manage their own shop only,
and a shop always keeps an owner."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.clock import FrozenClock
from catalog.db import create_engine, create_sessionmaker
from catalog.deep_links import PAYLOAD_RE, vendor_invite_payload
from catalog.errors import (
    InvalidInput,
    InviteAlreadyUsed,
    InviteExpired,
    LastOwner,
    NotFound,
    NotShopOwner,
    UnknownInvite,
)
from catalog.models import Shop, Vendor, VendorInvite, VendorRole
from catalog.vendors import (
    create_invite,
    invite_token_hash,
    redeem_invite,
    remove_vendor,
    require_owner,
    shop_vendors,
)
from tests.factories import make_shop

OWNER_ID, STAFF_ID, STRANGER_ID = 7_000_000_001, 7_000_000_002, 7_000_000_003


async def invite(
    session: AsyncSession, clock: FrozenClock, shop: Shop, role: str = "owner", hours: int = 72
) -> str:
    _invite, token = await create_invite(
        session, shop, role=role, created_by="admin", now=clock.now(), hours=hours
    )
    return token


async def join(
    session: AsyncSession, clock: FrozenClock, token: str, user_id: int, name: str = "김가나"
) -> Vendor:
    return await redeem_invite(
        session, token, telegram_user_id=user_id, chat_id=user_id, name=name, now=clock.now()
    )


async def test_an_invite_makes_its_opener_a_vendor_and_stores_only_the_token_hash(
    session: AsyncSession, clock: FrozenClock
) -> None:
    shop = await make_shop(session, clock)
    token = await invite(session, clock, shop)

    assert PAYLOAD_RE.match(vendor_invite_payload(token))
    stored = await session.scalar(select(VendorInvite))
    assert stored is not None
    assert stored.token_hash == invite_token_hash(token) and token not in stored.token_hash
    assert stored.expires_at == clock.now() + timedelta(hours=72)

    vendor = await join(session, clock, token, OWNER_ID)

    assert (vendor.shop_id, vendor.role, vendor.chat_id) == (shop.id, "owner", OWNER_ID)
    await session.refresh(stored)
    assert (stored.used_at, stored.used_by_user_id) == (clock.now(), OWNER_ID)


async def test_an_invite_works_once(session: AsyncSession, clock: FrozenClock) -> None:
    shop = await make_shop(session, clock)
    token = await invite(session, clock, shop)
    await join(session, clock, token, OWNER_ID)

    with pytest.raises(InviteAlreadyUsed):
        await join(session, clock, token, STRANGER_ID)
    assert [v.telegram_user_id for v in await shop_vendors(session, shop.id)] == [OWNER_ID]


async def test_whoever_joined_may_open_their_link_again_until_they_are_removed(
    session: AsyncSession, clock: FrozenClock
) -> None:
    shop = await make_shop(session, clock)
    owner = await join(session, clock, await invite(session, clock, shop), OWNER_ID)
    token = await invite(session, clock, shop, "staff")
    staff = await join(session, clock, token, STAFF_ID)

    assert (await join(session, clock, token, STAFF_ID)).id == staff.id
    await remove_vendor(session, shop.id, staff.id, by=owner)
    with pytest.raises(InviteAlreadyUsed):
        await join(session, clock, token, STAFF_ID)


async def test_an_invite_expires_after_its_hours(session: AsyncSession, clock: FrozenClock) -> None:
    shop = await make_shop(session, clock)
    token = await invite(session, clock, shop, hours=2)
    clock.advance(timedelta(hours=2))

    with pytest.raises(InviteExpired):
        await join(session, clock, token, OWNER_ID)
    assert await shop_vendors(session, shop.id) == []


@pytest.mark.parametrize(
    "forged", ["", "short", "a" * 32, "a" * 51, "../../etc", "토큰토큰토큰토큰토큰토큰토큰토큰"]
)
async def test_a_forged_or_mangled_token_is_unknown(
    session: AsyncSession, clock: FrozenClock, forged: str
) -> None:
    shop = await make_shop(session, clock)
    await invite(session, clock, shop)

    with pytest.raises(UnknownInvite) as raised:
        await join(session, clock, forged, STRANGER_ID)
    assert isinstance(raised.value, NotFound)
    assert await shop_vendors(session, shop.id) == []


async def test_an_unknown_role_is_refused(session: AsyncSession, clock: FrozenClock) -> None:
    shop = await make_shop(session, clock)
    with pytest.raises(InvalidInput):
        await invite(session, clock, shop, role="admin")


async def test_someone_already_running_the_shop_keeps_one_record_and_is_only_ever_promoted(
    session: AsyncSession, clock: FrozenClock
) -> None:
    shop = await make_shop(session, clock)
    staff = await join(session, clock, await invite(session, clock, shop, "staff"), STAFF_ID)
    assert staff.role == "staff"

    promoted = await join(session, clock, await invite(session, clock, shop, "owner"), STAFF_ID)
    again = await join(session, clock, await invite(session, clock, shop, "staff"), STAFF_ID)

    assert promoted.id == staff.id == again.id
    assert again.role == "owner"  # a staff link never demotes an owner who opens it
    assert len(await shop_vendors(session, shop.id)) == 1


async def test_an_owner_removes_staff_but_staff_and_other_shops_owners_cannot(
    session: AsyncSession, clock: FrozenClock
) -> None:
    shop = await make_shop(session, clock)
    other = await make_shop(session, clock, slug="other", name="다른가게")
    owner = await join(session, clock, await invite(session, clock, shop), OWNER_ID)
    staff = await join(session, clock, await invite(session, clock, shop, "staff"), STAFF_ID)
    outsider = await join(session, clock, await invite(session, clock, other), STRANGER_ID)

    with pytest.raises(NotShopOwner):
        await remove_vendor(session, shop.id, owner.id, by=staff)
    with pytest.raises(NotShopOwner):
        await remove_vendor(session, shop.id, staff.id, by=outsider)
    with pytest.raises(NotShopOwner):
        await require_owner(session, STAFF_ID, shop.id)
    with pytest.raises(NotFound):  # a vendor of another shop is not found through this one
        await remove_vendor(session, shop.id, outsider.id, by=owner)

    await remove_vendor(session, shop.id, staff.id, by=owner)
    assert [v.role for v in await shop_vendors(session, shop.id)] == [VendorRole.OWNER]


async def test_the_last_owner_cannot_be_removed_even_by_the_admin(
    session: AsyncSession, clock: FrozenClock
) -> None:
    shop = await make_shop(session, clock)
    owner = await join(session, clock, await invite(session, clock, shop), OWNER_ID)

    with pytest.raises(LastOwner):
        await remove_vendor(session, shop.id, owner.id, by=owner)
    with pytest.raises(LastOwner):
        await remove_vendor(session, shop.id, owner.id, by=None)

    second = await join(session, clock, await invite(session, clock, shop), STAFF_ID)
    await remove_vendor(session, shop.id, owner.id, by=second)
    assert [v.id for v in await shop_vendors(session, shop.id)] == [second.id]


@pytest.fixture
async def pg_sessions(postgres_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(postgres_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def test_two_people_racing_for_one_invite_on_postgres_and_one_gets_in(
    pg_sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with pg_sessions() as session:
        shop = await make_shop(session, clock)
        token = await invite(session, clock, shop)
        await session.commit()
        shop_id = shop.id

    async with pg_sessions() as first, pg_sessions() as second:
        await join(first, clock, token, OWNER_ID)  # claimed, not yet committed
        # the second reads the invite as unused, then waits on the first's row lock
        racing = asyncio.create_task(join(second, clock, token, STRANGER_ID))
        await asyncio.sleep(0.3)
        assert not racing.done()
        await first.commit()
        with pytest.raises(InviteAlreadyUsed):
            await racing

    async with pg_sessions() as session:
        vendors = await shop_vendors(session, shop_id)
    assert [v.telegram_user_id for v in vendors] == [OWNER_ID]


async def test_two_owners_removing_each_other_at_once_on_postgres_leave_one(
    pg_sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with pg_sessions() as session:
        shop = await make_shop(session, clock)
        a = await join(session, clock, await invite(session, clock, shop), OWNER_ID)
        b = await join(session, clock, await invite(session, clock, shop), STAFF_ID)
        await session.commit()
        shop_id, a_id, b_id = shop.id, a.id, b.id

    async def remove(by_id: int, target_id: int) -> str:
        async with pg_sessions() as session:
            by = await session.get(Vendor, by_id)
            if by is None:  # the other removal finished before this one began
                return "refused"
            try:
                await remove_vendor(session, shop_id, target_id, by=by)
                await session.commit()
                return "removed"
            except (LastOwner, NotShopOwner, NotFound):
                await session.rollback()
                return "refused"

    results = await asyncio.gather(remove(a_id, b_id), remove(b_id, a_id))

    assert sorted(results) == ["refused", "removed"]
    async with pg_sessions() as session:
        assert len(await shop_vendors(session, shop_id)) == 1
