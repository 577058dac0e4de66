"""Reads for the working calendar: the city's calendar with the administrator's exceptions,
and deadlines computed on it.

``city_calendar()`` is cached per process, because deadlines are computed on every status
change and oversight reads thousands of spans. The cache is checked against a stamp of the
exceptions table (row count, highest id, latest ``updated_at``: one aggregate query) at most
every ``STAMP_CHECK_SECONDS``, so a change made by another process (web, worker, scheduler)
is seen within that time, with no shared memory and no dependence on a shared cache. The
process that makes the change through the services sees it at once.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass

from django.db.models import Count, Max, QuerySet
from django.utils import translation

from ihanoi.lib.worktime import (
    HolidaySource,
    VietnamHolidays,
    WorkingCalendar,
    holiday_language,
)
from ihanoi.workcalendar.models import CalendarException

STAMP_CHECK_SECONDS = 5.0


def _clock() -> float:
    # Wall-clock time, not monotonic: a frozen clock in tests (time-machine) moves it.
    return time.time()


Stamp = tuple[int, int | None, dt.datetime | None]


@dataclass
class _Cached:
    calendar: WorkingCalendar | None = None
    stamp: Stamp | None = None
    checked_at: float = 0.0


_cached = _Cached()
_lock = threading.Lock()


def _stamp() -> Stamp:
    row = CalendarException.objects.aggregate(
        count=Count("id"), max_id=Max("id"), max_updated=Max("updated_at")
    )
    return (row["count"], row["max_id"], row["max_updated"])


def calendar_build(*, holidays: HolidaySource | None = None) -> WorkingCalendar:
    """A fresh calendar from the database (no cache): public holidays + every exception."""
    days_off: set[dt.date] = set()
    working_days: set[dt.date] = set()
    for day, kind in CalendarException.objects.values_list("date", "kind"):
        (days_off if kind == CalendarException.Kind.DAY_OFF else working_days).add(day)
    return WorkingCalendar(
        holidays=holidays or VietnamHolidays(),
        days_off=frozenset(days_off),
        working_days=frozenset(working_days),
    )


def city_calendar() -> WorkingCalendar:
    """The city's working calendar, exceptions included (see the module's note on caching)."""
    now = _clock()
    cached = _cached
    calendar = cached.calendar
    # A clock that went back (time set by hand) also triggers a check.
    if calendar is not None and 0 <= now - cached.checked_at < STAMP_CHECK_SECONDS:
        return calendar
    with _lock:
        stamp = _stamp()
        if cached.calendar is None or stamp != cached.stamp:
            # The stamp is read before the rows: a change in between makes the next check
            # rebuild again, never keeps a calendar older than its stamp.
            cached.calendar = calendar_build()
            cached.stamp = stamp
        cached.checked_at = now
        return cached.calendar


def city_calendar_clear() -> None:
    """Forget the cached calendar; the next ``city_calendar()`` reads the database."""
    with _lock:
        _cached.calendar = None
        _cached.stamp = None
        _cached.checked_at = 0.0


def deadline_after(
    start: dt.datetime,
    *,
    working_hours: float | None = None,
    working_days: int | None = None,
) -> dt.datetime:
    """The moment ``working_hours`` (or ``working_days`` × 8 working hours) of the city's
    working time after ``start``, in Asia/Ho_Chi_Minh. Give exactly one of the two."""
    if (working_hours is None) == (working_days is None):
        raise TypeError("give exactly one of working_hours and working_days")
    calendar = city_calendar()
    if working_days is not None:
        return calendar.add_working_days(start, working_days)
    assert working_hours is not None
    return calendar.add_working_time(start, dt.timedelta(hours=working_hours))


def holidays_in_active_language() -> VietnamHolidays:
    """The public holidays, named in the language of the current request or command."""
    return VietnamHolidays(language=holiday_language(translation.get_language() or "vi"))


def calendar_exceptions(*, year: int | None = None) -> QuerySet[CalendarException]:
    """The administrator's exceptions, by date; those of ``year`` only when given."""
    exceptions = CalendarException.objects.select_related("created_by").order_by("date")
    if year is not None:
        exceptions = exceptions.filter(date__year=year)
    return exceptions
