"""Running livecart: the HTTP server, the bot (polling or webhook), the outbox sender, and
the periodic jobs, all in one asyncio process, stopped cleanly on Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import uvicorn
from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiogram.utils.i18n import I18n
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from bot.deps import BotDeps
from bot.factory import build_bot, build_dispatcher, build_i18n, register_commands
from bot.rate_limits import RateLimits, SharedRateLimits
from bot.sender import OutboxSender
from catalog.broadcasts import enqueue_due_broadcasts
from catalog.clock import Clock
from catalog.migrate import upgrade_database
from catalog.models import ProcessedUpdate
from catalog.orders import expire_unpaid_orders, nudge_unpaid_orders
from catalog.outbox import reconcile_expired_leases
from catalog.reminders import (
    enqueue_due_reminders,
    enqueue_due_replays,
    enqueue_sold_out_updates,
)
from catalog.scheduled_jobs import claim_turn
from catalog.vendor_alerts import remind_unaccepted_orders, send_daily_summaries
from catalog.waitlist import run_waitlists
from livecart.ops_http import readiness_checks, serve_worker_http
from livecart.services import Services, build_services
from livecart.settings import Settings, online_payments
from webhook.app import create_app
from webhook.context import WebContext
from webhook.delivery import WebhookDeliverer
from webhook.payment_sync import recheck_pending_payments, settle_owed_refunds

log = logging.getLogger("livecart")

EXPIRY_INTERVAL_SECONDS = 15.0
VENDOR_ALERTS_INTERVAL_SECONDS = 30.0
REFUND_INTERVAL_SECONDS = 30.0
PROCESSED_UPDATES_KEPT = timedelta(hours=48)  # Telegram drops undelivered updates after 24 h


@dataclass
class Runtime:
    """Everything one `livecart run` process holds; built by `build_runtime`."""

    settings: Settings
    services: Services
    i18n: I18n
    bot: Bot | None
    dispatcher: Dispatcher | None
    sender: OutboxSender | None
    web: WebContext
    app: FastAPI
    background: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # run on shutdown before the HTTP server stops (e.g. the demo's simulator ends long polls)
    shutdown_hooks: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    web_port: int | None = None
    deliverer: WebhookDeliverer | None = None


async def prepare_database(services: Services) -> None:
    """SQLite (the embedded default) is migrated on start; PostgreSQL by `livecart db upgrade`,
    which several instances may also run at once safely (advisory lock)."""
    await upgrade_database(services.engine)


async def build_runtime(
    settings: Settings, *, clock: Clock | None = None, services: Services | None = None
) -> Runtime:
    """Wire settings into services, bot, dispatcher, sender and the HTTP app."""
    services = services or build_services(settings, clock)
    i18n = build_i18n(settings.default_locale)
    web = WebContext(
        sessionmaker=services.sessionmaker,
        clock=services.clock,
        api_token=settings.api_token.get_secret_value() if settings.api_token else None,
        default_locale=settings.default_locale,
        timezone=settings.timezone,
        reservation_minutes=settings.reservation_minutes,
        vendor_invite_hours=settings.vendor_invite_hours,
        portone_api_url=settings.portone_api_url,
        portone_api_secret=_secret(settings.portone_api_secret),
        portone_webhook_secret=_secret(settings.portone_webhook_secret),
        portone_store_id=settings.portone_store_id,
        portone_channel_key=settings.portone_channel_key,
        portone_browser_sdk_url=settings.portone_browser_sdk_url,
        public_base_url=settings.public_base_url,
        metrics_token=_secret(settings.metrics_token),
        readiness_checks=readiness_checks(settings),
        console_secret=_secret(settings.console_secret),
        reminder_offsets=tuple(settings.reminder_offset_seconds),
        webhook_allow_private_urls=settings.webhook_allow_private_urls,
        redis_url=settings.redis_url,
    )
    bot = dispatcher = sender = None
    if settings.bot_token is not None:
        bot = build_bot(
            settings.bot_token.get_secret_value(),
            settings.telegram_api_url,
            timeout=settings.telegram_timeout_seconds,
        )
        sender = OutboxSender(
            bot,
            services.sessionmaker,
            services.clock,
            i18n,
            default_locale=settings.default_locale,
            per_second=settings.send_rate_per_second,
            per_chat_per_second=settings.send_rate_per_chat_per_second,
            lease_seconds=settings.send_lease_seconds,
            public_base_url=settings.public_base_url,
            online_payments=online_payments(settings),
            limits=_rate_limits(settings),
        )
        deps = BotDeps(
            sessionmaker=services.sessionmaker,
            clock=services.clock,
            default_locale=settings.default_locale,
            reservation_minutes=settings.reservation_minutes,
            public_base_url=settings.public_base_url,
            online_payments=online_payments(settings),
            vendor_invite_hours=settings.vendor_invite_hours,
            wake_sender=sender.wake,
            send_limits=sender.limits,
        )
        dispatcher = build_dispatcher(
            deps,
            i18n,
            # in webhook mode a database or Redis outage answers 503: Telegram delivers again
            redeliver_on_outage=bool(settings.webhook_base_url),
            **await _fsm_storage(settings),
        )
        web.after_commit = sender.wake
        if settings.webhook_base_url:
            web.telegram_secret = (
                settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
            )
            web.telegram_handler = _webhook_handler(dispatcher, bot)
    app = create_app(web)
    return Runtime(settings, services, i18n, bot, dispatcher, sender, web, app)


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


async def _fsm_storage(settings: Settings) -> dict[str, Any]:
    """Redis FSM storage and event isolation when several instances share the users."""
    if not settings.redis_url:
        return {}
    from aiogram.fsm.storage.base import DefaultKeyBuilder
    from aiogram.fsm.storage.redis import RedisStorage

    storage = RedisStorage.from_url(
        settings.redis_url,
        connection_kwargs={"socket_timeout": 5.0, "socket_connect_timeout": 5.0},
        key_builder=DefaultKeyBuilder(prefix=f"{settings.redis_key_prefix}:fsm"),
    )
    return {"storage": storage, "events_isolation": storage.create_isolation()}


def _rate_limits(settings: Settings) -> RateLimits:
    """Send rates counted in Redis when instances share it, else in this process."""
    if settings.redis_url:
        return SharedRateLimits(
            settings.redis_url,
            settings.send_rate_per_second,
            settings.send_rate_per_chat_per_second,
            key_prefix=settings.redis_key_prefix,
        )
    return RateLimits(settings.send_rate_per_second, settings.send_rate_per_chat_per_second)


def _webhook_handler(
    dispatcher: Dispatcher, bot: Bot
) -> Callable[[dict[str, Any]], Awaitable[None]]:
    async def handle(update: dict[str, Any]) -> None:
        await dispatcher.feed_update(bot, Update.model_validate(update, context={"bot": bot}))

    return handle


INSTANCE = f"{socket.gethostname()}:{os.getpid()}"


async def run_scheduled_once(
    runtime: Runtime, name: str, interval: float, job: Callable[[], Awaitable[Any]]
) -> bool:
    """Run `job` if this instance takes its current turn (one instance per interval, however
    many share the database); True if it ran. Turns are counted in wall-clock time."""
    async with runtime.services.sessionmaker() as session:
        mine = await claim_turn(
            session,
            name,
            now=datetime.now(UTC),
            interval=timedelta(seconds=interval),
            holder=INSTANCE,
        )
        await session.commit()
    if mine:
        await job()
    return mine


async def _periodic(
    runtime: Runtime, name: str, interval: float, job: Callable[[], Awaitable[Any]]
) -> None:
    """Every `interval`, one of the instances runs `job`. The one that ran it waits a whole
    interval (one instance alone keeps the plain cadence); the others look twice as often,
    so a turn isn't missed by a timer that fires a little early."""
    while True:
        ran = False
        try:
            ran = await run_scheduled_once(runtime, name, interval, job)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("periodic job %s failed; will try again", name)
        await asyncio.sleep(interval if ran else interval / 2)


