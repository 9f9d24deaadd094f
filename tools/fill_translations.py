"""Fill the ko and en catalogs from JSON files of Korean translations (msgid -> Korean).

Run after `make locales-update`:  .venv/bin/python tools/fill_translations.py locales/pending/*.json
English msgids are their own English translation; a Korean text is taken from the JSON files
only where the catalog has none yet (an existing translation is kept). Prints what is still
missing so a new message never slips through untranslated.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

LOCALES = Path(__file__).resolve().parents[1] / "locales"


def _load(paths: list[str]) -> dict[str, str]:
    korean: dict[str, str] = {}
    for path in paths:
        korean.update(json.loads(Path(path).read_text(encoding="utf-8")))
    return korean


def _fill(locale: str, korean: dict[str, str]) -> list[str]:
    path = LOCALES / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    missing: list[str] = []
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            missing.append(str(message.id))
            continue
        message.flags.discard("fuzzy")
        if locale == "en":
            message.string = message.id
        elif not message.string:
            if message.id in korean:
                message.string = korean[message.id]
            else:
                missing.append(message.id)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, sort_output=True)
    return missing


def main(argv: list[str]) -> int:
    korean = _load(argv)
    _fill("en", korean)
    missing = _fill("ko", korean)
    for message_id in missing:
        print(f"ko: untranslated {message_id!r}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
