"""Forgiving product-name matching for what customers type: width, case, spacing and Hangul typos.

A customer watching a live show types "사가" for "사과", "감쟈" for "감자" or "aple" for "Apple".
Hangul syllables are compared both whole (one syllable = one edit) and decomposed into jamo, so
"사가" is one vowel away from "사과" while "사람" is three jamo away. Pure functions, no I/O.

Ranking tiers (each `Match.score` falls in its tier's band, so a higher tier always wins):

=================  ============  ===========================================================
kind               score         when
=================  ============  ===========================================================
EXACT              1.00          same text after `normalize_text`, spaces ignored
PREFIX             0.81 - 0.84   the query starts the name or one of its words
SUBSTRING          0.80 - 0.82   the query is inside the name ("사과" in "꿀사과")
NAME_IN_QUERY      0.60 - 0.78   the whole name is inside a longer query ("apple" in "apples")
TYPO               0.46 - 0.58   few syllable edits and few jamo edits (budgets grow with length)
JAMO               0.14 - 0.38   only jamo-level closeness ("갬쟈" ~ "감자"): worth a "did you mean"
=================  ============  ===========================================================

Inside PREFIX and SUBSTRING the spread is below `AMBIGUITY_MARGIN`: every name that contains the
query is an equally plausible reading. Inside TYPO and JAMO each extra jamo edit costs more than
the margin, so "감쟈" picks "감자" (one jamo off) over "감귤" (two off).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Generic, TypeVar

K = TypeVar("K")

#: queries and names are cut to these lengths (after normalisation) before matching
MAX_QUERY_CHARS = 64
MAX_NAME_CHARS = 128
#: raw input is cut before NFKC, which can expand one character up to 18-fold
_MAX_RAW_CHARS = 4 * MAX_NAME_CHARS

#: two matches whose scores differ by at most this much are "about equal"
AMBIGUITY_MARGIN = 0.05
#: a match scoring at least this (TYPO or better) is safe to act on without asking
CONFIDENT_SCORE = 0.40

_TYPO_TOP = 0.58
_TYPO_STEP = 0.06  # per extra jamo edit; larger than AMBIGUITY_MARGIN on purpose
_JAMO_TOP = 0.38
_JAMO_STEP = 0.08
_INSIDE_PENALTY = 0.04  # a near-copy inside a longer word ranks below one on a whole word


class MatchKind(StrEnum):
    """Why a name matched, best first."""

    EXACT = "exact"
    PREFIX = "prefix"
    SUBSTRING = "substring"
    NAME_IN_QUERY = "name_in_query"
    TYPO = "typo"
    JAMO = "jamo"


_KIND_RANK = {kind: rank for rank, kind in enumerate(MatchKind)}


@dataclass(frozen=True, slots=True)
class Match(Generic[K]):
    """One candidate for a query: the caller's key, the name as given, a score in [0, 1]."""

    key: K
    name: str
    score: float
    kind: MatchKind


# --- normalisation --------------------------------------------------------------------------

_DROPPED_CATEGORIES = frozenset({"Cf", "Cs", "Co", "Cn", "Me"})


def _is_variation_selector(ch: str) -> bool:
    cp = ord(ch)
    return 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF


def normalize_text(s: str, *, keep: str = "") -> str:
    """Fold text for comparison: NFKC, case-folded, punctuation and symbols gone, single spaces.

    Full-width forms become ASCII ("３번" -> "3번"), emoji and other symbols become spaces,
    invisible characters (zero-width spaces, variation selectors, keycap marks) disappear, and
    "." or "+" survive only between digits ("7.5kg", "1+1"). Characters in `keep` pass through.
    Never raises; the result is stripped and holds no two spaces in a row.
    """
    text = unicodedata.normalize("NFKC", s).casefold()
    out: list[str] = []
    last = len(text) - 1
    for i, ch in enumerate(text):
        if ch in keep:
            out.append(ch)
            continue
        if ch.isalnum():
            out.append(ch)
            continue
        category = unicodedata.category(ch)
        if category[0] == "M" and category != "Me":
            if not _is_variation_selector(ch):
                out.append(ch)
        elif category in _DROPPED_CATEGORIES:
            continue
        elif (
            ch in ".+" and 0 < i < last and "0" <= text[i - 1] <= "9" and "0" <= text[i + 1] <= "9"
        ):
            out.append(ch)
        else:
            out.append(" ")  # whitespace, controls, punctuation, symbols, emoji
    return " ".join("".join(out).split())


# --- Hangul ---------------------------------------------------------------------------------

_SYLLABLE_FIRST = 0xAC00
_SYLLABLE_LAST = 0xD7A3
_VOWELS = 21
_FINALS = 28


