"""Vietnamese phone numbers: parse what people type, store E.164."""

from __future__ import annotations

import phonenumbers


class InvalidPhoneNumber(ValueError):
    pass


MAX_INPUT_LENGTH = 32


def normalise_vn_phone(raw: str) -> str:
    """Return the E.164 form (``+84912345678``) of a Vietnamese number.

    Accepts the forms residents type: ``0912 345 678``, ``0912.345.678``, ``+84 912345678``,
    ``84912345678``. Raises ``InvalidPhoneNumber`` for anything that is not a valid
    Vietnamese number (foreign numbers are refused: the city's SMS gateway is domestic).
    """
    text = (raw or "").strip()
    if not text or len(text) > MAX_INPUT_LENGTH:
        raise InvalidPhoneNumber(raw)
    if text.startswith("84") and not text.startswith("+"):
        text = "+" + text
    try:
        number = phonenumbers.parse(text, "VN")
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(raw) from exc
    if number.country_code != 84 or not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(raw)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_vn_phone(e164: str) -> str:
    """National display form: ``0912 345 678``."""
    try:
        number = phonenumbers.parse(e164, "VN")
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def mask_phone(e164: str) -> str:
    """``+84912345678`` → ``0912 *** 678`` for places where the number is only a hint."""
    national = format_vn_phone(e164).replace(" ", "")
    if len(national) < 7:
        return "***"
    return f"{national[:4]} *** {national[-3:]}"
