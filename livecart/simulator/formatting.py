"""Message text as Telegram sees it: HTML parse mode, entities, trimming and length limits.

Telegram parses HTML itself and refuses malformed markup (an unescaped ``<`` in a product name is
a classic bot bug), so the simulator parses it the same way: the supported tag set, the four named
character references, numeric references, and the error wording of Telegram's parser. Entity
offsets and lengths are counted in UTF-16 code units, as the Bot API specifies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from livecart.simulator.errors import bad_request
from livecart.simulator.models import JSON

_TAG_ENTITY_TYPES: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "a": "text_link",
    "tg-emoji": "custom_emoji",
}
_NAMED_REFERENCES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_REFERENCE = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]+);")
_NAME_TOKEN = re.compile(r"[A-Za-z0-9.\-]*")
_PARSE_MODES = {"html": "HTML", "markdown": "Markdown", "markdownv2": "MarkdownV2"}


@dataclass(frozen=True)
class FormattedText:
    """Text after entity parsing: what Telegram stores, returns and measures."""

    text: str
    entities: list[JSON] = field(default_factory=list)


def utf16_length(value: str) -> int:
    """Length in UTF-16 code units, the unit of Bot API entity offsets."""
    return len(value.encode("utf-16-le")) // 2


def normalize_parse_mode(parse_mode: str | None) -> str | None:
    """Telegram accepts parse modes case-insensitively and refuses unknown ones."""
    if not parse_mode:
        return None
    canonical = _PARSE_MODES.get(parse_mode.lower())
    if canonical is None:
        raise bad_request(f"unsupported parse_mode {parse_mode!r}")
    return canonical


def format_text(source: str, parse_mode: str | None, entities: list[JSON] | None) -> FormattedText:
    """Parse ``source`` the way Telegram would, then trim surrounding whitespace like Telegram.

    Markdown modes are accepted and kept verbatim: livecart sends HTML, and a half-right
    Markdown parser would reject valid messages.
    """
    if parse_mode == "HTML":
        parsed = parse_html(source)
    else:
        parsed = FormattedText(source, list(entities or []))
    return _trim(parsed)


def parse_html(source: str) -> FormattedText:
    """Parse Telegram's HTML subset into plain text and entities, or refuse like Telegram."""
    return _HtmlParser(source).parse()


def _trim(formatted: FormattedText) -> FormattedText:
    text = formatted.text
    stripped = text.strip()
    if stripped == text:
        return formatted
    shift = utf16_length(text[: len(text) - len(text.lstrip())])
    limit = utf16_length(stripped)
    entities: list[JSON] = []
    for entity in formatted.entities:
        start = max(0, int(entity["offset"]) - shift)
        end = min(limit, int(entity["offset"]) + int(entity["length"]) - shift)
        if end > start:
            entities.append({**entity, "offset": start, "length": end - start})
    return FormattedText(stripped, entities)


@dataclass
class _OpenTag:
    name: str
    argument: str | None
    offset: int
    begin: int


