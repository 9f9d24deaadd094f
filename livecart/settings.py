"""Settings read from LIVECART_* environment variables or a .env file."""

from __future__ import annotations

import re
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.numbers import get_currency_name
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "xxx", "token", "your-token-here"}
SECRET_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
BOT_TOKEN_RE = re.compile(r"^[0-9]{1,20}:[A-Za-z0-9_-]{1,100}$")


class Settings(BaseSettings):
    """Everything livecart can be configured with; names are the LIVECART_ variables."""

    model_config = SettingsConfigDict(
        env_prefix="LIVECART_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    database_url: str = "sqlite+aiosqlite:///./livecart.db"
    redis_url: str | None = None
    # Redis keys (FSM state, shared send rates) start with this: several bots may share a Redis
    redis_key_prefix: str = Field(default="livecart", min_length=1, max_length=100)
    webhook_base_url: str | None = None
    webhook_secret: SecretStr | None = None
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    # the reverse proxies whose X-Forwarded-For/-Proto are believed (comma-separated
    # addresses or networks, "*" for any): the console's login limit counts per visitor
    forwarded_allow_ips: str = "127.0.0.1"
    api_token: SecretStr | None = None
    default_locale: str = "ko"
    timezone: str = "Asia/Seoul"
    currency: str = "KRW"
    reservation_minutes: int = Field(default=15, ge=1, le=24 * 60)
    public_base_url: str | None = None
    send_rate_per_second: float = Field(default=25.0, gt=0)
    send_rate_per_chat_per_second: float = Field(default=1.0, gt=0)
    # how long one Bot API call may take (getUpdates adds its long-poll time to it); a send
    # that times out may still have been delivered (see the README's failure table)
    telegram_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    portone_api_url: str = "https://api.portone.io"
    portone_store_id: str | None = None
    portone_channel_key: str | None = None
    portone_api_secret: SecretStr | None = None
    portone_webhook_secret: SecretStr | None = None
    portone_browser_sdk_url: str = "https://cdn.portone.io/v2/browser-sdk.js"
    vendor_invite_hours: int = Field(default=72, ge=1, le=24 * 30)
    vendor_reminder_minutes: int = Field(default=10, ge=1, le=24 * 60)
    # when show reminders go out, before the start ("0" is the "live now" message)
    reminder_offsets: str = "1d,10m,0"
    # a row claimed by a sender that died is set aside for review after this long
    send_lease_seconds: float = Field(default=60.0, gt=0, le=3600)
    # how often reminders, scheduled broadcasts and sold-out updates are looked for
    campaign_interval_seconds: float = Field(default=5.0, gt=0, le=600)
    # signs the campaign console's session cookies (derived from API_TOKEN when unset)
    console_secret: SecretStr | None = None

    @field_validator("reminder_offsets")
    @classmethod
    def _offsets(cls, value: str) -> str:
        from catalog.reminders import parse_offsets

        parse_offsets(value)  # a ValueError names the bad part
        return value

    @property
    def reminder_offset_seconds(self) -> list[int]:
        from catalog.reminders import parse_offsets

        return parse_offsets(self.reminder_offsets)

    # logs: "text" for a terminal, "json" (one object a line) for a log collector
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # /metrics wants this bearer token when set (open otherwise: keep it behind the proxy)
    metrics_token: SecretStr | None = None
    # `livecart worker` serves /healthz, /readyz and /metrics on this port (on HTTP_HOST);
    # unset: the worker has no HTTP server
    worker_http_port: int | None = Field(default=None, ge=0, le=65535)

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    # merchant webhooks: retried with backoff this long, then the endpoint is disabled
    webhook_retry_hours: float = Field(default=24.0, ge=24.0, le=24 * 14)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # merchant webhooks may point at http:// and at loopback/private/link-local addresses:
    # only for development and the demo (else a shop token could reach internal services)
    webhook_allow_private_urls: bool = False

    @field_validator("default_locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        try:
            Locale.parse(value)
        except (UnknownLocaleError, ValueError) as exc:
            raise ValueError(f"unknown locale {value!r}") from exc
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        value = value.upper()
        if len(value) != 3 or get_currency_name(value, locale="en") == value:
            raise ValueError(f"unknown ISO 4217 currency {value!r}")
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            if value.startswith(("postgres://", "postgresql://")):
                return "postgresql+asyncpg://" + value.split("://", 1)[1]
            if value.startswith("sqlite://"):
                return "sqlite+aiosqlite://" + value.split("://", 1)[1]
            raise ValueError("use sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db")
        return value

    @field_validator("api_token", "webhook_secret", "bot_token", "metrics_token", "console_secret")
    @classmethod
    def _no_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError("is a placeholder; set a real secret")
        return value

    @field_validator("bot_token")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not BOT_TOKEN_RE.match(value.get_secret_value()):
            raise ValueError("is not a bot token (it looks like 123456789:AAE..., from @BotFather)")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _telegram_secret_charset(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not SECRET_TOKEN_RE.match(value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_base_url and self.webhook_secret is None:
            raise ValueError(
                "LIVECART_WEBHOOK_SECRET must be set when LIVECART_WEBHOOK_BASE_URL is set"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


class SettingsError(Exception):
    """Raised with one readable line per bad variable."""


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning pydantic's report into lines naming the LIVECART_ variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            loc = error.get("loc") or ()
            name = f"LIVECART_{str(loc[0]).upper()}" if loc else "settings"
            message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
            lines.append(f"{name}: {message}")
        raise SettingsError("; ".join(lines)) from None


def online_payments(settings: Settings) -> bool:
    """PortOne is fully configured and the pay page has a public address to link to."""
    return bool(
        settings.public_base_url
        and settings.portone_store_id
        and settings.portone_channel_key
        and settings.portone_api_secret
        and settings.portone_webhook_secret
    )
