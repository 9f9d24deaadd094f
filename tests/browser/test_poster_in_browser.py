"""The shop poster as a vendor prints it: rendered by Chromium, its QR read back off the screen."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image
from playwright.sync_api import Browser

from tests.browser.conftest import DemoServer


def test_the_rendered_poster_fits_one_a4_page_and_its_qr_opens_the_shop(
    browser: Browser, demo: DemoServer
) -> None:
    context = browser.new_context(
        locale="ko-KR",
        viewport={"width": 900, "height": 1300},
        extra_http_headers={"Authorization": f"Bearer {demo.api_token}"},
    )
    try:
        page = context.new_page()
        response = page.goto(f"{demo.base_url}/api/v1/shops/ganada-fruit/poster")
        assert response is not None and response.status == 200
        assert page.get_by_role("heading", level=1).inner_text().strip() != ""

        shot = Image.open(io.BytesIO(page.screenshot(full_page=True)))
        found = [result.text for result in zxingcpp.read_barcodes(shot)]
        assert found == ["https://t.me/livecart_demo_bot?start=shop_ganada-fruit"]

        pdf = page.pdf(prefer_css_page_size=True)
        assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") == 1, "not one page"
    finally:
        context.close()
