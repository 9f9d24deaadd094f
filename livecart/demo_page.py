"""The demo's chat page at ``/demo``: three phones side by side (a customer, a vendor and a
campaign staff member), each a chat with the bot as the Telegram simulator holds it.

The page only talks to the simulator's control API under ``/sim/control`` (same origin): it
reads the chats, sends what the visitor types or taps, and follows the simulator's Server-Sent
Events so new and edited messages appear at once. Nothing in bot/ knows it is shown here.
Plain HTML, one stylesheet, one small script; no build step, nothing from a CDN.
"""

from __future__ import annotations

import gettext
import html
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.campaign_staff import add_staff
from catalog.models import Show
from catalog.shops import get_shop
from catalog.shows import FeaturedInput, upsert_show
from catalog.vendors import create_invite, redeem_invite, vendor_of
from webhook.pay_pages import translations

PAGE_LANGUAGES = ("ko", "en")
DEMO_MARKET = "gwangjang"
DEMO_SHOP = "ganada-fruit"
DEMO_SHOW_ID = 1
DEMO_TIMEZONE = "Asia/Seoul"


def N_(message: str) -> str:
    """Marks a msgid for extraction; it is translated where the page is rendered."""
    return message


@dataclass(frozen=True)
class DemoPhone:
    """One simulated person on the page; their private chat id equals their user id."""

    role: str  # customer | vendor | staff
    user_id: int
    first_name: str
    title: str  # msgid
    caption: str  # msgid: who this is, in a few words
    phone_number: str
    shortcuts: tuple[tuple[str, str], ...]  # (msgid of the label, text sent)


# Fixed ids so a demo database kept between runs still knows its vendor and staff member.
DEMO_PHONES: tuple[DemoPhone, ...] = (
    DemoPhone(
        role="customer",
        user_id=7_100_001,
        first_name="김영희",
        title=N_("Customer"),
        caption=N_("Orders from a market stall and pays"),
        phone_number="+82 10-1234-5678",
        shortcuts=(
            (N_("Open the fruit shop"), f"/start shop_{DEMO_SHOP}"),
            (N_("Whole market"), f"/start market_{DEMO_MARKET}"),
            (N_("My orders"), "/orders"),
            (N_("Language"), "/language"),
        ),
    ),
    DemoPhone(
        role="vendor",
        user_id=7_100_002,
        first_name="박가나",
        title=N_("Vendor"),
        caption=N_("Owner of the fruit stall; gets each paid order"),
        phone_number="+82 10-2222-3333",
        shortcuts=((N_("Stock"), "/stock"), (N_("My shop's people"), "/staff")),
    ),
    DemoPhone(
        role="staff",
        user_id=7_100_003,
        first_name="이캠페인",
        title=N_("Campaign staff"),
        caption=N_("The market's campaign team: shows and messages"),
        phone_number="+82 10-4444-5555",
        shortcuts=((N_("Campaign"), "/campaign"), (N_("Shows"), "/shows")),
    ),
)

# Labels the script needs, by key (msgids; translated into the page's language).
SCRIPT_TEXT = {
    "send": N_("Send"),
    "message": N_("Message"),
    "share_phone": N_("Share my phone number"),
    "edited": N_("edited"),
    "deleted": N_("This message was deleted."),
    "empty": N_("No messages yet. Tap a shortcut above or type below."),
    "you": N_("You"),
    "bot": N_("Bot"),
    "photo": N_("Photo"),
    "document": N_("Document"),
    "opens_new_tab": N_("opens in a new tab"),
    "not_sent": N_("Not sent: {reason}"),
    "offline": N_("Connection lost; reconnecting…"),
    "keyboard": N_("Buttons under the message box"),
}


async def seed_demo_people(session: AsyncSession, *, now: datetime, invite_hours: int = 1) -> None:
    """Make the demo's vendor phone an owner of the demo shop (through a one-time invite, as a
    real owner joins) and its staff phone a member of the demo market's campaign team.

    Safe to run on every start: someone who already runs the shop is left as they are.
    """
    by_role = {phone.role: phone for phone in DEMO_PHONES}
    vendor = by_role["vendor"]
    shop = await get_shop(session, DEMO_SHOP)
    if await vendor_of(session, vendor.user_id, shop.id) is None:
        _invite, token = await create_invite(
            session, shop, role="owner", created_by="livecart demo", now=now, hours=invite_hours
        )
        await redeem_invite(
            session,
            token,
            telegram_user_id=vendor.user_id,
            chat_id=vendor.user_id,
            name=vendor.first_name,
            now=now,
        )
    staff = by_role["staff"]
    await add_staff(session, DEMO_MARKET, staff.user_id, name=staff.first_name, now=now)


async def seed_demo_show(session: AsyncSession, *, now: datetime) -> None:
    """A market show tomorrow evening, so the staff phone's /campaign and the customer's
    upcoming shows have something to show; a show the demo already has is left alone."""
    if await session.get(Show, DEMO_SHOW_ID) is not None:
        return
    tomorrow = now.astimezone(ZoneInfo(DEMO_TIMEZONE)).date() + timedelta(days=1)
    starts_at = datetime.combine(tomorrow, time(19, 0))  # wall-clock time in Seoul
    await upsert_show(
        session,
        DEMO_SHOW_ID,
        now=now,
        fields={
            "market": DEMO_MARKET,
            "title": "광장시장 저녁 장터 라이브",
            "description": "사과, 빈대떡, 멸치를 방송 가격으로 만나요.",
            "starts_at": starts_at,
            "ends_at": starts_at + timedelta(minutes=90),
            "timezone": DEMO_TIMEZONE,
        },
        featured=[
            FeaturedInput(sku="apple-5kg", shop=DEMO_SHOP, live_price=29000),
            FeaturedInput(sku="bindaetteok", shop="sunhee-bindae"),
            FeaturedInput(sku="anchovy-1-5kg", shop="park-dried-fish", live_price=24000),
        ],
    )