async def _catch_up(
    runtime: Runtime, jobs: list[tuple[str, float, Callable[[], Awaitable[Any]]]]
) -> None:
    """Before serving, take the jobs' current turns (lapsed reservations expire, due reminders
    go out) so the first requests meet a caught-up state; a job that fails is logged and left
    to its next turn."""
    for name, interval, job in jobs:
        try:
            await asyncio.wait_for(run_scheduled_once(runtime, name, interval, job), 30)
        except Exception:
            log.exception("periodic job %s failed at start; will try again", name)


async def expire_and_prune(runtime: Runtime) -> None:
    """Remind unpaid orders once before they lapse; expire lapsed reservations (their stock
    returns, to the waitlist first); pass unclaimed waitlist holds on; forget old update ids."""
    now = runtime.services.clock.now()
    async with runtime.services.sessionmaker() as session:
        while await nudge_unpaid_orders(session, now=now):
            await session.commit()
        while await expire_unpaid_orders(session, now=now):
            await session.commit()
        await run_waitlists(session, now=now)
        await session.commit()
        await session.execute(
            delete(ProcessedUpdate).where(
                ProcessedUpdate.processed_at < now - PROCESSED_UPDATES_KEPT
            )
        )
        await session.commit()
    if runtime.sender is not None:
        runtime.sender.wake()


