"""The campaign console at /console: a calendar of shows, show forms with featured products,
reminder schedules, a broadcast composer with preview and live delivery progress, per-show
charts and CSV exports. Every page needs a login (the admin token); every form carries the
session's CSRF token."""

from __future__ import annotations

import csv
import hmac
import io
import re
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from catalog.broadcasts import (
    BroadcastDraft,
    broadcast_audience,
    cancel_broadcast,
    confirm_broadcast,
    create_broadcast,
    get_broadcast,
    list_broadcasts,
)
from catalog.console_users import MAX_PASSWORD, authenticate, hash_fingerprint, session_user
from catalog.delivery_stats import broadcast_stats, show_stats
from catalog.errors import DomainError, InvalidInput, InvalidTransition, NotFound
from catalog.models import Broadcast, BroadcastSegment, BroadcastStatus, Show, ShowReminder
from catalog.products import list_products
from catalog.shops import get_market, get_shop, get_shop_by_id, list_markets, list_shops
from catalog.show_figures import show_figures, show_order_lines
from catalog.shows import (
    FeaturedInput,
    as_utc,
    create_show,
    get_show,
    list_shows,
    upsert_show,
)
from webhook import console_session as cs
from webhook.console_views import Bar, ConsoleText, Part, bar_chart, render, stacked_bars
from webhook.deps import ContextDep, NowDep, SessionDep
from webhook.spreadsheet_cells import csv_text

router = APIRouter(prefix="/console", include_in_schema=False)
ShowId = Annotated[int, Path(ge=1, le=2**53)]
BroadcastId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class LoginRequired(Exception):
    def __init__(self, *, api: bool) -> None:
        self.api = api


class CsrfRefused(Exception):
    pass


async def _still_valid(request: Request, db: AsyncSession, user: str) -> bool:
    """The session's user may still log in: the same API token, or a console user whose
    password has not changed since."""
    if user.startswith("admin:"):
        ctx = request.app.state.ctx
        return bool(ctx.api_token) and _same(user, cs.admin_user(request))
    kind, _, rest = user.partition(":")
    user_id, _, fingerprint = rest.partition(":")
    if kind != "user" or not user_id.isdigit():
        return False
    return await session_user(db, int(user_id), fingerprint) is not None


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison that also takes what no browser sends (non-ASCII text)."""
    return hmac.compare_digest(given.encode(), expected.encode())


async def _logged_in(request: Request, db: AsyncSession) -> cs.ConsoleSession | None:
    session = cs.read(request)
    if session is None or session.user is None:
        return None
    return session if await _still_valid(request, db, session.user) else None


async def _current(request: Request, db: SessionDep) -> cs.ConsoleSession:
    session = await _logged_in(request, db)
    if session is None:
        raise LoginRequired(api=False)
    return session


async def _current_api(request: Request, db: SessionDep) -> cs.ConsoleSession:
    session = await _logged_in(request, db)
    if session is None:
        raise LoginRequired(api=True)
    return session


Member = Annotated[cs.ConsoleSession, Depends(_current)]
MemberApi = Annotated[cs.ConsoleSession, Depends(_current_api)]


async def _checked_form(request: Request, member: Member) -> FormData:
    """The posted form, once its CSRF token matched the session's (else 403)."""
    form = await request.form()
    given = form.get("csrf")
    if not isinstance(given, str) or not _same(given, member.csrf):
        raise CsrfRefused()
    return form


Form = Annotated[FormData, Depends(_checked_form)]


def install_console(app: FastAPI) -> None:
    """Mount the console and answer a missing login or a bad CSRF token its own way."""
    app.include_router(router)

    async def login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        if exc.api:
            return JSONResponse({"detail": "log in to the console first"}, status_code=401)
        return RedirectResponse("/console/login", status_code=303)

    async def csrf_refused(request: Request, exc: Exception) -> Response:
        session = cs.read(request) or cs.fresh(datetime.now(), "ko")
        return render(request, "console/refused.html", session, status_code=403)

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(CsrfRefused, csrf_refused)


def _field(form: FormData, name: str, limit: int = 500) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


