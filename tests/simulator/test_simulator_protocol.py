"""The Bot API wire protocol itself, spoken with a bare HTTP client."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from livecart.simulator import SimulatorClient, SimulatorServer, run_simulator
from livecart.simulator.models import BotAccount

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def module_api(module_sim_server: SimulatorServer) -> AsyncIterator[httpx.AsyncClient]:
    bot = module_sim_server.simulator.bots.resolve(None).account
    base_url = f"{module_sim_server.base_url}/bot{bot.token}"
    async with httpx.AsyncClient(base_url=base_url) as client:
        yield client


@pytest.fixture
def api(module_api: httpx.AsyncClient, sim_server: SimulatorServer) -> httpx.AsyncClient:
    """A bare HTTP client of the bot's Bot API endpoint, in a freshly reset simulator."""
    return module_api


async def test_tokens_and_methods_are_checked_like_telegram(sim_server: SimulatorServer) -> None:
    async with httpx.AsyncClient(base_url=sim_server.base_url) as http:
        unknown = await http.post("/bot123:unknown/getMe")
        malformed = await http.post("/botnot-a-token/getMe")
        no_method = await http.post("/bot7000000001:AAH-livecart_simulator_test/sendTelepathy")
        lower_case = await http.get("/bot7000000001:AAH-livecart_simulator_test/getme")

    assert (unknown.status_code, unknown.json()) == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    assert malformed.status_code == 404
    assert no_method.json() == {
        "ok": False,
        "error_code": 404,
        "description": "Not Found: method not found",
    }
    assert lower_case.json()["result"]["is_bot"] is True


async def test_json_form_and_query_string_parameters_all_work(
    api: httpx.AsyncClient, customer: dict[str, Any]
) -> None:
    markup = {"inline_keyboard": [[{"text": "담기", "callback_data": "add"}]]}

    as_json = await api.post(
        "/sendMessage", json={"chat_id": customer["id"], "text": "json", "reply_markup": markup}
    )
    as_form = await api.post(
        "/sendMessage",
        data={"chat_id": str(customer["id"]), "text": "123", "reply_markup": json.dumps(markup)},
    )
    as_query = await api.get("/sendMessage", params={"chat_id": customer["id"], "text": "query"})

    assert as_json.json()["result"]["reply_markup"] == markup
    assert as_form.json()["result"]["text"] == "123"  # a numeric-looking text stays a string
    assert as_form.json()["result"]["reply_markup"] == markup
    assert as_query.json()["result"]["text"] == "query"


async def test_html_is_parsed_into_entities_and_bad_markup_is_refused(
    api: httpx.AsyncClient, customer: dict[str, Any]
) -> None:
    good = await api.post(
        "/sendMessage",
        json={
            "chat_id": customer["id"],
            "text": '  <b>사과</b> &lt;특가&gt; <a href="https://ex.com/p?a=1&amp;b=2">'
            "보기</a> 😀 ",
            "parse_mode": "HTML",
        },
    )
    bad = await api.post(
        "/sendMessage",
        json={"chat_id": customer["id"], "text": "<b>사과</i>", "parse_mode": "HTML"},
    )

    result = good.json()["result"]
    assert result["text"] == "사과 <특가> 보기 😀"
    assert result["entities"] == [
        {"type": "bold", "offset": 0, "length": 2},
        {"type": "text_link", "offset": 8, "length": 2, "url": "https://ex.com/p?a=1&b=2"},
    ]
    assert bad.status_code == 400
    assert bad.json()["description"] == (
        "Bad Request: can't parse entities: Unmatched end tag at byte offset 9, "
        'expected "</b>", found "</i>"'
    )


async def test_long_polling_waits_for_its_timeout_when_nothing_happens(
    api: httpx.AsyncClient,
) -> None:
    started = time.monotonic()

    response = await api.post("/getUpdates", json={"timeout": 1})

    assert response.json() == {"ok": True, "result": []}
    assert 0.9 <= time.monotonic() - started < 1.5


