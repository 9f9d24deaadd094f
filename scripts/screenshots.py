"""Take the README's screenshots: `make screenshots`.

Starts `livecart demo` on a free port with a throw-away SQLite database (the same set-up as the
browser tests: Debian's Chromium driven by Playwright), plays a short story on the demo page (the
customer orders and pays, the vendor's phone gets the order, the campaign staff member opens
/campaign) and saves docs/screenshots/demo.png. When the server has the campaign console
(/console), it also logs in with the demo's API token and saves docs/screenshots/console.png
and the seeded show's page, docs/screenshots/console-show.png.
Korean text needs a Korean font (Debian: fonts-nanum or fonts-noto-cjk), emoji an emoji font
(fonts-noto-color-emoji); without them the pictures show empty boxes.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

import httpx
from playwright.sync_api import Locator, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser.conftest import find_chromium, start_demo  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
VIEWPORT = {"width": 1440, "height": 1160}


def last_bot_message(phone: Locator) -> Locator:
    return phone.locator(".message.from-bot").last


def play_the_story(page: Page, base_url: str) -> None:
    """The customer orders an apple box and pays; the vendor accepts; the staff opens /campaign."""
    page.goto(f"{base_url}/demo")
    customer = page.locator("#phone-customer")
    vendor = page.locator("#phone-vendor")
    staff = page.locator("#phone-staff")
    expect(page.locator("body[data-live=yes]")).to_have_count(1)
    customer.get_by_role("button", name="과일 가게 열기").click()
    last_bot_message(customer).get_by_role("button", name=re.compile("부사 사과")).click()
    last_bot_message(customer).get_by_role("button", name="1개 주문").click()
    last_bot_message(customer).get_by_role("button", name=re.compile("가게에서 찾기")).click()
    customer.locator(".reply-keyboard").get_by_role("button").first.click()
    last_bot_message(customer).get_by_role("button", name=re.compile("주문 확정")).click()
    pay_link = customer.get_by_role("link", name=re.compile("결제하기"))
    with page.context.expect_page() as opened:
        pay_link.click()
    pay = opened.value
    pay.get_by_role("button", name=re.compile("결제하기")).click()
    pay.get_by_role("button", name="Pay (demo)").click()
    expect(pay.locator("body")).to_contain_text("결제됐어요")
    pay.close()
    page.bring_to_front()
    paid = vendor.locator(".message.from-bot").filter(has_text="결제 완료")
    expect(paid.get_by_role("button", name=re.compile("수락"))).to_be_visible()
    staff.get_by_role("button", name="캠페인").click()
    expect(staff.locator(".message.from-bot")).to_have_count(1)
    page.wait_for_timeout(500)  # let the QR image and the last scroll settle
    page.evaluate("window.scrollTo(0, 0)")


def shoot_console(page: Page, base_url: str, api_token: str) -> bool:
    """Log in to /console with the API token (no name) and take its picture; False if the
    server has no console."""
    if httpx.get(f"{base_url}/console/login", follow_redirects=True).status_code == 404:
        return False
    page.goto(f"{base_url}/console/login")
    form = page.locator('form[action="/console/login"]')
    secret = form.locator("input[type=password]")
    if secret.count() == 0:  # a login form with the token as its only field
        secret = form.locator("input:not([type=hidden])")
    secret.first.fill(api_token)
    form.locator("button[type=submit], input[type=submit]").first.click()
    page.wait_for_load_state()
    if page.url.rstrip("/").endswith("/console/login"):
        raise RuntimeError(f"the console refused the demo's API token: {page.url}")
    page.wait_for_timeout(500)
    page.screenshot(path=str(OUT / "console.png"))
    # the demo's seeded show: its reminder schedule, charts and top products
    page.locator('a[href^="/console/shows/"]:not([href$="/new"])').first.click()
    page.wait_for_load_state()
    page.wait_for_timeout(500)
    page.screenshot(path=str(OUT / "console-show.png"), full_page=True)
    return True


def main() -> int:
    chromium = find_chromium()
    if chromium is None:
        print("Chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="livecart-screenshots-") as home:
        server, cli = start_demo(Path(home) / "demo")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=chromium,
                    headless=True,
                    args=["--no-sandbox", "--disable-dev-shm-usage"],
                )
                context = browser.new_context(locale="ko-KR", viewport=VIEWPORT)  # type: ignore[arg-type]
                context.set_default_timeout(15_000)
                page = context.new_page()
                play_the_story(page, server.base_url)
                page.screenshot(path=str(OUT / "demo.png"))
                print(f"wrote {OUT / 'demo.png'}")
                if shoot_console(page, server.base_url, server.api_token):
                    print(f"wrote {OUT / 'console.png'} and {OUT / 'console-show.png'}")
                else:
                    print("no /console on this server: console.png not taken")
                browser.close()
        finally:
            for running in cli.started:
                if running.process.poll() is None:
                    running.process.terminate()
                    running.process.wait(timeout=20)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
