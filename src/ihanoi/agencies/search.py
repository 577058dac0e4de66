"""Search keys for agencies: the same words on both sides, whatever the tone marks.

A key is the folded words of an agency's names and code, each preceded by a space, so that a
query word matches the *start* of a word (" kiem" finds "Kiếm" but " hanh" does not find
"thành"): close to how people scan a directory, and cheap with ``LIKE '% word%'``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ihanoi.lib.text import fold

KEY_MAX_CHARS = 600

_NON_WORD = re.compile(r"[\W_]+")


def search_words(text: str) -> list[str]:
    """``"Sở Quy hoạch - Kiến trúc"`` → ``["so", "quy", "hoach", "kien", "truc"]``; control
    characters and punctuation separate words."""
    return [word for word in _NON_WORD.split(fold(text)) if word]


def search_key(parts: Iterable[str]) -> str:
    words = search_words(" ".join(parts))
    return "".join(f" {word}" for word in words)[:KEY_MAX_CHARS]