# --- login, logout, language -------------------------------------------------------------


@router.get("/login")
async def login_page(request: Request, ctx: ContextDep, now: NowDep, db: SessionDep) -> Response:
    if await _logged_in(request, db) is not None:
        return RedirectResponse("/console", status_code=303)
    session = cs.read(request)
    if session is None or session.user is not None:  # none yet, or one that is no longer valid
        session = cs.fresh(now, session.lang if session else ctx.default_locale)
    response = render(request, "console/login.html", session, error=None, name="")
    cs.set_cookie(response, request, session)
    return response


@router.post("/login")
async def login(request: Request, ctx: ContextDep, now: NowDep, db: SessionDep) -> Response:
    """A console user's name and password, or no name and the API token."""
    session = cs.read(request)
    form = await request.form()
    given = form.get("csrf")
    if session is None or not isinstance(given, str) or not _same(given, session.csrf):
        raise CsrfRefused()
    name = form.get("name")
    name = name.strip() if isinstance(name, str) else ""
    throttle = cs.login_throttle(request)
    # the visitor's address as uvicorn's proxy headers resolved it (not the proxy's own)
    key = cs.login_key(request.client.host if request.client else "", name)
    if await throttle.blocked(key):
        text = ConsoleText(session.lang)
        return render(
            request,
            "console/login.html",
            session,
            status_code=429,
            error=text.gettext("Too many wrong tries. Please wait five minutes and try again."),
            name="",
        )
    password = form.get("password")
    password = password if isinstance(password, str) else ""  # a password is taken as typed
    user = None
    if not name and password and cs.check_api_token(request, password.strip()):
        user = cs.admin_user(request)
    elif name and password:
        found = await authenticate(db, name, password[:MAX_PASSWORD])
        if found is not None:
            user = f"user:{found.id}:{hash_fingerprint(found)}"
    if user is None:
        await throttle.failed(key)
        text = ConsoleText(session.lang)
        return render(
            request,
            "console/login.html",
            session,
            status_code=401,
            error=text.gettext(
                "That name and password (or token) are not right. Please check them and try again."
            ),
            name=name,
        )
    response = RedirectResponse("/console", status_code=303)
    cs.set_cookie(response, request, cs.logged_in_as(session, user, now))
    return response


@router.post("/logout")
async def logout(form: Form) -> Response:
    response = RedirectResponse("/console/login", status_code=303)
    cs.clear_cookie(response)
    return response


@router.get("/lang/{lang}")
async def switch_language(
    request: Request, lang: str, ctx: ContextDep, now: NowDep, next: str = "/console"
) -> Response:
    """Switch the console's language (a preference, so a plain link)."""
    session = cs.read(request) or cs.fresh(now, ctx.default_locale)
    if lang not in cs.LANGUAGES:
        lang = session.lang
    target = next if next.startswith("/console") and "//" not in next else "/console"
    response = RedirectResponse(target, status_code=303)
    cs.set_cookie(response, request, replace(session, lang=lang))
    return response


# --- the calendar -----------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarDay:
    day: date
    shows: list[Show]


def _by_local_day(shows: list[Show]) -> list[CalendarDay]:
    days: dict[date, list[Show]] = {}
    for show in shows:
        local = show.starts_at.astimezone(ZoneInfo(show.timezone)).date()
        days.setdefault(local, []).append(show)
    return [CalendarDay(day, items) for day, items in sorted(days.items())]


def organiser(show: Show) -> str:
    if show.shop is not None:
        return show.shop.name
    return show.market.name if show.market is not None else ""


@router.get("")
async def calendar(
    request: Request, member: Member, session: SessionDep, now: NowDep, market: str | None = None
) -> Response:
    try:
        upcoming = await list_shows(session, market=market or None, ending_after=now, limit=200)
        recent = await list_shows(
            session,
            market=market or None,
            starts_from=now - timedelta(days=30),
            starts_until=now,
            limit=500,
        )
    except NotFound:
        return RedirectResponse("/console", status_code=303)
    ended = [show for show in recent if show.ends_at <= now][::-1][:20]
    return render(
        request,
        "console/calendar.html",
        member,
        days=_by_local_day(upcoming),
        ended=ended,
        now=now,
        organiser=organiser,
        markets=await list_markets(session),
        market=market or "",
        broadcasts=(await list_broadcasts(session))[:10],
    )


