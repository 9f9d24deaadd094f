"""The campaign console's session: a signed cookie (HMAC-SHA256) holding who is logged in,
the per-session CSRF token and the chosen language. Nothing is stored server-side; the
signing key is LIVECART_CONSOLE_SECRET, or derived from LIVECART_API_TOKEN (so changing the
token ends every console session), or random per process when neither is set."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from fastapi import Request, Response

from webhook.context import WebContext

COOKIE = "livecart_console"
SESSION_SECONDS = 12 * 3600
LANGUAGES = ("ko", "en")


@dataclass(frozen=True)
class ConsoleSession:
    csrf: str
    user: str | None  # once logged in: "admin:{token fingerprint}" or "user:{id}:{fingerprint}"
    expires: int  # unix seconds
    lang: str

    @property
    def logged_in(self) -> bool:
        return self.user is not None


def signing_key(request: Request) -> bytes:
    ctx: WebContext = request.app.state.ctx
    if ctx.console_secret:
        return hashlib.sha256(b"livecart-console:" + ctx.console_secret.encode()).digest()
    if ctx.api_token:
        return hmac.new(ctx.api_token.encode(), b"livecart-console-session", "sha256").digest()
    state = request.app.state
    if getattr(state, "console_key", None) is None:
        state.console_key = secrets.token_bytes(32)
    key: bytes = state.console_key
    return key


def _sign(key: bytes, body: bytes) -> str:
    return base64.urlsafe_b64encode(hmac.new(key, body, "sha256").digest()).decode().rstrip("=")


def encode(session: ConsoleSession, key: bytes) -> str:
    body = base64.urlsafe_b64encode(
        json.dumps(
            {"c": session.csrf, "u": session.user, "e": session.expires, "l": session.lang},
            separators=(",", ":"),
        ).encode()
    )
    return f"{body.decode()}.{_sign(key, body)}"


def decode(value: str, key: bytes, now: datetime) -> ConsoleSession | None:
    """The session in a cookie, or None when it is forged, damaged or expired."""
    body, _, signature = value.partition(".")
    if not body or not hmac.compare_digest(signature, _sign(key, body.encode())):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body.encode()))
        session = ConsoleSession(
            csrf=str(data["c"]),
            user=None if data["u"] is None else str(data["u"]),
            expires=int(data["e"]),
            lang=str(data["l"]),
        )
    except (ValueError, KeyError, TypeError):
        return None
    if session.expires <= now.timestamp() or session.lang not in LANGUAGES:
        return None
    return session


def fresh(now: datetime, lang: str) -> ConsoleSession:
    """An anonymous session: a CSRF token for the login form, nobody logged in."""
    return ConsoleSession(
        csrf=secrets.token_urlsafe(24),
        user=None,
        expires=int(now.timestamp()) + SESSION_SECONDS,
        lang=lang if lang in LANGUAGES else "ko",
    )


def logged_in_as(session: ConsoleSession, user: str, now: datetime) -> ConsoleSession:
    """After a good login: a new CSRF token too (nothing from before the login carries over)."""
    return replace(
        session,
        user=user,
        csrf=secrets.token_urlsafe(24),
        expires=int(now.timestamp()) + SESSION_SECONDS,
    )


def set_cookie(response: Response, request: Request, session: ConsoleSession) -> None:
    response.set_cookie(
        COOKIE,
        encode(session, signing_key(request)),
        max_age=SESSION_SECONDS,
        path="/console",
        httponly=True,
        samesite="lax",
        # behind a TLS proxy the request may look like http: the public address says https
        secure=request.url.scheme == "https"
        or (request.app.state.ctx.public_base_url or "").startswith("https://"),
    )


def clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/console", httponly=True, samesite="lax")


def read(request: Request) -> ConsoleSession | None:
    ctx: WebContext = request.app.state.ctx
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    return decode(value, signing_key(request), ctx.clock.now())


def admin_user(request: Request) -> str:
    """The session user for the API token: changing LIVECART_API_TOKEN ends these sessions."""
    ctx: WebContext = request.app.state.ctx
    return "admin:" + hashlib.sha256((ctx.api_token or "").encode()).hexdigest()[:16]


def check_api_token(request: Request, given: str) -> bool:
    """The admin token (LIVECART_API_TOKEN), compared in constant time."""
    ctx: WebContext = request.app.state.ctx
    expected = ctx.api_token
    return bool(expected) and hmac.compare_digest(given.encode(), (expected or "").encode())


LOGIN_FAILURES_ALLOWED = 10
LOGIN_FAILURE_WINDOW_SECONDS = 300.0

log = logging.getLogger(__name__)


def login_key(address: str, name: str) -> str:
    """What failed logins are counted by: the client's address (as uvicorn's proxy headers
    resolve it) and the user name tried (as authenticate reads it; "" for the API token).
    A stranger elsewhere who guesses at "minji" slows only their own guessing."""
    return f"{address}\n{name.strip().lower()}"


class LoginThrottle:
    """At most 10 failed logins per (address, name) in 5 minutes, then 429 until the oldest
    failure ages out. In this process: LIVECART_REDIS_URL shares the count (RedisLoginThrottle)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        now = self._clock()
        failures = self._failures.get(key, deque())
        while failures and failures[0] <= now - LOGIN_FAILURE_WINDOW_SECONDS:
            failures.popleft()
        return failures

    async def blocked(self, key: str) -> bool:
        return len(self._recent(key)) >= LOGIN_FAILURES_ALLOWED

    async def failed(self, key: str) -> None:
        if len(self._failures) > 10_000:  # many addresses: forget the idle ones
            for idle in [k for k in self._failures if not self._recent(k)]:
                del self._failures[idle]
        failures = self._recent(key)
        failures.append(self._clock())
        self._failures[key] = failures

    async def aclose(self) -> None:
        """Nothing to release (the Redis throttle closes its connections)."""


