"""The Korean and English catalogs are complete, and every translation keeps its placeholders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

LOCALES = Path(__file__).resolve().parents[1] / "locales"
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _catalog(locale: str):  # type: ignore[no-untyped-def]
    with (LOCALES / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=locale)


def _template_ids() -> set[str]:
    with (LOCALES / "messages.pot").open("rb") as handle:
        return {m.id for m in read_po(handle) if m.id}


@pytest.mark.parametrize("locale", ["ko", "en"])
def test_every_message_is_translated_with_the_same_placeholders(locale: str) -> None:
    catalog = _catalog(locale)
    ids = {m.id for m in catalog if m.id}
    assert ids == _template_ids(), "run `make locales-update`"
    for message in catalog:
        if not message.id:
            continue
        assert message.string, f"{locale}: untranslated {message.id!r}"
        assert not message.fuzzy, f"{locale}: fuzzy {message.id!r}"
        assert set(PLACEHOLDER.findall(message.id)) == set(PLACEHOLDER.findall(message.string)), (
            f"{locale}: placeholders differ in {message.id!r}"
        )
        assert len(message.string.split()) <= 60, f"{locale}: too long: {message.id!r}"


def test_the_template_holds_every_message_in_the_code() -> None:
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir

    root = LOCALES.parent
    found: set[str] = set()
    for folder in ("bot", "webhook", "livecart"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            root / folder,
            method_map=[("**.py", "python"), ("**/templates/**.html", "jinja2")],
            keywords=DEFAULT_KEYWORDS,
        ):
            found.add(message if isinstance(message, str) else message[0])
    assert found == _template_ids(), "run `make locales-update` and translate what is new"