def _build_jamo_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for cp in range(_SYLLABLE_FIRST, _SYLLABLE_LAST + 1):
        index = cp - _SYLLABLE_FIRST
        lead, rest = divmod(index, _VOWELS * _FINALS)
        vowel, tail = divmod(rest, _FINALS)
        jamo = chr(0x1100 + lead) + chr(0x1161 + vowel)
        if tail:
            jamo += chr(0x11A7 + tail)
        table[cp] = jamo
    for cp in range(0x3131, 0x318F):  # compatibility jamo, typed alone ("ㅅㅏ과")
        table[cp] = unicodedata.normalize("NFKC", chr(cp))
    return table


_JAMO_TABLE = _build_jamo_table()


def to_jamo(s: str) -> str:
    """Decompose Hangul syllables into conjoining jamo ("과" -> "ᄀ" + "ᅪ"); other text is kept.

    Leading, vowel and trailing jamo use distinct code points, so an initial ㄱ never equals a
    final ㄱ; compatibility jamo ("ㄱ") map to the leading/vowel forms NFKC gives them.
    """
    return s.translate(_JAMO_TABLE)


# --- distances (Myers' bit-parallel algorithm, Hyyrö's formulation) -------------------------


def _pattern_masks(pattern: str) -> dict[str, int]:
    masks: dict[str, int] = {}
    bit = 1
    for ch in pattern:
        masks[ch] = masks.get(ch, 0) | bit
        bit <<= 1
    return masks


def _levenshtein(a: str, b: str) -> int:
    if a == b:
        return 0
    if len(a) > len(b):
        a, b = b, a
    m = len(a)
    if m == 0:
        return len(b)
    masks = _pattern_masks(a)
    full = (1 << m) - 1
    last = 1 << (m - 1)
    pv, mv, score = full, 0, m
    for ch in b:
        eq = masks.get(ch, 0)
        xv = eq | mv
        xh = (((eq & pv) + pv) ^ pv) | eq
        ph = mv | ~(xh | pv)
        mh = pv & xh
        if ph & last:
            score += 1
        elif mh & last:
            score -= 1
        ph = (ph << 1) | 1  # row 0 of the matrix grows by one per column
        mh <<= 1
        pv = (mh | ~(xv | ph)) & full
        mv = ph & xv & full
    return score


