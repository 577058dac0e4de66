"""Periods of the statistics: local days in Asia/Ho_Chi_Minh (a day starts at local
midnight, 17:00 UTC the day before). Pure."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from ihanoi.lib.worktime import CITY_TZ


class PeriodKind(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    CUSTOM = "custom"


# A custom range longer than this is refused: the pages read roll-ups per day.
MAX_DAYS = 3 * 366


def local_day(moment: dt.datetime) -> dt.date:
    """The city's date of an aware moment."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime refused")
    return moment.astimezone(CITY_TZ).date()


def local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=CITY_TZ)


def today(now: dt.datetime | None = None) -> dt.date:
    return local_day(now or dt.datetime.now(dt.UTC))


@dataclass(frozen=True)
class Period:
    """Local days ``first`` to ``last``, both included."""

    kind: PeriodKind
    first: dt.date
    last: dt.date

    @classmethod
    def around(cls, kind: PeriodKind, day: dt.date) -> Period:
        """The day, ISO week (Monday–Sunday) or calendar month containing ``day``."""
        if kind == PeriodKind.DAY:
            return cls(kind, day, day)
        if kind == PeriodKind.WEEK:
            monday = day - dt.timedelta(days=day.weekday())
            return cls(kind, monday, monday + dt.timedelta(days=6))
        if kind == PeriodKind.MONTH:
            first = day.replace(day=1)
            following = (first + dt.timedelta(days=32)).replace(day=1)
            return cls(kind, first, following - dt.timedelta(days=1))
        raise ValueError("a custom period needs its first and last day")

    @classmethod
    def custom(cls, first: dt.date, last: dt.date) -> Period:
        if last < first:
            raise ValueError("the period ends before it starts")
        if (last - first).days + 1 > MAX_DAYS:
            raise ValueError("the period is too long")
        return cls(PeriodKind.CUSTOM, first, last)

    @property
    def start(self) -> dt.datetime:
        """Local midnight at the start of ``first``."""
        return local_midnight(self.first)

    @property
    def end(self) -> dt.datetime:
        """Local midnight after ``last`` (exclusive)."""
        return local_midnight(self.last + dt.timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def contains(self, day: dt.date) -> bool:
        return self.first <= day <= self.last

    def previous(self) -> Period:
        if self.kind == PeriodKind.CUSTOM:
            span = dt.timedelta(days=self.days)
            return Period(self.kind, self.first - span, self.last - span)
        return Period.around(self.kind, self.first - dt.timedelta(days=1))

    def following(self) -> Period:
        if self.kind == PeriodKind.CUSTOM:
            span = dt.timedelta(days=self.days)
            return Period(self.kind, self.first + span, self.last + span)
        return Period.around(self.kind, self.last + dt.timedelta(days=1))

    def trend_step(self) -> str:
        """Bucket of the trend charts: days up to two months, weeks up to a year, months."""
        if self.days <= 62:
            return "day"
        if self.days <= 366:
            return "week"
        return "month"

    def label(self) -> str:
        if self.first == self.last:
            return self.first.strftime("%d/%m/%Y")
        return f"{self.first:%d/%m/%Y} – {self.last:%d/%m/%Y}"


def bucket_start(day: dt.date, step: str) -> dt.date:
    if step == "week":
        return day - dt.timedelta(days=day.weekday())
    if step == "month":
        return day.replace(day=1)
    return day
