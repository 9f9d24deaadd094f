"""Campaign-console users: a name and a password, kept as a salted scrypt hash.

A console session names the user and a fingerprint of their stored hash, so changing a
password or removing the user ends every session they had.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.errors import InvalidInput, NotFound
from catalog.models import ConsoleUser

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 200
# scrypt cost: about 50 ms and 16 MiB per check (OWASP's minimum is N=2^17 with r=8 at
# 128 MiB; this keeps a login cheap on a small box while still slowing guessing a lot)
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
# checked when the name is unknown, so a wrong name takes as long as a wrong password
_DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    """`scrypt$N$r$p$salt$hash` with a random 16-byte salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(stored: str, password: str) -> bool:
    """The password matches the stored hash (compared in constant time)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        given = hashlib.scrypt(
            password.encode(),
            salt=_unb64(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
            maxmem=2**26,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(given, expected)


def hash_fingerprint(user: ConsoleUser) -> str:
    """A short fingerprint of the stored hash: a new password makes old sessions invalid."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def check_name(name: str) -> str:
    name = name.strip().lower()
    if not NAME_RE.match(name):
        raise InvalidInput("a name is 1-40 of a-z, 0-9, '.', '_' and '-'", field="name")
    return name


async def set_console_user(
    session: AsyncSession, name: str, password: str, *, now: datetime
) -> tuple[ConsoleUser, bool]:
    """Add a console user, or give an existing one a new password; returns (user, created)."""
    name = check_name(name)
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(
            f"a password is {MIN_PASSWORD} to {MAX_PASSWORD} characters", field="password"
        )
    user = await session.scalar(select(ConsoleUser).where(ConsoleUser.name == name))
    created = user is None
    if user is None:
        user = ConsoleUser(name=name, created_at=now)
        session.add(user)
    user.password_hash = await asyncio.to_thread(hash_password, password)
    user.updated_at = now
    await session.flush()
    return user, created


async def remove_console_user(session: AsyncSession, name: str) -> None:
    """Remove a console user (their sessions end at their next request)."""
    user = await session.scalar(select(ConsoleUser).where(ConsoleUser.name == check_name(name)))
    if user is None:
        raise NotFound("console user", name)
    await session.delete(user)
    await session.flush()


async def list_console_users(session: AsyncSession) -> list[ConsoleUser]:
    """Every console user, by name."""
    return list(await session.scalars(select(ConsoleUser).order_by(ConsoleUser.name)))


async def authenticate(session: AsyncSession, name: str, password: str) -> ConsoleUser | None:
    """The user with this name and password, or None (as slow for an unknown name)."""
    user = await session.scalar(
        select(ConsoleUser).where(ConsoleUser.name == name.strip().lower()[:40])
    )
    # scrypt takes tens of milliseconds: off the event loop
    if user is None:
        await asyncio.to_thread(verify_password, _DUMMY_HASH, password)
        return None
    good = await asyncio.to_thread(verify_password, user.password_hash, password)
    return user if good else None


async def session_user(session: AsyncSession, user_id: int, fingerprint: str) -> ConsoleUser | None:
    """The user a console session names, if they still exist with the same password."""
    user = await session.get(ConsoleUser, user_id)
    if user is None or not hmac.compare_digest(
        hash_fingerprint(user).encode(), fingerprint.encode()
    ):
        return None
    return user
