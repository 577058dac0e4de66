"""The pure parts: W3C datetimes, the title, the XML writer."""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET

import pytest

from ihanoi.open311.params import parse_w3c, w3c
from ihanoi.open311.render import to_xml
from ihanoi.open311.services import first_line_title

HANOI = datetime.timezone(datetime.timedelta(hours=7))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2010-01-01T00:00:00Z", datetime.datetime(2010, 1, 1, tzinfo=datetime.UTC)),
        (
            "1994-11-05T08:15:30-05:00",
            datetime.datetime(1994, 11, 5, 13, 15, 30, tzinfo=datetime.UTC),
        ),
        ("2025-07-01T08:00:00+07:00", datetime.datetime(2025, 7, 1, 1, tzinfo=datetime.UTC)),
        ("2025-07-01T08:00:00 07:00", datetime.datetime(2025, 7, 1, 1, tzinfo=datetime.UTC)),
        (
            "2025-07-01T08:00:00.123+0700",
            datetime.datetime(2025, 7, 1, 1, 0, 0, 123000, tzinfo=datetime.UTC),
        ),
        ("2025-07-01T08:00+07:00", datetime.datetime(2025, 7, 1, 1, tzinfo=datetime.UTC)),
        ("2025-07-01T08:00:00", datetime.datetime(2025, 7, 1, 8, tzinfo=HANOI)),
        ("2025-07-01", datetime.datetime(2025, 7, 1, tzinfo=HANOI)),
        ("2025-07", datetime.datetime(2025, 7, 1, tzinfo=HANOI)),
        ("2025", datetime.datetime(2025, 1, 1, tzinfo=HANOI)),
    ],
)
def test_w3c_dates_and_datetimes_parse(raw, expected):
    assert parse_w3c(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "yesterday",
        "2025-13-01",
        "2025-02-30",
        "2025-07-01T24:00:00Z",
        "2025-07-01T08:00:00+15:00",
        "20250701",
    ],
)
def test_what_is_not_w3c_is_refused(raw):
    with pytest.raises(ValueError):
        parse_w3c(raw)


def test_datetimes_go_out_with_the_city_offset(settings):
    moment = datetime.datetime(2025, 7, 1, 1, 2, 3, 456, tzinfo=datetime.UTC)
    assert w3c(moment) == "2025-07-01T08:02:03+07:00"


@pytest.mark.parametrize(
    ("description", "title"),
    [
        ("Ổ gà lớn\nchi tiết", "Ổ gà lớn"),
        ("\n\n   Đèn   hỏng  \n", "Đèn hỏng"),
        ("a" * 80, "a" * 80),
        ("a" * 81, "a" * 79 + "…"),
        ("từ " * 40, ("từ " * 26).strip() + "…"),
    ],
)
def test_the_title_is_the_first_line_cut_at_a_word(description, title):
    assert first_line_title(description) == title
    assert len(first_line_title(description)) <= 80


def test_the_xml_writer_drops_characters_xml_cannot_carry():
    body = to_xml("errors", [{"code": 400, "description": "bad \x01\x0b text & <tags>", "x": None}])
    root = ET.fromstring(body)  # noqa: S314 - our own output
    assert root.findtext("error/description") == "bad  text & <tags>"
    assert root.find("error/x").text is None
