"""Vendor alert from the outbox: livecart stopped sending events to a shop's webhook URL."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.notifications import Outgoing, RenderEnv, Renderer
from catalog.models import OutboxMessage


async def render_webhook_disabled(
    session: AsyncSession, row: OutboxMessage, locale: str, env: RenderEnv
) -> Outgoing | None:
    """ "⚠️ Orders and stock no longer reach https://...: it failed for a day." """
    text = _(
        "⚠️ Your other system at {url} did not answer for a day, so livecart stopped sending "
        "it orders and stock changes. Fix it, then replay a delivery to turn it back on."
    ).format(url=row.payload["url"])
    return Outgoing(text)


WEBHOOK_RENDERERS: dict[str, Renderer] = {"webhook_disabled": render_webhook_disabled}
