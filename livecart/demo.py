"""`livecart demo`: the bot, the HTTP API and the Telegram simulator in one process, with a
seeded market, so a newcomer sees the whole story without a Telegram account."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime
from importlib import resources
from typing import Any

from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.product_csv import ImportSummary, import_products
from catalog.shops import upsert_shop
from livecart.settings import Settings

DEMO_TOKEN = "1000000001:livecart-demo-token"
DEMO_BOT_USERNAME = "livecart_demo_bot"
DEMO_STORE_ID = "store-livecart-demo"
DEMO_CHANNEL_KEY = "channel-key-livecart-demo"


def demo_csv() -> str:
    return resources.files("livecart").joinpath("data/demo_market.csv").read_text("utf-8")


def demo_shop_details() -> dict[str, dict[str, Any]]:
    text = resources.files("livecart").joinpath("data/demo_shops.json").read_text("utf-8")
    details: dict[str, dict[str, Any]] = json.loads(text)
    return details


async def seed_demo_market(session: AsyncSession, *, now: datetime) -> ImportSummary:
    """Import the demo market's products and give its shops their seller identity and terms."""
    summary = await import_products(session, demo_csv(), now=now)
    for slug, fields in demo_shop_details().items():
        await upsert_shop(session, slug=slug, now=now, fields=fields)
    return summary


async def run_demo(settings: Settings, console: Console) -> None:
    """Start the simulator on the HTTP port's /sim path, seed the market, run the bot."""
    from livecart.demo_page import (
        DEMO_PHONES,
        build_demo_router,
        seed_demo_people,
        seed_demo_show,
    )
    from livecart.fake_portone import FakePortOne
    from livecart.runtime import build_runtime, prepare_database, serve
    from livecart.simulator import Simulator, create_simulator_app

    api_token = settings.api_token.get_secret_value() if settings.api_token else None
    api_token = api_token or secrets.token_urlsafe(18)
    base = f"http://{settings.http_host}:{settings.http_port}"
    settings = settings.model_copy(
        update={
            "bot_token": settings.bot_token or _secret(DEMO_TOKEN),
            "telegram_api_url": f"{base}/sim",
            "webhook_base_url": None,
            # the demo's merchants try webhooks with a receiver on the same machine
            "webhook_allow_private_urls": True,
            "api_token": _secret(api_token),
            **demo_payment_settings(settings, base),
        }
    )
    assert settings.portone_api_secret is not None and settings.portone_webhook_secret is not None
    portone = FakePortOne(
        api_secret=settings.portone_api_secret.get_secret_value(),
        webhook_secret=settings.portone_webhook_secret.get_secret_value(),
        store_id=DEMO_STORE_ID,
        channel_key=DEMO_CHANNEL_KEY,
        webhook_url=f"{base}/payments/portone/webhook",
    )
    simulator = Simulator()
    assert settings.bot_token is not None
    simulator.register_bot(settings.bot_token.get_secret_value(), DEMO_BOT_USERNAME, "livecart")
    runtime = await build_runtime(settings)
    await prepare_database(runtime.services)
    async with runtime.services.sessionmaker() as session:
        now = runtime.services.clock.now()
        summary = await seed_demo_market(session, now=now)
        await seed_demo_people(session, now=now)
        await seed_demo_show(session, now=now)
        await session.commit()
    for phone in DEMO_PHONES:
        simulator.create_user(
            phone.first_name,
            user_id=phone.user_id,
            language_code="ko",
            phone_number=phone.phone_number,
        )
    runtime.app.include_router(build_demo_router(simulator_path="/sim"))
    runtime.app.mount("/sim", create_simulator_app(simulator))
    runtime.app.mount("/fake-portone", portone.app())
    runtime.shutdown_hooks.append(simulator.aclose)
    customer = DEMO_PHONES[0]
    console.print(
        f"[bold]livecart demo[/] on {base}\n"
        f"  chat page: {base}/demo  (a customer, a vendor and a campaign staff member)\n"
        f"  market seeded: {summary.created + summary.updated} products "
        f"({', '.join(demo_shop_details())})\n"
        f"  REST API: {base}/docs  (Authorization: Bearer {api_token})\n"
        f"  campaign console: {base}/console  (log in with the API token above)\n"
        f"  Telegram simulator: {base}/sim  (control API under {base}/sim/control)\n"
        f"  payments: a fake PortOne at {base}/fake-portone (pay pages {settings.public_base_url}"
        "/pay/...; no account, no money)\n"
        f"  the page's customer is user id {customer.user_id}; without the page, for example:\n"
        f"    curl -s -X POST {base}/sim/control/users/{customer.user_id}/text "
        f"-H 'content-type: application/json' -d '{{\"text\": \"/start shop_ganada-fruit\"}}'\n"
        f"    curl -s {base}/sim/control/chats/{customer.user_id}/messages\n"
        "  Ctrl-C stops it.",
        highlight=False,
    )
    await serve(runtime)


def demo_payment_settings(settings: Settings, base: str) -> dict[str, Any]:
    """PortOne settings pointing at the fake PortOne mounted on the demo's own server.

    Fresh secrets per run, shared with the fake; `public_base_url` stays if it was set.
    """
    webhook_key = base64.b64encode(secrets.token_bytes(24)).decode()
    return {
        "portone_api_url": f"{base}/fake-portone",
        "portone_browser_sdk_url": f"{base}/fake-portone/browser-sdk.js",
        "portone_store_id": DEMO_STORE_ID,
        "portone_channel_key": DEMO_CHANNEL_KEY,
        "portone_api_secret": _secret(secrets.token_urlsafe(24)),
        "portone_webhook_secret": _secret(f"whsec_{webhook_key}"),
        "public_base_url": settings.public_base_url or base,
    }


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)
