"""Keyset pages over real reports: walked both ways they give every row once in order,
ties on the time included; the edges (before the first page, past the last, a page by
number) behave."""

from __future__ import annotations

import datetime

import pytest

from ihanoi.feedback.models import Report, Status
from ihanoi.feedback.ordering import MOST_URGENT, NEWEST, OLDEST
from ihanoi.lib import keyset

from .factories import make_reports

MOMENT = datetime.datetime(2026, 7, 1, 1, 2, 3, 456789, tzinfo=datetime.UTC)


def _walk(queryset, ordering, size):
    """Every page forward from the first, then every page back from the last."""
    pages = [keyset.paginate(queryset, ordering, size=size)]
    while pages[-1].next:
        cursor = keyset.decode(ordering, pages[-1].next)
        pages.append(keyset.paginate(queryset, ordering, size=size, cursor=cursor))
    back = [pages[-1]]
    while back[-1].previous:
        cursor = keyset.decode(ordering, back[-1].previous)
        back.append(keyset.paginate(queryset, ordering, size=size, cursor=cursor))
    return pages, back


@pytest.mark.parametrize("ordering", [NEWEST, OLDEST, MOST_URGENT], ids=lambda o: o.tag)
def test_walking_the_pages_gives_every_row_once_in_order_both_ways(world, ordering):
    # Ties: five reports share each submission time, so only the id tells them apart.
    tied = []
    for minute in range(5):
        start = MOMENT + datetime.timedelta(minutes=minute)
        tied += make_reports(world, 5, start=start, step=datetime.timedelta(0))
    # Some without a deadline (triage) and some in progress, for the most-urgent order.
    Report.objects.filter(pk__in=[r.pk for r in tied[::4]]).update(status=Status.SUBMITTED)
    Report.objects.filter(pk__in=[r.pk for r in tied[1::4]]).update(
        status=Status.IN_PROGRESS, resolve_due_at=MOMENT
    )
    queryset = Report.objects.all()
    expected = [r.pk for r in ordering.prepare(queryset)]
    assert len(expected) == 25
    pages, back = _walk(queryset, ordering, size=4)
    assert [r.pk for page in pages for r in page] == expected
    assert [len(page) for page in pages] == [4, 4, 4, 4, 4, 4, 1]
    assert pages[0].previous is None and pages[-1].next is None
    # Back from the last page: the same pages, ending on the first page itself.
    assert [[r.pk for r in page] for page in reversed(back)] == [
        [r.pk for r in page] for page in pages
    ]


def test_the_page_before_a_short_head_is_the_whole_first_page(world):
    make_reports(world, 10)
    queryset = Report.objects.all()
    rows = list(NEWEST.prepare(queryset))
    # "Newer" than the third row: only two rows come before it; the first page shows four.
    cursor = keyset.Cursor(key=NEWEST.key_of(rows[2]), before=True)
    page = keyset.paginate(queryset, NEWEST, size=4, cursor=cursor)
    assert [r.pk for r in page] == [r.pk for r in rows[:4]]
    assert page.previous is None


def test_a_page_past_the_end_is_empty_and_leads_back(world):
    make_reports(world, 3)
    queryset = Report.objects.all()
    last = list(NEWEST.prepare(queryset))[-1]
    page = keyset.paginate(queryset, NEWEST, size=4, cursor=keyset.Cursor(key=NEWEST.key_of(last)))
    assert page.items == [] and page.next is None and page.previous is not None


def test_a_page_by_number_hands_over_to_cursors(world):
    make_reports(world, 10)
    queryset = Report.objects.all()
    rows = [r.pk for r in NEWEST.prepare(queryset)]
    by_number = keyset.offset_page(queryset, NEWEST, offset=4, size=4)
    assert [r.pk for r in by_number] == rows[4:8]
    following = keyset.paginate(
        queryset, NEWEST, size=4, cursor=keyset.decode(NEWEST, by_number.next)
    )
    assert [r.pk for r in following] == rows[8:]
    assert keyset.offset_page(queryset, NEWEST, offset=8, size=4).next is None
