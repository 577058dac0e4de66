"""Working time: the city's working calendar and deadline arithmetic (DESIGN §2, §4.5).

Pure: imports no Django, no models. The database side (the administrator's exceptions, the
calendar cached per process) is ``ihanoi.workcalendar``.

The calendar
    Asia/Ho_Chi_Minh; Monday–Friday; office periods 08:00–12:00 and 13:00–17:00 (a working
    day is therefore 8 working hours). Public holidays come from the ``holidays`` package,
    observed and moved days included. For the years around the platform's start it gives:

    - Tết 2025: Mon 27 Jan – Sat 1 Feb; 2026: Mon 16 – Fri 20 Feb; 2027: Thu 4 – Wed 10 Feb
      (Tết itself is Sat 6 Feb 2027, so the package moves the Saturday and the Sunday off to
      Thu 4 Feb, "29 Tết", and Wed 10 Feb, "mùng năm");
    - 2 September, with the second day (since 2021) on the weekday next to it: 2025 Mon 1 +
      Tue 2 Sep; 2026 Tue 1 + Wed 2 Sep, plus Mon 31 Aug 2026 moved from Sat 22 Aug, which is
      worked; 2027 Thu 2 + Fri 3 Sep;
    - Fri 2 May 2025 off, moved from Sat 26 Apr 2025, which is worked;
    - Vietnam Cultural Day, 24 November, from 2026.

    The weekends that the package says are worked (``weekend_workdays``: 26 Apr 2025,
    22 Aug 2026) are working days here. Decisions the package does not know yet are entered
    by the administrator as exceptions: extra days off and make-up working days. An
    administrator's exception wins over the package, so a wrong estimate can be corrected.

Working time
    Working time is a continuous clock that runs only inside office periods of working days.
    Periods are half-open: 12:00 and 17:00 are not working moments, 08:00 and 13:00 are.

    - ``add_working_time(start, d)`` is the earliest moment at which ``d`` of working time has
      elapsed since ``start``. So a start outside working time counts from the next working
      moment, and a deadline that falls at the end of a period stays there (17:00 on the day,
      not 08:00 on the next). A zero delta returns ``start`` itself.
    - ``add_working_days(start, n)`` is ``n`` × the working-day length (8 h): DESIGN counts
      limits in working hours, so "5 working days" from Tuesday 10:15 is the next Tuesday
      10:15 (without holidays), and a report sent on Saturday is due on Friday at 17:00.
    - ``working_time_between(start, end)`` is signed: negative when ``end`` is before
      ``start`` (it is the same clock read twice), so "how late" is
      ``max(timedelta(0), working_time_between(deadline, done_at))``, and
      ``working_time_between(start, add_working_time(start, d)) == d`` exactly (integer
      microseconds, no floats).

    Spans are counted with per-year prefix sums of working days, so a span of months costs
    the same as a span of minutes once the year's table is built (one pass over 365 days).

Time zones
    Every function takes aware datetimes in any zone, refuses naive ones (``ValueError``),
    and returns datetimes in the calendar's zone. Periods are wall-clock times; Vietnam has
    no daylight saving time, so wall-clock and elapsed time agree.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol
from zoneinfo import ZoneInfo

CITY_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MONDAY_TO_FRIDAY: frozenset[int] = frozenset(range(5))
_ZERO = dt.timedelta(0)
_ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Period:
    """Office hours within a day, wall-clock, half-open: ``start <= t < end``."""

    start: dt.time
    end: dt.time

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("office periods are wall-clock times without a time zone")
        if not self.start < self.end:
            raise ValueError(f"an office period must end after it starts: {self}")

    @property
    def length(self) -> dt.timedelta:
        return _since_midnight(self.end) - _since_midnight(self.start)


OFFICE_HOURS: tuple[Period, ...] = (
    Period(dt.time(8), dt.time(12)),
    Period(dt.time(13), dt.time(17)),
)


# --- Holiday sources --------------------------------------------------------------------------


class HolidaySource(Protocol):
    """Public holidays by year. Must be hashable (the calendar is a frozen value)."""

    def days_off(self, year: int) -> Mapping[dt.date, str]:
        """Days off in ``year`` (observed and moved days included), with their names."""
        ...

    def working_days(self, year: int) -> frozenset[dt.date]:
        """Weekend days of ``year`` worked by law, in exchange for a moved day off."""
        ...


@dataclass(frozen=True, slots=True)
class NoHolidays:
    """A source without holidays: weekends and the administrator's exceptions only."""

    def days_off(self, year: int) -> Mapping[dt.date, str]:
        return MappingProxyType({})

    def working_days(self, year: int) -> frozenset[dt.date]:
        return frozenset()


