import unicodedata

import pytest

from ihanoi.lib.text import fold, nfc, remove_marks, slugify_vi


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("Phường Hoàn Kiếm", "phuong hoan kiem"),
        ("phuong hoan kiem", "phuong hoan kiem"),
        ("  ĐỐNG   ĐA ", "dong da"),
        ("Yên Hoà", "yen hoa"),  # old tone placement
        ("Yên Hòa", "yen hoa"),  # new tone placement
        (unicodedata.normalize("NFD", "Thủy Nguyên"), "thuy nguyen"),
    ],
)
def test_fold_ignores_case_tone_marks_and_spacing(typed, key):
    assert fold(typed) == key


def test_remove_marks_keeps_capitals_and_turns_d_with_stroke_into_d():
    assert remove_marks("Đống Đa, Hoàn Kiếm") == "Dong Da, Hoan Kiem"


def test_slug_keeps_the_d_of_dong_da():
    assert slugify_vi("Quận Đống Đa") == "quan-dong-da"
    assert slugify_vi("  --Sở Xây dựng!! ") == "so-xay-dung"


def test_nfc_composes_decomposed_input():
    decomposed = unicodedata.normalize("NFD", "Hà Nội")
    assert decomposed != "Hà Nội"
    assert nfc(decomposed) == "Hà Nội"