async def vendor_alerts(runtime: Runtime) -> None:
    """Remind vendors of paid orders left unaccepted; send each shop's summary at closing.

    Each job runs in its own transaction: one failing (logged) never holds back the other.
    """
    now = runtime.services.clock.now()
    minutes = runtime.settings.vendor_reminder_minutes
    queued = False
    try:
        async with runtime.services.sessionmaker() as session:
            while await remind_unaccepted_orders(session, now=now, minutes=minutes):
                await session.commit()
                queued = True
            await session.commit()
    except Exception:
        log.exception("vendor reminders failed; will try again")
    try:
        async with runtime.services.sessionmaker() as session:
            if await send_daily_summaries(session, now=now):
                queued = True
            await session.commit()
    except Exception:
        log.exception("daily summaries failed; will try again")
    if queued and runtime.sender is not None:
        runtime.sender.wake()


async def refund_owed(runtime: Runtime) -> None:
    """Give back PortOne payments livecart decided not to keep (retried until PortOne agrees),
    and read back pending payments nothing was heard of lately (a lost webhook, a timeout)."""
    settled = await settle_owed_refunds(runtime.web)
    if settled:
        log.info("refunded %d PortOne payment(s)", settled)
    changed = await recheck_pending_payments(runtime.web)
    if changed:
        log.info("%d pending PortOne payment(s) changed when read back", changed)


async def run_campaign_jobs(runtime: Runtime) -> int:
    """Enqueue due show reminders, scheduled broadcasts, sold-out updates and replays; set
    aside rows a dead sender left in flight. Each step is its own transaction, so one failing
    doesn't hold back the others; claims are compare-and-set, so several instances may run it.
    Returns how many outbox rows were written."""
    clock, settings = runtime.services.clock, runtime.settings
    written = 0
    steps: list[tuple[str, Callable[[AsyncSession], Awaitable[int]]]] = [
        (
            "reminders",
            lambda s: enqueue_due_reminders(
                s, now=clock.now(), offsets=settings.reminder_offset_seconds
            ),
        ),
        ("broadcasts", lambda s: enqueue_due_broadcasts(s, now=clock.now())),
        ("sold-out updates", lambda s: enqueue_sold_out_updates(s, now=clock.now())),
        ("replays", lambda s: enqueue_due_replays(s, now=clock.now())),
        ("lease reconciliation", lambda s: reconcile_expired_leases(s, now=clock.now())),
    ]
    for name, step in steps:
        try:
            async with runtime.services.sessionmaker() as session:
                count = await step(session)
                await session.commit()
        except Exception:
            log.exception("campaign job %s failed; will try again", name)
            continue
        if name == "lease reconciliation":
            if count:
                log.warning("%d outbox rows were in flight when a sender died: for review", count)
        else:
            written += count
    if written and runtime.sender is not None:
        runtime.sender.wake()
    return written


