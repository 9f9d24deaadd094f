"""The `livecart` command: run, demo, db upgrade, catalog import/export, vendor invite,
poster."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from livecart.settings import Settings, SettingsError, load_settings

app = typer.Typer(
    help="livecart: a Telegram storefront for live-commerce shows.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
catalog_app = typer.Typer(help="Products in CSV.", no_args_is_help=True)
vendor_app = typer.Typer(help="The people who run a shop.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(catalog_app, name="catalog")
app.add_typer(vendor_app, name="vendor")
token_app = typer.Typer(help="Shop API tokens for stock sync.", no_args_is_help=True)
app.add_typer(token_app, name="token")

BotOption = Annotated[
    str | None,
    typer.Option(
        "--bot",
        help="the bot's @username (default: asked from Telegram with LIVECART_BOT_TOKEN)",
    ),
]
campaign_app = typer.Typer(
    help="Campaign teams: who may run a market's shows.", no_args_is_help=True
)
app.add_typer(campaign_app, name="campaign")
console_app = typer.Typer(
    help="The campaign console's users (name and password).", no_args_is_help=True
)
app.add_typer(console_app, name="console")

# soft_wrap: one message stays one line when output goes to a pipe, a log or systemd
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        err.print(f"[bold red]livecart: bad configuration:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None


def _logging(settings: Settings, verbose: bool) -> None:
    """LIVECART_LOG_FORMAT (text or json) at LIVECART_LOG_LEVEL; --verbose means DEBUG."""
    from livecart.logs import configure_logging

    configure_logging(settings.log_format, "DEBUG" if verbose else settings.log_level)


@app.command()
def run(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Run the bot and the HTTP server in one process (long polling unless a webhook URL is set)."""
    settings = _settings()  # first: a bad value is reported before the slow imports
    from livecart.runtime import build_runtime, prepare_database, serve

    _logging(settings, verbose)
    if settings.bot_token is None:
        err.print("livecart: LIVECART_BOT_TOKEN is not set; running the HTTP API only.")

    async def main() -> None:
        runtime = await build_runtime(settings)
        if settings.is_sqlite:
            await prepare_database(runtime.services)
        else:
            await _check_schema(runtime.services)
        out.print(f"livecart listening on http://{settings.http_host}:{settings.http_port}")
        await serve(runtime)

    _run(main())


async def _check_schema(services: object) -> None:
    from catalog.migrate import schema_is_current

    if not await schema_is_current(services.engine):  # type: ignore[attr-defined]
        err.print("livecart: the database schema is not current; run `livecart db upgrade` first.")
        raise typer.Exit(2)


@app.command()
def worker(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Send the outbox and run reminders and scheduled broadcasts, without the HTTP server or
    the bot (scale-out: run several beside `livecart run`, on PostgreSQL)."""
    settings = _settings()
    from livecart.runtime import build_runtime, prepare_database, serve_worker

    _logging(settings, verbose)
    if settings.bot_token is None:
        err.print("livecart: the worker needs LIVECART_BOT_TOKEN to send messages.")
        raise typer.Exit(2)

    async def main() -> None:
        runtime = await build_runtime(settings)
        if settings.is_sqlite:
            await prepare_database(runtime.services)
        else:
            await _check_schema(runtime.services)
        out.print("livecart worker sending")
        await serve_worker(runtime)

    _run(main())


@app.command()
def demo(
    port: Annotated[int | None, typer.Option(help="HTTP port (default LIVECART_HTTP_PORT)")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run with the built-in Telegram simulator and a seeded market: no token needed."""
    from livecart.demo import run_demo

    overrides: dict[str, object] = {}
    if port is not None:
        overrides["http_port"] = port
    settings = _settings(**overrides)
    _logging(settings, verbose)
    _run(run_demo(settings, out))


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Create the database schema or migrate it to the newest version."""
    from catalog.migrate import upgrade_database
    from livecart.services import build_services

    settings = _settings()

    async def main() -> None:
        services = build_services(settings)
        try:
            await upgrade_database(services.engine, revision)
        finally:
            await services.close()

    _run(main())
    out.print(f"database at {_safe_url(settings.database_url)} is at revision {revision}")


@catalog_app.command("import")
def catalog_import(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Import products from CSV (market,shop,sku,name,unit,price,stock,description,photo_url).

    All rows apply or none; a re-import updates products in place.
    """
    from catalog.product_csv import CsvImportError, import_products
    from livecart.services import build_services

    settings = _settings()
    text = file.read_text(encoding="utf-8-sig")

    async def main() -> None:
        services = build_services(settings)
        try:
            if settings.is_sqlite:
                from catalog.migrate import upgrade_database

                await upgrade_database(services.engine)
            async with services.sessionmaker() as session:
                summary = await import_products(session, text, now=services.clock.now())
                await session.commit()
        finally:
            await services.close()
        out.print(
            f"imported {file.name}: {summary.created} products created, "
            f"{summary.updated} updated"
            + (f"; new shops: {', '.join(summary.shops_created)}" if summary.shops_created else "")
        )

    try:
        _run(main())
    except CsvImportError as exc:
        err.print(f"livecart: {file.name} was not imported, nothing changed:")
        for line, message in exc.problems:
            err.print(f"  line {line}: {message}", highlight=False)
        raise typer.Exit(1) from None


@catalog_app.command("export")
def catalog_export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="file (default stdout)")
    ] = None,
    shop: Annotated[list[str] | None, typer.Option(help="only these shop slugs")] = None,
) -> None:
    """Export products as CSV with the import header (edit it and import it back)."""
    from catalog.product_csv import export_products
    from livecart.services import build_services

    settings = _settings()

    async def main() -> str:
        services = build_services(settings)
        try:
            if settings.is_sqlite:
                from catalog.migrate import upgrade_database

                await upgrade_database(services.engine)
            async with services.sessionmaker() as session:
                return await export_products(session, shop or None)
        finally:
            await services.close()

    text = _run(main())
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        out.print(f"wrote {output}")


