"""The city's calendar as deadlines see it: public holidays plus the administrator's
exceptions, cached per process and refreshed when the exceptions change anywhere."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from ihanoi.lib.worktime import CITY_TZ, DayKind
from ihanoi.workcalendar import selectors
from ihanoi.workcalendar.models import CalendarException
from ihanoi.workcalendar.selectors import city_calendar, deadline_after
from ihanoi.workcalendar.services import (
    calendar_exception_add,
    calendar_exception_change,
    calendar_exception_remove,
)

pytestmark = pytest.mark.django_db

FRIDAY_1630 = dt.datetime(2027, 3, 12, 16, 30, tzinfo=CITY_TZ)
SATURDAY = dt.date(2027, 3, 13)
MONDAY = dt.date(2027, 3, 15)
NOW = dt.datetime(2027, 3, 1, 9, 0, tzinfo=CITY_TZ)


def hanoi(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=CITY_TZ)


def test_the_city_calendar_knows_the_public_holidays():
    assert not city_calendar().is_working_day(dt.date(2027, 2, 8))
    assert city_calendar().describe(dt.date(2026, 8, 22)).kind == DayKind.MAKE_UP_DAY


def test_a_make_up_saturday_entered_by_the_administrator_moves_deadlines_at_once():
    assert deadline_after(FRIDAY_1630, working_hours=8) == hanoi(2027, 3, 15, 16, 30)
    calendar_exception_add(day=SATURDAY, kind=CalendarException.Kind.WORKING_DAY)
    assert deadline_after(FRIDAY_1630, working_hours=8) == hanoi(2027, 3, 13, 16, 30)


def test_a_day_off_entered_by_the_administrator_moves_deadlines_at_once():
    calendar_exception_add(day=MONDAY, kind=CalendarException.Kind.DAY_OFF)
    assert deadline_after(FRIDAY_1630, working_hours=8) == hanoi(2027, 3, 16, 16, 30)


def test_removing_an_exception_moves_deadlines_back():
    exception = calendar_exception_add(day=MONDAY, kind=CalendarException.Kind.DAY_OFF)
    assert not city_calendar().is_working_day(MONDAY)
    calendar_exception_remove(exception=exception)
    assert city_calendar().is_working_day(MONDAY)


def test_the_calendar_is_cached_between_checks(django_assert_num_queries):
    with time_machine.travel(NOW, tick=False):
        calendar = city_calendar()
        with django_assert_num_queries(0):
            assert city_calendar() is calendar


def test_an_exception_written_by_another_process_is_noticed_within_the_check_interval():
    with time_machine.travel(NOW, tick=False) as traveller:
        assert city_calendar().is_working_day(MONDAY)
        # Another process (no service call here, so no local invalidation).
        CalendarException.objects.create(date=MONDAY, kind=CalendarException.Kind.DAY_OFF)
        assert city_calendar().is_working_day(MONDAY)  # still the cached calendar
        traveller.shift(dt.timedelta(seconds=selectors.STAMP_CHECK_SECONDS + 1))
        assert not city_calendar().is_working_day(MONDAY)


def test_an_exception_edited_or_removed_by_another_process_is_noticed():
    exception = calendar_exception_add(day=MONDAY, kind=CalendarException.Kind.DAY_OFF)
    with time_machine.travel(NOW, tick=False) as traveller:
        assert not city_calendar().is_working_day(MONDAY)
        traveller.shift(dt.timedelta(seconds=1))
        CalendarException.objects.filter(pk=exception.pk).update(
            date=dt.date(2027, 3, 16), updated_at=dt.datetime.now(tz=dt.UTC)
        )
        traveller.shift(dt.timedelta(seconds=selectors.STAMP_CHECK_SECONDS))
        assert city_calendar().is_working_day(MONDAY)
        assert not city_calendar().is_working_day(dt.date(2027, 3, 16))
        CalendarException.objects.all().delete()
        traveller.shift(dt.timedelta(seconds=selectors.STAMP_CHECK_SECONDS))
        assert city_calendar().is_working_day(dt.date(2027, 3, 16))


def test_changing_an_exception_through_the_service_is_seen_at_once():
    exception = calendar_exception_add(day=MONDAY, kind=CalendarException.Kind.DAY_OFF)
    with time_machine.travel(NOW, tick=False):
        assert not city_calendar().is_working_day(MONDAY)
        calendar_exception_change(
            exception=exception, day=dt.date(2027, 3, 16), kind=exception.kind, note=""
        )
        assert city_calendar().is_working_day(MONDAY)


def test_deadlines_in_working_days_keep_the_time_of_day():
    tuesday = hanoi(2027, 3, 9, 10, 15)
    assert deadline_after(tuesday, working_days=5) == hanoi(2027, 3, 16, 10, 15)
    assert deadline_after(tuesday, working_days=10) == hanoi(2027, 3, 23, 10, 15)
    calendar_exception_add(day=MONDAY, kind=CalendarException.Kind.DAY_OFF)
    assert deadline_after(tuesday, working_days=5) == hanoi(2027, 3, 17, 10, 15)


def test_urgent_deadlines_take_four_working_hours_and_may_be_fractional():
    assert deadline_after(hanoi(2027, 3, 11, 15, 0), working_hours=4) == hanoi(2027, 3, 12, 10)
    assert deadline_after(hanoi(2027, 3, 11, 11, 45), working_hours=0.5) == hanoi(
        2027, 3, 11, 13, 15
    )


def test_deadlines_are_given_in_hanoi_time_whatever_the_start_zone():
    start_utc = dt.datetime(2027, 3, 12, 9, 30, tzinfo=dt.UTC)  # 16:30 in Hanoi
    deadline = deadline_after(start_utc, working_hours=8)
    assert deadline == hanoi(2027, 3, 15, 16, 30)
    assert deadline.tzinfo == CITY_TZ


@pytest.mark.parametrize(
    "limits",
    [{}, {"working_hours": 8, "working_days": 1}],
    ids=["neither", "both"],
)
def test_a_deadline_needs_exactly_one_limit(limits):
    with pytest.raises(TypeError):
        deadline_after(FRIDAY_1630, **limits)


def test_a_naive_start_is_refused():
    with pytest.raises(ValueError, match="naive"):
        deadline_after(dt.datetime(2027, 3, 12, 16, 30), working_hours=8)
