"""Stories about what customers type into the chat during a live show, and what the bot reads."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.order_text import (
    MAX_QUANTITY,
    MIN_QUANTITY,
    AmbiguousIntent,
    CancelIntent,
    Intent,
    OrderIntent,
    ProductRef,
    QuantityIntent,
    UnknownIntent,
    UnknownReason,
    parse_korean_number,
    parse_order_text,
    parse_quantity,
)

MARKET = [
    "사과", "배", "감귤", "한라봉", "딸기", "배추", "무", "고구마", "감자", "대파",
    "양파", "마늘", "멸치", "김", "미역", "떡", "참기름", "들기름", "고춧가루", "꿀",
]  # fmt: skip
#: tonight's show: "1번 사과" ... "20번 꿀"; product ids are 101 ... 120
SHOW = [ProductRef(number=n, key=100 + n, name=name) for n, name in enumerate(MARKET, start=1)]
ENGLISH_SHOW = [
    ProductRef(1, 201, "Apple"),
    ProductRef(2, 202, "Pineapple"),
    ProductRef(3, 203, "Banana"),
]


def show(*names: str) -> list[ProductRef]:
    """A small list for one story: numbers from 1, keys from 1001."""
    return [ProductRef(n, 1000 + n, name) for n, name in enumerate(names, start=1)]


def order(number: int, quantity: int) -> OrderIntent:
    """The order for tonight's product `number` on SHOW."""
    return OrderIntent(product_key=100 + number, quantity=quantity)


def unknown(reason: str) -> UnknownIntent:
    return UnknownIntent(UnknownReason(reason))


# --- Korean numbers, written the way the tests below type them --------------------------------