class RedisLoginThrottle:
    """The same limit counted in Redis, so every instance behind the load balancer sees the
    same count: a counter per key that expires LOGIN_FAILURE_WINDOW_SECONDS after the first
    failure. If Redis does not answer, this process counts alone (logged), never a 500."""

    PREFIX = "livecart:console_login:"

    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url, socket_connect_timeout=2.0, socket_timeout=2.0)
        self._fallback = LoginThrottle()

    def _name(self, key: str) -> str:
        return self.PREFIX + hashlib.sha256(key.encode()).hexdigest()

    async def blocked(self, key: str) -> bool:
        from redis.exceptions import RedisError

        try:
            count = await self._redis.get(self._name(key))
        except RedisError as exc:
            log.warning("console login throttle: Redis did not answer (%s)", exc)
            return await self._fallback.blocked(key)
        return int(count or 0) >= LOGIN_FAILURES_ALLOWED

    async def failed(self, key: str) -> None:
        from redis.exceptions import RedisError

        name = self._name(key)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, int(LOGIN_FAILURE_WINDOW_SECONDS), nx=True)
                await pipe.execute()
        except RedisError as exc:
            log.warning("console login throttle: Redis did not answer (%s)", exc)
            await self._fallback.failed(key)

    async def aclose(self) -> None:
        await self._redis.aclose()


def login_throttle_of(app: Any) -> LoginThrottle | RedisLoginThrottle:
    """The app's throttle: in Redis when LIVECART_REDIS_URL is set, else in this process."""
    state = app.state
    if getattr(state, "console_login_throttle", None) is None:
        ctx: WebContext = state.ctx
        state.console_login_throttle = (
            RedisLoginThrottle(ctx.redis_url) if ctx.redis_url else LoginThrottle()
        )
    throttle: LoginThrottle | RedisLoginThrottle = state.console_login_throttle
    return throttle


def login_throttle(request: Request) -> LoginThrottle | RedisLoginThrottle:
    return login_throttle_of(request.app)
