"""Building the bot and its dispatcher: routers in order, middlewares, errors, storage."""

from __future__ import annotations

import logging
from pathlib import Path

from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage, SimpleEventIsolation
from aiogram.types import BotCommand, ErrorEvent
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.deps import BotDeps
from bot.fsm_buffer import TransactionalStorage
from bot.middlewares import CustomerLocaleMiddleware, UpdateSessionMiddleware
from bot.observability import UpdateObservabilityMiddleware
from bot.outages import is_outage
from bot.routers import (
    campaign,
    cart,
    checkout,
    language,
    my_orders,
    privacy,
    product_search,
    shop,
    shows,
    start,
    typed_orders,
    vendor_export,
    vendor_orders,
    vendor_staff,
    vendor_stock,
    waitlist,
)
from catalog.errors import DomainError, NotFound

log = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"


def build_i18n(default_locale: str = "ko") -> I18n:
    """Babel gettext catalogs from locales/ (compiled .mo files)."""
    return I18n(path=LOCALES_DIR, default_locale=default_locale, domain="messages")


def build_bot(token: str, api_url: str, *, timeout: float = 10.0) -> Bot:
    """A Bot talking to `api_url` (Telegram, or the simulator: the bot can't tell)."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_url), timeout=timeout)
    return Bot(token=token, session=session, default=DefaultBotProperties(parse_mode=None))


def customer_routers() -> list[Router]:
    """Feature routers in the order they must be tried: the catch-all typed orders last."""
    return [
        vendor_orders.router,
        vendor_staff.router,  # before start: it takes the vendor_ deep links
        campaign.router,
        shows.router,  # before start: it takes the show_<id> deep links
        start.router,
        language.router,
        privacy.router,
        checkout.router,
        cart.router,
        waitlist.router,
        my_orders.router,
        shop.router,
        vendor_export.router,
        vendor_stock.router,  # only a vendor's own product names; other text falls through
        product_search.router,  # bare product names outside an order
        typed_orders.router,
    ]


def build_dispatcher(
    deps: BotDeps,
    i18n: I18n,
    *,
    storage: BaseStorage | None = None,
    events_isolation: BaseEventIsolation | None = None,
    redeliver_on_outage: bool = False,
) -> Dispatcher:
    """One dispatcher per process. Memory FSM by default; Redis storage for several instances.

    Event isolation makes one user's updates run one at a time: ten fast taps can't race.
    With `redeliver_on_outage` (webhook mode) an update that failed because the database or
    Redis was unreachable is not answered with an apology: the error goes up, the webhook
    answers 503, and Telegram delivers the update again (its transaction was rolled back, its
    update id not recorded), so the customer's tap or order is not lost.
    """
    dp = Dispatcher(
        storage=TransactionalStorage(storage or MemoryStorage()),
        events_isolation=events_isolation or SimpleEventIsolation(),
    )
    dp.update.outer_middleware(UpdateObservabilityMiddleware())  # first: it times the rest
    dp.update.outer_middleware(UpdateSessionMiddleware(deps, i18n))
    CustomerLocaleMiddleware(i18n).setup(dp)
    for router in customer_routers():
        # routers are module-level; a second dispatcher (tests) needs them detached first
        if router.parent_router is not None:
            router._parent_router = None
        dp.include_router(router)
    if redeliver_on_outage:
        dp.errors.register(on_error, lambda event: not is_outage(event.exception))
    else:
        dp.errors.register(on_error)
    return dp


async def on_error(event: ErrorEvent, bot: Bot) -> bool:
    """Turn any failure into a short, kind message (in the user's language); log the unexpected.

    It runs after the update's transaction was rolled back, inside the locale middleware.
    """
    update = event.update
    chat_id = None
    if update.message is not None:
        chat_id = update.message.chat.id
    elif update.callback_query is not None:
        chat_id = update.callback_query.from_user.id
    if isinstance(event.exception, DomainError):
        log.info("update %s refused: %s", update.update_id, event.exception)
    else:
        log.error("update %s failed", update.update_id, exc_info=event.exception)
    if isinstance(event.exception, NotFound):
        text = _("Sorry, that is no longer available.")
    else:
        text = _("Sorry, something went wrong. Please try again.")
    try:
        if update.callback_query is not None:
            await bot.answer_callback_query(update.callback_query.id, text=text)
        if chat_id is not None:
            await bot.send_message(chat_id, text)
    except Exception:  # telling the user failed too; the log has the cause
        log.warning("could not tell the user about the error", exc_info=True)
    return True


async def register_commands(bot: Bot, i18n: I18n) -> None:
    """The / menu in every language we speak."""
    for locale in i18n.available_locales:
        with i18n.context(), i18n.use_locale(locale):
            _ = i18n.gettext
            commands = [
                BotCommand(command="start", description=_("Shops and markets")),
                BotCommand(command="cart", description=_("My cart")),
                BotCommand(command="orders", description=_("My orders")),
                BotCommand(command="shows", description=_("Upcoming live shows")),
                BotCommand(command="stop", description=_("Turn off reminders")),
                BotCommand(command="info", description=_("Seller information")),
                BotCommand(command="privacy", description=_("My data and privacy")),
                BotCommand(command="language", description=_("Language")),
                BotCommand(command="help", description=_("How to order")),
            ]
        await bot.set_my_commands(commands, language_code=locale)