_TENS = ["", "열", "스물", "서른", "마흔", "쉰", "예순", "일흔", "여든", "아흔"]
_COUNTING = ["", "한", "두", "세", "네", "다섯", "여섯", "일곱", "여덟", "아홉"]
_SINO = ["", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구"]


def native_korean(n: int) -> str:
    """1..99 as said before a counter: 한, 두, ..., 열두, 스무, 스물한, 아흔아홉."""
    return "스무" if n == 20 else _TENS[n // 10] + _COUNTING[n % 10]


def sino_korean(n: int) -> str:
    """1..99 the Sino-Korean way: 일, 이, ..., 십, 십일, 이십, 구십구."""
    tens, units = divmod(n, 10)
    return ("" if tens == 0 else ("" if tens == 1 else _SINO[tens]) + "십") + _SINO[units]


def full_width(n: int) -> str:
    return "".join(chr(ord(d) - ord("0") + 0xFF10) for d in str(n))


# --- the big table: what customers type on tonight's show -----------------------------------

TYPED_ON_TONIGHTS_SHOW: list[tuple[str, Intent]] = [
    # a list number and a count
    ("3번 2개", order(3, 2)),
    ("3번 두개", order(3, 2)),
    ("3 번 2 개", order(3, 2)),
    ("3번 2", order(3, 2)),
    ("3번", order(3, 1)),
    ("2번 세 개", order(2, 3)),
    ("3번 2개요", order(3, 2)),
    ("3번2개", order(3, 2)),
    ("３번　２개", order(3, 2)),
    ("③번 ②개", order(3, 2)),
    ("3️⃣번 2개", order(3, 2)),
    ("#3 x2", order(3, 2)),
    ("#3 2 pcs", order(3, 2)),
    ("no. 3 x 2", order(3, 2)),
    ("3x2", order(3, 2)),
    ("3-2", order(3, 2)),
    ("3/2", order(3, 2)),
    ("3 2", order(3, 2)),
    ("3 2개", order(3, 2)),
    ("삼번 두개", order(3, 2)),
    ("세번째 2개", order(3, 2)),
    ("첫번째 거 2개", order(1, 2)),
    ("3번이요", order(3, 1)),
    ("3번꺼 2개", order(3, 2)),
    ("3번으로 2개 주세요", order(3, 2)),
    ("3번 상품 2개 부탁드려요~", order(3, 2)),
    ("3번 두 개요 감사합니다", order(3, 2)),
    ("3번 2개 주문이요", order(3, 2)),
    ("3번 이 개", order(3, 2)),
    ("3번 열개", order(3, 10)),
    ("3번 열두 개", order(3, 12)),
    ("3번 스무개", order(3, 20)),
    ("3번 이십 개", order(3, 20)),
    ("3번 아흔아홉 개", order(3, 99)),
    ("3번 2개 ㅎㅎ", order(3, 2)),
    ("3번 2개😊", order(3, 2)),
    ("사장님~ 3번 2개요!!", order(3, 2)),
    ("이번에 3번 2개 주세요", order(3, 2)),  # "이번" is "this time", not "2번"
    ("네 3번 2개요", order(3, 2)),  # "네" is "yes", not 4
    # a name and a count
    ("사과 2개", order(1, 2)),
    ("사과 두 개 주세요", order(1, 2)),
    ("사과2개", order(1, 2)),
    ("사과두개", order(1, 2)),
    ("사과를 두개", order(1, 2)),
    ("사과 다섯 개", order(1, 5)),
    ("사과 셋", order(1, 3)),
    ("사과", order(1, 1)),
    ("2 사과", order(1, 2)),
    ("일단 사과 2개", order(1, 2)),  # "일단" is "for now", not 1 단
    ("배세개", order(2, 3)),
    ("배 2개", order(2, 2)),
    ("감귤 1박스 주세요", order(3, 1)),
    ("한라봉 한 박스", order(4, 1)),
    ("한라봉 2개 부탁합니다", order(4, 2)),
    ("딸기 2팩", order(5, 2)),
    ("배추 세 포기", order(6, 3)),
    ("무 2개", order(7, 2)),
    ("고구마 5키로", order(8, 5)),
    ("대파 한단", order(10, 1)),
    ("양파 3kg", order(11, 3)),
    ("마늘 한 망", order(12, 1)),
    ("멸치 2kg", order(13, 2)),
    ("김 10봉", order(14, 10)),
    ("미역 하나", order(15, 1)),
    ("떡 3봉지", order(16, 3)),
    ("참기름 2병", order(17, 2)),
    ("들기름 네 병", order(18, 4)),
    ("고춧가루 1근", order(19, 1)),
    ("꿀 두 병이요", order(20, 2)),
    ("사과 석 박스", order(1, 3)),
    ("사과 이십이요", order(1, 22)),
    # typos in the name
    ("사가 2개", order(1, 2)),
    ("감쟈 3개", order(9, 3)),
    ("한나봉 3개", order(4, 3)),
    ("참기럼 2병", order(17, 2)),
    ("고추가루 한 봉지", order(19, 1)),
    ("마눌 1kg", order(12, 1)),
    # only a count: for the product chosen before
    ("2개 주세요", QuantityIntent(2)),
    ("두 개요", QuantityIntent(2)),
    ("세개", QuantityIntent(3)),
    ("5", QuantityIntent(5)),
    ("다섯", QuantityIntent(5)),
    ("하나 주세요", QuantityIntent(1)),
    ("둘이요", QuantityIntent(2)),
    ("이십이요", QuantityIntent(22)),
    ("세요", unknown("not_understood")),  # an ending, not 3
    ("열두개", QuantityIntent(12)),
    ("스무 개", QuantityIntent(20)),
    ("사 개", QuantityIntent(4)),
    ("x2", QuantityIntent(2)),
    ("네 2개요", QuantityIntent(2)),
    ("한 2개 주세요", QuantityIntent(2)),  # "한" before a number is "about"
    ("2개 더", QuantityIntent(2)),
    ("2개만요", QuantityIntent(2)),
    ("두 봉지요", QuantityIntent(2)),
    # cancelling
    ("취소", CancelIntent()),
    ("주문 취소", CancelIntent()),
    ("취소해주세요", CancelIntent()),
    ("주문취소할게요", CancelIntent()),
    ("취소요 ㅠㅠ", CancelIntent()),
    ("캔슬이요", CancelIntent()),
    ("안 살게요", CancelIntent()),
    ("cancel", CancelIntent()),
    ("Cancel please", CancelIntent()),
    # nothing to act on, each with its reason
    ("", unknown("empty")),
    ("   ", unknown("empty")),
    ("😊😊", unknown("empty")),
    ("!!!", unknown("empty")),
    ("21번", unknown("no_such_number")),
    ("0번 2개", unknown("no_such_number")),
    ("25 2", unknown("no_such_number")),
    ("수박 2개", unknown("no_product_match")),
    ("오이 3개", unknown("no_product_match")),
    ("3번 100개", unknown("quantity_out_of_range")),
    ("3번 0개", unknown("quantity_out_of_range")),
    ("3번 -1개", unknown("quantity_out_of_range")),
    ("0개", unknown("quantity_out_of_range")),
    ("-2개", unknown("quantity_out_of_range")),
    ("사과 백개", unknown("quantity_out_of_range")),
    ("1,000개", unknown("quantity_out_of_range")),
    ("안녕하세요", unknown("not_understood")),
    ("2~3개", unknown("not_understood")),
    ("3번 2번", unknown("not_understood")),
    ("3 2 1", unknown("not_understood")),
    ("2개 3", unknown("not_understood")),
    ("010-1234-5678", unknown("not_understood")),
    ("3번 2개 5번 1개", unknown("not_understood")),
    ("사과 얼마예요?", unknown("not_understood")),
    ("3번 얼마예요", unknown("not_understood")),
    ("몇 개 남았어요?", unknown("not_understood")),
    ("취소 안 할게요", unknown("not_understood")),
    ("취소하지 마세요", unknown("not_understood")),
]


@pytest.mark.parametrize(("typed", "expected"), TYPED_ON_TONIGHTS_SHOW)
def test_what_a_customer_types_during_the_show_is_read_as_they_meant_it(
    typed: str, expected: Intent
) -> None:
    assert parse_order_text(typed, SHOW) == expected


def test_a_customer_typing_number_and_native_korean_count_orders_that_product() -> None:
    assert parse_order_text("5번 일곱 개요", SHOW) == OrderIntent(product_key=105, quantity=7)


def test_unknown_reasons_compare_equal_to_their_plain_names() -> None:
    result = parse_order_text("9번", show("사과", "배"))
    assert result == UnknownIntent(UnknownReason.NO_SUCH_NUMBER)
    reason: str = UnknownReason.NO_SUCH_NUMBER
    assert reason == "no_such_number"


# --- names that several products share ------------------------------------------------------


def test_a_name_that_two_products_share_asks_which_one_keeping_the_quantity() -> None:
    products = show("부사 사과", "홍로 사과", "배")
    result = parse_order_text("사과 2개", products)
    assert isinstance(result, AmbiguousIntent)
    assert set(result.candidates) == {1001, 1002}
    assert result.quantity == 2


def test_the_variety_name_alone_is_enough_to_pick_one_apple() -> None:
    products = show("부사 사과", "홍로 사과", "배")
    assert parse_order_text("홍로 3개", products) == OrderIntent(1002, 3)


def test_an_exact_name_wins_over_longer_names_that_contain_it() -> None:
    assert parse_order_text("사과 3개", show("사과즙", "사과")) == OrderIntent(1002, 3)
    assert parse_order_text("배 2개", SHOW) == order(2, 2)  # not 배추


def test_a_weak_guess_asks_to_confirm_the_only_candidate_instead_of_ordering_it() -> None:
    assert parse_order_text("갬쟈", SHOW) == AmbiguousIntent(candidates=(109,), quantity=1)
    assert parse_order_text("베 2개", SHOW) == AmbiguousIntent(candidates=(102,), quantity=2)


def test_a_list_number_and_a_name_of_another_product_asks_which_one() -> None:
    assert parse_order_text("3번 사과 2개", SHOW) == AmbiguousIntent((103, 101), 2)
    assert parse_order_text("1번 사과 2개", SHOW) == order(1, 2)


def test_a_typo_matching_two_products_equally_is_not_guessed() -> None:
    result = parse_order_text("기름 2병", show("참기름 300ml", "들기름 300ml"))
    assert isinstance(result, AmbiguousIntent)
    assert set(result.candidates) == {1001, 1002}


def test_an_ambiguous_answer_offers_at_most_five_candidates() -> None:
    products = show(*(f"사과 {i}호" for i in range(1, 12)))
    result = parse_order_text("사과 1개", products)
    assert isinstance(result, AmbiguousIntent)
    assert len(result.candidates) == 5


# --- number words inside product names ------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "names", "expected"),
    [
        ("오이 3개", ("오이", "가지"), OrderIntent(1001, 3)),  # 오 = 5 and 이 = 2 in a name
        ("과일세트 2개", ("과일세트", "사과"), OrderIntent(1001, 2)),  # 일 세트 inside a word
        ("만두세트 두개", ("왕만두세트", "사과"), OrderIntent(1001, 2)),  # 두 세트 inside
        ("두부 두 모", ("두부", "콩나물"), OrderIntent(1001, 2)),
        ("단감 두 개", ("단감", "곶감"), OrderIntent(1001, 2)),
        ("두 단감", ("단감", "곶감"), OrderIntent(1001, 2)),  # not 두 단 + 감
        ("한우 한근", ("한우 등심", "돼지고기"), OrderIntent(1001, 1)),
        ("삼겹살 2팩", ("삼겹살", "목살"), OrderIntent(1001, 2)),
        ("열무 두단", ("열무", "무"), OrderIntent(1001, 2)),
        ("무 2개", ("열무", "무"), OrderIntent(1002, 2)),
        ("번데기 2통", ("번데기", "꿀"), OrderIntent(1001, 2)),
        ("사장님 사과 2개요", ("사과", "배"), OrderIntent(1001, 2)),  # not 사 장 = 4
    ],
)
def test_a_number_word_only_counts_where_it_stands_as_a_number(
    typed: str, names: tuple[str, ...], expected: Intent
) -> None:
    assert parse_order_text(typed, show(*names)) == expected


# --- weights and pack sizes -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "names", "expected"),
    [
        ("사과 5kg", ("사과 5kg", "사과 10kg"), OrderIntent(1001, 1)),
        ("사과 10키로 2박스", ("사과 5kg", "사과 10kg"), OrderIntent(1002, 2)),
        ("사과 5kg", ("부사 사과 5kg", "부사 사과 10kg"), OrderIntent(1001, 1)),
        ("감자 5키로", ("감자", "고구마"), OrderIntent(1001, 5)),
        ("참기름 300ml 2병", ("참기름 300ml", "들기름 300ml"), OrderIntent(1001, 2)),
        ("계란 30구 1판", ("계란 30구", "두부"), OrderIntent(1001, 1)),
        ("배 7.5kg", ("배 7.5kg", "배 15kg"), OrderIntent(1001, 1)),
        ("한라봉 1+1", ("한라봉 1+1", "감귤"), OrderIntent(1001, 1)),
        ("꿀사과 3개", ("부사 사과 5kg", "꿀사과 10kg", "배"), OrderIntent(1002, 3)),
    ],
)
def test_a_weight_is_a_count_unless_it_names_the_pack_on_the_list(
    typed: str, names: tuple[str, ...], expected: Intent
) -> None:
    assert parse_order_text(typed, show(*names)) == expected


