"""Working-time arithmetic on the city's calendar. Nothing here depends on "now": every
moment is an explicit Asia/Ho_Chi_Minh (or UTC) datetime."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest

from ihanoi.lib import worktime
from ihanoi.lib.worktime import (
    CITY_TZ,
    DayKind,
    NoHolidays,
    Period,
    VietnamHolidays,
    WorkingCalendar,
    add_working_days,
    add_working_time,
    is_working_day,
    is_working_time,
    next_working_moment,
    working_time_between,
)

HOUR = dt.timedelta(hours=1)
UTC = dt.UTC


def hanoi(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=CITY_TZ)


# --- Office hours, lunch, evenings and weekends -------------------------------------------------


def test_eight_working_hours_from_friday_1630_end_on_monday_at_1630():
    # 16:30–17:00 Friday (0.5 h) + Monday 08:00–12:00 (4 h) + 13:00–16:30 (3.5 h) = 8 h.
    friday = hanoi(2025, 6, 6, 16, 30)
    assert friday.weekday() == 4
    assert add_working_time(friday, 8 * HOUR) == hanoi(2025, 6, 9, 16, 30)


def test_the_lunch_break_is_not_counted():
    assert add_working_time(hanoi(2025, 6, 4, 11, 30), HOUR) == hanoi(2025, 6, 4, 13, 30)


@pytest.mark.parametrize(
    ("start", "deadline"),
    [
        (hanoi(2025, 6, 4, 7, 0), hanoi(2025, 6, 4, 9, 0)),  # before the office opens
        (hanoi(2025, 6, 4, 12, 30), hanoi(2025, 6, 4, 14, 0)),  # during lunch
        (hanoi(2025, 6, 4, 17, 30), hanoi(2025, 6, 5, 9, 0)),  # after the office closes
        (hanoi(2025, 6, 8, 10, 0), hanoi(2025, 6, 9, 9, 0)),  # on a Sunday
        (hanoi(2025, 6, 7, 23, 59), hanoi(2025, 6, 9, 9, 0)),  # late on a Saturday
    ],
    ids=["07:00", "12:30", "17:30", "sunday", "saturday-night"],
)
def test_a_start_outside_working_time_counts_from_the_next_working_moment(start, deadline):
    assert add_working_time(start, HOUR) == deadline


def test_a_start_exactly_at_1700_counts_from_the_next_morning():
    assert add_working_time(hanoi(2025, 6, 4, 17, 0), HOUR) == hanoi(2025, 6, 5, 9, 0)


@pytest.mark.parametrize(
    ("start", "delta", "deadline"),
    [
        (hanoi(2025, 6, 4, 16, 0), HOUR, hanoi(2025, 6, 4, 17, 0)),
        (hanoi(2025, 6, 4, 8, 0), 8 * HOUR, hanoi(2025, 6, 4, 17, 0)),
        (hanoi(2025, 6, 4, 9, 0), 3 * HOUR, hanoi(2025, 6, 4, 12, 0)),
        (hanoi(2025, 6, 6, 16, 0), HOUR, hanoi(2025, 6, 6, 17, 0)),  # a Friday
    ],
)
def test_a_deadline_at_the_end_of_a_period_stays_there(start, delta, deadline):
    assert add_working_time(start, delta) == deadline


def test_urgent_four_working_hours_cross_the_night():
    # Thursday 15:00–17:00, then Friday 08:00–10:00.
    assert add_working_time(hanoi(2025, 6, 5, 15, 0), 4 * HOUR) == hanoi(2025, 6, 6, 10, 0)


def test_adding_no_working_time_returns_the_start_itself():
    start = hanoi(2025, 6, 7, 10, 0)  # a Saturday
    assert add_working_time(start, dt.timedelta(0)) == start


def test_working_days_keep_the_time_of_day():
    tuesday = hanoi(2025, 6, 10, 10, 15)
    assert add_working_days(tuesday, 5) == hanoi(2025, 6, 17, 10, 15)
    assert add_working_days(tuesday, 10) == hanoi(2025, 6, 24, 10, 15)


def test_five_working_days_from_a_saturday_end_on_friday_at_1700():
    assert add_working_days(hanoi(2025, 6, 7, 9, 0), 5) == hanoi(2025, 6, 13, 17, 0)


def test_five_working_days_skip_30_april_and_1_may():
    # 2026: Thu 30 Apr and Fri 1 May are off. Wed 10:00–17:00 (6 h) + Mon–Thu (32 h) + 2 h.
    assert add_working_days(hanoi(2026, 4, 29, 10, 0), 5) == hanoi(2026, 5, 8, 10, 0)


def test_configured_office_periods_are_used():
    summer = WorkingCalendar(
        periods=(Period(dt.time(7, 30), dt.time(11, 30)), Period(dt.time(13, 30), dt.time(17, 30)))
    )
    assert summer.day_length == 8 * HOUR
    assert summer.add_working_time(hanoi(2025, 6, 4, 11, 0), HOUR) == hanoi(2025, 6, 4, 14, 0)
    assert summer.add_working_time(hanoi(2025, 6, 4, 17, 0), HOUR) == hanoi(2025, 6, 5, 8, 0)


# --- Public holidays (the holidays package) ------------------------------------------------------


def test_the_package_gives_tet_2027_from_thursday_4_to_wednesday_10_february():
    days_off = VietnamHolidays().days_off(2027)
    tet = {day for day in days_off if day.month == 2}
    assert tet == {dt.date(2027, 2, day) for day in range(4, 11)}
    # Tết itself falls on Saturday 6 February; its weekend is given back on Thu 4 and Wed 10.
    assert days_off[dt.date(2027, 2, 6)] == "Lunar New Year"
    assert days_off[dt.date(2027, 2, 4)] == "29 of Lunar New Year"
    assert days_off[dt.date(2027, 2, 10)] == "Fifth Day of Lunar New Year"
    assert is_working_day(dt.date(2027, 2, 3))
    assert not any(is_working_day(dt.date(2027, 2, day)) for day in range(4, 11))
    assert is_working_day(dt.date(2027, 2, 11))


def test_a_deadline_across_tet_2027_resumes_on_thursday_11_february():
    # Wednesday 3 Feb 16:00 is the last working hour before Tết.
    assert add_working_time(hanoi(2027, 2, 3, 16, 0), 8 * HOUR) == hanoi(2027, 2, 11, 16, 0)
    assert working_time_between(hanoi(2027, 2, 3, 8, 0), hanoi(2027, 2, 12, 17, 0)) == 24 * HOUR
    assert next_working_moment(hanoi(2027, 2, 3, 17, 0)) == hanoi(2027, 2, 11, 8, 0)


def test_the_package_gives_2_september_2026_with_monday_31_august_moved_from_saturday_22():
    days_off = VietnamHolidays().days_off(2026)
    assert {day for day in days_off if day.month in (8, 9)} == {
        dt.date(2026, 8, 31),
        dt.date(2026, 9, 1),
        dt.date(2026, 9, 2),
    }
    assert VietnamHolidays().working_days(2026) == {dt.date(2026, 8, 22)}
    assert WorkingCalendar().describe(dt.date(2026, 8, 22)).kind == DayKind.MAKE_UP_DAY


def test_a_deadline_across_2_september_2026():
    # Fri 28 Aug 16:00; Mon 31 Aug, Tue 1 and Wed 2 Sep are off.
    assert add_working_time(hanoi(2026, 8, 28, 16, 0), 8 * HOUR) == hanoi(2026, 9, 3, 16, 0)


def test_saturday_22_august_2026_is_worked():
    assert add_working_time(hanoi(2026, 8, 21, 16, 0), 2 * HOUR) == hanoi(2026, 8, 22, 9, 0)


def test_a_deadline_across_2_september_2027():
    days_off = VietnamHolidays().days_off(2027)
    assert {day for day in days_off if day.month == 9} == {
        dt.date(2027, 9, 2),
        dt.date(2027, 9, 3),
    }
    # Wed 1 Sep 16:00; Thu 2 and Fri 3 Sep are off, then the weekend.
    assert add_working_time(hanoi(2027, 9, 1, 16, 0), 8 * HOUR) == hanoi(2027, 9, 6, 16, 0)


def test_special_days_list_weekdays_off_and_worked_weekends_only():
    special = WorkingCalendar().special_days(2026)
    days = {info.day: info for info in special}
    # Tết 2026 falls Monday to Friday; Sunday 26 April (Hùng Kings) is not listed, its
    # observed Monday is.
    assert all(dt.date(2026, 2, day) in days for day in range(16, 21))
    assert dt.date(2026, 4, 26) not in days
    assert days[dt.date(2026, 4, 27)].kind == DayKind.PUBLIC_HOLIDAY
    assert days[dt.date(2026, 8, 22)].is_working
    assert all(not info.is_working for day, info in days.items() if day.weekday() < 5)


def test_years_the_package_does_not_know_are_refused():
    with pytest.raises(ValueError, match="2150"):
        is_working_day(dt.date(2150, 6, 3))


def test_holidays_are_looked_up_once_per_year(monkeypatch):
    import holidays

    calls = []
    real = holidays.country_holidays

    def counting(*args, **kwargs):
        calls.append(kwargs.get("years"))
        return real(*args, **kwargs)

    monkeypatch.setattr(holidays, "country_holidays", counting)
    worktime._vietnam_days_off.cache_clear()
    source = VietnamHolidays()
    for _ in range(3):
        source.days_off(2031)
    assert len(calls) == 1


# --- The administrator's exceptions -------------------------------------------------------------


def test_a_make_up_saturday_entered_by_the_administrator_is_worked():
    saturday = dt.date(2027, 3, 13)
    calendar = WorkingCalendar(working_days={saturday})
    assert calendar.is_working_day(saturday)
    assert calendar.describe(saturday).kind == DayKind.ADDED_WORKING_DAY
    assert calendar.add_working_time(hanoi(2027, 3, 12, 16, 30), 8 * HOUR) == hanoi(
        2027, 3, 13, 16, 30
    )
    # Without the exception the same report is due on Monday.
    assert add_working_time(hanoi(2027, 3, 12, 16, 30), 8 * HOUR) == hanoi(2027, 3, 15, 16, 30)


def test_an_extra_day_off_entered_by_the_administrator_is_skipped():
    monday = dt.date(2027, 3, 15)
    calendar = WorkingCalendar(days_off={monday})
    assert calendar.describe(monday).kind == DayKind.ADDED_DAY_OFF
    assert calendar.add_working_time(hanoi(2027, 3, 12, 16, 30), 8 * HOUR) == hanoi(
        2027, 3, 16, 16, 30
    )


def test_the_administrator_can_overrule_a_package_holiday():
    # Say the government keeps Friday 5 Feb 2027 as a working day after all.
    eve = dt.date(2027, 2, 5)
    calendar = WorkingCalendar(working_days={eve})
    info = calendar.describe(eve)
    assert info.kind == DayKind.ADDED_WORKING_DAY
    assert info.name == "Lunar New Year's Eve"
    assert calendar.add_working_time(hanoi(2027, 2, 3, 16, 0), 8 * HOUR) == hanoi(2027, 2, 5, 16, 0)


def test_a_date_cannot_be_both_a_day_off_and_a_working_day():
    day = dt.date(2027, 3, 13)
    with pytest.raises(ValueError, match="both off and worked"):
        WorkingCalendar(days_off={day}, working_days={day})


@pytest.mark.parametrize(
    "periods",
    [
        (),
        (Period(dt.time(8), dt.time(12)), Period(dt.time(11), dt.time(17))),
        (Period(dt.time(13), dt.time(17)), Period(dt.time(8), dt.time(12))),
    ],
    ids=["none", "overlapping", "out-of-order"],
)
def test_bad_office_periods_are_refused(periods):
    with pytest.raises(ValueError):
        WorkingCalendar(periods=periods)


def test_a_period_that_ends_before_it_starts_is_refused():
    with pytest.raises(ValueError):
        Period(dt.time(17), dt.time(8))


def test_calendars_are_immutable_values():
    calendar = WorkingCalendar(working_days={dt.date(2027, 3, 13)})
    assert calendar == WorkingCalendar(working_days=frozenset({dt.date(2027, 3, 13)}))
    assert hash(calendar) == hash(WorkingCalendar(working_days={dt.date(2027, 3, 13)}))
    with pytest.raises(AttributeError):
        calendar.days_off = frozenset()  # type: ignore[misc]


# --- Working moments ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "working"),
    [
        (hanoi(2025, 6, 4, 7, 59), False),
        (hanoi(2025, 6, 4, 8, 0), True),
        (hanoi(2025, 6, 4, 11, 59), True),
        (hanoi(2025, 6, 4, 12, 0), False),
        (hanoi(2025, 6, 4, 13, 0), True),
        (hanoi(2025, 6, 4, 16, 59), True),
        (hanoi(2025, 6, 4, 17, 0), False),
        (hanoi(2025, 6, 7, 10, 0), False),  # Saturday
        (hanoi(2025, 9, 2, 10, 0), False),  # National Day
    ],
)
def test_working_time_is_office_hours_of_working_days(moment, working):
    assert is_working_time(moment) is working


@pytest.mark.parametrize(
    ("moment", "next_moment"),
    [
        (hanoi(2025, 6, 4, 10, 0), hanoi(2025, 6, 4, 10, 0)),
        (hanoi(2025, 6, 4, 6, 0), hanoi(2025, 6, 4, 8, 0)),
        (hanoi(2025, 6, 4, 12, 0), hanoi(2025, 6, 4, 13, 0)),
        (hanoi(2025, 6, 4, 17, 0), hanoi(2025, 6, 5, 8, 0)),
        (hanoi(2025, 6, 6, 17, 0), hanoi(2025, 6, 9, 8, 0)),
    ],
)
def test_next_working_moment(moment, next_moment):
    assert next_working_moment(moment) == next_moment


def test_any_time_zone_is_accepted_and_hanoi_time_returned():
    friday_1630_in_utc = dt.datetime(2025, 6, 6, 9, 30, tzinfo=UTC)
    deadline = add_working_time(friday_1630_in_utc, 8 * HOUR)
    assert deadline == hanoi(2025, 6, 9, 16, 30)
    assert deadline.tzinfo == CITY_TZ
    paris = dt.datetime(2025, 6, 6, 11, 30, tzinfo=ZoneInfo("Europe/Paris"))
    assert next_working_moment(paris).tzinfo == CITY_TZ
    assert is_working_day(dt.datetime(2025, 6, 6, 20, 0, tzinfo=UTC)) is False  # Sat 03:00


@pytest.mark.parametrize(
    "call",
    [
        lambda naive: add_working_time(naive, HOUR),
        lambda naive: add_working_days(naive, 1),
        lambda naive: working_time_between(naive, hanoi(2025, 6, 6)),
        lambda naive: working_time_between(hanoi(2025, 6, 6), naive),
        lambda naive: next_working_moment(naive),
        lambda naive: is_working_time(naive),
        lambda naive: is_working_day(naive),
    ],
    ids=["add", "days", "between-start", "between-end", "next", "is-time", "is-day"],
)
def test_naive_datetimes_are_refused(call):
    with pytest.raises(ValueError, match="naive"):
        call(dt.datetime(2025, 6, 6, 10, 0))


def test_negative_working_time_is_refused():
    with pytest.raises(ValueError):
        add_working_time(hanoi(2025, 6, 6, 10), -HOUR)
    with pytest.raises(ValueError):
        add_working_days(hanoi(2025, 6, 6, 10), -1)


# --- Working time between two moments ------------------------------------------------------------


def test_working_time_between_counts_office_hours_only():
    assert working_time_between(hanoi(2025, 6, 6, 16, 30), hanoi(2025, 6, 9, 16, 30)) == 8 * HOUR
    assert working_time_between(hanoi(2025, 6, 4, 11, 0), hanoi(2025, 6, 4, 14, 0)) == 2 * HOUR
    assert working_time_between(hanoi(2025, 6, 7, 9, 0), hanoi(2025, 6, 8, 18, 0)) == dt.timedelta(
        0
    )


def test_working_time_between_is_negative_when_the_end_comes_first():
    assert working_time_between(hanoi(2025, 6, 9, 16, 30), hanoi(2025, 6, 6, 16, 30)) == -8 * HOUR


def test_working_time_of_a_whole_year_is_its_working_days_times_eight_hours():
    calendar = WorkingCalendar()
    working_days = 0
    day = dt.date(2026, 1, 1)
    while day.year == 2026:
        working_days += calendar.is_working_day(day)
        day += dt.timedelta(days=1)
    span = working_time_between(hanoi(2026, 1, 1), hanoi(2027, 1, 1))
    assert span == working_days * 8 * HOUR
    # 261 weekdays, 13 of them off (1 Jan, 5 of Tết, 27 Apr, 30 Apr, 1 May, 31 Aug, 1 and
    # 2 Sep, 24 Nov), plus Saturday 22 Aug worked.
    assert working_days == 261 - 13 + 1


def test_spans_across_years_add_up():
    a, b, c = hanoi(2025, 3, 3, 9, 17), hanoi(2026, 7, 1, 14, 2), hanoi(2028, 2, 29, 10, 0)
    assert working_time_between(a, c) == working_time_between(a, b) + working_time_between(b, c)


def _minute_by_minute(calendar: WorkingCalendar, start: dt.datetime, end: dt.datetime) -> int:
    """An obviously right (and slow) count of working minutes, start and end on the minute."""
    minutes = 0
    moment = start
    while moment < end:
        minutes += calendar.is_working_time(moment)
        moment += dt.timedelta(minutes=1)
    return minutes


def test_working_time_between_matches_a_minute_by_minute_count():
    rng = random.Random(2027)
    calendar = WorkingCalendar(working_days={dt.date(2027, 2, 13)}, days_off={dt.date(2027, 2, 1)})
    base = hanoi(2027, 1, 28)
    for _ in range(30):
        start = base + dt.timedelta(minutes=rng.randrange(60 * 24 * 20))
        end = start + dt.timedelta(minutes=rng.randrange(60 * 24 * 6))
        expected = _minute_by_minute(calendar, start, end)
        assert calendar.working_time_between(start, end) == dt.timedelta(minutes=expected)


def test_working_time_between_inverts_add_working_time():
    rng = random.Random(20250701)
    calendar = WorkingCalendar(
        working_days={dt.date(2026, 3, 14)}, days_off={dt.date(2026, 3, 16), dt.date(2027, 1, 4)}
    )
    base = hanoi(2025, 12, 1)
    for _ in range(2000):
        start = base + dt.timedelta(seconds=rng.randrange(60 * 60 * 24 * 800))
        delta = dt.timedelta(
            seconds=rng.choice([0, rng.randrange(60 * 60 * 8), rng.randrange(60 * 60 * 8 * 200)]),
            microseconds=rng.randrange(1_000_000),
        )
        deadline = calendar.add_working_time(start, delta)
        assert deadline >= start
        assert calendar.working_time_between(start, deadline) == delta, (start, delta)
        assert calendar.working_time_between(deadline, start) == -delta
        if delta:
            # The earliest such moment: it is working time, or the end of a period.
            assert calendar.is_working_time(deadline) or deadline.time() in (
                dt.time(12),
                dt.time(17),
            )


def test_a_calendar_without_holidays_counts_weekends_only():
    calendar = WorkingCalendar(holidays=NoHolidays())
    assert calendar.is_working_day(dt.date(2027, 2, 8))  # Mon of Tết, not known here
    assert calendar.working_days_count(dt.date(2027, 2, 1), dt.date(2027, 2, 28)) == 20
