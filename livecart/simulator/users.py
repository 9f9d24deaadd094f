"""Simulated Telegram users, with the blocked/deactivated states bots must cope with."""

from __future__ import annotations

import itertools

from livecart.simulator.errors import (
    BOT_BLOCKED,
    CHAT_NOT_FOUND,
    USER_DEACTIVATED,
    ControlError,
    bad_request,
    forbidden,
)
from livecart.simulator.models import SimUser

# New Telegram accounts have ids above 2**32; starting there catches 32-bit columns early.
FIRST_USER_ID = 7_100_000_001


class UserDirectory:
    """Users by id; ids keep increasing across resets so a bot's database never sees reuse."""

    def __init__(self) -> None:
        self._users: dict[int, SimUser] = {}
        self._ids = itertools.count(FIRST_USER_ID)

    def create(
        self,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str = "ko",
        user_id: int | None = None,
        phone_number: str | None = None,
    ) -> SimUser:
        if user_id is None:
            user_id = next(self._ids)
            while user_id in self._users:
                user_id = next(self._ids)
        elif user_id <= 0:
            raise ControlError(400, "a user id is a positive integer")
        elif user_id in self._users:
            raise ControlError(409, f"user {user_id} already exists")
        user = SimUser(
            id=user_id,
            first_name=first_name,
            last_name=last_name,
            username=username.removeprefix("@") if username else None,
            language_code=language_code,
            phone_number=phone_number,
        )
        self._users[user_id] = user
        return user

    def get(self, user_id: int) -> SimUser | None:
        return self._users.get(user_id)

    def require(self, user_id: int) -> SimUser:
        """For control actions: the user, or a 404 naming the id."""
        user = self._users.get(user_id)
        if user is None:
            raise ControlError(404, f"no user {user_id}; create one with POST /control/users")
        return user

    def reachable(self, bot_id: int, chat_id: int) -> SimUser:
        """For Bot API calls into a chat: the user, or Telegram's 400/403 refusal."""
        user = self._users.get(chat_id)
        if user is None:
            raise bad_request(CHAT_NOT_FOUND)
        if user.deactivated:
            raise forbidden(USER_DEACTIVATED)
        if bot_id in user.blocked_bot_ids:
            raise forbidden(BOT_BLOCKED)
        return user

    def all(self) -> list[SimUser]:
        return list(self._users.values())

    def clear(self) -> None:
        self._users.clear()