# --- English ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2 apples", OrderIntent(201, 2)),
        ("i want 2 apples please", OrderIntent(201, 2)),
        ("apple x3", OrderIntent(201, 3)),
        ("one apple", OrderIntent(201, 1)),
        ("aple 2", OrderIntent(201, 2)),
        ("APPLE", OrderIntent(201, 1)),
        ("bananna two", OrderIntent(203, 2)),
        ("2 boxes of apples", OrderIntent(201, 2)),
        ("apple 2 pcs", OrderIntent(201, 2)),
        ("pineapple", OrderIntent(202, 1)),
        ("no. 2 x 3", OrderIntent(202, 3)),
        ("#1 2 pcs", OrderIntent(201, 2)),
        ("item 3", OrderIntent(203, 1)),
    ],
)
def test_english_orders_work_on_an_english_list(typed: str, expected: Intent) -> None:
    assert parse_order_text(typed, ENGLISH_SHOW) == expected


# --- list numbers ---------------------------------------------------------------------------


def test_a_number_that_is_not_on_the_current_list_is_reported_as_such() -> None:
    five = SHOW[:5]
    assert parse_order_text("9번", five) == unknown("no_such_number")
    assert parse_order_text("9번 2개", five) == unknown("no_such_number")
    assert parse_order_text("6 2", five) == unknown("no_such_number")
    assert parse_order_text("5번", five) == order(5, 1)


