"""Ward names: NFC on the way in, and the diacritic-free search key (``name_ascii``)."""

from __future__ import annotations

import unicodedata

import pytest

from ihanoi.lib.text import fold, nfc
from ihanoi.places.models import AdministrativeUnit
from ihanoi.places.services import LoadResult


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Phường Hoàn Kiếm", "phuong hoan kiem"),
        ("Phường Ba Đình", "phuong ba dinh"),
        ("Xã Nội Bài", "xa noi bai"),
        ("Phường Cửa Nam", "phuong cua nam"),
        ("Xã Ứng Hòa", "xa ung hoa"),
        ("ĐẠI MỖ", "dai mo"),
        ("  Phường   Hoàn\tKiếm ", "phuong hoan kiem"),
    ],
)
def test_fold_gives_the_search_key_of_a_name(name: str, key: str) -> None:
    assert fold(name) == key


def test_fold_ignores_where_the_tone_mark_sits_and_how_it_is_encoded() -> None:
    # Old-style "Hoà" and new-style "Hòa"; NFC and NFD (as some keyboards send it).
    spellings = ["Phường Yên Hoà", "Phường Yên Hòa", unicodedata.normalize("NFD", "Phường Yên Hòa")]
    assert {fold(s) for s in spellings} == {"phuong yen hoa"}
    assert nfc(spellings[2]) == spellings[1]


@pytest.mark.django_db
def test_every_loaded_name_is_nfc_and_its_search_key_is_plain_ascii(hanoi: LoadResult) -> None:
    for name, short_name, key in AdministrativeUnit.objects.values_list(
        "name", "short_name", "name_ascii"
    ):
        assert name == nfc(name) and short_name == nfc(short_name)
        assert key == fold(name)
        assert key.isascii(), key
        assert short_name and fold(short_name) in key
