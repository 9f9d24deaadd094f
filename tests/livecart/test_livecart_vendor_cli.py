"""`livecart vendor invite` and `livecart poster` as real processes: the printed link opens a
real invite, and the poster's QR code decodes to the shop's deep link."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import zxingcpp
from PIL import Image

from tests.livecart.conftest import LivecartCli, free_port

DEMO_CSV = Path(__file__).resolve().parents[2] / "livecart" / "data" / "demo_market.csv"
BOT_TOKEN = "4242424242:livecart-cli-test-token"


@pytest.fixture
def demo_market(livecart_cli: LivecartCli) -> LivecartCli:
    assert livecart_cli("catalog", "import", str(DEMO_CSV)).returncode == 0
    return livecart_cli


@pytest.fixture
def simulator() -> Iterator[str]:
    """The Telegram simulator in its own process, with the bot registered as `cli_test_bot`."""
    port = free_port()
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "livecart.simulator"),
            *("--port", str(port), "--bot", f"{BOT_TOKEN}:cli_test_bot"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{base}/bot{BOT_TOKEN}/getMe", timeout=1.0)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    pytest.fail("the simulator did not start")
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def stored_hashes(cli: LivecartCli) -> list[str]:
    return [h for (h,) in cli.query("SELECT token_hash FROM vendor_invites")]


def test_an_invite_asks_telegram_for_the_bot_name_and_prints_a_working_link(
    demo_market: LivecartCli, simulator: str
) -> None:
    result = demo_market(
        "vendor",
        "invite",
        "ganada-fruit",
        "--role",
        "staff",
        LIVECART_BOT_TOKEN=BOT_TOKEN,
        LIVECART_TELEGRAM_API_URL=simulator,
    )

    assert result.returncode == 0, result.stderr
    assert "staff invite for 가나청과" in result.stdout
    match = re.search(r"https://t\.me/cli_test_bot\?start=vendor_([A-Za-z0-9_-]+)", result.stdout)
    assert match is not None, result.stdout
    token = match.group(1)
    assert stored_hashes(demo_market) == [hashlib.sha256(token.encode()).hexdigest()]
    assert demo_market.query("SELECT role, created_by FROM vendor_invites") == [("staff", "admin")]


def test_without_a_bot_token_the_invite_prints_the_payload_and_how_to_link_it(
    demo_market: LivecartCli,
) -> None:
    result = demo_market("vendor", "invite", "ganada-fruit")

    assert result.returncode == 0, result.stderr
    payload = re.search(r"^(vendor_[A-Za-z0-9_-]+)$", result.stdout, flags=re.MULTILINE)
    assert payload is not None, result.stdout
    assert f"https://t.me/<bot username>?start={payload.group(1)}" in result.stdout


def test_an_unknown_shop_is_one_line_and_exit_1(demo_market: LivecartCli) -> None:
    result = demo_market("vendor", "invite", "nowhere", "--bot", "cli_test_bot")

    assert result.returncode == 1
    assert result.stderr.strip() == "livecart: shop 'nowhere' not found"


def test_the_poster_is_an_a4_page_whose_qr_opens_the_shop(
    demo_market: LivecartCli, tmp_path: Path
) -> None:
    target = tmp_path / "poster.html"

    result = demo_market("poster", "ganada-fruit", "--bot", "livecart_demo_bot", "-o", str(target))

    assert result.returncode == 0, result.stderr
    html = target.read_text(encoding="utf-8")
    assert "@page { size: A4;" in html and "<h1>가나청과</h1>" in html
    data = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert data is not None
    image = Image.open(io.BytesIO(base64.b64decode(data.group(1))))
    decoded = [r.text for r in zxingcpp.read_barcodes(image)]
    assert decoded == ["https://t.me/livecart_demo_bot?start=shop_ganada-fruit"]


def test_the_poster_needs_a_bot_name(demo_market: LivecartCli) -> None:
    result = demo_market("poster", "ganada-fruit")

    assert result.returncode == 2
    assert "--bot" in result.stderr
