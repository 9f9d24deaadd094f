"""`livecart console user-add/remove/list` as real processes: the password is kept as a scrypt
hash only, a short one is refused, and a removed user is gone."""

from __future__ import annotations

from catalog.console_users import verify_password
from tests.livecart.conftest import LivecartCli


def test_console_users_are_added_with_a_hashed_password_listed_and_removed(
    livecart_cli: LivecartCli,
) -> None:
    added = livecart_cli(
        "console", "user-add", "minji", "--password-stdin", stdin="gimjang-2026!\n"
    )
    assert added.returncode == 0, added.stderr
    (stored,) = livecart_cli.query("SELECT password_hash FROM console_users WHERE name = 'minji'")
    assert stored[0].startswith("scrypt$") and "gimjang" not in stored[0]
    assert verify_password(stored[0], "gimjang-2026!")

    short = livecart_cli("console", "user-add", "jisu", "--password-stdin", stdin="short\n")
    assert short.returncode == 1 and "password" in short.stderr
    assert livecart_cli("console", "user-list").stdout == "minji\n"

    assert livecart_cli("console", "user-remove", "minji").returncode == 0
    assert livecart_cli.query("SELECT count(*) FROM console_users") == [(0,)]
    assert livecart_cli("console", "user-remove", "minji").returncode == 1
