"""The orders of the long report lists, and the indexes that serve them.

Every long list pages by key (``ihanoi.lib.keyset``): a page is an index seek only when the
list's order is the columns of an index, in the same order, after the columns its filters
fix by equality. This module holds both halves, so that they cannot drift apart:

- ``NEWEST``/``OLDEST``: (submitted_at, id), for the public list, "my reports", Open311
  and the staff inbox sorted by age;
- ``MOST_URGENT``: the staff inbox's default, the running deadline first (DESIGN §2: the
  accept deadline while assigned, the resolve deadline once accepted), then the reports
  that wait without one (triage), oldest first;
- ``LIST_INDEXES``: what ``Report.Meta.indexes`` adds for them (migration 0002).

It imports no models (``models.py`` imports it); the status values are spelled here and a
test checks them against ``models.Status``.
"""

from __future__ import annotations

import datetime

from django.db.models import Case, F, Index, IntegerField, Q, Value, When
from django.db.models.functions import Coalesce

from ihanoi.lib.keyset import Column, Ordering

SUBMITTED, ASSIGNED, IN_PROGRESS = "submitted", "assigned", "in_progress"
OPEN = (SUBMITTED, ASSIGNED, IN_PROGRESS)
WITH_DEADLINE = (ASSIGNED, IN_PROGRESS)


def deadline_rank() -> Case:
    """0 while a deadline runs (assigned, in progress), 1 otherwise: the reports with a
    deadline come first in the most-urgent order."""
    return Case(
        When(status__in=WITH_DEADLINE, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )


def running_due() -> Coalesce:
    """The running deadline (``Report.due_at``); the submission time for a report without
    one, so that the key is never NULL (NULLs sort differently in PostgreSQL and SQLite)."""
    return Coalesce(
        Case(
            When(status=ASSIGNED, then=F("accept_due_at")),
            When(status=IN_PROGRESS, then=F("resolve_due_at")),
        ),
        F("submitted_at"),
    )


_TIME = (Column("submitted_at", datetime.datetime), Column("id", int))
NEWEST = Ordering("n", _TIME, descending=True)
OLDEST = Ordering("o", _TIME)
MOST_URGENT = Ordering(
    "u",
    (
        Column("deadline_rank", int, deadline_rank()),
        Column("running_due", datetime.datetime, running_due()),
        *_TIME,
    ),
)

_OPEN = Q(status__in=OPEN)

LIST_INDEXES = [
    # The public list, the map, Open311 (its date window), the hub by age.
    Index(fields=["submitted_at", "id"], name="report_time"),
    # The public list and Open311 of one category.
    Index(fields=["category", "submitted_at", "id"], name="report_category_time"),
    # "My reports" (replaces report_by_reporter: the id makes the key whole).
    Index(fields=["reporter", "submitted_at", "id"], name="report_reporter_time"),
    # The hub's inbox filtered by status (the triage queue is status "submitted").
    Index(fields=["status", "submitted_at", "id"], name="report_status_time"),
    # An agency's inbox filtered by status (replaces report_agency_status, its prefix).
    Index(fields=["agency", "status", "submitted_at", "id"], name="report_agency_status_time"),
    # The inboxes of open reports, the default filter: a few percent of the table, so
    # partial indexes stay small however many reports are stored.
    Index(
        deadline_rank(),
        running_due(),
        F("submitted_at"),
        F("id"),
        name="report_open_urgent",
        condition=_OPEN,
    ),
    Index(
        F("agency"),
        deadline_rank(),
        running_due(),
        F("submitted_at"),
        F("id"),
        name="report_open_agency_urgent",
        condition=_OPEN,
    ),
    Index(fields=["submitted_at", "id"], name="report_open_time", condition=_OPEN),
    Index(fields=["agency", "submitted_at", "id"], name="report_open_agency_time", condition=_OPEN),
    # The hub's queue of "not satisfied" ratings to review.
    Index(fields=["submitted_at", "id"], name="report_review", condition=Q(review_pending=True)),
]
