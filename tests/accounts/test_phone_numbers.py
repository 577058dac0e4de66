import pytest

from ihanoi.lib.phone import InvalidPhoneNumber, format_vn_phone, mask_phone, normalise_vn_phone


@pytest.mark.parametrize(
    "typed",
    [
        "0912345678",
        "0912 345 678",
        "0912.345.678",
        "+84 912 345 678",
        "84912345678",
        " 0912-345-678 ",
    ],
)
def test_local_and_international_forms_normalise_to_e164(typed):
    assert normalise_vn_phone(typed) == "+84912345678"


def test_hanoi_landline_is_accepted():
    assert normalise_vn_phone("024 3825 3536") == "+842438253536"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "abc",
        "0912",
        "09123456789012",
        "+1 202 555 0143",
        "+33 1 42 68 53 00",
        "0" * 40,
        "0012345678",
        "+84 000 000 000",
    ],
)
def test_malformed_or_foreign_numbers_are_refused(typed):
    with pytest.raises(InvalidPhoneNumber):
        normalise_vn_phone(typed)


def test_display_and_mask_forms():
    assert format_vn_phone("+84912345678") == "0912 345 678"
    assert mask_phone("+84912345678") == "0912 *** 678"