def _substring_distance(pattern: str, text: str) -> int:
    """Fewest edits turning `pattern` into some substring of `text` (Sellers' search)."""
    m = len(pattern)
    if m == 0:
        return 0
    masks = _pattern_masks(pattern)
    full = (1 << m) - 1
    last = 1 << (m - 1)
    pv, mv, score = full, 0, m
    best = m
    for ch in text:
        eq = masks.get(ch, 0)
        xv = eq | mv
        xh = (((eq & pv) + pv) ^ pv) | eq
        ph = mv | ~(xh | pv)
        mh = pv & xh
        if ph & last:
            score += 1
        elif mh & last:
            score -= 1
            if score < best:
                best = score
        ph <<= 1  # row 0 stays zero: a match may start anywhere in the text
        mh <<= 1
        pv = (mh | ~(xv | ph)) & full
        mv = ph & xv & full
    return best


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance counting whole characters, so one Hangul syllable is one edit.

    Exact for any input (bit-parallel, about len(a) * len(b) / 64 word operations); it does not
    normalise, so pass `normalize_text` output when width and case should not count.
    """
    return _levenshtein(a, b)


def jamo_distance(a: str, b: str) -> int:
    """Levenshtein distance after `to_jamo`: "사가" vs "사과" is 1, "감자" vs "감귤" is 3."""
    return _levenshtein(to_jamo(a), to_jamo(b))


# --- matching -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Prepared:
    compact: str  # normalised, spaces removed
    word_starts: frozenset[int]  # indexes in `compact` where a word begins
    words: tuple[str, ...]  # split on spaces and on Hangul/digit/other-letter changes
    compact_jamo: str
    word_jamo: tuple[str, ...]
    jamo_set: frozenset[str]


def _script(ch: str) -> int:
    cp = ord(ch)
    if _SYLLABLE_FIRST <= cp <= _SYLLABLE_LAST or 0x1100 <= cp <= 0x11FF:
        return 0
    if "0" <= ch <= "9":
        return 1
    return 2


def _prepare(raw: str, max_chars: int) -> _Prepared:
    return _prepare_cut(raw[:_MAX_RAW_CHARS], max_chars)


@lru_cache(maxsize=8192)
def _prepare_cut(raw: str, max_chars: int) -> _Prepared:
    normalized = normalize_text(raw)[:max_chars]
    compact_parts: list[str] = []
    starts: set[int] = set()
    words: dict[str, None] = {}
    offset = 0
    for chunk in normalized.split():
        words[chunk] = None
        begin = 0
        for i in range(len(chunk) + 1):
            if i == len(chunk) or (i > begin and _script(chunk[i]) != _script(chunk[i - 1])):
                starts.add(offset + begin)
                words[chunk[begin:i]] = None
                begin = i
        compact_parts.append(chunk)
        offset += len(chunk)
    compact = "".join(compact_parts)
    compact_jamo = to_jamo(compact)
    word_tuple = tuple(words)
    return _Prepared(
        compact=compact,
        word_starts=frozenset(starts),
        words=word_tuple,
        compact_jamo=compact_jamo,
        word_jamo=tuple(to_jamo(w) for w in word_tuple),
        jamo_set=frozenset(compact_jamo),
    )


def _syllable_budget(jamo_length: int) -> int:
    # one Hangul syllable is 2-3 jamo: single syllables get no syllable-level slack at all
    if jamo_length <= 3:
        return 0
    return 1 if jamo_length <= 9 else 2


def _jamo_budget(jamo_length: int) -> int:
    if jamo_length <= 7:
        return 1
    return 2 if jamo_length <= 12 else 3


def _inside_score(query: _Prepared, name: _Prepared) -> tuple[float, MatchKind] | None:
    q, n = query.compact, name.compact
    if len(q) <= len(n):
        first = n.find(q)
        if first < 0:
            return None
        at_word_start = False
        pos = first
        while pos >= 0:
            if pos in name.word_starts:
                at_word_start = True
                break
            pos = n.find(q, pos + 1)
        coverage = len(q) / len(n)
        score = 0.80 + 0.02 * coverage + 0.01 * at_word_start + 0.01 * (first == 0)
        return score, (MatchKind.PREFIX if at_word_start else MatchKind.SUBSTRING)
    # a one-letter name ("배") only counts as a whole word of the query, not inside "배추"
    if (len(n) >= 2 or n in query.words) and n in q:
        return 0.60 + 0.18 * len(n) / len(q), MatchKind.NAME_IN_QUERY
    return None


def _fuzzy_score(query: _Prepared, name: _Prepared) -> tuple[float, MatchKind] | None:
    q_jamo = query.compact_jamo
    length = len(q_jamo)
    syllable_budget = _syllable_budget(length)
    jamo_budget = _jamo_budget(length)
    loose_budget = jamo_budget + (1 if length >= 5 else 0)
    if len(query.jamo_set - name.jamo_set) > loose_budget:
        return None  # every jamo the name lacks costs at least one edit

    best: tuple[float, MatchKind] | None = None
    targets = ((name.compact, name.compact_jamo), *zip(name.words, name.word_jamo, strict=True))
    for text, jamo in targets:
        if abs(len(jamo) - length) > loose_budget:
            continue
        jamo_edits = _levenshtein(q_jamo, jamo)
        if jamo_edits > loose_budget:
            continue
        steps = max(jamo_edits, 1) - 1
        if jamo_edits <= jamo_budget and (_levenshtein(query.compact, text) <= syllable_budget):
            found = (_TYPO_TOP - _TYPO_STEP * steps, MatchKind.TYPO)
        else:
            found = (_JAMO_TOP - _JAMO_STEP * steps, MatchKind.JAMO)
        if best is None or found[0] > best[0]:
            best = found
    if best is None and len(query.compact) >= 3 and len(name.compact_jamo) > length:
        # a near-copy of the query somewhere inside a longer word ("꿀사가" in "국산꿀사과세트")
        # is only ever worth a "did you mean": "aple" is also one edit from "grape"
        jamo_edits = _substring_distance(q_jamo, name.compact_jamo)
        if jamo_edits <= jamo_budget:
            steps = max(jamo_edits, 1) - 1
            best = (_JAMO_TOP - _JAMO_STEP * steps - _INSIDE_PENALTY, MatchKind.JAMO)
    return best


def _score(query: _Prepared, name: _Prepared) -> tuple[float, MatchKind] | None:
    if query.compact == name.compact:
        return 1.0, MatchKind.EXACT
    return _inside_score(query, name) or _fuzzy_score(query, name)


def match_products(query: str, names: Sequence[tuple[K, str]], *, limit: int = 5) -> list[Match[K]]:
    """Rank the names a customer may have meant by `query`, best first, at most `limit` of them.

    Exact beats prefix/substring, which beats name-inside-query, which beats a typo (syllable
    and jamo edits within a budget that grows with length), which beats bare jamo closeness;
    names matching none of these are left out. Ties keep the order of `names`. Never raises:
    queries are cut to MAX_QUERY_CHARS and names to MAX_NAME_CHARS after normalisation.
    """
    if limit <= 0:
        return []
    prepared_query = _prepare(query, MAX_QUERY_CHARS)
    if not prepared_query.compact:
        return []
    ranked: list[tuple[float, int, int, K, str, MatchKind]] = []
    for index, (key, name) in enumerate(names):
        prepared_name = _prepare(name, MAX_NAME_CHARS)
        if not prepared_name.compact:
            continue
        found = _score(prepared_query, prepared_name)
        if found is not None:
            score, kind = found
            ranked.append((-round(score, 4), _KIND_RANK[kind], index, key, name, kind))
    ranked.sort(key=lambda row: row[:3])
    return [
        Match(key=key, name=name, score=-negative, kind=kind)
        for negative, _, _, key, name, kind in ranked[:limit]
    ]
