"""The campaign console in a browser: a campaign member logs in, plans a show, sends a message
about it to its subscribers, and watches the delivery counters move as the demo's sender
sends through the Telegram simulator (one subscriber blocked the bot)."""

from __future__ import annotations

import os
import time

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import DemoServer

SHOTS = os.environ.get("LIVECART_TEST_SCREENSHOTS")  # a folder: keep a picture of each page


def _shot(page: Page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/console-{name}.png", full_page=True)


def _subscribe(sim: httpx.Client, name: str, show_id: int) -> int:
    """A simulated customer opens the show's link and taps "알림 받기"; returns their id."""
    user_id = int(sim.post("/users", json={"first_name": name}).json()["id"])
    sim.post(f"/users/{user_id}/text", json={"text": f"/start show_{show_id}"})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for message in sim.get(f"/chats/{user_id}/messages").json():
            markup = message.get("reply_markup") or {}
            buttons = [b for row in markup.get("inline_keyboard", []) for b in row]
            if any(b.get("text") == "🔔 알림 받기" for b in buttons):
                answer = sim.post(
                    f"/users/{user_id}/press",
                    json={"message_id": message["message_id"], "button_text": "🔔 알림 받기"},
                )
                assert answer.status_code == 200, answer.text
                _wait_for_text(sim, user_id, "🔔 알림을 켰어요")  # the bot's last reply to it
                return user_id
        time.sleep(0.1)
    raise AssertionError(f"{name} never saw the show's reminder button")


def _wait_for_text(sim: httpx.Client, user_id: int, text: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if any(text in (m.get("text") or "") for m in sim.get(f"/chats/{user_id}/messages").json()):
            return
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never reached {user_id}")


def test_a_campaign_member_plans_a_show_and_watches_its_message_go_out(
    page: Page, demo: DemoServer
) -> None:
    added = demo.cli("console", "user-add", "minji", "--password-stdin", stdin="gimjang-2026!\n")
    assert added.returncode == 0, added.stderr
    page.goto(f"{demo.base_url}/console")
    expect(page).to_have_url(f"{demo.base_url}/console/login")
    page.get_by_label("이름").fill("minji")
    page.get_by_label("비밀번호 또는 토큰").fill("wrong-password")
    page.get_by_role("button", name="로그인").click()
    expect(page.get_by_role("alert")).to_contain_text("맞지 않아요")
    page.get_by_label("비밀번호 또는 토큰").fill("gimjang-2026!")
    page.get_by_role("button", name="로그인").click()
    expect(page.get_by_role("heading", name="다가오는 방송")).to_be_visible()

    page.get_by_role("navigation").get_by_role("link", name="새 방송").click()
    page.get_by_label("제목").fill("가나청과 김장철 라이브")
    page.get_by_label("가게 또는 시장").select_option("shop:ganada-fruit")
    page.get_by_label("방송 링크").fill("https://youtube.com/live/gimjang")
    page.get_by_label("방송 상품").fill("ganada-fruit/apple-5kg 29000\nganada-fruit/pear-7-5kg")
    _shot(page, "show-form")
    page.get_by_role("button", name="저장하기").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("가나청과 김장철 라이브")
    expect(page.get_by_role("cell", name="₩29,000")).to_be_visible()
    show_id = int(page.url.rsplit("/", 1)[1])

    with httpx.Client(base_url=f"{demo.base_url}/sim/control", timeout=10) as sim:
        fan = _subscribe(sim, "영희", show_id)
        gone = _subscribe(sim, "철수", show_id)
        assert sim.post(f"/users/{gone}/block", json={}).status_code == 200
        # the broadcast's first send waits out a 429, so its page opens before anything is
        # delivered and the counters can be seen moving
        sim.post("/faults", json={"rate_limit_burst": {"count": 1, "retry_after": 3}})

        page.get_by_role("link", name="이 방송 메시지 보내기").click()
        expect(page.get_by_label("받는 대상")).to_have_value(f"show:{show_id}")
        page.get_by_label("메시지", exact=True).fill("오늘 저녁 7시, 사과 한 상자 29,000원!")
        page.get_by_role("button", name="미리 보기").click()
        expect(page.get_by_text("이 메시지는 2명에게 가요.")).to_be_visible()
        _shot(page, "broadcast-preview")
        page.get_by_role("button", name="보내기").click()

        sent = page.locator('[data-counter="sent"]')
        expect(page.locator('[data-counter="recipients"]')).to_have_text("2")
        assert sent.inner_text() == "0"  # nothing delivered yet: the counters must move
        expect(sent).to_have_text("1")
        expect(page.locator('[data-counter="blocked"]')).to_have_text("1")
        expect(page.locator('[data-counter="pending"]')).to_have_text("0")
        expect(page.get_by_text("메시지를 모두 처리했어요.")).to_be_visible()
        _shot(page, "broadcast-delivered")
        _wait_for_text(sim, fan, "사과 한 상자 29,000원")

    page.get_by_role("link", name="가나청과 김장철 라이브").click()
    _shot(page, "show")
    page.get_by_role("button", name="로그아웃").click()
    expect(page).to_have_url(f"{demo.base_url}/console/login")
