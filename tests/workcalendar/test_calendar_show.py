"""``ihanoi calendar-show YEAR``: the year's weekdays off and make-up days, with names."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from ihanoi.cli import main
from ihanoi.workcalendar.models import CalendarException
from ihanoi.workcalendar.services import calendar_exception_add

pytestmark = pytest.mark.django_db


def show(*args: str) -> str:
    out = StringIO()
    call_command("calendar_show", *args, stdout=out)
    return out.getvalue()


def section(text: str, title: str) -> str:
    after = text.split(title, 1)[1]
    return after.split("\n\n", 1)[0]


def test_the_year_lists_weekdays_off_with_their_names():
    text = show("2027")
    days_off = section(text, "Weekdays off:")
    for line in [
        "Fri 2027-01-01  New Year's Day",
        "Thu 2027-02-04  29 of Lunar New Year",
        "Fri 2027-02-05  Lunar New Year's Eve",
        "Mon 2027-02-08  Third Day of Lunar New Year",
        "Wed 2027-02-10  Fifth Day of Lunar New Year",
        "Fri 2027-04-16  Hung Kings' Commemoration Day",
        "Mon 2027-05-03  International Labor Day (observed)",
        "Thu 2027-09-02  National Day",
        "Fri 2027-09-03  National Day",
        "Wed 2027-11-24  Vietnam Cultural Day",
    ]:
        assert line in days_off
    # Tết's Saturday and Sunday are weekend days anyway.
    assert "2027-02-06" not in text
    assert "2027-02-07" not in text
    assert "(none)" in section(text, "Make-up working days:")


def test_the_year_lists_the_administrators_exceptions_with_their_notes():
    calendar_exception_add(
        day=dt.date(2027, 4, 29), kind=CalendarException.Kind.DAY_OFF, note="Thông báo 1/TB"
    )
    calendar_exception_add(
        day=dt.date(2027, 4, 24), kind=CalendarException.Kind.WORKING_DAY, note="Làm bù"
    )
    text = show("2027")
    assert "Thu 2027-04-29  Day off entered by the administrator: Thông báo 1/TB" in section(
        text, "Weekdays off:"
    )
    assert "Sat 2027-04-24  Make-up working day entered by the administrator: Làm bù" in (
        section(text, "Make-up working days:")
    )


def test_the_makeup_days_of_the_law_are_listed():
    text = show("2026")
    assert "Sat 2026-08-22  Make-up working day (public holiday rules)" in section(
        text, "Make-up working days:"
    )
    assert "Mon 2026-08-31  Day off (substituted from 08/22/2026)" in section(text, "Weekdays off:")


def test_the_year_ends_with_its_working_days_and_hours():
    # 2026: 261 weekdays, 13 of them off, Saturday 22 August worked.
    assert "Working days: 249 (1992 working hours)." in show("2026")


def test_an_exception_that_changes_nothing_any_more_is_flagged():
    # Entered before the package knew it, say; written directly as an old row would be.
    CalendarException.objects.create(
        date=dt.date(2027, 2, 9), kind=CalendarException.Kind.DAY_OFF, note="Tết"
    )
    text = show("2027")
    assert "The exception on 2027-02-09 changes nothing: the day is already a day off." in text


def test_without_a_year_it_shows_the_current_year_in_hanoi():
    # 31 December 17:30 UTC is already 1 January in Hanoi.
    with time_machine.travel(dt.datetime(2026, 12, 31, 17, 30, tzinfo=dt.UTC), tick=False):
        text = show()
    assert text.startswith("Working calendar 2027 ")


def test_a_year_without_known_holidays_is_refused():
    with pytest.raises(CommandError, match="2150"):
        show("2150")


def test_it_runs_as_ihanoi_calendar_show(capsys):
    main(["ihanoi", "calendar-show", "2027"])
    assert "Thu 2027-02-04  29 of Lunar New Year" in capsys.readouterr().out


@pytest.mark.vietnamese
def test_in_vietnamese_the_holidays_have_their_vietnamese_names():
    text = show("2027")
    assert "2027-02-04  29 Tết" in text
    assert "2027-09-02  Quốc khánh" in text