class Role(StrEnum):
    OWNER = "owner"
    STAFF = "staff"


@vendor_app.command("invite")
def vendor_invite(
    shop: Annotated[str, typer.Argument(help="the shop's slug")],
    role: Annotated[Role, typer.Option(help="owner may invite and remove staff")] = Role.OWNER,
    bot: BotOption = None,
) -> None:
    """Print a one-time link that makes whoever opens it an owner or staff of SHOP."""
    from catalog.deep_links import link, vendor_invite_payload
    from catalog.shops import get_shop
    from catalog.vendors import create_invite

    settings = _settings()

    async def main() -> tuple[str, str, datetime, str | None]:
        username = await _bot_username(settings, bot, required=False)
        async with _database(settings) as (sessionmaker, now), sessionmaker() as session:
            record = await get_shop(session, shop)
            invite, token = await create_invite(
                session,
                record,
                role=role.value,
                created_by="admin",
                now=now,
                hours=settings.vendor_invite_hours,
            )
            await session.commit()
            return record.name, vendor_invite_payload(token), invite.expires_at, username

    name, payload, expires_at, username = _run_domain(main())
    until = expires_at.strftime("%Y-%m-%d %H:%M UTC")
    out.print(f"{role.value} invite for {name}; it works once, until {until}:", highlight=False)
    if username:
        out.print(link(username, payload), highlight=False)
    else:
        out.print(payload, highlight=False)
        out.print(
            f"the link is https://t.me/<bot username>?start={payload} "
            "(set LIVECART_BOT_TOKEN or pass --bot to have it printed)",
            highlight=False,
        )


@token_app.command("create")
def token_create(
    shop: Annotated[str, typer.Argument(help="the shop's slug")],
    name: Annotated[str, typer.Option(help="what uses it, e.g. 'stall till'")] = "",
) -> None:
    """Print a new bearer token that can use SHOP's REST API only (shown this once)."""
    from catalog.api_tokens import create_api_token
    from catalog.shops import get_shop

    settings = _settings()

    async def main() -> tuple[int, str]:
        async with _database(settings) as (sessionmaker, now), sessionmaker() as session:
            row, token = await create_api_token(
                session, await get_shop(session, shop), name=name, now=now
            )
            await session.commit()
            return row.id, token

    token_id, token = _run_domain(main())
    err.print(f"token {token_id} for {shop}; keep it secret, it is not shown again:")
    out.print(token, highlight=False)


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="the token's id")]) -> None:
    """Revoke a shop API token for good."""
    from catalog.api_tokens import revoke_api_token

    settings = _settings()

    async def main() -> None:
        async with _database(settings) as (sessionmaker, now), sessionmaker() as session:
            await revoke_api_token(session, token_id, now=now)
            await session.commit()

    _run_domain(main())
    out.print(f"token {token_id} revoked", highlight=False)


@app.command()
def poster(
    shop: Annotated[str, typer.Argument(help="the shop's slug")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="HTML file (default <shop>-poster.html)")
    ] = None,
    bot: BotOption = None,
) -> None:
    """Write a printable A4 poster (HTML) with the shop's QR code; print it from a browser."""
    from catalog.shops import get_shop
    from webhook.poster import render_poster

    settings = _settings()

    async def main() -> str:
        username = await _bot_username(settings, bot, required=True)
        assert username is not None
        async with _database(settings) as (sessionmaker, _now), sessionmaker() as session:
            record = await get_shop(session, shop)
            market = record.market.name if record.market else None
            return render_poster(record, bot_username=username, market_name=market)

    html = _run_domain(main())
    target = output or Path(f"{shop}-poster.html")
    target.write_text(html, encoding="utf-8")
    out.print(f"wrote {target}", highlight=False)