# --- shows ------------------------------------------------------------------------------


@dataclass
class ShowForm:
    """What the show form holds, as typed (re-shown with an error when it is refused)."""

    organiser: str = ""
    title: str = ""
    description: str = ""
    starts_at: str = ""
    ends_at: str = ""
    stream_url: str = ""
    cover_url: str = ""
    sold_out_updates: bool = False
    products: str = ""


def _show_form_of(show: Show) -> ShowForm:
    zone = ZoneInfo(show.timezone)
    lines = []
    for item in show.featured:
        line = f"{item.product.shop.slug}/{item.product.sku}"
        if item.live_price is not None:
            line += f" {item.live_price}"
        lines.append(line)
    return ShowForm(
        organiser=f"shop:{show.shop.slug}"
        if show.shop
        else f"market:{show.market.slug}"
        if show.market
        else "",
        title=show.title,
        description=show.description,
        starts_at=show.starts_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        ends_at=show.ends_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        stream_url=show.stream_url,
        cover_url=show.cover_url,
        sold_out_updates=show.sold_out_updates,
        products="\n".join(lines),
    )


def _parse_show_form(form: FormData) -> ShowForm:
    return ShowForm(
        organiser=_field(form, "organiser", 60),
        title=_field(form, "title", 1000),
        description=_field(form, "description", 20000),
        starts_at=_field(form, "starts_at", 40),
        ends_at=_field(form, "ends_at", 40),
        stream_url=_field(form, "stream_url", 1000),
        cover_url=_field(form, "cover_url", 1000),
        sold_out_updates=form.get("sold_out_updates") == "on",
        products=_field(form, "products", 20000),
    )


_PRICE = re.compile(r"[0-9]{1,12}")


def _parse_featured(text: str) -> list[FeaturedInput]:
    """One product per line: `shop/sku` (or `sku` in a shop's show), then an optional live
    price in the currency's minor units (`ganada-fruit/apple-5kg 29000`)."""
    featured = []
    for number, raw in enumerate(text.splitlines(), start=1):
        parts = raw.replace(",", "").split()
        if not parts:
            continue
        if len(parts) == 2:  # "29000", "₩29000" or "29000원"
            parts[1] = parts[1].removeprefix("₩").removesuffix("원")
        if len(parts) > 2 or (len(parts) == 2 and not _PRICE.fullmatch(parts[1])):
            raise InvalidInput(f"line {number}: write shop/sku and a price", field="products")
        shop, _, sku = parts[0].rpartition("/")
        live_price = int(parts[1]) if len(parts) == 2 else None
        featured.append(FeaturedInput(sku=sku, shop=shop, live_price=live_price))
    return featured


def _show_fields(form: ShowForm) -> dict[str, Any]:
    if not 1 <= len(form.title) <= 200:
        raise InvalidInput("the title is 1 to 200 characters", field="title")
    if len(form.description) > 4000:
        raise InvalidInput("the description is at most 4,000 characters", field="description")
    for name in ("stream_url", "cover_url"):
        if len(getattr(form, name)) > 500:
            raise InvalidInput("at most 500 characters", field=name)
    kind, _, slug = form.organiser.partition(":")
    if kind not in ("shop", "market") or not slug:
        raise InvalidInput("choose a shop or a market", field="organiser")
    fields: dict[str, Any] = {
        kind: slug,
        "title": form.title,
        "description": form.description,
        "stream_url": form.stream_url,
        "cover_url": form.cover_url,
        "sold_out_updates": form.sold_out_updates,
    }
    for name in ("starts_at", "ends_at"):
        try:
            fields[name] = datetime.fromisoformat(getattr(form, name))
        except ValueError:
            raise InvalidInput("give a date and time", field=name) from None
    return fields


async def _organisers(session: AsyncSession) -> list[tuple[str, str]]:
    """(value, label) for the organiser picker: each market, then each shop."""
    options = [(f"market:{m.slug}", m.name) for m in await list_markets(session)]
    options += [(f"shop:{s.slug}", s.name) for s in await list_shops(session)]
    return options


