"""The demo chat page in Chromium: the customer orders by tapping the page's buttons, pays on
the fake PortOne page through the Pay link, and the vendor's phone shows the paid order."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from livecart.demo_page import DEMO_PHONES
from tests.browser.conftest import DemoServer

CUSTOMER_ID = DEMO_PHONES[0].user_id


def last_bot_message(phone: Locator) -> Locator:
    return phone.locator(".message.from-bot").last


def test_a_customer_orders_and_pays_on_the_demo_page_and_the_vendor_phone_gets_the_order(
    page: Page, demo: DemoServer
) -> None:
    page.goto(f"{demo.base_url}/demo")
    customer = page.locator("#phone-customer")
    vendor = page.locator("#phone-vendor")
    expect(page.locator("body[data-live=yes]")).to_have_count(1)  # the event stream is open

    # on a narrow screen (or at 200% zoom) the phones stack instead of shrinking
    page.set_viewport_size({"width": 600, "height": 900})
    boxes = [page.locator(f"#phone-{role}").bounding_box() for role in ("customer", "vendor")]
    assert boxes[0] and boxes[1] and boxes[1]["y"] >= boxes[0]["y"] + boxes[0]["height"]
    page.set_viewport_size({"width": 1440, "height": 960})

    customer.get_by_role("button", name="과일 가게 열기").click()
    last_bot_message(customer).get_by_role("button", name=re.compile("부사 사과")).click()
    last_bot_message(customer).get_by_role("button", name="1개 주문").click()
    last_bot_message(customer).get_by_role("button", name=re.compile("가게에서 찾기")).click()
    # the bot's request-contact button, under the message box
    customer.locator(".reply-keyboard").get_by_role("button").first.click()
    last_bot_message(customer).get_by_role("button", name=re.compile("주문 확정")).click()

    order = customer.locator(
        ".message.from-bot", has=page.get_by_role("link", name=re.compile("결제하기"))
    )
    expect(order.locator("img.photo")).to_have_count(1)  # the QR of the pay link
    expect(vendor.locator(".message")).to_have_count(0)  # no alert for an unpaid card order

    # the Pay button opens the pay page in a new tab of the same browser
    with page.context.expect_page() as opened:
        order.get_by_role("link", name=re.compile("결제하기")).click()
    pay = opened.value
    pay.get_by_role("button", name=re.compile("결제하기")).click()
    pay.get_by_role("button", name="Pay (demo)").click()
    expect(pay.locator("body")).to_contain_text("결제됐어요")

    paid = vendor.locator(".message.from-bot").filter(has_text="결제 완료")
    expect(paid).to_contain_text("부사 사과 5kg")
    alert = vendor.locator(f'[data-message-id="{paid.get_attribute("data-message-id")}"]')
    expect(alert.get_by_role("button", name=re.compile("수락"))).to_be_visible()
    expect(customer.locator(".chat")).to_contain_text("결제 완료")

    # the vendor accepts on the phone; the alert is edited in place, live
    alert.get_by_role("button", name=re.compile("수락")).click()
    expect(alert).to_contain_text("수정됨")
    expect(customer.locator(".chat")).to_contain_text("가게에서 접수 완료")

    # the customer switches the bot to English with the bot's own /language
    customer.get_by_role("button", name="언어 바꾸기").click()
    last_bot_message(customer).get_by_role("button", name="English").click()
    expect(customer.locator(".chat")).to_contain_text("Language set: English.")

    # (sharing the running demo, which takes longer to start than this check takes to run)
    check_bot_text_is_shown_with_its_formatting_and_links_and_never_as_markup(
        page.context.new_page(), demo
    )


def check_bot_text_is_shown_with_its_formatting_and_links_and_never_as_markup(
    page: Page, demo: DemoServer
) -> None:
    """What a bot sends is rendered from its parsed text and entities, as text nodes (the
    customer's chat is replaced by one made-up message, in this page only)."""
    text = "주문 ABC 완료 <img src=x onerror=alert(1)>\n영수증: https://example.kr/r/1."
    message = {
        "message_id": 1,
        "chat_id": CUSTOMER_ID,
        "from_bot": True,
        "plain_text": text,
        "entities": [{"type": "bold", "offset": 3, "length": 3}],
        "reply_markup": {
            "inline_keyboard": [
                [
                    {
                        "text": "가게 열기",
                        "url": "https://t.me/livecart_demo_bot?start=shop_ganada-fruit",
                    }
                ]
            ]
        },
        "edits": 0,
    }
    page.route(
        f"**/sim/control/chats/{CUSTOMER_ID}/messages",
        lambda route: route.fulfill(json=[message]),
    )
    page.goto(f"{demo.base_url}/demo")
    shown = page.locator("#phone-customer .message.from-bot")
    expect(shown.locator("strong")).to_have_text("ABC")
    expect(shown).to_contain_text("<img src=x onerror=alert(1)>")
    assert shown.locator("img").count() == 0
    link = shown.get_by_role("link", name="https://example.kr/r/1")
    expect(link).to_have_attribute("target", "_blank")
    # a deep link to the bot is a button that opens it in this chat, as Telegram does
    expect(shown.get_by_role("button", name="가게 열기")).to_be_visible()
