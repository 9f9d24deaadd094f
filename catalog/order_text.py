"""Read what a customer types during a live show ("3번 2개", "사과 두 개요", "취소") as an intent.

Pure functions, no I/O: the bot passes the text and the products on the current list and acts on
the returned intent (asking back with buttons when it is `AmbiguousIntent` or `UnknownIntent`).

How ambiguous inputs are read (each rule has a test):

- A product is named by its list number ("3번", "3 번", "#3", "no. 3", "삼번", "세 번째") or by
  its name, typos included ("사가" finds "사과" through `catalog.text_match`). The number wins
  when both are given; a name pointing clearly at another product makes it ambiguous.
- A quantity is a number with a counter ("2개", "두 개", "세 봉지", "2 pcs", "x2", "×2") or a
  number standing alone. Korean number words only count where they stand as numbers: before a
  counter, or as a whole word ("하나", "둘", "열두", "이십"); never inside a word ("사과" holds
  사 = 4, "과일세트" holds 일 = 1). A single-syllable Sino word alone ("사", "이", "오") is not
  a number, and "네" alone is "yes", "한" alone is "about", "이번"/"한번" are "this time"/"once".
- One number alone ("5", "다섯") is a quantity for the product chosen before (QuantityIntent).
  Two numbers alone ("3 2", "3-2", "3/2") are list number then quantity, as is a number
  followed by a counted quantity ("3 2개"). A range ("2~3개") or three numbers are not guessed.
- A weight after a number ("5kg", "5키로", "한 근") is a quantity unless it reads better as part
  of a product name ("사과 5kg" when "사과 5kg" is on the list, or "사과 5kg 2박스"). Package
  sizes ("500g", "300ml", "10개입", "30구", "7.5kg", "1+1") are always part of the name.
- A name that several products contain ("사과" with "부사 사과" and "홍로 사과"), or a match too
  weak to act on (one syllable off a one-syllable name, jamo-only closeness), gives
  AmbiguousIntent with the candidates best first (one candidate then means "did you mean ...?").
- Any mention of 취소/캔슬/cancel (not negated: "취소 안 해요") cancels. Questions ("얼마예요",
  "몇 개 남았어요") are not orders: UnknownIntent("not_understood").
- Quantities must be within 1..99; 0, negatives and 100+ give "quantity_out_of_range".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import TypeAlias

from catalog.text_match import (
    AMBIGUITY_MARGIN,
    CONFIDENT_SCORE,
    Match,
    MatchKind,
    match_products,
    normalize_text,
)

MIN_QUANTITY = 1
MAX_QUANTITY = 99
#: messages are cut to this many characters (after normalisation) before they are read
MAX_ORDER_TEXT_CHARS = 300
_MAX_RAW_CHARS = 1000
#: how many candidates an AmbiguousIntent offers at most
MAX_CANDIDATES = 5


@dataclass(frozen=True, slots=True)
class ProductRef:
    """A product as the current list shows it: "3번" is `number` 3; `key` is the product id.

    A `number` below 1 means the product is not numbered on screen: it is found by name only.
    """

    number: int
    key: int
    name: str


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """Put `quantity` (1..99) of the product `product_key` in the cart."""

    product_key: int
    quantity: int


@dataclass(frozen=True, slots=True)
class QuantityIntent:
    """A quantity (1..99) alone, for the product the customer chose before."""

    quantity: int


@dataclass(frozen=True, slots=True)
class CancelIntent:
    """The customer wants to cancel."""


@dataclass(frozen=True, slots=True)
class AmbiguousIntent:
    """Ask which product (or confirm the only one): `candidates` are keys, best first."""

    candidates: tuple[int, ...]
    quantity: int


class UnknownReason(StrEnum):
    """Why nothing can be acted on; a StrEnum, so it equals its plain string value."""

    EMPTY = "empty"
    NO_SUCH_NUMBER = "no_such_number"
    NO_PRODUCT_MATCH = "no_product_match"
    QUANTITY_OUT_OF_RANGE = "quantity_out_of_range"
    NOT_UNDERSTOOD = "not_understood"


@dataclass(frozen=True, slots=True)
class UnknownIntent:
    """Nothing to act on; `reason` picks the friendly hint the bot answers with."""

    reason: UnknownReason


Intent: TypeAlias = OrderIntent | QuantityIntent | CancelIntent | AmbiguousIntent | UnknownIntent


# --- numbers --------------------------------------------------------------------------------

_NATIVE_UNITS: dict[str, int] = {
    "하나": 1, "한": 1, "둘": 2, "두": 2, "셋": 3, "세": 3, "석": 3, "넷": 4, "네": 4, "넉": 4,
    "다섯": 5, "여섯": 6, "일곱": 7, "여덟": 8, "아홉": 9,
}  # fmt: skip
_NATIVE_TENS: dict[str, int] = {
    "열": 10, "스물": 20, "서른": 30, "마흔": 40, "쉰": 50,
    "예순": 60, "일흔": 70, "여든": 80, "아흔": 90,
}  # fmt: skip
_SINO_DIGITS: dict[str, int] = {
    "일": 1, "이": 2, "삼": 3, "사": 4, "오": 5, "육": 6, "륙": 6, "칠": 7, "팔": 8, "구": 9,
}  # fmt: skip
_SINO_PLACES: dict[str, int] = {"십": 10, "백": 100, "천": 1000}
_ENGLISH_NUMBERS: dict[str, int] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
#: digit strings longer than this are not parsed (they are far out of range anyway)
_MAX_DIGITS = 6


def _alternation(words: Iterable[str]) -> str:
    return "|".join(sorted(words, key=lambda w: (-len(w), w)))


_UNITS_RE = _alternation(_NATIVE_UNITS)
_NATIVE_RE = f"(?:{_alternation(_NATIVE_TENS)})(?:{_UNITS_RE})?|스무|{_UNITS_RE}"
_SINO_DIGIT_RE = "[일이삼사오육륙칠팔구]"
_SINO_RE = (
    f"(?=[일이삼사오육륙칠팔구십백천])(?:{_SINO_DIGIT_RE}?천)?(?:{_SINO_DIGIT_RE}?백)?"
    f"(?:{_SINO_DIGIT_RE}?십)?{_SINO_DIGIT_RE}?"
)
_NUMBER_WORD_RE = f"{_NATIVE_RE}|{_SINO_RE}"
_NATIVE_FULL = re.compile(f"(?:{_NATIVE_RE})")
_SINO_FULL = re.compile(f"(?:{_SINO_RE})")


def _digits_value(digits: str) -> int:
    negative = digits.startswith("-")
    digits = digits.lstrip("-")
    if not digits:
        return 0
    value = int(digits) if len(digits) <= _MAX_DIGITS else 10**_MAX_DIGITS
    return -value if negative else value


def _native_value(word: str) -> int | None:
    if not _NATIVE_FULL.fullmatch(word):
        return None
    if word == "스무":
        return 20
    for tens_word, tens in _NATIVE_TENS.items():
        if word.startswith(tens_word):
            rest = word[len(tens_word) :]
            return tens + (_NATIVE_UNITS[rest] if rest else 0)
    return _NATIVE_UNITS.get(word)


def _sino_value(word: str) -> int | None:
    if not word or not _SINO_FULL.fullmatch(word):
        return None
    total, digit = 0, None
    for ch in word:
        if ch in _SINO_DIGITS:
            digit = _SINO_DIGITS[ch]
        else:
            total += (1 if digit is None else digit) * _SINO_PLACES[ch]
            digit = None
    return total + (digit or 0)


def parse_korean_number(word: str) -> int | None:
    """The value of one number word: digits (full-width too), native or Sino-Korean, or None.

    "3", "３", "셋", "세", "열두", "스무", "아흔아홉", "삼", "이십오", "백" and "영" are numbers;
    counters and endings are not stripped here (see `parse_quantity`). The value is not range
    checked ("백" is 100); digit strings longer than 6 give 1,000,000. Never raises.
    """
    text = normalize_text(word[:_MAX_RAW_CHARS], keep="-")
    if re.fullmatch(r"-?[0-9]+", text):
        return _digits_value(text)
    if text == "영":
        return 0
    if text in _ENGLISH_NUMBERS:
        return _ENGLISH_NUMBERS[text]
    native = _native_value(text)
    return native if native is not None else _sino_value(text)


# --- vocabulary -----------------------------------------------------------------------------

_KOREAN_COUNTERS = (
    "키로그램", "킬로그램", "꾸러미", "박스", "상자", "봉지", "봉투", "세트", "셋트", "포기",
    "송이", "묶음", "덩이", "마리", "키로", "킬로", "자루", "인분", "개", "게", "병", "봉",
    "팩", "근", "통", "단", "줄", "장", "판", "망", "모", "알", "캔", "컵",
)  # fmt: skip
_LATIN_COUNTERS = (
    "pcs", "pc", "pieces", "piece", "ea", "each", "units", "unit", "boxes", "box", "packs",
    "pack", "sets", "set", "bottles", "bottle", "bags", "bag", "kgs", "kg", "kilos", "kilo",
)  # fmt: skip
#: counted in weight: may be a quantity ("감자 5키로") or part of a name ("사과 5kg")
_KILOGRAMS = frozenset({"키로그램", "킬로그램", "키로", "킬로", "kgs", "kg", "kilos", "kilo"})
_WEIGHT_COUNTERS = _KILOGRAMS | {"근"}
_COUNTER_RE = (
    f"(?:{_alternation(_KOREAN_COUNTERS)})(?!입)"  # "10개입" is a pack size, not a quantity
    f"|(?:{_alternation(_LATIN_COUNTERS)})(?![a-z])"
)
_SIZE_UNITS = "ml|mg|g|l|cm|mm|리터|그램|미리"

#: words that carry no product and no number: greetings, particles, polite endings, fillers
_FILLER_WORDS = frozenset(
    (
        # yes, me, this one, more, and, for now
        "네", "예", "넵", "넹", "응", "웅", "저", "저도", "저는", "제가", "나", "나도", "난",
        "여기", "여기요", "좀", "그냥", "이거", "이것", "이걸", "이것도", "그거", "그걸", "요거",
        "요것", "저거", "것", "거", "걸", "꺼", "껄", "더", "추가", "추가요", "추가로", "또",
        "그리고", "총", "일단", "이번", "이번에", "한번", "한", "우선", "혹시", "빨리", "얼른",
        "많이", "꼭", "제발", "지금", "바로", "바로요", "상품", "제품", "물건", "번호",
        # particles and endings standing alone
        "요", "이요", "용", "여", "세요", "하고", "랑", "이랑", "에", "에서", "로", "으로", "을",
        "를", "은", "는", "이", "가", "도", "만", "씩", "께",
        # whom they greet and thank
        "사장님", "사장님요", "언니", "이모", "삼촌", "선생님", "감사합니다", "고맙습니다",
        "감사해요", "고마워요", "안녕하세요",
        # please, I'll buy, put it in
        "주세요", "주세용", "주세여", "줘요", "줘", "주셔요", "주십시오", "할게요", "할께요",
        "할래요", "해요", "해주세요", "부탁해요", "부탁드려요", "부탁드립니다", "부탁합니다",
        "주문", "주문요", "주문이요", "주문합니다", "주문할게요", "주문할께요", "주문해요", "구매",
        "구매요", "구매할게요", "구매합니다", "살게요", "살께요", "살래요", "사요", "삽니다",
        "보내주세요", "담아주세요", "넣어주세요",
        # English
        "i", "id", "want", "would", "like", "to", "buy", "order", "please", "pls", "plz", "ok",
        "okay", "yes", "hi", "hello", "thanks", "thank", "you", "of", "the", "a", "an", "for",
        "me", "get", "take", "and",
    )
)  # fmt: skip
_POLITE_SUFFIXES = (
    "주세요", "주세용", "주셔요", "줘요", "할게요", "할께요", "부탁해요", "부탁드려요", "이요",
    "요", "으로", "이랑", "랑", "하고", "을", "를", "은", "는", "도", "만", "이", "가",
)  # fmt: skip
_QUESTION_STARTS = (
    "얼마", "언제", "어디", "어떻게", "어떤", "뭐", "무슨", "왜", "몇", "남았", "남아", "있나",
    "있어", "있을까", "있는지", "되나", "됐나", "맞나", "인가", "how", "what", "when",
    "where", "why", "price", "left", "available",
)  # fmt: skip
_CANCEL_WORDS = ("취소", "캔슬", "cancel", "안살", "주문안할", "주문안해")
_NEGATED_CANCEL = ("취소안", "취소하지마", "취소말", "취소아니", "취소는안", "dontcancel",
                   "donotcancel", "notcancel")  # fmt: skip


_JAMO_BLOCKS = ((0x1100, 0x11FF), (0x3130, 0x318F), (0xA960, 0xA97F), (0xD7B0, 0xD7FF))


def _is_jamo_only(word: str) -> bool:
    """ㅋㅋ, ㅎㅎ, ㅠㅠ: laughter and tears, never a product."""
    return all(any(lo <= ord(ch) <= hi for lo, hi in _JAMO_BLOCKS) for ch in word)


def _strip_suffix(word: str) -> str:
    for suffix in _POLITE_SUFFIXES:
        if word.endswith(suffix) and len(word) > len(suffix):
            return word[: -len(suffix)]
    return word


def _is_filler(word: str) -> bool:
    if word in _FILLER_WORDS or _is_jamo_only(word):
        return True
    return _strip_suffix(word) in _FILLER_WORDS  # "추가요", "이거요"


# --- scanning -------------------------------------------------------------------------------

#: what may follow "두개", "세 봉지": an ending, not more word ("사장님" is not 4 장 + 님)
_AFTER_WORD_COUNTER = (
    r"(?=$|[^가-힣]|요|이요|만|씩|짜리|정도|더|주|줘|부탁|할|살|랑|이랑|하고|를|을|은|는|이|가|도"
    r"|에|으로|로|입니다|이에|예요|구매)"
)


def _token_pattern(glued: bool) -> re.Pattern[str]:
    """The pieces of an order message, tried in this order at each position."""
    glued_quantity = (
        # a native number glued to the word before it: "사과두개", "배세개"
        rf"(?P<qg>{_NATIVE_RE})(?P<cg>{_COUNTER_RE}){_AFTER_WORD_COUNTER}"
        if glued
        else r"(?P<qg>(?!))(?P<cg>(?!))"
    )
    return re.compile(
        "|".join(
            (
                r"(?P<range>[0-9]+\s*~\s*[0-9]+)",
                # pack sizes and decimals belong to names: 500g, 10개입, 30구, 7.5kg, 1+1
                rf"(?P<size>[0-9]+(?:\.[0-9]+)?\s*(?:{_SIZE_UNITS})(?![a-z])|[0-9]+개입|[0-9]+구"
                r"(?![매입])|[0-9]+\.[0-9]+(?:\s*(?:kg|키로|킬로))?|[0-9]+\+[0-9]+)",
                r"(?P<mprefix>#|(?<![a-z])(?:no|nr|num|number|item)(?![a-z])|번호)\s*\.?\s*"
                r"(?P<mp>[0-9]+)",
                rf"(?P<ms>(?<![0-9])(?:(?<!\S)-)?[0-9]+|(?<![가-힣])(?:첫|{_NUMBER_WORD_RE}))"
                r"\s*번(?:째)?(?![호지])",
                r"(?P<qprefix>(?<![a-z])x|×|\*)\s*(?P<qp>[0-9]+)(?![0-9])",
                rf"(?P<qd>(?<![0-9])(?:(?<!\S)-)?[0-9]+)\s*(?P<cd>{_COUNTER_RE})",
                rf"(?P<qw>(?<![가-힣])(?:{_NUMBER_WORD_RE}))\s*(?P<cw>{_COUNTER_RE})"
                + _AFTER_WORD_COUNTER,
                glued_quantity,
                r"(?P<bare>(?<![0-9])(?:(?<!\S)-)?[0-9]+)",
                r"(?P<sep>[#\-×*/~.,+])",
            )
        )
    )


_TOKEN_RE = _token_pattern(glued=True)
_TOKEN_RE_STRICT = _token_pattern(glued=False)
#: punctuation that can carry meaning in an order ("#3", "x2", "3-2", "7.5kg", "1+1", "2~3")
_KEPT_PUNCTUATION = "#-×*/~.,+"
_WORD_RE = re.compile(rf"[^\s{re.escape(_KEPT_PUNCTUATION)}]+")
_SEPARATED_PAIR = re.compile(r"(?<=[0-9])\s*[-/,]\s*(?=[0-9])")
_THOUSANDS = re.compile(r"(?<![0-9.,])[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])")


@dataclass(frozen=True, slots=True)
class _Marker:
    number: int


@dataclass(frozen=True, slots=True)
class _Quantity:
    value: int
    counter: str
    weight: bool

    def as_name(self) -> str:
        """ "5키로" in a name reads like "5kg" does on the product list."""
        unit = "kg" if self.counter in _KILOGRAMS else self.counter
        return f"{self.value}{unit}"


@dataclass(frozen=True, slots=True)
class _Bare:
    value: int


@dataclass(frozen=True, slots=True)
class _Word:
    text: str


class _Range:
    pass


_Piece: TypeAlias = _Marker | _Quantity | _Bare | _Word | _Range


def _prepare_text(text: str) -> str:
    prepared = normalize_text(text[:_MAX_RAW_CHARS], keep=_KEPT_PUNCTUATION)
    prepared = prepared[:MAX_ORDER_TEXT_CHARS]
    prepared = _THOUSANDS.sub(lambda m: m.group().replace(",", ""), prepared)
    return _SEPARATED_PAIR.sub(" ", prepared)


def _number_word_value(word: str) -> int:
    native = _native_value(word)
    if native is not None:
        return native
    return _sino_value(word) or 0


_ATTRIBUTIVE = ("한", "두", "세", "네", "석", "넉", "스무")


def _standalone_number(word: str) -> int | None:
    """A whole word that is a number: "하나", "둘이요", "열두", "이십", "two"; not "사", "네"."""
    if word in _ENGLISH_NUMBERS:
        return _ENGLISH_NUMBERS[word]
    if word in {"한", "네", "석", "넉"}:
        return None  # "about", "yes", and forms only ever used before a counter
    candidates = [word]
    for ending in ("요", "이요"):  # "하나요", "둘이요", "이십이요"; but "세요" is not 3
        stem = word[: -len(ending)]
        if word.endswith(ending) and stem and not stem.endswith(_ATTRIBUTIVE):
            candidates.append(stem)
    for candidate in candidates:
        value = _native_value(candidate)
        if value is None and any(place in candidate for place in _SINO_PLACES):
            value = _sino_value(candidate)  # "십", "이십오", "백": never a bare "사" or "이"
        if value is not None:
            return value
    return None


def _scan_segment(segment: str, *, glued: bool = True) -> list[_Piece]:
    pieces: list[_Piece] = []
    position = 0

    def residual(upto: int) -> None:
        for word in segment[position:upto].split():
            number = _standalone_number(word)
            pieces.append(_Bare(number) if number is not None else _Word(word))

    for found in (_TOKEN_RE if glued else _TOKEN_RE_STRICT).finditer(segment):
        residual(found.start())
        position = found.end()
        if found.group("range") is not None:
            pieces.append(_Range())
        elif found.group("size") is not None:
            pieces.append(_Word(found.group().replace(" ", "")))
        elif found.group("mp") is not None:
            pieces.append(_Marker(_digits_value(found.group("mp"))))
        elif found.group("ms") is not None:
            word = found.group("ms")
            if word in {"이", "한"}:
                pieces.append(_Word(word + "번"))  # "이번" is "this time", "한번" is "once"
            elif word == "첫":
                pieces.append(_Marker(1))
            elif word[-1].isdigit():
                pieces.append(_Marker(_digits_value(word)))
            else:
                pieces.append(_Marker(_number_word_value(word)))
        elif found.group("qp") is not None:
            pieces.append(_Quantity(_digits_value(found.group("qp")), "", False))
        elif found.group("qd") is not None:
            value = _digits_value(found.group("qd"))
            counter = found.group("cd")
            pieces.append(_Quantity(value, counter, counter in _WEIGHT_COUNTERS))
        elif found.group("qw") is not None or found.group("qg") is not None:
            word = found.group("qw") or found.group("qg")
            counter = found.group("cw") or found.group("cg")
            value = _number_word_value(word)
            pieces.append(_Quantity(value, counter, counter in _WEIGHT_COUNTERS))
        elif found.group("bare") is not None:
            pieces.append(_Bare(_digits_value(found.group("bare"))))
        # else: punctuation between pieces ("#", "-", "/", ".") carries nothing
    residual(len(segment))
    return pieces


def _is_quantity_phrase(text: str) -> bool:
    pieces = _scan_segment(text)
    return all(not isinstance(p, _Word) or _is_filler(p.text) for p in pieces)


_NOT_MASKED = _FILLER_WORDS | frozenset(_KOREAN_COUNTERS) | frozenset(_LATIN_COUNTERS)


@lru_cache(maxsize=4096)
def _name_masks(name: str) -> tuple[str, ...]:
    """Pieces of a product name to read as name, never as numbers ("과일세트", "한우")."""
    normalized = _prepare_text(name)
    spans: dict[str, None] = {}
    for candidate in (normalized, normalized.replace(" ", ""), *normalized.split()):
        if (
            len(candidate) >= 2
            and any(ch.isalpha() for ch in candidate)
            and candidate not in _NOT_MASKED
            and not _is_quantity_phrase(candidate)
        ):
            spans[candidate] = None
    return tuple(spans)


def _masked_spans(text: str, products: Sequence[ProductRef]) -> list[tuple[int, int]]:
    """Where product names and filler words ("일단", "사장님") stand: never read as numbers."""
    spans: list[tuple[int, int]] = []
    for word in _WORD_RE.finditer(text):
        token = word.group()
        if len(token) >= 2 and _is_filler(token) and parse_korean_number(token) is None:
            spans.append(word.span())
    for product in products:
        for mask in _name_masks(product.name):
            start = text.find(mask)
            while start >= 0:
                spans.append((start, start + len(mask)))
                start = text.find(mask, start + 1)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _scan(text: str, products: Sequence[ProductRef], *, glued: bool = True) -> list[_Piece]:
    pieces: list[_Piece] = []
    position = 0
    for start, end in _masked_spans(text, products):
        pieces.extend(_scan_segment(text[position:start], glued=glued))
        pieces.append(_Word(text[start:end].replace(" ", "")))
        position = end
    pieces.extend(_scan_segment(text[position:], glued=glued))
    return pieces


# --- reading --------------------------------------------------------------------------------


def parse_quantity(text: str) -> int | None:
    """The quantity in a quantity-only phrase ("2개", "두 개요", "세 봉지", "x2", "5"), else None.

    None when the text names a product, a list number, a range or holds any other word. The
    value is not range checked (0 and 100 are returned as they are); callers compare it with
    MIN_QUANTITY and MAX_QUANTITY. Never raises.
    """
    pieces = _scan(_prepare_text(text), ())
    numbers: list[int] = []
    for piece in pieces:
        if isinstance(piece, _Quantity | _Bare):
            numbers.append(piece.value)
        elif isinstance(piece, _Word) and _is_filler(piece.text):
            continue
        else:
            return None
    return numbers[0] if len(numbers) == 1 else None


def _in_range(quantity: int) -> bool:
    return MIN_QUANTITY <= quantity <= MAX_QUANTITY


def _is_cancel(compact: str) -> bool:
    return any(word in compact for word in _CANCEL_WORDS)


def _is_question(words: Sequence[str]) -> bool:
    return any(word.startswith(_QUESTION_STARTS) for word in words)


def _query_variants(words: Sequence[str]) -> list[str]:
    variants = [" ".join(words)]
    stripped = " ".join(_strip_suffix(word) for word in words)
    if stripped != variants[0]:
        variants.append(stripped)
    return variants


def _best_matches(variants: Sequence[str], products: Sequence[ProductRef]) -> list[Match[int]]:
    names = [(product.key, product.name) for product in products]
    best: list[Match[int]] = []
    for query in variants:
        matches = match_products(query, names, limit=MAX_CANDIDATES)
        if matches and (not best or matches[0].score > best[0].score):
            best = matches
    return best


def _distinct_keys(matches: Iterable[Match[int]]) -> tuple[int, ...]:
    return tuple(dict.fromkeys(match.key for match in matches))


def _resolve_name(matches: Sequence[Match[int]], quantity: int) -> Intent:
    if not matches:
        return UnknownIntent(UnknownReason.NO_PRODUCT_MATCH)
    top = matches[0]
    if top.kind is MatchKind.EXACT:
        close = [m for m in matches if m.kind is MatchKind.EXACT]
    else:
        close = [m for m in matches if top.score - m.score <= AMBIGUITY_MARGIN + 1e-9]
    keys = _distinct_keys(close)
    if len(keys) == 1 and top.score >= CONFIDENT_SCORE:
        return OrderIntent(product_key=keys[0], quantity=quantity)
    return AmbiguousIntent(candidates=keys, quantity=quantity)


def _weights_into_name(pieces: list[_Piece]) -> list[_Piece]:
    """With "사과 5kg 2박스" the weight is part of the name and the count is the quantity."""
    quantities = [p for p in pieces if isinstance(p, _Quantity)]
    counts = [q for q in quantities if not q.weight]
    if len(quantities) > 1 and len(counts) == 1:
        return [_Word(p.as_name()) if isinstance(p, _Quantity) and p.weight else p for p in pieces]
    return pieces


@dataclass(frozen=True, slots=True)
class _Reading:
    number: int | None  # the list number, from "3번" or from the first of "3 2"
    quantity: int | None  # None: not given (1 when a product is named)
    words: tuple[str, ...]  # the product's name as typed, fillers left out


def _read(pieces: Sequence[_Piece]) -> _Reading | None:
    """Assign the scanned pieces to product number, quantity and name words, or None."""
    markers = [p.number for p in pieces if isinstance(p, _Marker)]
    words = tuple(p.text for p in pieces if isinstance(p, _Word) and not _is_filler(p.text))
    numbered = [p for p in pieces if isinstance(p, _Quantity | _Bare)]
    quantities = [p for p in numbered if isinstance(p, _Quantity)]
    if any(isinstance(p, _Range) for p in pieces) or len(markers) > 1 or len(quantities) > 1:
        return None
    if markers or words:
        if len(numbered) > 1:
            return None
        quantity = numbered[0].value if numbered else None
        return _Reading(markers[0] if markers else None, quantity, words)
    if len(numbered) == 1:
        return _Reading(None, numbered[0].value, ())
    if len(numbered) == 2 and isinstance(numbered[0], _Bare):
        # "3 2", "3-2", "3 2개": list number first, then the quantity
        return _Reading(numbered[0].value, numbered[1].value, ())
    return None


def _order_by_number(
    number: int, quantity: int, words: Sequence[str], products: Sequence[ProductRef]
) -> Intent:
    chosen = next((p for p in products if p.number == number and number >= 1), None)
    if chosen is None:
        return UnknownIntent(UnknownReason.NO_SUCH_NUMBER)
    if not _in_range(quantity):
        return UnknownIntent(UnknownReason.QUANTITY_OUT_OF_RANGE)
    if words:
        # "3번 사과 2개": fine when 3번 is the apple; ask when the name clearly means another
        by_name = _resolve_name(_best_matches(_query_variants(words), products), quantity)
        if isinstance(by_name, OrderIntent) and by_name.product_key != chosen.key:
            return AmbiguousIntent((chosen.key, by_name.product_key), quantity)
    return OrderIntent(product_key=chosen.key, quantity=quantity)


def _order_by_name(
    reading: _Reading, pieces: Sequence[_Piece], products: Sequence[ProductRef]
) -> Intent:
    quantity = 1 if reading.quantity is None else reading.quantity
    matches = _best_matches(_query_variants(reading.words), products)
    weights = [p for p in pieces if isinstance(p, _Quantity) and p.weight]
    if weights and reading.quantity is not None:
        # "사과 5kg": the product "사과 5kg", unless "사과" alone reads at least as well
        as_name = [*reading.words, weights[0].as_name()]
        name_matches = _best_matches(_query_variants(as_name), products)
        if name_matches and (not matches or name_matches[0].score > matches[0].score):
            matches, quantity = name_matches, 1
    if not matches:
        return UnknownIntent(UnknownReason.NO_PRODUCT_MATCH)
    if not _in_range(quantity):
        return UnknownIntent(UnknownReason.QUANTITY_OUT_OF_RANGE)
    return _resolve_name(matches, quantity)


def parse_order_text(text: str, products: Sequence[ProductRef]) -> Intent:
    """Read one chat message as an order, a quantity, a cancel, a question back, or unknown.

    Guarantees: never raises; an OrderIntent's or AmbiguousIntent's keys all come from
    `products`; every returned quantity is within 1..99 (otherwise "quantity_out_of_range");
    a list number not in `products` gives "no_such_number". See the module docstring for how
    ambiguous inputs are read.
    """
    prepared = _prepare_text(text)
    if not prepared or not any(ch.isalnum() for ch in prepared):
        return UnknownIntent(UnknownReason.EMPTY)
    compact = prepared.replace(" ", "")
    if _is_cancel(compact):
        if any(negated in compact for negated in _NEGATED_CANCEL):
            return UnknownIntent(UnknownReason.NOT_UNDERSTOOD)
        return CancelIntent()
    pieces = _weights_into_name(_scan(prepared, products))
    reading = _read(pieces)
    if reading is None:
        # "만두세트 두개" is not 2 세트 and 2 개: read again without numbers glued inside words
        pieces = _weights_into_name(_scan(prepared, products, glued=False))
        reading = _read(pieces)
    if _is_question([p.text for p in pieces if isinstance(p, _Word)]):
        return UnknownIntent(UnknownReason.NOT_UNDERSTOOD)
    if reading is None:
        return UnknownIntent(UnknownReason.NOT_UNDERSTOOD)
    quantity = 1 if reading.quantity is None else reading.quantity
    if reading.number is not None:
        return _order_by_number(reading.number, quantity, reading.words, products)
    if reading.words:
        return _order_by_name(reading, pieces, products)
    if reading.quantity is None:
        return UnknownIntent(UnknownReason.NOT_UNDERSTOOD)
    if not _in_range(quantity):
        return UnknownIntent(UnknownReason.QUANTITY_OUT_OF_RANGE)
    return QuantityIntent(quantity)


def product_search_words(text: str) -> str | None:
    """The product name a message holds when it only names one ("사가", "부사 사과 5kg"):
    None when it also has a list number, a quantity, a range, a cancel or a question.

    What a customer types with a quantity or a number is an order (parse_order_text);
    a bare name is something to look for. Never raises.
    """
    prepared = _prepare_text(text)
    if not prepared or not any(ch.isalnum() for ch in prepared):
        return None
    if _is_cancel(prepared.replace(" ", "")):
        return None
    words: list[str] = []
    for piece in _scan(prepared, ()):
        if isinstance(piece, _Quantity) and piece.weight:
            words.append(piece.as_name())  # "사과 5kg" names the 5 kg box
        elif isinstance(piece, _Word):
            if not _is_filler(piece.text):
                words.append(piece.text)
        else:
            return None
    if not any(ch.isalpha() for word in words for ch in word) or _is_question(words):
        return None
    return " ".join(words)[:MAX_ORDER_TEXT_CHARS]


def name_variants(words: str) -> list[str]:
    """The name as typed, and without a trailing particle or ending ("사과요" -> "사과")."""
    return _query_variants(words.split())
