"""`livecart token create/revoke` as real processes: the printed token works on its shop's
API only, and stops working once revoked."""

from __future__ import annotations

from pathlib import Path

import httpx

from catalog.clock import FrozenClock
from catalog.db import create_engine, create_sessionmaker
from tests.livecart.conftest import LivecartCli
from webhook.app import create_app
from webhook.context import WebContext

DEMO_CSV = Path(__file__).resolve().parents[2] / "livecart" / "data" / "demo_market.csv"
STOCK = {"items": [{"sku": "apple-5kg", "delta": -1, "version": 1}]}


async def _post_stock(cli: LivecartCli, shop: str, token: str) -> int:
    engine = create_engine(f"sqlite+aiosqlite:///{cli.database}")
    context = WebContext(
        sessionmaker=create_sessionmaker(engine), clock=FrozenClock(), api_token=None
    )
    transport = httpx.ASGITransport(app=create_app(context))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://livecart.test") as api:
            response = await api.post(
                f"/api/v1/shops/{shop}/stock",
                json=STOCK,
                headers={"Authorization": f"Bearer {token}"},
            )
            return response.status_code
    finally:
        await engine.dispose()


async def test_a_token_from_the_cli_works_for_its_shop_until_revoked(
    livecart_cli: LivecartCli,
) -> None:
    assert livecart_cli("catalog", "import", str(DEMO_CSV)).returncode == 0
    created = livecart_cli("token", "create", "ganada-fruit", "--name", "stall till")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("lcs_")
    (stored,) = livecart_cli.query("SELECT token_hash FROM api_tokens")
    assert token not in stored[0]  # only the hash is kept
    assert await _post_stock(livecart_cli, "ganada-fruit", token) == 200
    other = [s for (s,) in livecart_cli.query("SELECT slug FROM shops") if s != "ganada-fruit"]
    assert await _post_stock(livecart_cli, other[0], token) == 403
    token_id = created.stderr.split()[1]
    revoked = livecart_cli("token", "revoke", token_id)
    assert revoked.returncode == 0, revoked.stderr
    assert await _post_stock(livecart_cli, "ganada-fruit", token) == 401
    assert livecart_cli("token", "revoke", "9999").returncode == 1
