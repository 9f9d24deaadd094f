"""The campaign console's session: a signed cookie (HMAC-SHA256) holding who is logged in,
the per-session CSRF token and the chosen language. Nothing is stored server-side; the
signing key is LIVECART_CONSOLE_SECRET, or derived from LIVECART_API_TOKEN (so changing the
token ends every console session), or random per process when neither is set."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

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


class LoginThrottle:
    """At most 10 failed logins per client address in 5 minutes, then 429 until the oldest
    failure ages out. Per process: it slows guessing; the long token and scrypt do the rest."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, client: str) -> deque[float]:
        now = self._clock()
        failures = self._failures.get(client, deque())
        while failures and failures[0] <= now - LOGIN_FAILURE_WINDOW_SECONDS:
            failures.popleft()
        return failures

    def blocked(self, client: str) -> bool:
        return len(self._recent(client)) >= LOGIN_FAILURES_ALLOWED

    def failed(self, client: str) -> None:
        if len(self._failures) > 10_000:  # many addresses: forget the idle ones
            for key in [k for k in self._failures if not self._recent(k)]:
                del self._failures[key]
        failures = self._recent(client)
        failures.append(self._clock())
        self._failures[client] = failures


def login_throttle(request: Request) -> LoginThrottle:
    state = request.app.state
    if getattr(state, "console_login_throttle", None) is None:
        state.console_login_throttle = LoginThrottle()
    throttle: LoginThrottle = state.console_login_throttle
    return throttle