async def _start_bot(runtime: Runtime) -> None:
    """Wait for Telegram, register commands, then poll (or set the webhook); whatever fails
    on the way (Telegram down, 5xx, network) is retried with backoff, never given up."""
    delay = 1.0
    while True:
        try:
            await _connect_bot(runtime)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("Telegram is not answering (%s); retrying in %.0f s", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60)


async def _connect_bot(runtime: Runtime) -> None:
    bot, dispatcher, settings = runtime.bot, runtime.dispatcher, runtime.settings
    assert bot is not None and dispatcher is not None
    me = await bot.me()  # cached: polling's own start-up check won't ask again
    log.info("bot @%s is up", me.username)
    runtime.web.bot_username = me.username
    await register_commands(bot, runtime.i18n)
    if settings.webhook_base_url:
        url = settings.webhook_base_url.rstrip("/") + "/telegram/webhook"
        await bot.set_webhook(
            url,
            secret_token=runtime.web.telegram_secret,
            allowed_updates=dispatcher.resolve_used_update_types(),
        )
        log.info("webhook set to %s", url)
        return
    await bot.delete_webhook(drop_pending_updates=False)
    # aiogram's polling retries failed getUpdates itself, with backoff
    await dispatcher.start_polling(bot, handle_signals=False, close_bot_session=False)


def _wake_deliverer_after_commit(web: WebContext, deliverer: WebhookDeliverer) -> None:
    """A request that committed may have written deliveries: wake the worker too."""
    wake_sender = web.after_commit

    def after_commit() -> None:
        if wake_sender is not None:
            wake_sender()
        deliverer.wake()

    web.after_commit = after_commit


