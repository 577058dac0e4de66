"""Time limits of DESIGN §2, in working time on the city's calendar.

Every number is configuration: a category may set its own; otherwise the city-wide defaults
below (Decision 1207/QĐ-UBND practice) apply.
"""

from __future__ import annotations

import datetime

from django.conf import settings

from ihanoi.workcalendar.selectors import deadline_after

from .models import Category, Severity

ACCEPT_HOURS = 8
URGENT_RESOLVE_HOURS = 4
NORMAL_RESOLVE_DAYS = 5
COMPLEX_RESOLVE_DAYS = 10
# How early the agency lead and the hub hear that a deadline is near.
DUE_SOON_WORKING_HOURS = 2


def rating_window() -> datetime.timedelta:
    """Calendar days a resident has to rate a result before the report closes unrated."""
    return datetime.timedelta(days=getattr(settings, "IHANOI_RATING_WINDOW_DAYS", 7))


def accept_deadline(category: Category, start: datetime.datetime) -> datetime.datetime:
    return deadline_after(start, working_hours=category.accept_hours or ACCEPT_HOURS)


def resolve_deadline(
    category: Category, severity: str, start: datetime.datetime
) -> datetime.datetime:
    if severity == Severity.URGENT:
        hours = category.urgent_resolve_hours or URGENT_RESOLVE_HOURS
        return deadline_after(start, working_hours=hours)
    if severity == Severity.COMPLEX:
        return deadline_after(
            start, working_days=category.complex_resolve_days or COMPLEX_RESOLVE_DAYS
        )
    return deadline_after(start, working_days=category.normal_resolve_days or NORMAL_RESOLVE_DAYS)


def due_soon_threshold(now: datetime.datetime) -> datetime.datetime:
    """Deadlines before this moment count as "due soon"."""
    return deadline_after(now, working_hours=DUE_SOON_WORKING_HOURS)
