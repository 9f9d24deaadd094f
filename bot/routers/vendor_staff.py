"""Vendors join by an invite link (`/start vendor_<token>`); owners manage their people with
/staff: invite staff, remove someone. Every tap is checked against the presser's own shops."""

from __future__ import annotations

import logging
from datetime import datetime

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import StaffAction, StaffCb
from bot.deep_links import link, parse_payload, vendor_invite_payload
from bot.deps import BotDeps
from bot.notifications import recipient_language
from bot.replies import Replies, pressed_message
from catalog.errors import (
    InviteAlreadyUsed,
    InviteExpired,
    LastOwner,
    NotFound,
    NotShopOwner,
    UnknownInvite,
)
from catalog.models import Shop, Vendor, VendorRole
from catalog.shops import get_shop_by_id
from catalog.vendors import (
    create_invite,
    redeem_invite,
    remove_vendor,
    require_owner,
    shop_vendors,
    vendor_records,
)

log = logging.getLogger(__name__)

router = Router(name=__name__)


def _welcome(vendor: Vendor, shop: Shop) -> str:
    if vendor.role == VendorRole.OWNER:
        return _(
            "Welcome, {name}! You now run “{shop}” as its owner.\n"
            "Here you will get:\n• a message for every paid order\n"
            "• /stock to fix stock from your phone\n• /staff to invite or remove your staff"
        ).format(name=vendor.name, shop=shop.name)
    return _(
        "Welcome, {name}! You now help run “{shop}”.\n"
        "Here you will get:\n• a message for every paid order\n"
        "• /stock to fix stock from your phone"
    ).format(name=vendor.name, shop=shop.name)


def _role_label(role: str) -> str:
    return _("owner") if role == VendorRole.OWNER else _("staff")


async def render_staff(
    session: AsyncSession, shop: Shop, me: Vendor
) -> tuple[str, InlineKeyboardMarkup]:
    """The shop's people, a Remove button for each other person, and Invite staff."""
    people = await shop_vendors(session, shop.id)
    lines = [_("👥 People who run “{shop}”:").format(shop=shop.name)]
    kb = InlineKeyboardBuilder()
    for person in people:
        mine = _(" (you)") if person.id == me.id else ""
        lines.append(f"• {person.name or '—'} · {_role_label(person.role)}{mine}")
        if person.id != me.id:
            kb.button(
                text=_("Remove {name}").format(name=person.name or "—"),
                callback_data=StaffCb(action=StaffAction.REMOVE, shop=shop.id, vendor=person.id),
            )
    kb.button(
        text=_("➕ Invite staff"), callback_data=StaffCb(action=StaffAction.INVITE, shop=shop.id)
    )
    kb.adjust(1)
    return "\n".join(lines), kb.as_markup()


async def refresh_vendor_menu(
    session: AsyncSession, replies: Replies, telegram_user_id: int, chat_id: int
) -> None:
    """The chat's / menu shows what this person may do: vendor commands while they run a
    shop, the everyday menu once they don't."""
    roles = {v.role for v in await vendor_records(session, telegram_user_id)}
    commands: list[BotCommand] = []
    if roles:
        commands = [
            BotCommand(command="start", description=_("Shops and markets")),
            BotCommand(command="stock", description=_("Stock of my shop")),
        ]
        if VendorRole.OWNER in roles:
            commands.append(BotCommand(command="staff", description=_("People of my shop")))
        commands.append(BotCommand(command="help", description=_("How to order")))
    scope = BotCommandScopeChat(chat_id=chat_id)

    async def set_menu(bot: Bot) -> None:
        try:
            if commands:
                await bot.set_my_commands(commands, scope=scope)
            else:
                await bot.delete_my_commands(scope=scope)
        except Exception:  # a menu is a convenience; the messages already went out
            log.warning("could not set the command menu of chat %s", chat_id, exc_info=True)

    replies.call(set_menu)


