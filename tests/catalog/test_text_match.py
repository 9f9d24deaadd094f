"""Stories about finding the product a customer meant, however they typed its name."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.text_match import (
    AMBIGUITY_MARGIN,
    CONFIDENT_SCORE,
    MatchKind,
    _substring_distance,
    edit_distance,
    jamo_distance,
    match_products,
    normalize_text,
    to_jamo,
)

MARKET = [
    "사과", "배", "감귤", "한라봉", "딸기", "배추", "무", "고구마", "감자", "대파",
    "양파", "마늘", "멸치", "김", "미역", "떡", "참기름", "들기름", "고춧가루", "꿀",
]  # fmt: skip
MARKET_NAMES = [(key, name) for key, name in enumerate(MARKET, start=1)]
KEY_OF = {name: key for key, name in MARKET_NAMES}

# Text a phone keyboard can produce: any code point, plus Hangul syllables and jamo, full-width
# forms and emoji on purpose, because a uniform draw would almost never reach them.
typed_characters = st.one_of(
    st.characters(),
    st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3),
    st.characters(min_codepoint=0x3131, max_codepoint=0x318E),
    st.characters(min_codepoint=0xFF01, max_codepoint=0xFFEF),
    st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),
    st.sampled_from(list("사과배감자 0123456789\u200b\ufe0f\u3000")),
)
typed_text = st.text(typed_characters, max_size=40)


def _naive_levenshtein(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, start=1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
    return row[-1]


def _naive_substring_distance(pattern: str, text: str) -> int:
    return min(
        _naive_levenshtein(pattern, text[i:j])
        for i in range(len(text) + 1)
        for j in range(i, len(text) + 1)
    )


# --- normalising ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "normalized"),
    [
        ("３번　２개", "3번 2개"),
        ("ＡＰＰＬＥ", "apple"),
        ("  사과   5kg ", "사과 5kg"),
        ("사과!!! ^^", "사과"),
        ("사\u200b과", "사과"),
        ("🍎사과🍎", "사과"),
        ("❤️딸기", "딸기"),
        ("배 7.5kg", "배 7.5kg"),
        ("한라봉 1+1", "한라봉 1+1"),
        ("부사-사과", "부사 사과"),
        ("Straße", "strasse"),
        ("\t\n", ""),
        ("", ""),
    ],
)
def test_typed_text_is_folded_so_width_case_spacing_and_decoration_do_not_count(
    typed: str, normalized: str
) -> None:
    assert normalize_text(typed) == normalized


def test_characters_asked_for_are_kept_through_normalising() -> None:
    assert normalize_text("#3 x2, 3-2", keep="#-,") == "#3 x2, 3-2"


def test_hangul_decomposes_into_jamo_with_initial_and_final_consonants_kept_apart() -> None:
    assert to_jamo("과") == "\u1100\u116a"
    assert to_jamo("각") == "\u1100\u1161\u11a8"
    assert to_jamo("각")[0] != to_jamo("각")[2]
    assert to_jamo("apple 3") == "apple 3"


# --- distances ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "syllables", "jamo"),
    [
        ("사과", "사과", 0, 0),
        ("사가", "사과", 1, 1),
        ("감쟈", "감자", 1, 1),
        ("토마도", "토마토", 1, 1),
        ("감자", "감귤", 1, 3),
        ("사과", "사람", 1, 3),
        ("고추가루", "고춧가루", 1, 1),
        ("kitten", "sitting", 3, 3),
        ("", "사과", 2, 4),
        ("aple", "apple", 1, 1),
    ],
)
def test_syllable_and_jamo_distances_count_what_a_typo_changed(
    a: str, b: str, syllables: int, jamo: int
) -> None:
    assert edit_distance(a, b) == syllables
    assert jamo_distance(a, b) == jamo


@settings(max_examples=300)
@given(st.text("사과가ab", max_size=12), st.text("사과가ab", max_size=12))
def test_edit_distance_agrees_with_the_textbook_table(a: str, b: str) -> None:
    assert edit_distance(a, b) == _naive_levenshtein(a, b) == edit_distance(b, a)


@settings(max_examples=300)
@given(st.text("abc", max_size=70), st.text("abc", max_size=70))
def test_edit_distance_holds_for_patterns_longer_than_a_machine_word(a: str, b: str) -> None:
    assert edit_distance(a, b) == _naive_levenshtein(a, b)


@settings(max_examples=200)
@given(st.text("사과ab", min_size=1, max_size=6), st.text("사과ab", max_size=10))
def test_distance_to_the_closest_part_of_a_longer_name_agrees_with_trying_every_part(
    pattern: str, text: str
) -> None:
    assert _substring_distance(pattern, text) == _naive_substring_distance(pattern, text)


def test_distances_of_very_long_strings_are_still_exact() -> None:
    a = "사과" * 2_500
    assert edit_distance(a, a + "배") == 1
    assert jamo_distance(a, a[:-1] + "가") == 1


# --- matching a market list -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("사가", "사과"),
        ("감쟈", "감자"),
        ("한나봉", "한라봉"),
        ("고추가루", "고춧가루"),
        ("마눌", "마늘"),
        ("딸귀", "딸기"),
        ("참기럼", "참기름"),
        ("들기룸", "들기름"),
        ("고구미", "고구마"),
        ("양퍄", "양파"),
        ("배츄", "배추"),
        ("멸지", "멸치"),
        ("미억", "미역"),
        ("감굴", "감귤"),
        ("대퍄", "대파"),
    ],
)
def test_a_one_letter_slip_still_finds_the_market_product_first_and_confidently(
    typed: str, meant: str
) -> None:
    matches = match_products(typed, MARKET_NAMES)
    assert matches[0].key == KEY_OF[meant]
    assert matches[0].kind is MatchKind.TYPO
    assert matches[0].score >= CONFIDENT_SCORE
    assert all(matches[0].score - other.score > AMBIGUITY_MARGIN for other in matches[1:])


def test_sa_ga_finds_sa_gwa_among_twenty_market_products() -> None:
    matches = match_products("사가", MARKET_NAMES)
    assert [m.name for m in matches] == ["사과"]


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("방울도마도", "방울토마토"),  # two syllables off a five-syllable name
        ("샤인머스켓", "샤인머스캣"),
        ("브로컬리", "브로콜리"),
        ("고추가로", "고춧가루"),  # two syllables off: only a "did you mean"
        ("갬쟈", "감자"),  # two vowels off: only a "did you mean"
        ("bananna", "Banana"),
        ("tomatoe", "Tomato"),
    ],
)
def test_typos_of_one_or_two_edits_are_found(typed: str, meant: str) -> None:
    names = [*MARKET_NAMES, (21, "방울토마토"), (22, "샤인머스캣"), (23, "브로콜리")]
    names += [(24, "Banana"), (25, "Tomato"), (26, "Apple")]
    matches = match_products(typed, names)
    assert matches and matches[0].name == meant


def test_one_syllable_off_a_one_syllable_name_is_only_a_guess() -> None:
    matches = match_products("베", MARKET_NAMES)
    assert [m.name for m in matches] == ["배"]
    assert matches[0].kind is MatchKind.JAMO
    assert matches[0].score < CONFIDENT_SCORE


def test_a_word_that_shares_nothing_with_the_list_finds_nothing() -> None:
    assert match_products("수박", MARKET_NAMES) == []
    assert match_products("네", MARKET_NAMES) == []


def test_the_name_inside_longer_product_titles_is_found_and_all_of_them_are_about_equal() -> None:
    names = [(1, "부사 사과 5kg"), (2, "꿀사과"), (3, "홍로 사과"), (4, "배 7.5kg")]
    matches = match_products("사과", names)
    assert {m.key for m in matches} == {1, 2, 3}
    assert matches[0].score - matches[-1].score <= AMBIGUITY_MARGIN
    assert {m.kind for m in matches} <= {MatchKind.PREFIX, MatchKind.SUBSTRING}


def test_an_exact_name_beats_a_longer_name_that_starts_the_same() -> None:
    matches = match_products("배", MARKET_NAMES)
    assert [(m.name, m.kind) for m in matches] == [
        ("배", MatchKind.EXACT),
        ("배추", MatchKind.PREFIX),
    ]
    assert matches[0].score == 1.0


def test_tiers_rank_exact_then_inside_then_name_in_query_then_typo_then_jamo() -> None:
    names = [
        (1, "국산꿀사과"),  # substring
        (2, "꿀사과"),  # exact
        (3, "꿀사과즙"),  # prefix
        (4, "사과"),  # the query holds the whole name
        (5, "꿀사가"),  # one vowel off
        (6, "꿀새궈"),  # jamo only
    ]
    matches = match_products("꿀사과", names, limit=10)
    assert [m.key for m in matches] == [2, 3, 1, 4, 5, 6]
    assert [m.kind for m in matches] == list(MatchKind)
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("apple", "Apple"), ("APPLE", "Apple"), ("aple", "Apple"), ("apples", "Apple")],
)
def test_english_names_match_in_any_case_with_typos_and_plurals(typed: str, meant: str) -> None:
    names = [(1, "Apple"), (2, "Pineapple"), (3, "Grape"), (4, "Banana")]
    matches = match_products(typed, names)
    assert matches[0].name == meant
    assert all(matches[0].score - other.score > AMBIGUITY_MARGIN for other in matches[1:])


def test_full_width_and_spacing_do_not_stop_an_exact_match() -> None:
    matches = match_products("사과５ＫＧ", [(1, "사과 5kg"), (2, "사과 10kg")])
    assert (matches[0].key, matches[0].kind) == (1, MatchKind.EXACT)


def test_ties_keep_the_order_of_the_list() -> None:
    names = [(3, "홍로 사과"), (1, "부사 사과")]
    assert [m.key for m in match_products("사과", names)] == [3, 1]


def test_at_most_limit_matches_come_back() -> None:
    names = [(i, f"사과 {i}호") for i in range(30)]
    assert len(match_products("사과", names)) == 5
    assert len(match_products("사과", names, limit=12)) == 12
    assert match_products("사과", names, limit=0) == []


@pytest.mark.parametrize(
    "query", ["", "   ", "🍎🍎🍎", "\x00\x01\x7f", "!!!", "가" * 10_000, "a" * 10_000]
)
def test_odd_queries_return_a_list_and_never_raise(query: str) -> None:
    names = [*MARKET_NAMES, (99, "가" * 10_000), (100, ""), (101, "🍎")]
    matches = match_products(query, names)
    assert all(0.0 <= m.score <= 1.0 for m in matches)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    query=typed_text,
    names=st.lists(st.tuples(st.integers(), typed_text), max_size=15),
    limit=st.integers(min_value=-1, max_value=8),
)
def test_matching_never_raises_and_returns_ranked_candidates_from_the_list(
    query: str, names: list[tuple[int, str]], limit: int
) -> None:
    matches = match_products(query, names, limit=limit)
    assert len(matches) <= max(limit, 0)
    assert all(0.0 <= m.score <= 1.0 for m in matches)
    assert all((m.key, m.name) in names for m in matches)
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(MARKET), st.data())
def test_every_market_name_finds_itself_first_however_it_is_spaced(
    name: str, data: st.DataObject
) -> None:
    spaced = data.draw(st.sampled_from([name, f" {name} ", " ".join(name), name + "!!"]))
    matches = match_products(spaced, MARKET_NAMES)
    assert (matches[0].name, matches[0].kind) == (name, MatchKind.EXACT)
