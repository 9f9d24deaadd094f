"""What a show may hold, through the REST API and the console form: a mistyped price or
link is refused with a clear error, and nothing already stored changes."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.clock import FrozenClock
from catalog.shows import get_show
from tests.factories import make_product, make_shop
from tests.webhook.conftest import AUTH
from tests.webhook.test_console import _log_in

SHOW = {
    "shop": "ganada",
    "title": "가나 라이브",
    "starts_at": "2026-11-26T19:00:00",
    "ends_at": "2026-11-26T20:00:00",
}


async def _shop_with_a_pear(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock):  # type: ignore[no-untyped-def]
    async with sessionmaker() as session:
        shop = await make_shop(session, clock)
        await make_product(session, clock, shop, sku="pear", name="배", price=20000)
        await session.commit()
        return shop


async def test_a_live_price_of_zero_is_refused_in_rest_and_in_the_console(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await _shop_with_a_pear(sessionmaker, clock)
    free = {**SHOW, "products": [{"sku": "pear", "live_price": 0}]}
    assert (await api.put("/api/v1/shows/3", json=free, headers=AUTH)).status_code == 422

    csrf = await _log_in(api)
    form = {
        "csrf": csrf,
        "organiser": "shop:ganada",
        "title": "가나 라이브",
        "starts_at": "2026-11-26T19:00",
        "ends_at": "2026-11-26T20:00",
        "products": "pear 0",
    }
    refused = await api.post("/console/shows", data=form)
    assert refused.status_code == 422 and 'aria-invalid="true"' in refused.text
    # in the console's language (Korean by default), not the domain's English message
    assert "“방송 상품” 항목을 확인해 주세요: 라이브 가격은 1 이상이어야 해요." in refused.text
    assert "at least 1" not in refused.text
    created = await api.post("/console/shows", data={**form, "products": "pear 1"})
    assert created.status_code == 303
    async with sessionmaker() as session:
        show = await get_show(session, int(created.headers["location"].rsplit("/", 1)[1]))
        assert [item.live_price for item in show.featured] == [1]


async def test_a_link_too_long_or_with_a_space_or_control_character_is_refused(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await _shop_with_a_pear(sessionmaker, clock)
    good = {**SHOW, "stream_url": "https://youtu.be/live"}
    assert (await api.put("/api/v1/shows/3", json=good, headers=AUTH)).status_code == 201
    for field in ("stream_url", "replay_url", "cover_url"):
        for link in ("https://youtu.be/" + "a" * 484, "https://youtu.be/a b", "https://x.kr/\x00"):
            answer = await api.put("/api/v1/shows/3", json={field: link}, headers=AUTH)
            assert answer.status_code == 422, (field, link)
    async with sessionmaker() as session:
        assert (await get_show(session, 3)).stream_url == "https://youtu.be/live"
