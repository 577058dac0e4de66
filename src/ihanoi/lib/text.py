"""Vietnamese text: normalisation and diacritic-insensitive search keys."""

from __future__ import annotations

import unicodedata

# Letters that Unicode decomposition does not reduce to a base Latin letter.
_SPECIAL = str.maketrans({"đ": "d", "Đ": "D"})

# Old-style tone placement ("hoà", "thuỷ") and new style ("hòa", "thủy") both occur in
# official sources; both spellings fold to the same key.


def nfc(text: str) -> str:
    """Normalise incoming text to Unicode NFC (DESIGN §4.8)."""
    return unicodedata.normalize("NFC", text)


def remove_marks(text: str) -> str:
    """Plain Latin letters, capitals kept: ``"Hoàn Kiếm"`` → ``"Hoan Kiem"``, ``đ`` → ``d``."""
    decomposed = unicodedata.normalize("NFD", text.translate(_SPECIAL))
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def fold(text: str) -> str:
    """Search key: lower case, no tone marks or diacritics, ``đ`` → ``d``, single spaces.

    ``fold("Phường Hoàn Kiếm") == fold("phuong hoan kiem") == "phuong hoan kiem"``.
    """
    return " ".join(remove_marks(text).casefold().split())


def slugify_vi(text: str) -> str:
    """ASCII slug that keeps ``đ`` as ``d`` (Django's slugify drops it)."""
    folded = fold(text)
    out = []
    for ch in folded:
        if ch.isalnum() and ch.isascii():
            out.append(ch)
        elif out and out[-1] != "-":
            out.append("-")
    return "".join(out).strip("-")