async def _render_show_form(
    request: Request,
    member: cs.ConsoleSession,
    session: AsyncSession,
    form: ShowForm,
    *,
    show_id: int | None,
    error: DomainError | None = None,
) -> Response:
    text = ConsoleText(member.lang)
    return render(
        request,
        "console/show_form.html",
        member,
        status_code=422 if error else 200,
        form=form,
        show_id=show_id,
        organisers=await _organisers(session),
        catalogue=[
            (shop, await list_products(session, shop)) for shop in await list_shops(session)
        ],
        error=_error_text(text, error) if error else None,
        error_field=getattr(error, "field", None)
        or ("products" if isinstance(error, NotFound) and error.what == "product" else None),
    )


def _error_text(text: ConsoleText, error: DomainError) -> str:
    """The refused form's error in the console's language: the field it concerns and what
    to do about it (the domain's own message is English, for logs and the REST API)."""
    _ = text.gettext
    labels = {
        "title": _("Title"),
        "description": _("Description"),
        "organiser": _("Shop or market"),
        "starts_at": _("Starts"),
        "ends_at": _("Ends"),
        "stream_url": _("Stream link"),
        "cover_url": _("Cover picture link"),
        "products": _("Featured products"),
        "live_price": _("Featured products"),
        "text": _("Message"),
        "button_url": _("Button link"),
        "photo": _("Picture link"),
        "scope": _("Who it is for"),
        "send_at": _("Send at"),
    }
    link = _("Give a web link that starts with https://, without spaces, at most 500 characters.")
    advice = {
        "title": _("Write a title of 1 to 200 characters."),
        "description": _("Write at most 4,000 characters."),
        "organiser": _("Choose a shop or a market."),
        "starts_at": _("Give a date and time between 2000 and 2100."),
        "ends_at": _("Give a date and time after the start, before 2100."),
        "stream_url": link,
        "cover_url": link,
        "photo": link,
        "button_url": _("Give both a button label and a link that starts with https://."),
        "products": _(
            "Write one product per line: shop/sku, then its live price if it has one. "
            "Each product once, at most 50."
        ),
        "live_price": _("A live price is at least 1."),
        "text": _("Write a message that is not empty and not too long."),
        "scope": _("Choose who it is for."),
        "send_at": _("Please choose a time in the future, before the year 2100."),
    }
    things = {
        "product": _("product"),
        "shop": _("shop"),
        "market": _("market"),
        "show": _("show"),
    }
    if isinstance(error, NotFound):
        what = things.get(error.what, error.what)
        return _("Not found: {what}").format(what=f"{what} {error.key}")
    field = getattr(error, "field", None) or ""
    if field in labels and field in advice:
        return _("Please check “{field}”: {detail}").format(
            field=labels[field], detail=advice[field]
        )
    return _("That could not be saved. Please check the form and try again.")


@router.get("/shows/new")
async def new_show(
    request: Request, member: Member, session: SessionDep, ctx: ContextDep, now: NowDep
) -> Response:
    tomorrow = now.astimezone(ZoneInfo(ctx.timezone)).date() + timedelta(days=1)
    form = ShowForm(
        starts_at=f"{tomorrow.isoformat()}T19:00", ends_at=f"{tomorrow.isoformat()}T20:00"
    )
    return await _render_show_form(request, member, session, form, show_id=None)


async def _save_show(
    session: AsyncSession, show_id: int | None, form: ShowForm, ctx: ContextDep, now: datetime
) -> Show:
    """A new show (under a fresh id: never someone else's) or the edited one."""
    fields = _show_fields(form)
    featured = _parse_featured(form.products)
    if show_id is None:
        return await create_show(
            session, now=now, fields=fields, featured=featured, default_timezone=ctx.timezone
        )
    show, _created = await upsert_show(
        session,
        show_id,
        now=now,
        fields=fields,
        featured=featured,
        default_timezone=ctx.timezone,
    )
    return show


