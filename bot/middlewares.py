"""One database transaction per update, the customer, the locale; replies after commit."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import TelegramObject, Update, User
from aiogram.utils.i18n import I18n, I18nMiddleware

from bot.deps import BotDeps
from bot.fsm_buffer import PendingWrites, TransactionalStorage
from bot.observability import OUTCOME_KEY
from bot.replies import Replies
from catalog.customers import ensure_customer
from catalog.models import Customer
from catalog.updates import record_update

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


def supported_language(code: str | None, i18n: I18n, default: str) -> str:
    """The user's Telegram language if we speak it ("en-US" -> "en"), else the default."""
    if code:
        base = code.split("-")[0].lower()
        if base in i18n.available_locales:
            return base
    return default


class UpdateSessionMiddleware(BaseMiddleware):
    """Opens the update's transaction, skips an update seen before, commits once, then replies.

    Telegram delivers at least once (webhook retries, a crash before getUpdates confirms):
    the update id is recorded in the same transaction, so a repeat changes nothing.
    """

    def __init__(self, deps: BotDeps, i18n: I18n) -> None:
        self.deps = deps
        self.i18n = i18n

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        bot: Bot = data["bot"]
        user: User | None = data.get("event_from_user")
        chat = data.get("event_chat")
        if chat is not None and chat.type != "private":
            # orders, phones and totals belong in the customer's private chat, never a group
            log.info("update %s from a %s chat ignored", event.update_id, chat.type)
            data[OUTCOME_KEY] = "ignored"
            return None
        chat_id = chat.id if chat is not None else (user.id if user else None)
        replies = Replies(chat_id, event.callback_query)
        now = self.deps.clock.now()
        wrote_outbox = False
        storage = data.get("fsm_storage")
        # FSM writes wait for the commit: a rolled-back update leaves the state as it was
        buffering = (
            storage.buffered()
            if isinstance(storage, TransactionalStorage)
            else contextlib.nullcontext()
        )
        with buffering as pending:
            context = data.get("state")
            if pending is not None and isinstance(context, FSMContext):
                pending.seen_state(context.key, data.get("raw_state"))
            async with self.deps.sessionmaker() as session:
                if not await record_update(session, event.update_id, now=now):
                    log.info("update %s seen before; skipped", event.update_id)
                    await session.rollback()
                    data[OUTCOME_KEY] = "duplicate"
                    return None
                customer: Customer | None = None
                if user is not None and not user.is_bot:
                    customer = await ensure_customer(
                        session,
                        telegram_user_id=user.id,
                        chat_id=chat_id if chat_id is not None else user.id,
                        name=user.full_name,
                        language=supported_language(
                            user.language_code, self.i18n, self.deps.default_locale
                        ),
                        now=now,
                    )
                data.update(
                    session=session,
                    customer=customer,
                    # a plain string: still readable by the error handler after a rollback
                    customer_language=customer.language if customer is not None else None,
                    now=now,
                    replies=replies,
                    deps=self.deps,
                )
                try:
                    result = await handler(event, data)
                    wrote_outbox = bool(session.info.pop("outbox_written", False))
                    await session.commit()
                except BaseException:
                    await session.rollback()
                    replies.clear()
                    data.pop("customer", None)  # detached now: nothing after this may touch it
                    raise
            await _apply_state(pending, event.update_id)

        if wrote_outbox:
            self.deps.wake_sender()
        await replies.flush(bot, self.deps.send_limits)
        return result


async def _apply_state(pending: PendingWrites | None, update_id: int) -> None:
    """Write the committed update's FSM state; if Redis fails now, the update still counts
    (its database work is committed) and the customer still gets the answer."""
    if pending is None:
        return
    try:
        await pending.apply()
    except Exception:
        log.exception("update %s: its FSM state could not be saved", update_id)


class CustomerLocaleMiddleware(I18nMiddleware):
    """The language the customer chose (/language), else their Telegram app's, else Korean."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        language: str | None = data.get("customer_language")
        if language is not None and language in self.i18n.available_locales:
            return language
        user: User | None = data.get("event_from_user")
        return supported_language(
            user.language_code if user else None, self.i18n, self.i18n.default_locale
        )