# The package's translations of the Vietnamese holiday names.
HOLIDAY_LANGUAGES = ("vi", "en_US")


@dataclass(frozen=True, slots=True)
class VietnamHolidays:
    """Vietnam's public holidays from the ``holidays`` package, cached per year.

    ``language`` only changes the names (``"vi"`` or ``"en_US"``), never which days are off.
    """

    language: str = "en_US"

    def __post_init__(self) -> None:
        if self.language not in HOLIDAY_LANGUAGES:
            raise ValueError(f"holiday names exist in {HOLIDAY_LANGUAGES}, not {self.language!r}")

    def days_off(self, year: int) -> Mapping[dt.date, str]:
        return _vietnam_days_off(year, self.language)

    def working_days(self, year: int) -> frozenset[dt.date]:
        return _vietnam_weekend_workdays(year)


def holiday_language(language_code: str) -> str:
    """The package's language for a Django language code (``"vi"``, ``"en"``, ``"en-us"``)."""
    return "vi" if language_code.lower().startswith("vi") else "en_US"


@functools.cache
def _vietnam_years() -> range:
    import holidays

    country = holidays.country_holidays("VN")
    return range(country.start_year, country.end_year + 1)


def _vietnam_holidays(year: int, language: str) -> Any:
    import holidays

    supported = _vietnam_years()
    if year not in supported:
        # Outside its range the package answers with no holidays at all: refuse rather than
        # compute deadlines on a calendar without Tết.
        raise ValueError(
            f"Vietnamese public holidays are known for {supported.start}–{supported.stop - 1},"
            f" not {year}"
        )
    # Neighbouring years too: a day moved across New Year (31 Dec 2018 for Sat 5 Jan 2019)
    # belongs to the other year's decision.
    years = [y for y in (year - 1, year, year + 1) if y in supported]
    return holidays.country_holidays("VN", years=years, language=language)


@functools.lru_cache(maxsize=512)
def _vietnam_days_off(year: int, language: str) -> Mapping[dt.date, str]:
    country = _vietnam_holidays(year, language)
    days = {day: str(name) for day, name in country.items() if day.year == year}
    return MappingProxyType(dict(sorted(days.items())))


@functools.lru_cache(maxsize=512)
def _vietnam_weekend_workdays(year: int) -> frozenset[dt.date]:
    country = _vietnam_holidays(year, "en_US")
    workdays: Iterable[dt.date] = getattr(country, "weekend_workdays", ())
    return frozenset(day for day in workdays if day.year == year)


# --- The calendar -----------------------------------------------------------------------------


class DayKind(enum.StrEnum):
    WORKDAY = "workday"  # a weekday in office
    WEEKEND = "weekend"
    PUBLIC_HOLIDAY = "public_holiday"  # from the holiday source, observed and moved days too
    MAKE_UP_DAY = "make_up_day"  # a weekend day the holiday source says is worked
    ADDED_DAY_OFF = "added_day_off"  # the administrator's extra day off
    ADDED_WORKING_DAY = "added_working_day"  # the administrator's make-up working day


_WORKING_KINDS = frozenset({DayKind.WORKDAY, DayKind.MAKE_UP_DAY, DayKind.ADDED_WORKING_DAY})