@router.post("/shows")
async def create_show_route(
    request: Request,
    member: Member,
    form: Form,
    session: SessionDep,
    ctx: ContextDep,
    now: NowDep,
) -> Response:
    typed = _parse_show_form(form)
    try:
        show = await _save_show(session, None, typed, ctx, now)
    except DomainError as error:
        await session.rollback()
        return await _render_show_form(request, member, session, typed, show_id=None, error=error)
    return RedirectResponse(f"/console/shows/{show.id}", status_code=303)


async def _show_or_none(session: AsyncSession, show_id: int) -> Show | None:
    try:
        return await get_show(session, show_id)
    except NotFound:
        return None


@router.get("/shows/{show_id}/edit")
async def edit_show(
    request: Request, show_id: ShowId, member: Member, session: SessionDep
) -> Response:
    show = await _show_or_none(session, show_id)
    if show is None:
        return _not_found(request, member)
    return await _render_show_form(request, member, session, _show_form_of(show), show_id=show.id)


@router.post("/shows/{show_id}")
async def update_show(
    request: Request,
    show_id: ShowId,
    member: Member,
    form: Form,
    session: SessionDep,
    ctx: ContextDep,
    now: NowDep,
) -> Response:
    if await _show_or_none(session, show_id) is None:
        return _not_found(request, member)
    typed = _parse_show_form(form)
    try:
        await _save_show(session, show_id, typed, ctx, now)
    except DomainError as error:
        await session.rollback()
        return await _render_show_form(
            request, member, session, typed, show_id=show_id, error=error
        )
    return RedirectResponse(f"/console/shows/{show_id}", status_code=303)


def _not_found(request: Request, member: cs.ConsoleSession) -> Response:
    return render(request, "console/not_found.html", member, status_code=404)


@dataclass(frozen=True)
class ReminderRow:
    offset: int
    at: datetime
    state: str  # "sent", "skipped", "due", "later"
    recipients: int


async def _reminder_schedule(
    session: AsyncSession, show: Show, offsets: tuple[int, ...], now: datetime
) -> list[ReminderRow]:
    claims = {
        c.offset_seconds: c
        for c in await session.scalars(select(ShowReminder).where(ShowReminder.show_id == show.id))
    }
    rows = []
    for offset in sorted(set(offsets) | set(claims), reverse=True):
        at = show.starts_at - timedelta(seconds=offset)
        claim = claims.get(offset)
        if claim is not None:
            state = "skipped" if claim.skipped else "sent"
            rows.append(ReminderRow(offset, at, state, claim.recipients))
        else:
            rows.append(ReminderRow(offset, at, "due" if at <= now else "later", 0))
    return rows


def _hour_label(at: datetime, text: ConsoleText) -> str:
    return at.strftime("%H") + ("시" if text.lang == "ko" else ":00")


