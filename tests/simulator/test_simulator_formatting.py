"""Telegram's HTML parse mode, as the simulator applies it (pure functions, no server)."""

from __future__ import annotations

import html

import pytest
from hypothesis import given
from hypothesis import strategies as st

from livecart.simulator.errors import BotAPIError
from livecart.simulator.formatting import format_text, parse_html, utf16_length


@given(st.text())
def test_any_escaped_text_parses_back_to_itself(text: str) -> None:
    parsed = format_text(html.escape(text, quote=False), "HTML", None)

    assert parsed.text == text.strip()
    assert parsed.entities == []


@given(
    st.text(min_size=1).filter(lambda t: t.strip() == t), st.text().filter(lambda t: t.strip() == t)
)
def test_a_bold_span_covers_exactly_its_text_in_utf16_units(bold: str, rest: str) -> None:
    parsed = parse_html(f"<b>{html.escape(bold)}</b>{html.escape(rest)}")

    assert parsed.text == bold + rest
    assert parsed.entities == [{"type": "bold", "offset": 0, "length": utf16_length(bold)}]


def test_an_emoji_counts_two_utf16_units_before_an_entity() -> None:
    parsed = parse_html("😀 <i>와</i>")

    assert parsed.entities == [{"type": "italic", "offset": 3, "length": 1}]


def test_nested_tags_numeric_references_and_unknown_ampersands() -> None:
    parsed = parse_html("<b>A <i>B</i></b> &#44032; &#xAC00; Tom & Jerry &nbsp;")

    assert parsed.text == "A B 가 가 Tom & Jerry &nbsp;"
    assert parsed.entities == [
        {"type": "bold", "offset": 0, "length": 3},
        {"type": "italic", "offset": 2, "length": 1},
    ]


def test_links_mentions_spoilers_and_code_blocks_become_entities() -> None:
    parsed = parse_html(
        '<a href="tg://user?id=42">민수</a> <span class="tg-spoiler">?</span> '
        '<pre language="python">x</pre>'
    )

    assert [entity["type"] for entity in parsed.entities] == ["text_mention", "spoiler", "pre"]
    assert parsed.entities[0]["user"] == {"id": 42}
    assert parsed.entities[2]["language"] == "python"


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("가격 <1000원", 'Unsupported start tag "1000원" at byte offset 7'),
        ("<b>굵게</i>", 'Unmatched end tag at byte offset 9, expected "</b>", found "</i>"'),
        ("끝</b>", "Unexpected end tag at byte offset 3"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ],
)
def test_malformed_html_is_refused_with_telegrams_words(source: str, reason: str) -> None:
    with pytest.raises(BotAPIError) as raised:
        parse_html(source)

    assert raised.value.description == f"Bad Request: can't parse entities: {reason}"


def test_markdown_is_accepted_verbatim() -> None:
    assert format_text("*굵게*", "MarkdownV2", None).text == "*굵게*"
