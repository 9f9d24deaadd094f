"""Phone numbers in one form (E.164), whether typed as 010-1234-5678 or +82 10 1234 5678."""

from __future__ import annotations

import phonenumbers

from catalog.errors import InvalidInput


def normalize_phone(raw: str, region: str = "KR") -> str:
    """Return the E.164 form of a phone number, or raise InvalidInput if it is not one."""
    text = raw.strip()
    if not text:
        raise InvalidInput("phone number is empty", field="phone")
    if text[0].isdigit() and len(text) > 10 and text.startswith("82"):
        text = "+" + text  # Telegram shares contacts without the leading +
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(f"not a phone number: {raw!r}", field="phone") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(f"not a valid phone number: {raw!r}", field="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(e164: str) -> str:
    """The form people read and dial: 010-1234-5678 for a Korean number, +1 201-555-0123 for
    one from abroad (its country code kept); anything unparsable as it was stored."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 82
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, style)