@router.get("/shows/{show_id}")
async def show_page(
    request: Request,
    show_id: ShowId,
    member: Member,
    session: SessionDep,
    ctx: ContextDep,
    now: NowDep,
) -> Response:
    show = await _show_or_none(session, show_id)
    if show is None:
        return _not_found(request, member)
    text = ConsoleText(member.lang)
    _ = text.gettext
    figures = await show_figures(session, show)
    stats = await show_stats(session, show)
    currency = figures.currency or (show.shop.currency if show.shop else "KRW")
    charts = {
        "subscribers": bar_chart(
            [
                Bar(
                    label=f"{d.month}/{d.day}",
                    value=n,
                    title=_("{day}: {n} subscribers").format(day=text.day(d), n=n),
                )
                for d, n in figures.subscribers_by_day
            ],
            title=_("Subscribers over time"),
            empty=_("No subscribers yet."),
        ),
        "clicks": bar_chart(
            [
                Bar(label=_hour_label(h, text), value=n, title=f"{h:%m/%d %H:00}: {n}")
                for h, n in figures.stream_clickers_by_hour
            ],
            title=_("People who tapped the stream link, by hour"),
            empty=_("Nobody has tapped the stream link yet."),
        ),
        "orders": bar_chart(
            [
                Bar(label=_hour_label(h, text), value=n, title=f"{h:%m/%d %H:00}: {n}")
                for h, n, _revenue in figures.orders_by_hour
            ],
            title=_("Orders by hour"),
            empty=_("No orders yet."),
        ),
        "reminders": stacked_bars(
            [
                (
                    text.offset(r.offset_seconds),
                    [
                        Part(_("Sent"), r.sent, "#1a4d8f"),
                        Part(_("Failed"), r.failed, "#b00020"),
                        Part(_("Blocked"), r.blocked, "#555555"),
                        Part(_("Waiting"), r.pending, "#c9a227"),
                    ],
                )
                for r in figures.reminders
            ],
            title=_("Reminders by moment"),
            empty=_("No reminders have gone out yet."),
        ),
        "revenue": bar_chart(
            [
                Bar(
                    label=_hour_label(h, text),
                    value=revenue,
                    title=f"{h:%m/%d %H:00}: {text.money(revenue, currency)}",
                )
                for h, _n, revenue in figures.orders_by_hour
            ],
            title=_("Revenue by hour"),
            empty=_("No orders yet."),
        ),
    }
    return render(
        request,
        "console/show.html",
        member,
        show=show,
        organiser=organiser(show),
        figures=figures,
        stats=stats,
        charts=charts,
        currency=currency,
        reminders=await _reminder_schedule(session, show, ctx.reminder_offsets, now),
        broadcasts=await list_broadcasts(session, show_id=show.id),
        now=now,
    )


