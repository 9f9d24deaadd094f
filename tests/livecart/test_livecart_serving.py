"""`livecart run` and `livecart demo` as real processes: they answer HTTP and stop on Ctrl-C."""

from __future__ import annotations

import httpx
from alembic.script import ScriptDirectory

from catalog.migrate import alembic_config
from tests.livecart.conftest import LivecartCli, free_port

# How long a process is given to stop after Ctrl-C before the test calls it hung. Generous: on a
# loaded CI machine a clean shutdown has taken over 6 s; how fast it stops is not asserted here.
STOP_TIMEOUT = 30.0
API_TOKEN = "serving-test-token-0123456789"


def test_run_without_a_bot_token_serves_http_and_stops_cleanly_on_ctrl_c(
    livecart_cli: LivecartCli,
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # only the proxy at 192.0.2.1 is believed: this test's requests come from 127.0.0.1
    server = livecart_cli.start(
        "run", LIVECART_HTTP_PORT=str(port), LIVECART_FORWARDED_ALLOW_IPS="192.0.2.1"
    )

    health = server.wait_until_healthy(base)

    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert httpx.get(f"{base}/readyz", timeout=5).status_code == 200
    refused = httpx.get(f"{base}/api/v1/shops", timeout=5)  # no LIVECART_API_TOKEN configured
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    forged = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.5"}
    login = httpx.get(f"{base}/console/login", headers=forged, timeout=5)
    assert "secure" not in login.headers["set-cookie"].lower()  # not from a trusted proxy

    code, elapsed = server.interrupt(timeout=STOP_TIMEOUT)

    assert code == 0, f"exit code {code} after {elapsed:.1f} s (None: still running)"
    assert "Traceback" not in server.stderr
    assert "LIVECART_BOT_TOKEN is not set; running the HTTP API only." in server.stderr
    assert f"livecart listening on {base}" in server.stdout
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert livecart_cli.query("SELECT version_num FROM alembic_version") == [(head,)]


def test_demo_serves_the_simulator_and_the_seeded_market_and_stops_cleanly_on_ctrl_c(
    livecart_cli: LivecartCli,
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = livecart_cli.start("demo", "--port", str(port), LIVECART_API_TOKEN=API_TOKEN)

    assert server.wait_until_healthy(base).status_code == 200

    stats = httpx.get(f"{base}/sim/control/stats", timeout=5)
    assert stats.status_code == 200
    assert stats.headers["content-type"].startswith("application/json")
    assert stats.json()["sent_total"] >= 0

    products = httpx.get(
        f"{base}/api/v1/shops/ganada-fruit/products",
        headers={"Authorization": f"Bearer {API_TOKEN}"},
        timeout=5,
    )
    assert products.status_code == 200, products.text
    assert [(p["sku"], p["price"], p["available"]) for p in products.json()] == [
        ("apple-5kg", 32000, 20),
        ("pear-7-5kg", 45000, 8),
        ("tangerine-3kg", 18000, 30),
        ("hallabong-3kg", 39000, 5),
    ]
    assert httpx.get(f"{base}/api/v1/shops/ganada-fruit/products", timeout=5).status_code == 401
    # the chat page, and the people on it: the vendor phone owns the fruit shop, the staff
    # phone is on the market's campaign team
    page = httpx.get(f"{base}/demo", timeout=5)
    assert page.status_code == 200 and 'id="phone-vendor"' in page.text
    phones = {p["role"]: p["user_id"] for p in httpx.get(f"{base}/demo/phones", timeout=5).json()}
    admin = {"Authorization": f"Bearer {API_TOKEN}"}
    vendors = httpx.get(f"{base}/api/v1/shops/ganada-fruit/vendors", headers=admin, timeout=5)
    assert [(v["telegram_user_id"], v["role"]) for v in vendors.json()] == [
        (phones["vendor"], "owner")
    ]
    staff = httpx.get(f"{base}/api/v1/markets/gwangjang/staff", headers=admin, timeout=5)
    assert [s["telegram_user_id"] for s in staff.json()] == [phones["staff"]]
    sdk = httpx.get(f"{base}/fake-portone/browser-sdk.js", timeout=5)
    assert sdk.status_code == 200 and "requestPayment" in sdk.text  # payments work, no account

    code, elapsed = server.interrupt(timeout=STOP_TIMEOUT)

    assert code == 0, f"exit code {code} after {elapsed:.1f} s (None: still running)"
    assert "Traceback" not in server.stderr
    assert f"livecart demo on {base}" in server.stdout
    assert "market seeded: 10 products" in server.stdout