class _HtmlParser:
    """A port of the behaviour (not the code) of Telegram's HTML entity parser."""

    def __init__(self, source: str) -> None:
        self._source = source
        self._pos = 0
        self._out: list[str] = []
        self._offset = 0
        self._stack: list[_OpenTag] = []
        self._entities: list[JSON] = []

    def parse(self) -> FormattedText:
        source = self._source
        while self._pos < len(source):
            char = source[self._pos]
            if char == "&":
                self._emit(self._reference_at(self._pos))
            elif char == "<":
                self._tag()
            else:
                self._emit(char)
                self._pos += 1
        if self._stack:
            raise _parse_error(
                f'Can\'t find end tag corresponding to start tag "{self._stack[-1].name}"'
            )
        self._entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
        return FormattedText("".join(self._out), self._entities)

    def _emit(self, text: str) -> None:
        self._out.append(text)
        self._offset += utf16_length(text)

    def _reference_at(self, pos: int) -> str:
        """Decode a character reference at ``pos``; an unknown one stays literal text."""
        match = _REFERENCE.match(self._source, pos)
        decoded = _decode_reference(match.group(1)) if match else None
        if match is None or decoded is None:
            self._pos = pos + 1
            return "&"
        self._pos = match.end()
        return decoded

    def _byte_offset(self, pos: int) -> int:
        return len(self._source[:pos].encode("utf-8"))

    def _tag(self) -> None:
        begin = self._pos
        self._pos += 1
        if self._peek() == "/":
            self._pos += 1
            self._end_tag(begin)
        else:
            self._start_tag(begin)

    def _peek(self) -> str:
        return self._source[self._pos] if self._pos < len(self._source) else ""

    def _read_tag_name(self) -> str:
        start = self._pos
        while self._pos < len(self._source) and not (
            self._source[self._pos].isspace() or self._source[self._pos] == ">"
        ):
            self._pos += 1
        return self._source[start : self._pos].lower()

    def _skip_spaces(self) -> None:
        while self._pos < len(self._source) and self._source[self._pos].isspace():
            self._pos += 1

    def _start_tag(self, begin: int) -> None:
        name = self._read_tag_name()
        offset = self._byte_offset(begin)
        if name not in _TAG_ENTITY_TYPES:
            raise _parse_error(f'Unsupported start tag "{name}" at byte offset {offset}')
        argument: str | None = None
        while True:
            self._skip_spaces()
            if self._pos >= len(self._source):
                raise _parse_error(f"Unclosed start tag at byte offset {offset}")
            if self._peek() == ">":
                self._pos += 1
                break
            attribute, value = self._attribute(name, offset)
            argument = _tag_argument(name, attribute, value) or argument
        if name == "span" and argument != "spoiler":
            raise _parse_error(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
        self._stack.append(_OpenTag(name, argument, self._offset, begin))

    def _attribute(self, tag: str, offset: int) -> tuple[str, str]:
        start = self._pos
        while self._pos < len(self._source) and self._source[self._pos] not in " \t\r\n=>":
            self._pos += 1
        attribute = self._source[start : self._pos].lower()
        if not attribute:
            raise _parse_error(f'Empty attribute name in the tag "{tag}" at byte offset {offset}')
        self._skip_spaces()
        if self._peek() != "=":
            if tag == "blockquote" and attribute == "expandable":
                return attribute, ""
            raise _parse_error(
                "Expected equal sign in declaration of an attribute of the tag "
                f'"{tag}" at byte offset {offset}'
            )
        self._pos += 1
        self._skip_spaces()
        if self._pos >= len(self._source):
            raise _parse_error(f'Unclosed start tag "{tag}" at byte offset {offset}')
        quote = self._peek()
        if quote not in "'\"":
            token = _NAME_TOKEN.match(self._source, self._pos)
            assert token is not None  # the pattern also matches the empty string
            self._pos = token.end()
            if self._peek() not in ("", ">") and not self._peek().isspace():
                raise _parse_error(
                    f"Unexpected end of name token at byte offset {self._byte_offset(start)}"
                )
            return attribute, token.group(0).lower()
        self._pos += 1
        value: list[str] = []
        while self._pos < len(self._source) and self._source[self._pos] != quote:
            if self._source[self._pos] == "&":
                value.append(self._reference_at(self._pos))
            else:
                value.append(self._source[self._pos])
                self._pos += 1
        self._pos += 1  # the closing quote, if any; a missing one ends the input
        return attribute, "".join(value)

    def _end_tag(self, begin: int) -> None:
        offset = self._byte_offset(begin)
        if not self._stack:
            raise _parse_error(f"Unexpected end tag at byte offset {offset}")
        name = self._read_tag_name()
        self._skip_spaces()
        if self._peek() != ">":
            raise _parse_error(f"Unclosed end tag at byte offset {offset}")
        self._pos += 1
        open_tag = self._stack.pop()
        if name and name != open_tag.name:
            raise _parse_error(
                f'Unmatched end tag at byte offset {offset}, expected "</{open_tag.name}>", '
                f'found "</{name}>"'
            )
        self._close(open_tag)

    def _close(self, tag: _OpenTag) -> None:
        length = self._offset - tag.offset
        if length <= 0:
            return
        entity: JSON = {"type": _TAG_ENTITY_TYPES[tag.name], "offset": tag.offset, "length": length}
        if tag.name == "a":
            url = tag.argument or "".join(self._out)[-length:]
            if url.startswith("tg://user?id=") and url[13:].isdigit():
                entity = {**entity, "type": "text_mention", "user": {"id": int(url[13:])}}
            else:
                entity["url"] = url
        elif tag.name == "pre" and tag.argument:
            entity["language"] = tag.argument
        elif tag.name == "tg-emoji" and tag.argument:
            entity["custom_emoji_id"] = tag.argument
        elif tag.name == "blockquote" and tag.argument == "expandable":
            entity["type"] = "expandable_blockquote"
        self._entities.append(entity)


def _tag_argument(tag: str, attribute: str, value: str) -> str | None:
    if tag == "a" and attribute == "href":
        return value
    if tag == "pre" and attribute == "language":
        return value
    if tag == "span" and attribute == "class" and value.startswith("tg-"):
        return value[3:]
    if tag == "tg-emoji" and attribute == "emoji-id":
        return value
    if tag == "blockquote" and attribute == "expandable":
        return "expandable"
    return None


def _decode_reference(body: str) -> str | None:
    if not body.startswith("#"):
        return _NAMED_REFERENCES.get(body)
    code = int(body[2:], 16) if body[1:2] in ("x", "X") else int(body[1:])
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


def _parse_error(reason: str) -> Exception:
    return bad_request(f"can't parse entities: {reason}")