def test_numbers_on_the_list_need_not_start_at_one() -> None:
    products = [ProductRef(7, 70, "사과"), ProductRef(8, 80, "배")]
    assert parse_order_text("8번 3개", products) == OrderIntent(80, 3)
    assert parse_order_text("1번", products) == unknown("no_such_number")


def test_with_no_products_on_the_list_names_and_numbers_find_nothing() -> None:
    assert parse_order_text("사과 2개", []) == unknown("no_product_match")
    assert parse_order_text("3번", []) == unknown("no_such_number")
    assert parse_order_text("2개", []) == QuantityIntent(2)


def test_a_message_longer_than_any_order_is_read_only_up_to_its_limit() -> None:
    assert parse_order_text("3번 2개 " + "ㅎ" * 10_000, SHOW) == order(3, 2)
    assert parse_order_text("가" * 10_000, SHOW) == unknown("no_product_match")


# --- properties -----------------------------------------------------------------------------

typed_characters = st.one_of(
    st.characters(),
    st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3),
    st.characters(min_codepoint=0x3131, max_codepoint=0x318E),
    st.characters(min_codepoint=0xFF01, max_codepoint=0xFFEF),
    st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),
    st.sampled_from(list("0123456789번개병봉팩#x×*-~/.,+ 일이삼사오두세네한열스무kg취소")),
)
typed_text = st.text(typed_characters, max_size=50)
product_lists = st.lists(
    st.builds(
        ProductRef,
        number=st.integers(min_value=-3, max_value=30),
        key=st.integers(),
        name=st.one_of(typed_text, st.sampled_from(MARKET)),
    ),
    max_size=15,
)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(text=typed_text, products=product_lists)
def test_any_text_with_any_list_gives_an_intent_within_the_rules(
    text: str, products: list[ProductRef]
) -> None:
    result = parse_order_text(text, products)
    keys = {product.key for product in products}
    if isinstance(result, OrderIntent):
        assert result.product_key in keys
    if isinstance(result, AmbiguousIntent):
        assert result.candidates
        assert set(result.candidates) <= keys
        assert len(set(result.candidates)) == len(result.candidates)
    if isinstance(result, OrderIntent | AmbiguousIntent | QuantityIntent):
        assert MIN_QUANTITY <= result.quantity <= MAX_QUANTITY
    if isinstance(result, UnknownIntent):
        assert result.reason in set(UnknownReason)


