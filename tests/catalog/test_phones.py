"""Phone numbers as customers type them, as stored (E.164), and as vendors read them."""

from __future__ import annotations

import pytest

from catalog.errors import InvalidInput
from catalog.phones import display_phone, normalize_phone


@pytest.mark.parametrize(
    ("typed", "stored", "shown"),
    [
        ("010-1234-5678", "+821012345678", "010-1234-5678"),
        ("01012345678", "+821012345678", "010-1234-5678"),
        ("+82 10 1234 5678", "+821012345678", "010-1234-5678"),
        ("+1 201 555 0123", "+12015550123", "+1 201-555-0123"),  # from abroad: code kept
    ],
)
def test_a_number_is_stored_in_one_form_and_shown_as_people_dial_it(
    typed: str, stored: str, shown: str
) -> None:
    assert normalize_phone(typed) == stored
    assert display_phone(stored) == shown


@pytest.mark.parametrize("typed", ["", "전화번호", "010-1234", "12345678901234567890"])
def test_what_is_not_a_phone_number_is_refused(typed: str) -> None:
    with pytest.raises(InvalidInput):
        normalize_phone(typed)


def test_a_stored_value_that_does_not_parse_is_shown_as_it_is() -> None:
    assert display_phone("not a number") == "not a number"