async def serve(
    runtime: Runtime, *, started: asyncio.Event | None = None, handle_signals: bool = True
) -> None:
    """Run until cancelled (or SIGINT/SIGTERM if `handle_signals`); then close cleanly."""
    settings = runtime.settings
    config = uvicorn.Config(
        runtime.app,
        host=settings.http_host,
        port=settings.http_port,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=5,
        # behind the reverse proxy every request comes from the proxy: take the visitor's
        # address from X-Forwarded-For, but only when the proxy is one we trust
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    if handle_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(server.serve(), name="http")]
    while not server.started:
        if tasks[0].done():
            await tasks[0]  # the port is taken, say: raise it
            raise RuntimeError("the HTTP server stopped during start-up")
        await asyncio.sleep(0.02)
    runtime.web_port = server.servers[0].sockets[0].getsockname()[1]
    await _catch_up(
        runtime,
        [
            ("expiry", EXPIRY_INTERVAL_SECONDS, lambda: expire_and_prune(runtime)),
            ("vendor alerts", VENDOR_ALERTS_INTERVAL_SECONDS, lambda: vendor_alerts(runtime)),
            (
                "campaigns",
                runtime.settings.campaign_interval_seconds,
                lambda: run_campaign_jobs(runtime),
            ),
        ],
    )
    tasks.append(
        asyncio.create_task(
            _periodic(
                runtime, "expiry", EXPIRY_INTERVAL_SECONDS, lambda: expire_and_prune(runtime)
            ),
            name="expiry",
        )
    )
    tasks.append(
        asyncio.create_task(
            _periodic(
                runtime,
                "vendor alerts",
                VENDOR_ALERTS_INTERVAL_SECONDS,
                lambda: vendor_alerts(runtime),
            ),
            name="vendor-alerts",
        )
    )
    if runtime.web.portone_configured:
        tasks.append(
            asyncio.create_task(
                _periodic(
                    runtime, "refunds", REFUND_INTERVAL_SECONDS, lambda: refund_owed(runtime)
                ),
                name="refunds",
            )
        )
    tasks.append(
        asyncio.create_task(
            _periodic(
                runtime,
                "campaigns",
                runtime.settings.campaign_interval_seconds,
                lambda: run_campaign_jobs(runtime),
            ),
            name="campaigns",
        )
    )
    if runtime.sender is not None:
        tasks.append(asyncio.create_task(runtime.sender.run(), name="sender"))
    webhook_client = httpx.AsyncClient(follow_redirects=False)
    runtime.deliverer = WebhookDeliverer(
        runtime.services.sessionmaker,
        runtime.services.clock,
        webhook_client,
        timeout_seconds=settings.webhook_timeout_seconds,
        retry_window=timedelta(hours=settings.webhook_retry_hours),
        allow_private_urls=settings.webhook_allow_private_urls,
    )
    _wake_deliverer_after_commit(runtime.web, runtime.deliverer)
    tasks.append(asyncio.create_task(runtime.deliverer.run(), name="webhooks"))
    if runtime.bot is not None:
        tasks.append(asyncio.create_task(_start_bot(runtime), name="bot"))
    for job in runtime.background:
        tasks.append(asyncio.create_task(job()))
    if started is not None:
        started.set()
    stopper = asyncio.create_task(stop.wait(), name="stop")
    try:
        done, _pending = await asyncio.wait(
            [stopper, *[t for t in tasks if t.get_name() in ("http", "sender", "expiry")]],
            return_when=asyncio.FIRST_COMPLETED,
        )
        for task in done:
            if task is not stopper and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    finally:
        if runtime.dispatcher is not None:
            # end the long poll first, or its open getUpdates holds the shutdown
            with contextlib.suppress(RuntimeError):
                await runtime.dispatcher.stop_polling()
        for hook in runtime.shutdown_hooks:
            with contextlib.suppress(Exception):
                await hook()
        server.should_exit = True
        for task in tasks[1:]:
            task.cancel()
        stopper.cancel()
        await asyncio.gather(*tasks, stopper, return_exceptions=True)
        await webhook_client.aclose()
        if handle_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.remove_signal_handler(sig)
        if runtime.dispatcher is not None:
            with contextlib.suppress(Exception):
                await runtime.dispatcher.storage.close()
        if runtime.sender is not None:
            await runtime.sender.limits.aclose()
        if runtime.bot is not None:
            await runtime.bot.session.close()
        await runtime.services.close()


async def serve_worker(runtime: Runtime, *, handle_signals: bool = True) -> None:
    """`livecart worker`: the outbox sender and the periodic jobs, without the HTTP server or
    the bot's polling; run as many as you like beside `livecart run` (PostgreSQL)."""
    if runtime.sender is None:
        raise RuntimeError("the worker needs LIVECART_BOT_TOKEN to send")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    if handle_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, stop.set)
    tasks = [
        asyncio.create_task(runtime.sender.run(), name="sender"),
        asyncio.create_task(
            _periodic(
                runtime, "expiry", EXPIRY_INTERVAL_SECONDS, lambda: expire_and_prune(runtime)
            ),
            name="expiry",
        ),
        asyncio.create_task(
            _periodic(
                runtime,
                "campaigns",
                runtime.settings.campaign_interval_seconds,
                lambda: run_campaign_jobs(runtime),
            ),
            name="campaigns",
        ),
    ]
    if runtime.settings.worker_http_port is not None:
        http = serve_worker_http(
            runtime.web, runtime.settings.http_host, runtime.settings.worker_http_port
        )
        tasks.append(asyncio.create_task(http, name="http"))
    stopper = asyncio.create_task(stop.wait(), name="stop")
    try:
        done, _pending = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not stopper and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    finally:
        for task in tasks:
            task.cancel()
        stopper.cancel()
        await asyncio.gather(*tasks, stopper, return_exceptions=True)
        if runtime.sender is not None:
            await runtime.sender.limits.aclose()
        if runtime.bot is not None:
            await runtime.bot.session.close()
        await runtime.services.close()
