"""Every inline button's callback_data, typed and short (Telegram allows 64 bytes)."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class Nav(StrEnum):
    HOME = "h"
    MARKET = "m"
    SHOP = "s"
    PRODUCT = "p"
    CART = "c"
    ORDERS = "o"
    INFO = "i"
    PRIVACY = "v"
    LANGUAGE = "l"


class NavCb(CallbackData, prefix="n"):
    """Go to a screen: home, a market (id), a shop (id, page), a product (id)..."""

    to: Nav
    id: int = 0
    page: int = 0


class CartAction(StrEnum):
    SET = "s"  # set the quantity to `qty` (0 removes): a repeated tap sets the same number
    ADD = "a"  # the same, pressed on a product: the product screen stays
    BUY = "b"  # set the quantity and go straight to checkout


class CartCb(CallbackData, prefix="c"):
    action: CartAction
    product: int
    qty: int


class CheckoutAction(StrEnum):
    START = "go"
    PICKUP = "pu"
    DELIVERY = "dl"
    SAVED_ADDRESS = "sa"
    CONFIRM = "ok"
    EDIT = "ed"
    ABORT = "no"


class CheckoutCb(CallbackData, prefix="k"):
    action: CheckoutAction
    token: str = ""


class OrderAction(StrEnum):
    VIEW = "v"
    BANK = "b"  # pay this order by bank transfer
    CANCEL = "c"
    CANCEL_CONFIRMED = "y"


class OrderCb(CallbackData, prefix="o"):
    action: OrderAction
    order: int


class LangCb(CallbackData, prefix="l"):
    code: str


class PrivacyAction(StrEnum):
    FORGET = "f"
    FORGET_CONFIRMED = "y"


class PrivacyCb(CallbackData, prefix="v"):
    action: PrivacyAction


class VendorOrderCb(CallbackData, prefix="vo"):
    """A vendor's tap on an order alert; `action` is a catalog.vendor_orders.VendorAction."""

    order: int
    action: str
    reason: str = ""


class StaffAction(StrEnum):
    LIST = "l"
    INVITE = "i"
    REMOVE = "r"  # asks first
    REMOVE_CONFIRMED = "y"


class StaffCb(CallbackData, prefix="vs"):
    """An owner's /staff screen: `shop` is checked against the presser on every tap."""

    action: StaffAction
    shop: int
    vendor: int = 0


class StockAction(StrEnum):
    LIST = "l"  # show a page of the shop's stock list
    PLUS = "p"  # one more unit
    MINUS = "m"  # one unit less (never below 0)
    SOLD_OUT = "z"  # available becomes 0
    SET = "s"  # available becomes `qty` (a typed "사과 20" that needed a choice)
    HIDE = "h"  # customers no longer see it
    SHOW = "v"  # customers see it again


class StockCb(CallbackData, prefix="vk"):
    """A vendor's stock list: the shop, the product (0 for the list itself), the page shown."""

    action: StockAction
    shop: int
    product: int = 0
    page: int = 0
    qty: int = 0


class ShowAction(StrEnum):
    LIST = "l"  # upcoming shows
    VIEW = "v"
    SUBSCRIBE = "s"  # this show
    SUBSCRIBE_ALL = "a"  # every show of its shop or market
    OFF = "x"  # turn every reminder off (on every reminder and broadcast)
    ITEM = "o"  # a featured product: its order buttons; typed orders now mean the show's list


class ShowCb(CallbackData, prefix="sh"):
    action: ShowAction
    show: int = 0
    item: int = 0  # a product id


class CampaignAction(StrEnum):
    MENU = "m"
    SHOW = "s"  # a show's stats and actions
    SOLD_OUT_UPDATES = "u"  # toggle the show's sold-out updates
    NEW = "n"  # start a broadcast to the scope (show, or market when show is 0)
    SEGMENT = "g"
    LANGUAGE = "l"
    SEND_NOW = "y"
    SCHEDULE = "t"
    CANCEL = "c"
    STATS = "b"  # a broadcast's stats
    REPLAY = "r"  # toggle the show's after-the-show replay message
    REPLAY_LINK = "k"  # type the show's replay link


class CampaignCb(CallbackData, prefix="cp"):
    action: CampaignAction
    show: int = 0
    market: int = 0
    broadcast: int = 0
    value: str = ""


class WaitAction(StrEnum):
    JOIN = "j"  # tell me when it is back (재입고 알림)
    LEAVE = "x"  # stop waiting; a unit held for me goes to the next in line


class WaitCb(CallbackData, prefix="w"):
    action: WaitAction
    product: int


class SheetCb(CallbackData, prefix="vx"):
    """A vendor's "orders as Excel": which shop, and which month (-1: ask first)."""

    shop: int
    months_back: int = -1  # 0: this month so far, 1: last month
