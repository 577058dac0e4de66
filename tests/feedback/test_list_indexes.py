"""Every long list's page is an index seek: its order comes from an index (no sort of the
matching rows) and the cursor is an index condition. Checked on the query plans: on
PostgreSQL with the planner told to avoid sorts and scans of the table whenever it can
(so that the answer does not depend on the few rows a test holds), on SQLite by its plan's
"temp B-tree for ORDER BY" (a sort)."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from ihanoi.feedback import selectors
from ihanoi.feedback.models import Status
from ihanoi.feedback.ordering import MOST_URGENT, NEWEST
from ihanoi.feedback.permissions import scope_of
from ihanoi.lib import keyset
from ihanoi.open311 import selectors as open311_selectors
from ihanoi.open311.params import Window

from .factories import make_reports

MOMENT = datetime.datetime(2026, 7, 1, tzinfo=datetime.UTC)


def plan(queryset, ordering, *, key=None) -> str:
    """The plan of a page after ``key`` (the first page without one)."""
    prepared = ordering.prepare(queryset)
    if key is not None:
        prepared = prepared.filter(ordering.beyond(key))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for setting in ("seqscan", "bitmapscan", "sort", "incremental_sort"):
                cursor.execute(f"SET LOCAL enable_{setting} = off")
    return prepared[:31].explain()


# SQLite matches a partial index's condition and an index's expressions against literals
# only, and Django sends parameters: the open-set indexes serve PostgreSQL, where the city's
# volume is. On SQLite those inboxes sort the matching rows (a demo holds few).
OPEN_SET = {
    "report_open_urgent",
    "report_open_agency_urgent",
    "report_open_time",
    "report_open_agency_time",
}


def assert_seek(text: str, *indexes: str) -> None:
    if connection.vendor != "postgresql" and OPEN_SET.issuperset(indexes):
        return
    if connection.vendor == "postgresql":
        assert " Sort" not in text and "Sort Key" not in text, text
        assert any(f"using {name} " in text for name in indexes), text
    else:
        assert "TEMP B-TREE FOR ORDER BY" not in text, text
        assert any(f"INDEX {name}" in text for name in indexes), text


@pytest.fixture
def reports(world):
    make_reports(world, 5)
    make_reports(world, 3, status=Status.SUBMITTED, agency=None)
    make_reports(world, 3, status=Status.IN_PROGRESS, resolve_due_at=timezone.now())
    make_reports(world, 3, status=Status.CLOSED, review_pending=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE" if connection.vendor == "sqlite" else "ANALYZE feedback_report")


URGENT_KEY = (0, MOMENT, MOMENT, 10)
TIME_KEY = (MOMENT, 10)


def test_the_public_list_is_a_seek(reports):
    assert_seek(plan(selectors.public_list(), NEWEST, key=TIME_KEY), "report_time")


def test_the_public_list_of_a_category_is_a_seek(reports, world):
    category = selectors.Category.objects.get(code="giao-thong")
    text = plan(selectors.public_list(category_id=category.pk), NEWEST, key=TIME_KEY)
    assert_seek(text, "report_category_time", "report_time")


def test_my_reports_are_a_seek(reports, world):
    assert_seek(plan(selectors.reports_of(world.resident), NEWEST, key=TIME_KEY),
                "report_reporter_time")  # fmt: skip


@pytest.mark.parametrize(
    ("filters", "indexes"),
    [
        (selectors.InboxFilters(), ["report_open_urgent"]),
        (selectors.InboxFilters(due="overdue"), ["report_open_urgent"]),
        (selectors.InboxFilters(due="soon"), ["report_open_urgent"]),
        (selectors.InboxFilters(status="assigned"), ["report_open_urgent"]),
        (selectors.InboxFilters(sort="newest"), ["report_open_time"]),
        (selectors.InboxFilters(sort="oldest"), ["report_open_time"]),
        (selectors.InboxFilters(queue="triage"), ["report_status_time"]),
        (selectors.InboxFilters(queue="review"), ["report_review"]),
        # Most reports are closed: the time index with the status as a filter serves too.
        (selectors.InboxFilters(status="closed"), ["report_status_time", "report_time"]),
        (
            selectors.InboxFilters(status="closed", sort="newest"),
            ["report_status_time", "report_time"],
        ),
    ],
    ids=str,
)
def test_the_hubs_inbox_is_a_seek(reports, world, filters, indexes):
    ordering = selectors.inbox_ordering(filters)
    key = URGENT_KEY if ordering is MOST_URGENT else TIME_KEY
    inbox = selectors.staff_inbox(scope_of(world.hub_operator), filters)
    assert_seek(plan(inbox, ordering, key=key), *indexes)


@pytest.mark.parametrize(
    ("filters", "indexes"),
    [
        # The city-wide open-set index gives the same order (the agency as a filter); which
        # one is cheaper depends on the statistics, hence either.
        (selectors.InboxFilters(), ["report_open_agency_urgent", "report_open_urgent"]),
        (
            selectors.InboxFilters(due="overdue"),
            ["report_open_agency_urgent", "report_open_urgent"],
        ),
        (selectors.InboxFilters(sort="newest"), ["report_open_agency_time", "report_open_time"]),
        (selectors.InboxFilters(status="closed"), ["report_agency_status_time"]),
    ],
    ids=str,
)
def test_an_agencys_inbox_is_a_seek(reports, world, filters, indexes):
    ordering = selectors.inbox_ordering(filters)
    key = URGENT_KEY if ordering is MOST_URGENT else TIME_KEY
    inbox = selectors.staff_inbox(scope_of(world.hk_officer), filters)
    assert_seek(plan(inbox, ordering, key=key), *indexes)


def test_open311s_requests_are_a_seek(reports):
    window = Window(start=MOMENT - datetime.timedelta(days=90), end=MOMENT)
    visible = open311_selectors.visible_reports(None).filter(
        submitted_at__gte=window.start, submitted_at__lte=window.end
    )
    rows = visible.select_related(None).values(*open311_selectors.REQUEST_FIELDS)
    assert_seek(plan(rows, open311_selectors.REQUEST_ORDER, key=TIME_KEY), "report_time")


def test_the_key_is_what_the_page_reads(reports):
    # The plans above are of the queries the pages run: paginate is prepare + beyond.
    queryset = selectors.public_list()
    first = keyset.paginate(queryset, NEWEST, size=2)
    cursor = keyset.decode(NEWEST, first.next)
    assert cursor.key == NEWEST.key_of(first.items[-1])