@settings(max_examples=300, deadline=None)
@given(text=typed_text)
def test_number_and_quantity_parsers_never_raise(text: str) -> None:
    for value in (parse_quantity(text), parse_korean_number(text)):
        assert value is None or isinstance(value, int)


COUNTERS = ["개", "병", "봉", "봉지", "박스", "상자", "팩", "마리", "근", "키로", "통", "단"]
COUNTERS += ["줄", "장", "세트", "kg"]


@settings(max_examples=500, deadline=None)
@given(
    number=st.integers(min_value=1, max_value=20),
    quantity=st.integers(min_value=1, max_value=99),
    number_form=st.sampled_from(["digits", "full_width", "sino"]),
    quantity_form=st.sampled_from(["digits", "full_width", "native", "sino"]),
    counter=st.sampled_from(COUNTERS),
    space=st.sampled_from(["", " "]),
    ending=st.sampled_from(["", "요", " 주세요", "이요", " 부탁해요", "!!", "~"]),
)
def test_a_list_number_and_a_count_in_any_writing_order_that_product(
    number: int,
    quantity: int,
    number_form: str,
    quantity_form: str,
    counter: str,
    space: str,
    ending: str,
) -> None:
    if number == 2 and number_form == "sino":
        number_form = "digits"  # "이번" means "this time"
    writers: dict[str, Callable[[int], str]] = {
        "digits": str,
        "full_width": full_width,
        "sino": sino_korean,
        "native": native_korean,
    }
    typed = (
        f"{writers[number_form](number)}번 "
        f"{writers[quantity_form](quantity)}{space}{counter}{ending}"
    )
    assert parse_order_text(typed, SHOW) == order(number, quantity), typed


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(MARKET),
    quantity=st.integers(min_value=1, max_value=99),
    quantity_form=st.sampled_from(["digits", "native"]),
    glue=st.sampled_from(["", " "]),
)
def test_a_market_name_and_a_count_order_that_product(
    name: str, quantity: int, quantity_form: str, glue: str
) -> None:
    written = str(quantity) if quantity_form == "digits" else native_korean(quantity)
    typed = f"{name}{glue}{written}개"
    assert parse_order_text(typed, SHOW) == order(MARKET.index(name) + 1, quantity), typed


