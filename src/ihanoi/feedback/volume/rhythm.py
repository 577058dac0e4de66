"""When residents submit: the day-to-day and hour-to-hour rhythm of a city's feedback.

A day's weight is the product of
- the weekday (Mondays busiest, Sundays quietest) and public holidays (Tết empties the
  city), read from the working calendar;
- the platform's growth: the last day of the span gets ~2.6 times the reports of the first;
- the season: the rainy months (June to September) bring more, and a few storm days in
  them bring a burst of flooding and fallen trees (with their own category mix);
- a few city campaigns a year, each a week of more reports.
Within a day, the hour follows residents' day: little at night, peaks mid-morning and late
afternoon, busier evenings at weekends.
"""

from __future__ import annotations

import datetime as dt
import random
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate

from ihanoi.lib.worktime import CITY_TZ, WorkingCalendar

WEEKDAY = (1.12, 1.08, 1.05, 1.02, 0.98, 0.8, 0.72)  # Monday … Sunday
HOLIDAY = 0.6
WORKDAY_HOURS = (1, 1, 1, 1, 1, 2, 4, 7, 9, 9, 8, 7, 6, 7, 8, 8, 7, 6, 5, 4, 4, 3, 2, 1)
WEEKEND_HOURS = (2, 1, 1, 1, 1, 1, 2, 4, 6, 8, 8, 7, 6, 6, 7, 7, 7, 7, 6, 6, 5, 4, 3, 2)
GROWTH = (0.55, 1.45)  # weight of the first and the last day of the span
RAINY_MONTHS = frozenset({6, 7, 8, 9})
DRY_MONTHS = frozenset({11, 12, 1, 2})
RAINY = 1.15
STORM = 2.5
STORMS_PER_RAINY_SEASON = 3
CAMPAIGN = 1.4
CAMPAIGNS_PER_YEAR = 2


@dataclass(frozen=True)
class Day:
    date: dt.date
    weight: float
    season: str  # a key of city.SEASON_FACTORS
    weekend: bool


def days_of(
    start: dt.datetime, end: dt.datetime, calendar: WorkingCalendar, rng: random.Random
) -> list[Day]:
    """The local days touched by ``[start, end)``, with their weights (a day cut by the span
    weighs the share of its hours inside)."""
    first, last = start.astimezone(CITY_TZ).date(), (end - _TICK).astimezone(CITY_TZ).date()
    dates = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    storms: set[dt.date] = set()
    for year in {d.year for d in dates}:
        rainy_days = [d for d in dates if d.year == year and d.month in RAINY_MONTHS]
        for _ in range(STORMS_PER_RAINY_SEASON if rainy_days else 0):
            day = rng.choice(rainy_days)
            storms.update({day, day + dt.timedelta(days=1)})
    campaigns: set[dt.date] = set()
    weeks = max(1, round(len(dates) / 365 * CAMPAIGNS_PER_YEAR))
    for _ in range(weeks if len(dates) > 28 else 0):
        begin = rng.choice(dates)
        campaigns.update(begin + dt.timedelta(days=i) for i in range(7))
    days = []
    span = max(1, len(dates) - 1)
    for i, date in enumerate(dates):
        weekend = date.weekday() >= 5
        weight = WEEKDAY[date.weekday()]
        if not weekend and not calendar.is_working_day(date):
            weight *= HOLIDAY
        weight *= GROWTH[0] + (GROWTH[1] - GROWTH[0]) * i / span
        season = "normal"
        if date in storms:
            weight *= STORM
            season = "storm"
        elif date.month in RAINY_MONTHS:
            weight *= RAINY
            season = "rainy"
        elif date.month in DRY_MONTHS:
            season = "dry"
        if date in campaigns:
            weight *= CAMPAIGN
        hours = _hours_inside(date, start, end, weekend)
        weight *= sum(hours) / sum(WEEKEND_HOURS if weekend else WORKDAY_HOURS)
        if weight > 0:
            days.append(Day(date, weight, season, weekend))
    return days


_TICK = dt.timedelta(microseconds=1)


def _hours_inside(
    date: dt.date, start: dt.datetime, end: dt.datetime, weekend: bool
) -> list[float]:
    """The day's hour weights, each scaled by the share of that hour inside the span."""
    profile = WEEKEND_HOURS if weekend else WORKDAY_HOURS
    midnight = dt.datetime.combine(date, dt.time(0), tzinfo=CITY_TZ)
    weights = []
    for hour, weight in enumerate(profile):
        begin = midnight + dt.timedelta(hours=hour)
        stop = begin + dt.timedelta(hours=1)
        inside = (min(stop, end) - max(begin, start)).total_seconds()
        weights.append(weight * max(0.0, min(1.0, inside / 3600)))
    return weights


def moments(
    count: int,
    start: dt.datetime,
    end: dt.datetime,
    calendar: WorkingCalendar,
    rng: random.Random,
) -> Iterator[tuple[dt.datetime, Day]]:
    """``count`` submission moments in ``[start, end)``, in order, with their day."""
    days = days_of(start, end, calendar, rng)
    if not days:
        return
    cum = list(accumulate(day.weight for day in days))
    per_day = Counter(bisect_right(cum, rng.random() * cum[-1]) for _ in range(count))
    for index, day in enumerate(days):
        n = per_day.get(index, 0)
        if not n:
            continue
        hours = _hours_inside(day.date, start, end, day.weekend)
        hour_cum = list(accumulate(hours))
        midnight = dt.datetime.combine(day.date, dt.time(0), tzinfo=CITY_TZ)
        found: list[dt.datetime] = []
        while len(found) < n:
            hour = bisect_right(hour_cum, rng.random() * hour_cum[-1])
            moment = midnight + dt.timedelta(hours=hour, seconds=rng.random() * 3600)
            moment = moment.replace(microsecond=0)
            if start <= moment < end:  # the hour may be cut by the span's ends
                found.append(moment)
        found.sort()
        for moment in found:
            yield moment, day
