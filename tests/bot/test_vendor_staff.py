"""A shop's people, end to end through the Telegram simulator: the admin's invite makes the
owner, the owner invites staff from the chat, links work once, outsiders see nothing of the
shop (not even with forged buttons), and the owner removes staff."""

from __future__ import annotations

import asyncio
import re

import httpx
from aiogram.types import BotCommandScopeChat
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import StaffAction, StaffCb
from catalog.models import Shop, Vendor
from tests.bot.conftest import API_TOKEN, Livecart, Person, text_of

INVITE_LINK = re.compile(r"https://t\.me/livecart_test_bot\?start=(vendor_[A-Za-z0-9_-]+)")


async def admin_invite(livecart: Livecart, shop: str) -> str:
    """The admin API's owner invite for `shop`, once the bot knows its own name."""
    for _ in range(100):
        if livecart.runtime.web.bot_username:
            break
        await asyncio.sleep(0.05)
    async with httpx.AsyncClient(base_url=livecart.http_url) as http:
        response = await http.post(
            f"/api/v1/shops/{shop}/vendor-invites",
            json={"role": "owner"},
            headers={"Authorization": f"Bearer {API_TOKEN}"},
        )
    assert response.status_code == 201, response.text
    match = INVITE_LINK.fullmatch(response.json()["link"])
    assert match is not None
    return match.group(1)


async def vendors_of(db: async_sessionmaker[AsyncSession], slug: str) -> list[tuple[int, str]]:
    async with db() as session:
        rows = await session.execute(
            select(Vendor.telegram_user_id, Vendor.role)
            .join(Shop, Shop.id == Vendor.shop_id)
            .where(Shop.slug == slug)
            .order_by(Vendor.id)
        )
        return [(user, role) for user, role in rows.all()]


async def shop_id(db: async_sessionmaker[AsyncSession], slug: str) -> int:
    async with db() as session:
        found = await session.scalar(select(Shop.id).where(Shop.slug == slug))
        assert found is not None
        return found


async def press_forged(person: Person, data: str) -> str:
    """Press a button the bot never sent, on the person's newest message; the bot's answer."""
    message = await person.last()
    before = len(await person.bot_messages())
    pressed = await person.client.press(
        person.user_id, message["message_id"], data=data, forge=True
    )
    answer = await person.client.wait_for_callback_answer(pressed["callback_query_id"])
    assert len(await person.bot_messages()) == before  # nothing else was said
    return str(answer.get("text") or "")


async def test_an_owner_joins_invites_staff_and_removes_them(
    livecart: Livecart, db: async_sessionmaker[AsyncSession]
) -> None:
    owner = await livecart.person("김가나", "en")
    payload = await admin_invite(livecart, "ganada-fruit")

    welcome = (await owner.say(f"/start {payload}"))[-1]

    assert "가나청과" in text_of(welcome) and "/staff" in text_of(welcome)
    assert await vendors_of(db, "ganada-fruit") == [(owner.user_id, "owner")]
    assert livecart.runtime.bot is not None
    menu = await livecart.runtime.bot.get_my_commands(
        scope=BotCommandScopeChat(chat_id=owner.user_id)
    )
    assert {"stock", "staff"} <= {c.command for c in menu}

    staff_screen = (await owner.say("/staff"))[-1]
    assert "김가나" in text_of(staff_screen)
    await owner.tap("Invite staff", staff_screen)
    invite_message = await owner.last()
    staff_link = INVITE_LINK.search(text_of(invite_message))
    assert staff_link is not None, text_of(invite_message)

    staff = await livecart.person("이직원", "en")
    joined = (await staff.say(f"/start {staff_link.group(1)}"))[-1]
    assert "가나청과" in text_of(joined) and "/staff" not in text_of(joined)
    assert await vendors_of(db, "ganada-fruit") == [
        (owner.user_id, "owner"),
        (staff.user_id, "staff"),
    ]

    latecomer = await livecart.person("박늦음", "en")
    refused = (await latecomer.say(f"/start {staff_link.group(1)}"))[-1]
    assert "used already" in text_of(refused)
    forged = (await latecomer.say("/start vendor_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))[-1]
    assert "doesn't work" in text_of(forged)
    assert len(await vendors_of(db, "ganada-fruit")) == 2

    await owner.say("/staff")
    await owner.tap("Remove 이직원")
    await owner.tap("Yes, remove")
    goodbye = await staff.client.wait_for_messages(
        staff.user_id, predicate=lambda m: "no longer" in text_of(m)
    )
    assert "가나청과" in text_of(goodbye[-1])
    assert await vendors_of(db, "ganada-fruit") == [(owner.user_id, "owner")]
    screen = await owner.last()
    assert "이직원" not in text_of(screen)


async def test_customers_staff_and_forged_buttons_see_nothing_of_a_shop(
    livecart: Livecart, db: async_sessionmaker[AsyncSession]
) -> None:
    owner = await livecart.person("김가나", "en")
    await owner.say(f"/start {await admin_invite(livecart, 'ganada-fruit')}")
    other_owner = await livecart.person("이순희", "en")
    await other_owner.say(f"/start {await admin_invite(livecart, 'sunhee-bindae')}")
    ganada = await shop_id(db, "ganada-fruit")
    owner_vendor_id = (await vendors_of_ids(db, "ganada-fruit"))[0]

    customer = await livecart.person("손님", "en")
    refusal = (await customer.say("/staff"))[-1]
    assert "Only a shop's owner" in text_of(refusal)
    assert "김가나" not in text_of(refusal)

    for person in (customer, other_owner):
        for data in (
            StaffCb(action=StaffAction.LIST, shop=ganada),
            StaffCb(action=StaffAction.INVITE, shop=ganada),
            StaffCb(action=StaffAction.REMOVE_CONFIRMED, shop=ganada, vendor=owner_vendor_id),
        ):
            answer = await press_forged(person, data.pack())
            assert "Only the shop's owner" in answer
        for message in await person.bot_messages():
            assert "김가나" not in text_of(message) and "vendor_" not in text_of(message)
    assert len(await vendors_of(db, "ganada-fruit")) == 1

    # an owner can't take the last owner off their own shop either
    await owner.say("/staff")
    answer = await press_forged(
        owner,
        StaffCb(action=StaffAction.REMOVE_CONFIRMED, shop=ganada, vendor=owner_vendor_id).pack(),
    )
    assert "at least one owner" in answer
    assert await vendors_of(db, "ganada-fruit") == [(owner.user_id, "owner")]


async def vendors_of_ids(db: async_sessionmaker[AsyncSession], slug: str) -> list[int]:
    async with db() as session:
        return list(
            await session.scalars(
                select(Vendor.id)
                .join(Shop, Shop.id == Vendor.shop_id)
                .where(Shop.slug == slug)
                .order_by(Vendor.id)
            )
        )
