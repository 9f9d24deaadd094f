"""2,000 random texts and button presses (stale, forged, garbage; 1,000 on SQLite and 1,000 on
PostgreSQL) and the bot answers every one without an unhandled exception."""

from __future__ import annotations

import asyncio
import logging
import os

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bot.callbacks import CartAction, CartCb, Nav, NavCb, OrderAction, OrderCb, WaitAction, WaitCb
from tests.bot.conftest import Livecart

USERS = 10
PER_EXAMPLE = 100
# 1,000 updates on each database (2,000 in all); FUZZ_UPDATES=N for a longer run
EXAMPLES = int(os.environ.get("FUZZ_UPDATES", "1000")) // PER_EXAMPLE

texts = st.one_of(
    st.text(min_size=1, max_size=200).filter(lambda t: t.strip()),
    st.sampled_from(
        [
            "3번 2개",
            "2번 세 개",
            "사과 두 개",
            "취소",
            "2개 주세요",
            "/start",
            "/orders",
            "/start shop_nowhere",
            "/start product_x_y",
            "/cart",
            "/info",
            "/privacy",
            "/language",
            "/help",
            "열한 개",
            "0번 0개",
            "999번 99999개",
            "１번　２개",
        ]
    ),
    st.from_regex(r"[0-9]{1,3}번 ?[0-9]{1,4}개", fullmatch=True),
)
callbacks = st.one_of(
    st.text(min_size=1, max_size=64),
    st.builds(lambda i: NavCb(to=Nav.PRODUCT, id=i).pack(), st.integers(0, 2**62)),
    st.builds(lambda i: NavCb(to=Nav.SHOP, id=i, page=3).pack(), st.integers(0, 50)),
    st.builds(
        lambda p, q: CartCb(action=CartAction.SET, product=p, qty=q).pack(),
        st.integers(0, 20),
        st.integers(-5, 2000),
    ),
    st.builds(
        lambda o: OrderCb(action=OrderAction.CANCEL_CONFIRMED, order=o).pack(), st.integers(0, 50)
    ),
    st.builds(
        lambda a, p: WaitCb(action=a, product=p).pack(),
        st.sampled_from(list(WaitAction)),
        st.integers(0, 12),
    ),
    st.sampled_from(["n:zz:1:0", "c:b:1", "k:ok:stale", "o:y:-1", "l:xx", "v:y", "n::", ":"]),
)
actions = st.one_of(st.tuples(st.just("text"), texts), st.tuples(st.just("press"), callbacks))


@pytest.mark.slow
@settings(
    max_examples=EXAMPLES,  # 10 examples of 100 updates per database
    phases=[Phase.generate],  # shrinking a failure of 100 updates would take too long
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(plan=st.lists(actions, min_size=PER_EXAMPLE, max_size=PER_EXAMPLE))
async def test_random_texts_and_forged_buttons_never_break_the_bot(
    livecart: Livecart, plan: list[tuple[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    people = [await livecart.person(f"fuzz{i}", "ko" if i % 2 else "en") for i in range(USERS)]
    for person in people:
        await person.say("/start shop_ganada-fruit")
    caplog.set_level(logging.ERROR)

    async def drive(index: int) -> tuple[int, list[str]]:
        person = people[index]
        texts_sent = 0
        presses: list[str] = []
        for kind, value in plan[index::USERS]:
            if kind == "text":
                await livecart.client.send_text(person.user_id, value)
                texts_sent += 1
            else:
                target = (await person.bot_messages())[-1]
                pressed = await livecart.client.press(
                    person.user_id, target["message_id"], data=value, forge=True
                )
                presses.append(pressed["callback_query_id"])
        return texts_sent, presses

    results = await asyncio.gather(*(drive(i) for i in range(USERS)))
    for person, (texts_sent, presses) in zip(people, results, strict=True):
        for callback_id in presses:
            await livecart.client.wait_for_callback_answer(callback_id, timeout=60)
        # every text gets at least one answer (plus the shop screen at the start)
        await livecart.client.wait_for_messages(person.user_id, count=texts_sent + 1, timeout=60)
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert failures == [], [r.getMessage() for r in failures[:5]]