@dataclass(frozen=True, slots=True)
class DayInfo:
    day: dt.date
    kind: DayKind
    # The public holiday's name (in the source's language) when the day is one.
    name: str = ""

    @property
    def is_working(self) -> bool:
        return self.kind in _WORKING_KINDS


def _since_midnight(value: dt.time | dt.datetime) -> dt.timedelta:
    seconds = value.hour * 3600 + value.minute * 60 + value.second
    return dt.timedelta(seconds=seconds, microseconds=value.microsecond)


def _day_of_year(day: dt.date) -> int:
    """0 for 1 January."""
    return day.toordinal() - dt.date(day.year, 1, 1).toordinal()


@dataclass(frozen=True)
class WorkingCalendar:
    """The working calendar as an immutable value; build a new one when exceptions change.

    ``days_off`` and ``working_days`` are the administrator's exceptions; they win over the
    holiday source and the weekend rule.
    """

    holidays: HolidaySource = field(default_factory=VietnamHolidays)
    days_off: frozenset[dt.date] = frozenset()
    working_days: frozenset[dt.date] = frozenset()
    periods: tuple[Period, ...] = OFFICE_HOURS
    weekdays: frozenset[int] = MONDAY_TO_FRIDAY
    tz: dt.tzinfo = CITY_TZ
    # Per-year prefix sums of working days: ``table[i]`` = working days before day i of the
    # year (``table[-1]`` = the year's total). Filled lazily; a cache, not part of the value.
    _tables: dict[int, list[int]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    # The periods as (start, end, length) since midnight, and their total: precomputed
    # because every call reads them.
    _bounds: tuple[tuple[dt.timedelta, dt.timedelta, dt.timedelta], ...] = field(
        default=(), init=False, repr=False, compare=False, hash=False
    )
    _day_length: dt.timedelta = field(
        default=_ZERO, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        # Accept any iterables (a set from the database) but keep the value hashable.
        object.__setattr__(self, "days_off", frozenset(self.days_off))
        object.__setattr__(self, "working_days", frozenset(self.working_days))
        object.__setattr__(self, "periods", tuple(self.periods))
        object.__setattr__(self, "weekdays", frozenset(self.weekdays))
        if both := self.days_off & self.working_days:
            raise ValueError(f"days both off and worked: {sorted(both)}")
        if not self.periods:
            raise ValueError("a working calendar needs at least one office period")
        for earlier, later in zip(self.periods, self.periods[1:], strict=False):
            if later.start < earlier.end:
                raise ValueError("office periods must be in order and must not overlap")
        if not self.weekdays or not self.weekdays <= set(range(7)):
            raise ValueError("weekdays are 0 (Monday) to 6 (Sunday), at least one")
        bounds = tuple(
            (_since_midnight(period.start), _since_midnight(period.end), period.length)
            for period in self.periods
        )
        object.__setattr__(self, "_bounds", bounds)
        object.__setattr__(self, "_day_length", sum((length for *_, length in bounds), _ZERO))

    # --- Days ---------------------------------------------------------------------------------

    @property
    def day_length(self) -> dt.timedelta:
        """Working time in one working day (8 hours for the city's office hours)."""
        return self._day_length

    def describe(self, day: dt.date) -> DayInfo:
        """Why ``day`` is worked or not; the administrator's exceptions come first."""
        holiday_name = self.holidays.days_off(day.year).get(day, "")
        if day in self.working_days:
            return DayInfo(day, DayKind.ADDED_WORKING_DAY, holiday_name)
        if day in self.days_off:
            return DayInfo(day, DayKind.ADDED_DAY_OFF, holiday_name)
        if holiday_name:
            return DayInfo(day, DayKind.PUBLIC_HOLIDAY, holiday_name)
        if day in self.holidays.working_days(day.year):
            return DayInfo(day, DayKind.MAKE_UP_DAY)
        if day.weekday() in self.weekdays:
            return DayInfo(day, DayKind.WORKDAY)
        return DayInfo(day, DayKind.WEEKEND)

    def is_working_day(self, day: dt.date) -> bool:
        if isinstance(day, dt.datetime):
            # A datetime is a date too; its day depends on the zone, so say which one.
            day = self._local(day).date()
        if day in self.working_days:
            return True
        if day in self.days_off or day in self.holidays.days_off(day.year):
            return False
        if day in self.holidays.working_days(day.year):
            return True
        return day.weekday() in self.weekdays

    def special_days(self, year: int) -> list[DayInfo]:
        """Days of ``year`` that the weekday rule alone gets wrong: weekdays not worked
        (holidays, added days off) and weekend days worked (make-up days)."""
        found = []
        day = dt.date(year, 1, 1)
        while day.year == year:
            info = self.describe(day)
            if info.is_working != (day.weekday() in self.weekdays):
                found.append(info)
            day += _ONE_DAY
        return found

    def working_days_count(self, first: dt.date, last: dt.date) -> int:
        """Working days from ``first`` to ``last``, both included (0 when last < first)."""
        if last < first:
            return 0
        return self._working_days_in(first, last + _ONE_DAY)

    # --- Moments ------------------------------------------------------------------------------

    def is_working_time(self, moment: dt.datetime) -> bool:
        local = self._local(moment)
        if not self.is_working_day(local.date()):
            return False
        time_of_day = local.time()
        return any(period.start <= time_of_day < period.end for period in self.periods)

    def next_working_moment(self, moment: dt.datetime) -> dt.datetime:
        """``moment`` itself when it is working time, else the start of the next period."""
        local = self._local(moment)
        day = local.date()
        if self.is_working_day(day):
            time_of_day = local.time()
            for period in self.periods:
                if time_of_day < period.start:
                    return self._at(day, _since_midnight(period.start))
                if time_of_day < period.end:
                    return local
        following = self._nth_working_day_from(day + _ONE_DAY, 0)
        return self._at(following, _since_midnight(self.periods[0].start))

    def add_working_time(self, start: dt.datetime, delta: dt.timedelta) -> dt.datetime:
        """The earliest moment at which ``delta`` of working time has elapsed since ``start``."""
        local = self._local(start)
        if delta < _ZERO:
            raise ValueError(f"working time to add must not be negative: {delta}")
        if delta == _ZERO:
            return local
        day = local.date()
        # Working time from the start of ``day`` to the deadline, in whole working days
        # (``day`` is day 0 when worked) and the rest.
        target = self._worked_in_day(local) + delta
        whole_days, rest = divmod(target, self._day_length)
        if rest == _ZERO:
            # Exactly at the end of a working day: stay at its last period's end.
            deadline_day = self._nth_working_day_from(day, whole_days - 1)
            return self._at(deadline_day, self._bounds[-1][1])
        deadline_day = self._nth_working_day_from(day, whole_days)
        return self._at(deadline_day, self._time_at_offset(rest))

    def add_working_days(self, start: dt.datetime, days: int) -> dt.datetime:
        """``days`` × the working-day length of working time after ``start``."""
        if days < 0:
            raise ValueError(f"working days to add must not be negative: {days}")
        return self.add_working_time(start, days * self.day_length)

    def working_time_between(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """Working time from ``start`` to ``end``; negative when ``end`` is earlier."""
        local_start, local_end = self._local(start), self._local(end)
        if local_end < local_start:
            return -self._elapsed(local_end, local_start)
        return self._elapsed(local_start, local_end)

    # --- Internals ----------------------------------------------------------------------------

    def _local(self, moment: dt.datetime) -> dt.datetime:
        if not isinstance(moment, dt.datetime):
            raise TypeError(f"expected a datetime, got {type(moment).__name__}")
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"naive datetime refused (say its time zone): {moment.isoformat()}")
        return moment.astimezone(self.tz)

    def _at(self, day: dt.date, time_of_day: dt.timedelta) -> dt.datetime:
        # Adding to an aware datetime is wall-clock arithmetic in its zone.
        return dt.datetime.combine(day, dt.time(0), tzinfo=self.tz) + time_of_day

    def _worked_in_day(self, local: dt.datetime) -> dt.timedelta:
        """Working time on ``local``'s day before ``local`` (zero on a day not worked)."""
        if not self.is_working_day(local.date()):
            return _ZERO
        time_of_day = _since_midnight(local)
        worked = _ZERO
        for begin, end, length in self._bounds:
            if time_of_day >= end:
                worked += length
            elif time_of_day > begin:
                worked += time_of_day - begin
        return worked

    def _time_at_offset(self, offset: dt.timedelta) -> dt.timedelta:
        """Wall-clock time of day at which ``offset`` (0 < offset <= day length) of the day's
        working time has elapsed; an offset at a period's end stays at that end."""
        elapsed = _ZERO
        for begin, _end, length in self._bounds:
            if offset <= elapsed + length:
                return begin + (offset - elapsed)
            elapsed += length
        raise AssertionError(f"offset {offset} beyond the working day")  # pragma: no cover

    def _elapsed(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        # start <= end, both local.
        whole_days = self._working_days_in(start.date(), end.date())
        worked_days = whole_days * self._day_length
        return worked_days + self._worked_in_day(end) - self._worked_in_day(start)

    def _table(self, year: int) -> list[int]:
        table = self._tables.get(year)
        if table is None:
            table = [0]
            count = 0
            day = dt.date(year, 1, 1)
            while day.year == year:
                count += self.is_working_day(day)
                table.append(count)
                day += _ONE_DAY
            # Two threads may build the same year; both build the same list.
            self._tables[year] = table
        return table

    def _working_days_in(self, first: dt.date, stop: dt.date) -> int:
        """Working days in ``[first, stop)``."""
        if stop <= first:
            return 0
        total = 0
        for year in range(first.year, stop.year + 1):
            high = _day_of_year(stop) if year == stop.year else None
            if high == 0:
                break  # nothing of that year is in the span; don't build its table
            table = self._table(year)
            low = _day_of_year(first) if year == first.year else 0
            total += table[len(table) - 1 if high is None else high] - table[low]
        return total

    def _nth_working_day_from(self, first: dt.date, n: int) -> dt.date:
        """The working day with ``n`` working days between ``first`` (included) and it."""
        year, low = first.year, _day_of_year(first)
        while True:
            table = self._table(year)
            available = table[-1] - table[low]
            if n < available:
                # table[i + 1] reaches target + 1 exactly at the working day sought.
                target = table[low] + n
                index = bisect_left(table, target + 1) - 1
                return dt.date(year, 1, 1) + dt.timedelta(days=index)
            n -= available
            year, low = year + 1, 0


# --- Module-level helpers on the default calendar (no exceptions) -----------------------------

DEFAULT_CALENDAR = WorkingCalendar()


def is_working_day(day: dt.date, *, calendar: WorkingCalendar = DEFAULT_CALENDAR) -> bool:
    return calendar.is_working_day(day)


def is_working_time(moment: dt.datetime, *, calendar: WorkingCalendar = DEFAULT_CALENDAR) -> bool:
    return calendar.is_working_time(moment)


def next_working_moment(
    moment: dt.datetime, *, calendar: WorkingCalendar = DEFAULT_CALENDAR
) -> dt.datetime:
    return calendar.next_working_moment(moment)


def add_working_time(
    start: dt.datetime, delta: dt.timedelta, *, calendar: WorkingCalendar = DEFAULT_CALENDAR
) -> dt.datetime:
    return calendar.add_working_time(start, delta)


def add_working_days(
    start: dt.datetime, days: int, *, calendar: WorkingCalendar = DEFAULT_CALENDAR
) -> dt.datetime:
    return calendar.add_working_days(start, days)


def working_time_between(
    start: dt.datetime, end: dt.datetime, *, calendar: WorkingCalendar = DEFAULT_CALENDAR
) -> dt.timedelta:
    return calendar.working_time_between(start, end)
