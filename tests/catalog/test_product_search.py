"""Search by product name: typos of one or two jamo find the product, anything typed is safe,
and only a bare name is a search (orders, numbers, cancels and questions are not)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.clock import FrozenClock
from catalog.order_text import product_search_words
from catalog.product_search import rank_names, search_products
from catalog.stock import set_hidden
from tests.factories import make_market, make_product, make_shop

NAMES = [
    "부사 사과 5kg",
    "홍로 사과",
    "감자 1박스",
    "신고 배 7.5kg",
    "청양 고추",
    "애호박",
    "국산 참기름 300ml",
    "햇 고구마 3kg",
    "제주 감귤 10kg",
    "완도 전복 1kg",
    "영광 굴비 선물세트",
    "유기농 시금치",
]
CATALOGUE = list(enumerate(NAMES))
_FIRST, _LAST = 0xAC00, 0xD7A3


def _with_jamo_changed(text: str, position: int, part: int, replacement: int) -> str:
    """`text` with one jamo of the syllable at `position` replaced: the initial consonant
    (part 0, of 19), the vowel (part 1, of 21) or the final consonant (part 2, of 28)."""
    code = ord(text[position]) - _FIRST
    initial, vowel, final = code // 588, (code % 588) // 28, code % 28
    if part == 0:
        initial = (initial + 1 + replacement % 18) % 19
    elif part == 1:
        vowel = (vowel + 1 + replacement % 20) % 21
    else:
        final = (final + 1 + replacement % 27) % 28
    return text[:position] + chr(_FIRST + initial * 588 + vowel * 28 + final) + text[position + 1 :]


def _syllable_positions(text: str) -> list[int]:
    return [i for i, ch in enumerate(text) if _FIRST <= ord(ch) <= _LAST]


@given(
    key=st.sampled_from([k for k, name in CATALOGUE if len(_syllable_positions(name)) >= 2]),
    pick=st.integers(0, 1000),
    part=st.integers(0, 1),
    replacement=st.integers(0, 1000),
)
def test_one_jamo_off_finds_the_product(key: int, pick: int, part: int, replacement: int) -> None:
    name = NAMES[key]
    positions = _syllable_positions(name)
    typo = _with_jamo_changed(name, positions[pick % len(positions)], part, replacement)
    assert key in rank_names(typo, CATALOGUE), (typo, rank_names(typo, CATALOGUE))


@given(
    key=st.sampled_from([k for k, name in CATALOGUE if len(_syllable_positions(name)) >= 4]),
    picks=st.tuples(st.integers(0, 1000), st.integers(0, 1000)),
    parts=st.tuples(st.integers(0, 1), st.integers(0, 1)),
    replacement=st.integers(0, 1000),
)
def test_two_jamo_off_in_a_longer_name_still_finds_it(
    key: int, picks: tuple[int, int], parts: tuple[int, int], replacement: int
) -> None:
    name = NAMES[key]
    positions = _syllable_positions(name)
    first = positions[picks[0] % len(positions)]
    rest = [p for p in positions if p != first]
    second = rest[picks[1] % len(rest)]
    typo = _with_jamo_changed(name, first, parts[0], replacement)
    typo = _with_jamo_changed(typo, second, parts[1], replacement + 7)
    assert key in rank_names(typo, CATALOGUE), (typo, rank_names(typo, CATALOGUE))


@given(text=st.text(max_size=400))
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_any_text_is_read_without_raising(text: str) -> None:
    words = product_search_words(text)
    assert words is None or words.strip()
    assert set(rank_names(text, CATALOGUE)) <= set(range(len(NAMES)))


def test_only_a_bare_name_is_a_search() -> None:
    assert product_search_words("사가") == "사가"
    assert rank_names("사과요", CATALOGUE)[:2] == [1, 0]
    assert product_search_words("부사 사과 5kg") == "부사 사과 5kg"
    for not_a_search in (
        "3번 2개",
        "사과 2개",
        "사과 20",
        "2개",
        "취소",
        "얼마예요",
        "네",
        " ",
        "",
    ):
        assert product_search_words(not_a_search) is None, not_a_search
    assert set(rank_names("사가", CATALOGUE)[:2]) == {0, 1}  # 사과, one vowel off, in both
    assert rank_names("버섯", CATALOGUE) == []


async def test_search_finds_for_sale_products_in_the_markets_open_shops(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with sessionmaker() as session:
        market = await make_market(session, clock, "gwangjang")
        other = await make_market(session, clock, "namdaemun", "남대문시장")
        fruit = await make_shop(session, clock, "ganada", market=market)
        closed = await make_shop(session, clock, "closed", market=market, is_open=False)
        far = await make_shop(session, clock, "far", market=other)
        apple = await make_product(session, clock, fruit)
        hidden = await make_product(session, clock, fruit, sku="hong", name="홍로 사과")
        await set_hidden(session, hidden.id, True, now=clock.now(), actor="test")
        await make_product(session, clock, closed, sku="a2", name="부사 사과")
        far_apple = await make_product(session, clock, far, sku="a3", name="사과즙")

        assert [p.id for p in await search_products(session, "사가", market_id=market.id)] == [
            apple.id
        ]
        everywhere = await search_products(session, "사가")
        assert {p.id for p in everywhere} == {apple.id, far_apple.id}
        assert await search_products(session, "사가 2개") == []
        for text in ("", "%", "' OR 1=1 --", "\x00", "사" * 5000):
            await search_products(session, text)  # never raises
