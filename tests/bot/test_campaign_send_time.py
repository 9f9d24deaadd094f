"""The time a campaign member types for a broadcast: a typo is "not understood", never a crash."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.routers.campaign import parse_send_time

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # 18:00 in Seoul


def test_a_typed_time_is_read_in_the_show_s_zone_and_an_impossible_year_is_not_understood() -> None:
    assert parse_send_time("2026-11-26 19:00", NOW, "Asia/Seoul") == datetime(
        2026, 11, 26, 10, 0, tzinfo=UTC
    )
    for typo in ("0001-01-01 00:00", "9999-12-31 23:59", "2026-02-30 19:00"):
        assert parse_send_time(typo, NOW, "Asia/Seoul") is None, typo
