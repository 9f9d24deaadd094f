"""The `livecart` command run as a real process: schema, CSV import and export, bad settings."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

import catalog.models  # noqa: F401  (registers the tables on Base.metadata)
from catalog.db import Base
from catalog.migrate import alembic_config
from tests.livecart.conftest import LivecartCli

DEMO_CSV = Path(__file__).resolve().parents[2] / "livecart" / "data" / "demo_market.csv"
EXPORT_HEADER = "market,shop,sku,name,unit,price,stock,description,photo_url"


def demo_rows() -> list[list[str]]:
    """The demo market's rows, in the export's nine columns."""
    with DEMO_CSV.open(encoding="utf-8") as file:
        return [
            [row[column] for column in EXPORT_HEADER.split(",")] for row in csv.DictReader(file)
        ]


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def reported_lines(stderr: str) -> list[int]:
    return [int(n) for n in re.findall(r"^\s*line (\d+):", stderr, flags=re.MULTILINE)]


def test_db_upgrade_creates_the_whole_schema_in_a_new_sqlite_file(
    livecart_cli: LivecartCli,
) -> None:
    result = livecart_cli("db", "upgrade")

    assert result.returncode == 0, result.stderr
    assert "is at revision head" in result.stdout
    tables = {name for (name,) in livecart_cli.query("SELECT name FROM sqlite_master")}
    assert set(Base.metadata.tables) | {"alembic_version"} <= tables
    assert livecart_cli.query("SELECT version_num FROM alembic_version") == [(head_revision(),)]


def test_a_vendor_imports_exports_edits_and_reimports_the_catalog_which_updates_in_place(
    livecart_cli: LivecartCli, tmp_path: Path
) -> None:
    first = livecart_cli("catalog", "import", str(DEMO_CSV))

    assert first.returncode == 0, first.stderr
    assert "10 products created, 0 updated" in first.stdout
    ids_before = livecart_cli.query("SELECT sku, id FROM products ORDER BY id")
    assert len(ids_before) == 10

    exported = livecart_cli("catalog", "export")

    assert exported.returncode == 0, exported.stderr
    header, *lines = exported.stdout.splitlines()
    assert header == EXPORT_HEADER
    assert sorted(csv.reader(io.StringIO("\n".join(lines)))) == sorted(demo_rows())

    apple = ",apple-5kg,부사 사과 5kg,상자,32000,20,"
    repriced = ",apple-5kg,부사 사과 5kg,상자,29000,18,"
    assert apple in exported.stdout
    edited = tmp_path / "edited.csv"
    edited.write_text(exported.stdout.replace(apple, repriced), encoding="utf-8")
    again = livecart_cli("catalog", "import", str(edited))

    assert again.returncode == 0, again.stderr
    assert "0 products created, 10 updated" in again.stdout
    assert livecart_cli.query("SELECT sku, id FROM products ORDER BY id") == ids_before
    assert livecart_cli.query("SELECT price, available FROM products WHERE sku = 'apple-5kg'") == [
        (29000, 18)
    ]


def test_a_csv_with_bad_rows_is_refused_naming_its_lines_and_changes_nothing(
    livecart_cli: LivecartCli, tmp_path: Path
) -> None:
    assert livecart_cli("catalog", "import", str(DEMO_CSV)).returncode == 0
    bad = tmp_path / "tuesday.csv"
    bad.write_text(
        EXPORT_HEADER + "\n"
        "gwangjang,ganada-fruit,plum-2kg,자두 2kg,상자,21000,10,,\n"  # line 2: fine, new
        "gwangjang,ganada-fruit,apple-5kg,부사 사과 5kg,상자,1000,20,,\n"  # line 3: fine, change
        "gwangjang,ganada-fruit,grape box,포도,상자,30000,5,,\n"  # line 4: space in sku
        "gwangjang,ganada-fruit,melon,참외,개,-500,5,,\n"  # line 5: negative price
        "gwangjang,ganada-fruit,kiwi,,팩,9000,5,,\n",  # line 6: no name
        encoding="utf-8",
    )

    result = livecart_cli("catalog", "import", str(bad))

    assert result.returncode != 0
    assert "tuesday.csv was not imported, nothing changed" in result.stderr
    assert reported_lines(result.stderr) == [4, 5, 6]
    assert "Traceback" not in result.stderr
    assert "imported" not in result.stdout
    assert livecart_cli.query("SELECT count(*) FROM products") == [(10,)]
    assert livecart_cli.query("SELECT price FROM products WHERE sku = 'apple-5kg'") == [(32000,)]
    assert livecart_cli.query("SELECT id FROM products WHERE sku = 'plum-2kg'") == []


@pytest.mark.parametrize(
    "command",
    [
        ["db", "upgrade"],
        ["catalog", "import", str(DEMO_CSV)],
        ["catalog", "export"],
        ["run"],
        ["demo"],
    ],
    ids=" ".join,
)
def test_a_bad_setting_stops_every_command_with_exit_code_2_naming_the_variable(
    livecart_cli: LivecartCli, command: list[str]
) -> None:
    result = livecart_cli(*command, LIVECART_HTTP_PORT="abc")

    assert result.returncode == 2
    assert result.stderr.startswith("livecart: bad configuration: LIVECART_HTTP_PORT: ")
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert not livecart_cli.database.exists()


def test_a_bad_setting_is_reported_on_exactly_one_line(livecart_cli: LivecartCli) -> None:
    result = livecart_cli("db", "upgrade", LIVECART_HTTP_PORT="abc")

    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_each_bad_row_is_reported_on_a_line_of_its_own(
    livecart_cli: LivecartCli, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        EXPORT_HEADER + "\ngwangjang,ganada-fruit,grape box,포도,상자,30000,5,,\n",
        encoding="utf-8",
    )

    result = livecart_cli("catalog", "import", str(bad))

    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[1:] == [
        "  line 2: sku must be 1-64 characters of A-Z, a-z, 0-9, '_' and '-' "
        "(they go into deep links)"
    ]


def test_exporting_before_anything_was_imported_prints_just_the_header(
    livecart_cli: LivecartCli,
) -> None:
    result = livecart_cli("catalog", "export")

    assert "Traceback" not in result.stderr
    assert result.returncode == 0
    assert result.stdout == EXPORT_HEADER + "\n"


def test_a_campaign_adds_lists_and_removes_its_staff_from_the_command_line(
    livecart_cli: LivecartCli,
) -> None:
    assert livecart_cli("catalog", "import", str(DEMO_CSV)).returncode == 0

    added = livecart_cli("campaign", "staff-add", "gwangjang", "777000111", "--name", "팀장")
    again = livecart_cli("campaign", "staff-add", "gwangjang", "777000111")
    listed = livecart_cli("campaign", "staff-list", "gwangjang")
    removed = livecart_cli("campaign", "staff-remove", "gwangjang", "777000111")
    missing = livecart_cli("campaign", "staff-remove", "gwangjang", "777000111")
    unknown = livecart_cli("campaign", "staff-add", "nowhere", "1")

    assert added.returncode == 0 and "added to gwangjang" in added.stdout, added.stderr
    assert "already on" in again.stdout
    assert "777000111\t팀장" in listed.stdout
    assert removed.returncode == 0
    assert missing.returncode == 1 and "not found" in missing.stderr
    assert unknown.returncode == 1 and "nowhere" in unknown.stderr
    assert livecart_cli.query("SELECT count(*) FROM campaign_staff") == [(0,)]