@settings(max_examples=200, deadline=None)
@given(quantity=st.integers(min_value=100, max_value=10**9) | st.integers(max_value=0))
def test_counts_outside_one_to_ninety_nine_are_refused(quantity: int) -> None:
    assert parse_order_text(f"3번 {quantity}개", SHOW) == unknown("quantity_out_of_range")


# --- the number helpers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "value"),
    [
        ("3", 3), ("３", 3), ("-3", -3), ("12345678901234567890", 1_000_000),
        ("하나", 1), ("한", 1), ("둘", 2), ("두", 2), ("셋", 3), ("세", 3), ("석", 3),
        ("넷", 4), ("네", 4), ("넉", 4), ("다섯", 5), ("여섯", 6), ("일곱", 7), ("여덟", 8),
        ("아홉", 9), ("열", 10), ("열하나", 11), ("열한", 11), ("열둘", 12), ("열두", 12),
        ("스물", 20), ("스무", 20), ("스물다섯", 25), ("서른", 30), ("아흔아홉", 99),
        ("일", 1), ("이", 2), ("삼", 3), ("사", 4), ("오", 5), ("육", 6), ("륙", 6),
        ("칠", 7), ("팔", 8), ("구", 9), ("십", 10), ("십일", 11), ("이십", 20),
        ("이십오", 25), ("구십구", 99), ("백", 100), ("영", 0), ("two", 2),
        ("사과", None), ("개", None), ("", None), ("두개", None), ("오이", None),
    ],
)  # fmt: skip
def test_number_words_are_read_in_every_korean_way_of_counting(
    word: str, value: int | None
) -> None:
    assert parse_korean_number(word) == value


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=99))
def test_every_count_up_to_ninety_nine_reads_back_natively_and_sino(n: int) -> None:
    assert parse_korean_number(native_korean(n)) == n
    assert parse_korean_number(sino_korean(n)) == n
    assert parse_quantity(f"{native_korean(n)} 개") == n
    assert parse_quantity(f"{sino_korean(n)}개요") == n


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("2개", 2), ("두 개요", 2), ("세 봉지", 3), ("x2", 2), ("5", 5), ("다섯", 5),
        ("열두 개 주세요", 12), ("한 박스", 1), ("5kg", 5), ("2 pcs", 2),
        ("0개", 0), ("백 개", 100),
        ("사과 2개", None), ("3번", None), ("2~3개", None), ("", None), ("3 2", None),
        ("네", None), ("사", None), ("취소", None),
    ],
)  # fmt: skip
def test_a_quantity_alone_is_read_and_anything_more_is_not(typed: str, value: int | None) -> None:
    assert parse_quantity(typed) == value


def test_products_without_a_list_number_are_found_by_name_only() -> None:
    unnumbered = [ProductRef(0, 1, "사과"), ProductRef(0, 2, "배")]
    assert parse_order_text("0번", unnumbered) == unknown("no_such_number")
    assert parse_order_text("0 2", unnumbered) == unknown("no_such_number")
    assert parse_order_text("배 2개", unnumbered) == OrderIntent(2, 2)
