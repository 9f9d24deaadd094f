"""Settings: documented defaults, a `.env` file, and a bad value refused in one line naming it."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from livecart.settings import Settings, SettingsError, load_settings

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No LIVECART_ variable from the caller's shell, and a working directory without a .env."""
    for name in list(os.environ):
        if name.upper().startswith("LIVECART_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def refusal(**variables: str) -> str:
    """Set these LIVECART_ variables and return the message start-up is refused with."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in variables.items():
            patch.setenv(name, value)
        with pytest.raises(SettingsError) as refused:
            load_settings()
    return str(refused.value)


# --- defaults -------------------------------------------------------------------------------


def test_with_nothing_configured_the_defaults_are_those_the_readme_documents() -> None:
    settings = load_settings()

    assert settings.bot_token is None
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert settings.database_url == "sqlite+aiosqlite:///./livecart.db"
    assert settings.is_sqlite
    assert settings.redis_url is None
    assert settings.webhook_base_url is None
    assert settings.webhook_secret is None
    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8080)
    assert settings.api_token is None
    assert settings.default_locale == "ko"
    assert settings.timezone == "Asia/Seoul"
    assert settings.currency == "KRW"
    assert settings.reservation_minutes == 15
    assert settings.public_base_url is None
    assert settings.send_rate_per_second == 25
    assert settings.send_rate_per_chat_per_second == 1
    # README's table says "–" for the whole PortOne row, but the API URL has a sensible default.
    assert settings.portone_api_url == "https://api.portone.io"
    assert settings.portone_store_id is None
    assert settings.portone_channel_key is None
    assert settings.portone_api_secret is None
    assert settings.portone_webhook_secret is None


def test_every_setting_is_documented_in_the_readme_configuration_table() -> None:
    section = README.read_text(encoding="utf-8").split("## Configuration", 1)[1]
    table = section.split("\n\n## ", 1)[0]
    documented = set(re.findall(r"`(LIVECART_[A-Z_]+)`", table))

    variables = {f"LIVECART_{name.upper()}" for name in Settings.model_fields}

    assert variables - documented == set()


# --- values from the environment and from .env ----------------------------------------------


def test_values_come_from_livecart_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVECART_HTTP_PORT", "9090")
    monkeypatch.setenv("LIVECART_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("LIVECART_CURRENCY", "eur")
    monkeypatch.setenv("LIVECART_DEFAULT_LOCALE", "en")
    monkeypatch.setenv("LIVECART_API_TOKEN", "a-real-token-0123456789")

    settings = load_settings()

    assert settings.http_port == 9090
    assert settings.timezone == "Europe/Berlin"
    assert settings.currency == "EUR"
    assert settings.default_locale == "en"
    assert settings.api_token is not None
    assert settings.api_token.get_secret_value() == "a-real-token-0123456789"


def test_a_dot_env_file_in_the_working_directory_is_read(clean_environment: Path) -> None:
    (clean_environment / ".env").write_text(
        "# livecart on the market's mini PC\n"
        "LIVECART_HTTP_PORT=9191\n"
        "LIVECART_DATABASE_URL=postgres://shop:pw@db.internal:5432/livecart\n"
        "LIVECART_API_TOKEN=from-the-dot-env-file-42\n"
        "SOME_OTHER_APP_SETTING=ignored\n",
        encoding="utf-8",
    )

    settings = load_settings()

    assert settings.http_port == 9191
    assert settings.database_url == "postgresql+asyncpg://shop:pw@db.internal:5432/livecart"
    assert settings.api_token is not None
    assert settings.api_token.get_secret_value() == "from-the-dot-env-file-42"


def test_the_environment_wins_over_the_dot_env_file(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_environment / ".env").write_text("LIVECART_HTTP_PORT=9191\n", encoding="utf-8")
    monkeypatch.setenv("LIVECART_HTTP_PORT", "9292")

    assert load_settings().http_port == 9292


def test_a_bad_value_in_the_dot_env_file_is_refused_by_name(clean_environment: Path) -> None:
    (clean_environment / ".env").write_text("LIVECART_TIMEZONE=Mars/Base\n", encoding="utf-8")

    with pytest.raises(SettingsError, match=r"^LIVECART_TIMEZONE: unknown time zone"):
        load_settings()


@pytest.mark.parametrize(
    ("given", "normalised"),
    [
        ("postgres://shop:pw@db.internal/livecart", "postgresql+asyncpg://shop:pw@db.internal/livecart"),
        ("postgresql://shop@db.internal:6432/livecart", "postgresql+asyncpg://shop@db.internal:6432/livecart"),
        ("postgresql+asyncpg://shop@db/livecart", "postgresql+asyncpg://shop@db/livecart"),
        ("sqlite:///./stall.db", "sqlite+aiosqlite:///./stall.db"),
        ("sqlite+aiosqlite:////var/lib/livecart.db", "sqlite+aiosqlite:////var/lib/livecart.db"),
    ],
)  # fmt: skip
def test_database_urls_without_an_async_driver_get_one(
    monkeypatch: pytest.MonkeyPatch, given: str, normalised: str
) -> None:
    monkeypatch.setenv("LIVECART_DATABASE_URL", given)

    assert load_settings().database_url == normalised


def test_a_webhook_url_with_its_secret_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVECART_WEBHOOK_BASE_URL", "https://shop.example.kr")
    monkeypatch.setenv("LIVECART_WEBHOOK_SECRET", "Abc_123-xyz")

    settings = load_settings()

    assert settings.webhook_base_url == "https://shop.example.kr"
    assert settings.webhook_secret is not None


# --- bad values stop start-up with one line naming the variable ----------------------------


@pytest.mark.parametrize(
    ("variable", "value", "explanation"),
    [
        ("LIVECART_HTTP_PORT", "abc", "valid integer"),
        ("LIVECART_HTTP_PORT", "70000", "65535"),
        ("LIVECART_TIMEZONE", "Mars/Base", "unknown time zone 'Mars/Base'"),
        ("LIVECART_CURRENCY", "XYZ", "unknown ISO 4217 currency 'XYZ'"),
        ("LIVECART_CURRENCY", "WON", "unknown ISO 4217 currency"),
        ("LIVECART_DEFAULT_LOCALE", "zz", "unknown locale 'zz'"),
        ("LIVECART_DATABASE_URL", "mysql://x", "sqlite+aiosqlite:///path.db or postgresql+asyncpg"),
        ("LIVECART_API_TOKEN", "changeme", "placeholder"),
        ("LIVECART_API_TOKEN", " ChangeMe ", "placeholder"),
        ("LIVECART_BOT_TOKEN", "your-token-here", "placeholder"),
        ("LIVECART_WEBHOOK_SECRET", "secret", "placeholder"),
        ("LIVECART_WEBHOOK_SECRET", "has spaces!", "A-Z, a-z, 0-9, _ and -"),
        ("LIVECART_RESERVATION_MINUTES", "0", "greater than or equal to 1"),
        ("LIVECART_SEND_RATE_PER_SECOND", "0", "greater than 0"),
    ],
)
def test_a_bad_value_stops_start_up_with_one_line_naming_the_variable(
    variable: str, value: str, explanation: str
) -> None:
    message = refusal(**{variable: value})

    assert message.startswith(f"{variable}: ")
    assert explanation in message
    assert "\n" not in message


def test_a_webhook_url_without_its_secret_is_refused_naming_both_variables() -> None:
    message = refusal(LIVECART_WEBHOOK_BASE_URL="https://shop.example.kr")

    assert "LIVECART_WEBHOOK_SECRET must be set when LIVECART_WEBHOOK_BASE_URL is set" in message
    assert "\n" not in message


def test_several_bad_values_are_all_named_on_the_same_line() -> None:
    message = refusal(LIVECART_HTTP_PORT="abc", LIVECART_TIMEZONE="Mars/Base")

    assert "LIVECART_HTTP_PORT: " in message
    assert "LIVECART_TIMEZONE: " in message
    assert "\n" not in message


def test_a_refused_secret_is_not_repeated_in_the_message() -> None:
    message = refusal(LIVECART_WEBHOOK_SECRET="s3cr3t with spaces")

    assert message.startswith("LIVECART_WEBHOOK_SECRET: ")
    assert "s3cr3t" not in message


def test_a_bot_token_that_is_not_shaped_like_one_is_refused_by_name() -> None:
    message = refusal(LIVECART_BOT_TOKEN="pasted-the-bot-username-instead")

    assert message.startswith("LIVECART_BOT_TOKEN: ")