@router.message(CommandStart(deep_link=True, magic=F.args.startswith("vendor_")))
async def on_vendor_invite(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    replies: Replies,
    state: FSMContext,
    now: datetime,
) -> None:
    await state.clear()
    user = message.from_user
    if user is None:
        return
    parsed = parse_payload(command.args or "")
    token = parsed.slug if parsed is not None and parsed.kind == "vendor" else ""
    try:
        vendor = await redeem_invite(
            session,
            token,
            telegram_user_id=user.id,
            chat_id=message.chat.id,
            name=user.full_name,
            now=now,
        )
    except InviteAlreadyUsed:
        replies.send(
            _(
                "This invitation link was used already: each one works once. "
                "Please ask for a new one."
            )
        )
        return
    except InviteExpired:
        replies.send(
            _("This invitation link has expired. Please ask the shop owner for a new one.")
        )
        return
    except UnknownInvite:
        replies.send(
            _(
                "This invitation link doesn't work. "
                "Please check it, or ask the shop owner for a new one."
            )
        )
        return
    shop = await get_shop_by_id(session, vendor.shop_id)
    replies.send(_welcome(vendor, shop))
    await refresh_vendor_menu(session, replies, user.id, message.chat.id)


@router.message(Command("staff"))
async def on_staff(message: Message, session: AsyncSession, replies: Replies) -> None:
    user = message.from_user
    owned = (
        [v for v in await vendor_records(session, user.id) if v.role == VendorRole.OWNER]
        if user is not None
        else []
    )
    if not owned:
        replies.send(
            _(
                "Only a shop's owner can manage its staff. If you work at a shop, "
                "ask its owner for an invitation link."
            )
        )
        return
    for vendor in owned:
        text, markup = await render_staff(session, vendor.shop, vendor)
        replies.send(text, markup)


@router.callback_query(StaffCb.filter())
async def on_staff_button(
    callback: CallbackQuery,
    callback_data: StaffCb,
    session: AsyncSession,
    replies: Replies,
    deps: BotDeps,
    now: datetime,
    bot: Bot,
) -> None:
    try:
        me = await require_owner(session, callback.from_user.id, callback_data.shop)
    except NotShopOwner:  # staff, a stranger, or forged data for another shop: show nothing
        replies.toast(_("Only the shop's owner can do that."), alert=True)
        return
    shop = await get_shop_by_id(session, callback_data.shop)
    screen = pressed_message(callback)
    action = callback_data.action
    if action is StaffAction.INVITE:
        _invite, token = await create_invite(
            session,
            shop,
            role=VendorRole.STAFF,
            created_by=f"vendor:{me.id}",
            now=now,
            hours=deps.vendor_invite_hours,
        )
        username = (await bot.me()).username or ""
        replies.send(
            _(
                "Send this link to the person who will help you at “{shop}”. "
                "It works once, within {hours} hours:\n{link}"
            ).format(
                shop=shop.name,
                hours=deps.vendor_invite_hours,
                link=link(username, vendor_invite_payload(token)),
            )
        )
        return
    if action is StaffAction.REMOVE:
        person = await session.get(Vendor, callback_data.vendor)
        if person is None or person.shop_id != shop.id:
            replies.toast(_("That person no longer works at this shop."))
        else:
            kb = InlineKeyboardBuilder()
            kb.button(
                text=_("Yes, remove"),
                callback_data=StaffCb(
                    action=StaffAction.REMOVE_CONFIRMED, shop=shop.id, vendor=person.id
                ),
            )
            kb.button(
                text=_("◀ Back"), callback_data=StaffCb(action=StaffAction.LIST, shop=shop.id)
            )
            kb.adjust(1)
            replies.edit(
                screen,
                _("Remove {name} from “{shop}”? They will stop getting order messages.").format(
                    name=person.name or "—", shop=shop.name
                ),
                kb.as_markup(),
            )
            return
    if action is StaffAction.REMOVE_CONFIRMED:
        try:
            removed = await remove_vendor(session, shop.id, callback_data.vendor, by=me)
        except LastOwner:
            replies.toast(_("A shop needs at least one owner."), alert=True)
        except NotFound:
            replies.toast(_("That person no longer works at this shop."))
        else:
            replies.toast(_("{name} was removed.").format(name=removed.name or "—"))
            i18n = get_i18n()
            language = await recipient_language(session, removed.chat_id, i18n.default_locale)
            with i18n.use_locale(language):  # the removed person's language, not the owner's
                goodbye = _("You no longer help run “{shop}”. Thank you for your help!")
            replies.send(goodbye.format(shop=shop.name), chat_id=removed.chat_id)
            await refresh_vendor_menu(session, replies, removed.telegram_user_id, removed.chat_id)
    text, markup = await render_staff(session, shop, me)
    replies.edit(screen, text, markup)
