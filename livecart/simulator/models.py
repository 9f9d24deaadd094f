"""The simulated world's records: bots, users, messages, files and callback queries.

Plain dataclasses; turning them into Bot API JSON is ``telegram_json``'s job and into the
control API's view is ``control_views``'s, so each consumer sees the shape it expects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

JSON = dict[str, Any]

FileKind = Literal["photo", "document"]


@dataclass(frozen=True)
class BotAccount:
    """A registered bot; its user id is the digits before the colon of its token."""

    token: str
    id: int
    username: str
    first_name: str


@dataclass
class SimUser:
    """A simulated Telegram user; their private chat with any bot has ``chat_id == id``."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str = "ko"
    phone_number: str | None = None
    blocked_bot_ids: set[int] = field(default_factory=set)
    deactivated: bool = False


@dataclass(frozen=True)
class StoredFile:
    """Bytes a bot uploaded (or had fetched by URL), kept so tests can read them back."""

    file_id: str
    file_unique_id: str
    file_path: str
    kind: FileKind
    content: bytes
    mime_type: str
    file_name: str | None = None
    width: int | None = None
    height: int | None = None

    @property
    def file_size(self) -> int:
        return len(self.content)


@dataclass
class ChatMessage:
    """One message in a private chat, from either side.

    ``text``/``caption`` keep what the bot sent (HTML included); ``plain_text``/``plain_caption``
    and the entity lists are what Telegram would show and return after parsing.
    """

    message_id: int
    chat_id: int
    bot_id: int
    from_bot: bool
    date: int
    text: str | None = None
    plain_text: str | None = None
    entities: list[JSON] | None = None
    caption: str | None = None
    plain_caption: str | None = None
    caption_entities: list[JSON] | None = None
    parse_mode: str | None = None
    reply_markup: JSON | None = None
    photo: StoredFile | None = None
    document: StoredFile | None = None
    contact: JSON | None = None
    reply_to_message_id: int | None = None
    edit_date: int | None = None
    edits: int = 0
    deleted: bool = False

    @property
    def has_media(self) -> bool:
        return self.photo is not None or self.document is not None


@dataclass
class CallbackQueryRecord:
    """A button press and, once the bot calls answerCallbackQuery, its answer."""

    id: str
    bot_id: int
    user_id: int
    chat_id: int
    message_id: int
    data: str
    date: int
    answered: bool = False
    answer_text: str | None = None
    show_alert: bool = False
    url: str | None = None
    answered_at: float | None = None