async def test_long_polling_returns_as_soon_as_a_user_acts(
    api: httpx.AsyncClient, sim: SimulatorClient, customer: dict[str, Any]
) -> None:
    async def act_later() -> None:
        await asyncio.sleep(0.2)
        await sim.send_text(customer["id"], "주문할게요")

    acting = asyncio.create_task(act_later())
    started = time.monotonic()
    response = await api.post("/getUpdates", json={"timeout": 10})
    await acting

    assert time.monotonic() - started < 1.0
    [update] = response.json()["result"]
    assert update["message"]["text"] == "주문할게요"
    confirmed = await api.post("/getUpdates", json={"offset": update["update_id"] + 1})
    assert confirmed.json()["result"] == []


async def test_a_second_poller_ends_the_first_with_a_conflict(api: httpx.AsyncClient) -> None:
    first = asyncio.create_task(api.post("/getUpdates", json={"timeout": 5}))
    await asyncio.sleep(0.1)

    second = await api.post("/getUpdates", json={"timeout": 0})
    ended = await first

    assert second.json() == {"ok": True, "result": []}
    assert ended.status_code == 409
    assert ended.json()["description"].startswith(
        "Conflict: terminated by other getUpdates request"
    )


async def test_editing_text_without_a_keyboard_removes_the_inline_keyboard(
    api: httpx.AsyncClient, sim: SimulatorClient, customer: dict[str, Any]
) -> None:
    markup = {"inline_keyboard": [[{"text": "담기", "callback_data": "add"}]]}
    sent = await api.post(
        "/sendMessage", json={"chat_id": customer["id"], "text": "사과", "reply_markup": markup}
    )
    message_id = sent.json()["result"]["message_id"]

    edited = await api.post(
        "/editMessageText",
        json={"chat_id": customer["id"], "message_id": message_id, "text": "사과 (품절)"},
    )

    assert "reply_markup" not in edited.json()["result"]
    [shown] = await sim.messages(customer["id"])
    assert shown["reply_markup"] is None


async def test_a_photo_can_be_sent_by_url(
    api: httpx.AsyncClient, sim: SimulatorClient, customer: dict[str, Any], png: bytes
) -> None:
    uploaded = await api.post(
        "/sendPhoto",
        data={"chat_id": str(customer["id"])},
        files={"photo": ("a.png", png, "image/png")},
    )
    file_id = uploaded.json()["result"]["photo"][-1]["file_id"]
    file_path = (await api.post("/getFile", json={"file_id": file_id})).json()["result"][
        "file_path"
    ]
    url = f"{sim.base_url}/file/bot7000000001:AAH-livecart_simulator_test/{file_path}"

    by_url = await api.post(
        "/sendPhoto", json={"chat_id": customer["id"], "photo": url, "caption": "QR"}
    )

    new_id = by_url.json()["result"]["photo"][-1]["file_id"]
    assert await sim.file_bytes(new_id) == png


async def test_shutdown_releases_a_waiting_long_poll_and_event_stream(
    bot_account: BotAccount,
) -> None:
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=10) as http:
        async with run_simulator() as server:
            server.simulator.register_bot(bot_account.token, bot_account.username)
            url = f"{server.base_url}/bot{bot_account.token}/getUpdates"
            polling = asyncio.create_task(http.post(url, json={"timeout": 30}))
            streaming = asyncio.create_task(_read_event_stream(http, server.base_url))
            await asyncio.sleep(0.1)
            # leaving this block stops the server while both requests are still open
        response = await polling
        stream_lines = await streaming

    assert response.json() == {"ok": True, "result": []}
    assert stream_lines == [": connected"]
    assert time.monotonic() - started < 2


async def _read_event_stream(http: httpx.AsyncClient, base_url: str) -> list[str]:
    async with http.stream("GET", f"{base_url}/control/events") as stream:
        return [line async for line in stream.aiter_lines() if line]


async def test_a_broken_body_is_a_bad_request_not_a_crash(api: httpx.AsyncClient) -> None:
    headers = {"content-type": "multipart/form-data; boundary=xyz"}

    broken_form = await api.post("/sendMessage", content=b"--xyz\r\nnot a part", headers=headers)
    broken_json = await api.post(
        "/sendMessage", content=b"{", headers={"content-type": "application/json"}
    )

    assert broken_form.status_code == 400 and broken_form.json()["ok"] is False
    assert broken_json.status_code == 400
    assert broken_json.json()["description"].startswith("Bad Request: can't parse request body")
