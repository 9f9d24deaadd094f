"""After the show: the campaign sets a replay link and switches the replay message on in
/campaign; when the show has ended, each opted-in subscriber gets one "다시보기" message with
the featured products still in stock, unsubscribed people none; /shows lists the show as a
replay for a week."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from catalog.clock import FrozenClock
from catalog.models import OutboxMessage
from livecart.runtime import run_campaign_jobs
from tests.bot.conftest import API_TOKEN, Livecart, running_livecart, text_of

REPLAY = "https://www.youtube.com/watch?v=replay"


def api(app: Livecart) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=app.http_url, headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=30
    )


def buttons(message: dict) -> list[dict]:
    return [b for row in message["reply_markup"]["inline_keyboard"] for b in row]


async def test_subscribers_get_one_replay_with_what_is_still_in_stock(
    database_url: str, clock: FrozenClock
) -> None:
    async with running_livecart(database_url, clock) as app:
        start = clock.now() + timedelta(hours=1)
        async with api(app) as http:
            created = await http.put(
                "/api/v1/shows/9",
                json={
                    "market": "gwangjang",
                    "title": "광장 라이브",
                    "starts_at": start.isoformat(),
                    "ends_at": (start + timedelta(hours=1)).isoformat(),
                    "products": [
                        {"shop": "ganada-fruit", "sku": "pear-7-5kg"},
                        {"shop": "park-dried-fish", "sku": "squid-5"},  # sold out
                    ],
                },
            )
            assert created.status_code == 201, created.text
            staff = await app.person("Campaign", "en")
            added = await http.put(f"/api/v1/markets/gwangjang/staff/{staff.user_id}", json={})
            assert added.status_code == 201, added.text

        fan, quitter, passer_by = [await app.person(n) for n in ("김순자", "이영수", "박민지")]
        for person in (fan, quitter):
            [card] = await person.say("/start show_9")
            await person.tap("알림 받기", card)
        await quitter.say("/stop")

        [menu] = await staff.say("/campaign")
        await staff.tap("광장 라이브", menu)
        await staff.tap("Replay link")
        [refused] = await staff.say("not a link")
        assert "https://" in text_of(refused)
        [too_long] = await staff.say("https://youtu.be/" + "a" * 500)
        assert "500" in text_of(too_long)
        [spaced] = await staff.say("https://youtu.be/re play")
        assert "spaces" in text_of(spaced)
        [panel] = await staff.say(REPLAY)
        assert REPLAY in text_of(panel)
        await staff.tap("Replay message: off", panel)

        clock.advance(timedelta(hours=3))  # the show is over
        assert await run_campaign_jobs(app.runtime) == 1  # the fan only
        assert await run_campaign_jobs(app.runtime) == 0  # once
        [replay] = await app.client.wait_for_messages(
            fan.user_id, predicate=lambda m: "다시보기" in text_of(m)
        )
        assert "신고 배 7.5kg" in text_of(replay) and "오징어" not in text_of(replay)
        assert buttons(replay)[0]["url"] == REPLAY
        assert any("신고 배" in b["text"] for b in buttons(replay))  # order it from here
        assert any("알림 끄기" in b["text"] for b in buttons(replay))
        async with app.runtime.services.sessionmaker() as session:
            rows = list(
                await session.scalars(
                    select(OutboxMessage).where(OutboxMessage.kind == "show_replay")
                )
            )
        assert [row.chat_id for row in rows] == [fan.user_id]
        async with api(app) as http:
            assert (await http.get("/api/v1/shows/9")).json()["replay_sent_at"] is not None

        # /shows lists the ended show as a replay for 7 days, then no more
        [listed] = await passer_by.say("/shows")
        assert any("광장 라이브" in b["text"] and "다시보기" in b["text"] for b in buttons(listed))
        clock.advance(timedelta(days=7))
        [later] = await passer_by.say("/shows")
        assert not any("광장 라이브" in b["text"] for b in buttons(later))