def _csv_response(rows: list[list[Any]], filename: str) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(row)
    # a BOM so that Excel opens Korean text as UTF-8
    return Response(
        "\ufeff" + buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/shows/{show_id}/orders.csv")
async def show_orders_csv(
    request: Request, show_id: ShowId, member: Member, session: SessionDep
) -> Response:
    """Every line of the show's orders: one row per order line."""
    show = await _show_or_none(session, show_id)
    if show is None:
        return _not_found(request, member)
    zone = ZoneInfo(show.timezone)
    rows: list[list[Any]] = [
        [
            "order",
            "shop",
            "placed_at",
            "status",
            "sku",
            "name",
            "quantity",
            "unit_price",
            "line_total",
            "order_total",
            "currency",
        ]
    ]
    for line in await show_order_lines(session, show):
        rows.append(
            [
                line.code,
                line.shop,
                line.placed_at.astimezone(zone).isoformat(),
                line.status,
                line.sku,
                csv_text(line.name),
                line.quantity,
                line.unit_price,
                line.line_total,
                line.order_total,
                line.currency,
            ]
        )
    return _csv_response(rows, f"show-{show.id}-orders.csv")


@router.get("/shows/{show_id}/figures.csv")
async def show_figures_csv(
    request: Request, show_id: ShowId, member: Member, session: SessionDep
) -> Response:
    """The chart series as rows: series, local time, value."""
    show = await _show_or_none(session, show_id)
    if show is None:
        return _not_found(request, member)
    figures = await show_figures(session, show)
    rows: list[list[Any]] = [["series", "local_time", "value"]]
    rows += [["subscribers", d.isoformat(), n] for d, n in figures.subscribers_by_day]
    for r in figures.reminders:
        for name in ("sent", "failed", "blocked", "pending"):
            rows.append([f"reminder_{r.offset_seconds}s_{name}", "", getattr(r, name)])
    rows += [["stream_clickers", h.isoformat(), n] for h, n in figures.stream_clickers_by_hour]
    rows += [["orders", h.isoformat(), n] for h, n, _r in figures.orders_by_hour]
    rows += [["revenue", h.isoformat(), r] for h, _n, r in figures.orders_by_hour]
    return _csv_response(rows, f"show-{show.id}-figures.csv")


# --- broadcasts -------------------------------------------------------------------------


@dataclass
class BroadcastForm:
    scope: str = ""  # market:slug, shop:slug or show:id
    segment: str = BroadcastSegment.SUBSCRIBERS.value
    language: str = ""
    text: str = ""
    photo: str = ""
    button_text: str = ""
    button_url: str = ""


async def _scopes(session: AsyncSession, now: datetime) -> list[tuple[str, str]]:
    options = [(f"market:{m.slug}", m.name) for m in await list_markets(session)]
    options += [(f"shop:{s.slug}", s.name) for s in await list_shops(session)]
    options += [
        (f"show:{s.id}", s.title)
        for s in await list_shows(session, ending_after=now - timedelta(days=1), limit=100)
    ]
    return options


async def _render_composer(
    request: Request,
    member: cs.ConsoleSession,
    session: AsyncSession,
    form: BroadcastForm,
    now: datetime,
    error: DomainError | None = None,
) -> Response:
    return render(
        request,
        "console/broadcast_form.html",
        member,
        status_code=422 if error else 200,
        form=form,
        scopes=await _scopes(session, now),
        segments=[s.value for s in BroadcastSegment],
        error=_error_text(ConsoleText(member.lang), error) if error else None,
    )


@router.get("/broadcasts/new")
async def new_broadcast(
    request: Request,
    member: Member,
    session: SessionDep,
    now: NowDep,
    show: Annotated[int | None, Query(ge=1, le=2**53)] = None,
) -> Response:
    form = BroadcastForm(scope=f"show:{show}" if show else "")
    return await _render_composer(request, member, session, form, now)


@router.post("/broadcasts")
async def compose_broadcast(
    request: Request, member: Member, form: Form, session: SessionDep, now: NowDep
) -> Response:
    """Write a draft and show its preview; nothing is sent until it is confirmed."""
    typed = BroadcastForm(
        scope=_field(form, "scope", 60),
        segment=_field(form, "segment", 40),
        language=_field(form, "language", 16),
        text=_field(form, "text", 5000),
        photo=_field(form, "photo", 1000),
        button_text=_field(form, "button_text", 200),
        button_url=_field(form, "button_url", 1000),
    )
    try:
        broadcast = await create_broadcast(
            session, await _draft(session, typed), created_by="console", now=now
        )
    except DomainError as error:
        await session.rollback()
        return await _render_composer(request, member, session, typed, now, error)
    return RedirectResponse(f"/console/broadcasts/{broadcast.id}", status_code=303)


async def _draft(session: AsyncSession, form: BroadcastForm) -> BroadcastDraft:
    kind, _, key = form.scope.partition(":")
    market_id = shop_id = show_id = None
    if kind == "market":
        market_id = (await get_market(session, key)).id
    elif kind == "shop":
        shop_id = (await get_shop(session, key)).id
    elif kind == "show" and key.isdigit():
        show_id = int(key)
    else:
        raise InvalidInput("choose who it is for", field="scope")
    try:
        segment = BroadcastSegment(form.segment)
    except ValueError:
        raise InvalidInput("choose subscribers or past buyers", field="scope") from None
    if form.language not in ("", *cs.LANGUAGES):
        raise InvalidInput("choose a language", field="scope")
    if len(form.photo) > 500 or len(form.button_url) > 500 or len(form.button_text) > 64:
        raise InvalidInput("a link is at most 500 characters", field="button_url")
    if form.photo and not form.photo.startswith(("https://", "http://")):
        raise InvalidInput("the picture must be an http(s) link", field="photo")
    return BroadcastDraft(
        segment=segment,
        text=form.text,
        market_id=market_id,
        shop_id=shop_id,
        show_id=show_id,
        language=form.language or None,
        photo=form.photo,
        button_text=form.button_text,
        button_url=form.button_url,
    )


async def _broadcast_or_none(session: AsyncSession, broadcast_id: int) -> Broadcast | None:
    try:
        return await get_broadcast(session, broadcast_id)
    except NotFound:
        return None


async def _scope_label(session: AsyncSession, broadcast: Broadcast) -> str:
    if broadcast.show_id is not None:
        show = await _show_or_none(session, broadcast.show_id)
        return show.title if show else ""
    if broadcast.shop_id is not None:
        return (await get_shop_by_id(session, broadcast.shop_id)).name
    for market in await list_markets(session):
        if market.id == broadcast.market_id:
            return market.name
    return ""


@router.get("/broadcasts/{broadcast_id}")
async def broadcast_page(
    request: Request,
    broadcast_id: BroadcastId,
    member: Member,
    session: SessionDep,
    ctx: ContextDep,
    now: NowDep,
) -> Response:
    broadcast = await _broadcast_or_none(session, broadcast_id)
    if broadcast is None:
        return _not_found(request, member)
    audience = None
    if broadcast.status is BroadcastStatus.DRAFT:
        audience = len(await broadcast_audience(session, broadcast))
    stats = await broadcast_stats(session, broadcast)
    show = await _show_or_none(session, broadcast.show_id) if broadcast.show_id else None
    return render(
        request,
        "console/broadcast.html",
        member,
        broadcast=broadcast,
        audience=audience,
        stats=stats,
        progress=_progress(broadcast, stats),
        show=show,
        scope=await _scope_label(session, broadcast),
        timezone=ctx.timezone,
        default_send_at=(now + timedelta(hours=1))
        .astimezone(ZoneInfo(ctx.timezone))
        .strftime("%Y-%m-%dT%H:%M"),
    )


def _progress(broadcast: Broadcast, stats: Any) -> dict[str, Any]:
    failed = sum(stats.failed.values()) - stats.blocked
    return {
        "status": broadcast.status.value,
        "recipients": stats.recipients,
        "sent": stats.sent,
        "failed": failed,
        "blocked": stats.blocked,
        "pending": stats.pending,
        "done": broadcast.status is BroadcastStatus.ENQUEUED and stats.pending == 0,
    }


@router.post("/broadcasts/{broadcast_id}/confirm")
async def confirm(
    request: Request,
    broadcast_id: BroadcastId,
    member: Member,
    form: Form,
    session: SessionDep,
    ctx: ContextDep,
    now: NowDep,
) -> Response:
    """Send now, or at the time given (wall-clock time in LIVECART_TIMEZONE)."""
    broadcast = await _broadcast_or_none(session, broadcast_id)
    if broadcast is None:
        return _not_found(request, member)
    send_at = None
    if form.get("when") == "later":
        try:
            typed = datetime.fromisoformat(_field(form, "send_at", 40))
            send_at = as_utc(typed, ctx.timezone, "send_at")
        except (ValueError, OverflowError, InvalidInput):  # not a time, or a year like 9999
            send_at = None
        if send_at is None or send_at <= now:
            return await _refuse(request, member, broadcast_id)
    # a second tap on "send" changes nothing: it was sent once, and the page shows where
    with suppress(InvalidTransition):
        await confirm_broadcast(session, broadcast, now=now, send_at=send_at)
    return RedirectResponse(f"/console/broadcasts/{broadcast_id}", status_code=303)


async def _refuse(request: Request, member: cs.ConsoleSession, broadcast_id: int) -> Response:
    text = ConsoleText(member.lang)
    return render(
        request,
        "console/message.html",
        member,
        status_code=422,
        message=text.gettext("Please choose a time in the future, before the year 2100."),
        back=f"/console/broadcasts/{broadcast_id}",
    )


@router.post("/broadcasts/{broadcast_id}/cancel")
async def cancel(
    request: Request,
    broadcast_id: BroadcastId,
    member: Member,
    form: Form,
    session: SessionDep,
    now: NowDep,
) -> Response:
    broadcast = await _broadcast_or_none(session, broadcast_id)
    if broadcast is None:
        return _not_found(request, member)
    with suppress(InvalidTransition):  # already sent or cancelled: the page says which
        await cancel_broadcast(session, broadcast, now=now)
    return RedirectResponse(f"/console/broadcasts/{broadcast_id}", status_code=303)


@router.get("/broadcasts/{broadcast_id}/progress.json")
async def progress(broadcast_id: BroadcastId, member: MemberApi, session: SessionDep) -> Response:
    """The counters the broadcast page polls while it goes out."""
    broadcast = await _broadcast_or_none(session, broadcast_id)
    if broadcast is None:
        return JSONResponse({"detail": "no such broadcast"}, status_code=404)
    stats = await broadcast_stats(session, broadcast)
    return JSONResponse(_progress(broadcast, stats), headers={"Cache-Control": "no-store"})