async def _bot_username(settings: Settings, given: str | None, *, required: bool) -> str | None:
    """--bot, else the username Telegram reports for LIVECART_BOT_TOKEN (getMe)."""
    if given:
        return given.removeprefix("@")
    if settings.bot_token is None:
        if required:
            err.print("livecart: pass --bot <username> or set LIVECART_BOT_TOKEN.")
            raise typer.Exit(2)
        return None
    from bot.factory import build_bot

    client = build_bot(settings.bot_token.get_secret_value(), settings.telegram_api_url, timeout=15)
    try:
        me = await client.get_me()
    except Exception as exc:
        err.print(f"livecart: could not ask Telegram for the bot's username: {exc}")
        raise typer.Exit(1) from None
    finally:
        await client.session.close()
    return me.username


@contextlib.asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[tuple[Any, datetime]]:
    """The sessionmaker and the time; SQLite is migrated first, as `run` does."""
    from livecart.services import build_services

    services = build_services(settings)
    try:
        if settings.is_sqlite:
            from catalog.migrate import upgrade_database

            await upgrade_database(services.engine)
        yield services.sessionmaker, services.clock.now()
    finally:
        await services.close()


def _run_domain(coro):  # type: ignore[no-untyped-def]
    """Run `coro`; a refused rule (an unknown shop, say) is one line on stderr and exit 1."""
    from catalog.errors import DomainError

    try:
        return _run(coro)
    except DomainError as exc:
        err.print(f"livecart: {exc}", highlight=False)
        raise typer.Exit(1) from None


def _with_session(settings: Settings, work):  # type: ignore[no-untyped-def]
    """Run `work(session, now)` in one committed transaction (migrating SQLite first)."""

    async def main():  # type: ignore[no-untyped-def]
        async with _database(settings) as (sessionmaker, now), sessionmaker() as session:
            result = await work(session, now)
            await session.commit()
            return result

    return _run_domain(main())


@campaign_app.command("staff-add")
def campaign_staff_add(
    market: str,
    telegram_user_id: int,
    name: Annotated[str, typer.Option(help="how the team knows them")] = "",
) -> None:
    """Put a Telegram user on a market's campaign staff (they get the /campaign menu)."""
    from catalog.campaign_staff import add_staff

    settings = _settings()

    async def work(session, now):  # type: ignore[no-untyped-def]
        _member, created = await add_staff(session, market, telegram_user_id, name=name, now=now)
        return created

    created = _with_session(settings, work)
    out.print(f"{telegram_user_id} {'added to' if created else 'already on'} {market}'s staff")


@campaign_app.command("staff-remove")
def campaign_staff_remove(market: str, telegram_user_id: int) -> None:
    """Take a Telegram user off a market's campaign staff."""
    from catalog.campaign_staff import remove_staff

    settings = _settings()

    async def work(session, now):  # type: ignore[no-untyped-def]
        await remove_staff(session, market, telegram_user_id)

    _with_session(settings, work)
    out.print(f"{telegram_user_id} removed from {market}'s staff")


@campaign_app.command("staff-list")
def campaign_staff_list(market: str) -> None:
    """A market's campaign staff: Telegram user id and name, one per line."""
    from catalog.campaign_staff import list_staff

    settings = _settings()

    async def work(session, now):  # type: ignore[no-untyped-def]
        return [(m.telegram_user_id, m.name) for m in await list_staff(session, market)]

    for user_id, name in _with_session(settings, work) or []:
        sys.stdout.write(f"{user_id}\t{name}\n")  # tab-separated for scripts


@console_app.command("user-add")
def console_user_add(
    name: Annotated[str, typer.Argument(help="the login name: a-z, 0-9, '.', '_', '-'")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
) -> None:
    """Add a console user, or set a new password for one (their old sessions end)."""
    from catalog.console_users import set_console_user

    settings = _settings()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)

    async def work(session, now):  # type: ignore[no-untyped-def]
        _user, created = await set_console_user(session, name, password, now=now)
        return created

    created = _with_session(settings, work)
    out.print(f"{name} {'added' if created else 'has a new password'}", highlight=False)


@console_app.command("user-remove")
def console_user_remove(name: str) -> None:
    """Remove a console user; their sessions end at once."""
    from catalog.console_users import remove_console_user

    settings = _settings()

    async def work(session, now):  # type: ignore[no-untyped-def]
        await remove_console_user(session, name)

    _with_session(settings, work)
    out.print(f"{name} removed", highlight=False)


@console_app.command("user-list")
def console_user_list() -> None:
    """Console users, one name a line."""
    from catalog.console_users import list_console_users

    settings = _settings()

    async def work(session, now):  # type: ignore[no-untyped-def]
        return [user.name for user in await list_console_users(session)]

    for name in _with_session(settings, work) or []:
        sys.stdout.write(f"{name}\n")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _run(coro):  # type: ignore[no-untyped-def]
    try:
        return asyncio.run(coro)
    except KeyboardInterrupt:
        return None


def main() -> None:
    app()


if __name__ == "__main__":
    main()
