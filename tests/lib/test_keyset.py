"""Keyset pagination's cursors: they round-trip and refuse anything else (the pages
themselves: tests/feedback/test_keyset_pages.py)."""

from __future__ import annotations

import base64
import datetime
import json

import pytest

from ihanoi.feedback.ordering import MOST_URGENT, NEWEST
from ihanoi.lib import keyset

MOMENT = datetime.datetime(2026, 7, 1, 1, 2, 3, 456789, tzinfo=datetime.UTC)


def _raw(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


# --- Cursors ---------------------------------------------------------------------------------


def test_a_cursor_round_trips_its_key_and_direction():
    cursor = keyset.encode(NEWEST, (MOMENT, 42), before=True)
    assert keyset.decode(NEWEST, cursor) == keyset.Cursor(key=(MOMENT, 42), before=True)
    assert keyset.decode(NEWEST, keyset.encode(NEWEST, (MOMENT, 42))).before is False


def test_a_cursor_keeps_the_instant_whatever_the_offset_it_was_made_in():
    hanoi = MOMENT.astimezone(datetime.timezone(datetime.timedelta(hours=7)))
    assert keyset.decode(NEWEST, keyset.encode(NEWEST, (hanoi, 1))).key == (MOMENT, 1)


def test_a_cursor_is_url_safe_and_short():
    cursor = keyset.encode(MOST_URGENT, (0, MOMENT, MOMENT, 2**62))
    assert cursor.replace("-", "").replace("_", "").isalnum()
    assert len(cursor) < keyset.MAX_CURSOR_LENGTH


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not a cursor",
        "%%%",
        "x" * (keyset.MAX_CURSOR_LENGTH + 1),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        _raw("just a string"),
        _raw({"n": 1}),
        _raw(["n", "a", "2026-07-01T01:02:03+00:00"]),  # a value short
        _raw(["n", "a", "2026-07-01T01:02:03+00:00", 1, 2]),  # one too many
        _raw(["o", "a", "2026-07-01T01:02:03+00:00", 1]),  # another ordering's tag
        _raw(["n", "z", "2026-07-01T01:02:03+00:00", 1]),  # no such direction
        _raw(["n", "a", "2026-07-01T01:02:03", 1]),  # no offset: which instant?
        _raw(["n", "a", "yesterday", 1]),
        _raw(["n", "a", 1751331723, 1]),
        _raw(["n", "a", "0001-01-01T00:00:00+14:00", 1]),  # before year 1 in UTC
        _raw(["n", "a", "2026-07-01T01:02:03+00:00", "1"]),
        _raw(["n", "a", "2026-07-01T01:02:03+00:00", 1.5]),
        _raw(["n", "a", "2026-07-01T01:02:03+00:00", True]),
        _raw(["n", "a", "2026-07-01T01:02:03+00:00", 2**64]),
        _raw(["n", "a", "2026-07-01T01:02:03+00:00", None]),
        _raw(["n", "a", ["2026"], 1]),
        "W" * 300,  # base64 of "[[[[…": JSON nested past any sense
    ],
)
def test_anything_but_our_cursor_is_refused(cursor):
    with pytest.raises(keyset.InvalidCursor):
        keyset.decode(NEWEST, cursor)


def test_the_row_comparison_needs_rows_of_one_length():
    with pytest.raises(ValueError):
        keyset.RowCompare(["a"], [], ">")