def page_language(lang: str | None) -> str:
    """The page's language: ``?lang=`` if we speak it, else Korean."""
    return lang if lang in PAGE_LANGUAGES else "ko"


def build_demo_router(*, simulator_path: str = "/sim") -> APIRouter:
    """``GET /demo`` (the page), ``/demo/phones`` (who is on it) and its two static files."""
    router = APIRouter(include_in_schema=False)
    static = resources.files("livecart").joinpath("static")

    @router.get("/demo", response_class=HTMLResponse)
    async def demo_page(lang: str | None = Query(default=None)) -> HTMLResponse:
        return HTMLResponse(render_demo_page(page_language(lang), simulator_path))

    @router.get("/demo/phones")
    async def demo_phones(lang: str | None = Query(default=None)) -> list[dict[str, object]]:
        return phones_json(translations(page_language(lang)).gettext)

    @router.get("/demo/demo.js")
    async def demo_script() -> Response:
        return Response(
            static.joinpath("demo.js").read_text("utf-8"),
            media_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": "no-cache"},
        )

    @router.get("/demo/demo.css")
    async def demo_style() -> Response:
        return Response(
            static.joinpath("demo.css").read_text("utf-8"),
            media_type="text/css; charset=utf-8",
            headers={"Cache-Control": "no-cache"},
        )

    return router


def phones_json(_: Callable[[str], str]) -> list[dict[str, object]]:
    return [
        {
            "role": phone.role,
            "user_id": phone.user_id,
            "first_name": phone.first_name,
            "title": _(phone.title),
            "caption": _(phone.caption),
            "shortcuts": [{"label": _(label), "text": text} for label, text in phone.shortcuts],
        }
        for phone in DEMO_PHONES
    ]


def render_demo_page(lang: str, simulator_path: str) -> str:
    catalog: gettext.NullTranslations = translations(lang)
    _ = catalog.gettext
    e = html.escape
    config = {
        "lang": lang,
        "control": f"{simulator_path}/control",
        "phones": phones_json(_),
        "text": {key: _(msgid) for key, msgid in SCRIPT_TEXT.items()},
    }
    other = "en" if lang == "ko" else "ko"
    other_label = "English" if other == "en" else "한국어"
    phones = "\n".join(_phone_html(phone, _) for phone in DEMO_PHONES)
    title = _("livecart demo: three phones, one bot")
    api_label = _("REST API")
    simulator_label = _("Simulator control API")
    intro = _(
        "Each phone is a chat with the same bot, running on this computer with a simulated "
        "Telegram. Order as the customer, pay on the demo payment page (no money moves), and "
        "watch the vendor's phone get the order."
    )
    return f"""<!doctype html>
<html lang="{e(lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)}</title>
<link rel="stylesheet" href="/demo/demo.css">
</head>
<body>
<header class="page-header">
  <h1>{e(title)}</h1>
  <p>{e(intro)}</p>
  <p class="page-links">
    <a href="/demo?lang={e(other)}" lang="{e(other)}" hreflang="{e(other)}">{e(other_label)}</a>
    <a href="/docs">{e(api_label)}</a>
    <a href="{e(simulator_path)}/control/docs">{e(simulator_label)}</a>
  </p>
  <p id="connection" class="connection" role="status" aria-live="polite"></p>
</header>
<main class="phones">
{phones}
</main>
<script type="application/json" id="demo-config">{_json_for_html(config)}</script>
<script src="/demo/demo.js"></script>
</body>
</html>"""


def _phone_html(phone: DemoPhone, _: Callable[[str], str]) -> str:
    e = html.escape
    role = e(phone.role)
    title, caption = _(phone.title), _(phone.caption)
    chat_label = _("Chat with the bot")
    message_label = _("Message")
    send_label = _("Send")
    shortcuts = "".join(
        f'<button type="button" class="shortcut" data-text="{e(text)}">{e(_(label))}</button>'
        for label, text in phone.shortcuts
    )
    return f"""<section class="phone" id="phone-{role}" data-role="{role}"
  data-user-id="{phone.user_id}" aria-labelledby="title-{role}">
  <header class="phone-header">
    <h2 id="title-{role}">{e(title)} · {e(phone.first_name)}</h2>
    <p class="phone-caption">{e(caption)}</p>
    <div class="shortcuts">{shortcuts}</div>
  </header>
  <ol class="chat" aria-live="polite" aria-label="{e(chat_label)}"></ol>
  <p class="toast" role="status"></p>
  <div class="reply-keyboard" hidden></div>
  <form class="composer">
    <label class="visually-hidden" for="input-{role}">{e(message_label)}</label>
    <input id="input-{role}" name="text" autocomplete="off" maxlength="4096"
      placeholder="{e(message_label)}">
    <button type="submit">{e(send_label)}</button>
  </form>
</section>"""


def _json_for_html(value: object) -> str:
    """JSON safe inside a <script> element (no `</script>` can close it early)."""
    return (
        json.dumps(value, ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )
