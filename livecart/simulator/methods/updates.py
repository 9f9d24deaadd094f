"""getUpdates and the webhook methods: how a bot receives what users do."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from livecart.simulator.bot_api import Described
from livecart.simulator.bots import BotRuntime, WebhookConfig
from livecart.simulator.errors import bad_request
from livecart.simulator.models import JSON
from livecart.simulator.params import MethodParams

if TYPE_CHECKING:
    from livecart.simulator.bot_api import MethodHandler
    from livecart.simulator.state import Simulator

_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_INVALID_NUMBER = bad_request("wrong parameter in request")


async def get_updates(sim: Simulator, bot: BotRuntime, params: MethodParams) -> list[JSON]:
    offset = params.integer("offset", invalid=_INVALID_NUMBER)
    limit = params.integer("limit", invalid=_INVALID_NUMBER) or 100
    timeout = params.integer("timeout", invalid=_INVALID_NUMBER) or 0
    return await bot.get_updates(offset, limit, float(timeout))


async def set_webhook(sim: Simulator, bot: BotRuntime, params: MethodParams) -> Described:
    """setWebhook; an empty url removes the webhook, as on Telegram."""
    url = params.text("url") or ""
    drop_pending = params.boolean("drop_pending_updates")
    if not url:
        await sim.webhooks.delete(bot, drop_pending)
        return Described(True, "Webhook was deleted")
    if not url.startswith(("http://", "https://")):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = params.text("secret_token")
    if secret and not _SECRET_TOKEN.match(secret):
        raise bad_request("secret token contains unallowed characters")
    max_connections = params.integer("max_connections", invalid=_INVALID_NUMBER) or 40
    allowed = params.json_value(
        "allowed_updates", invalid=bad_request("can't parse allowed_updates")
    )
    config = WebhookConfig(
        url=url,
        secret_token=secret or None,
        max_connections=min(max(max_connections, 1), 100),
        allowed_updates=allowed if isinstance(allowed, list) else None,
    )
    await sim.webhooks.set(bot, config, drop_pending)
    return Described(True, "Webhook was set")


async def delete_webhook(sim: Simulator, bot: BotRuntime, params: MethodParams) -> Described:
    was_set = bot.webhook is not None
    await sim.webhooks.delete(bot, params.boolean("drop_pending_updates"))
    return Described(True, "Webhook was deleted" if was_set else "Webhook is already deleted")


async def get_webhook_info(sim: Simulator, bot: BotRuntime, params: MethodParams) -> JSON:
    return sim.webhooks.info(bot)


METHODS: dict[str, MethodHandler] = {
    "getUpdates": get_updates,
    "setWebhook": set_webhook,
    "deleteWebhook": delete_webhook,
    "getWebhookInfo": get_webhook_info,
}
