"""The long HTML lists page by key: "Older"/"Newer" (or "Next"/"Previous") links that keep
the filters, every report once, a stale or tampered link shows the first page, and the
number of queries does not grow with the page."""

from __future__ import annotations

import base64
import datetime
import json
import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ihanoi.feedback import views
from ihanoi.feedback.models import Report, Status
from ihanoi.feedback.ordering import NEWEST, OLDEST
from ihanoi.lib import keyset

from .factories import make_reports

PUBLIC = reverse("feedback:public_list")
MINE = reverse("feedback:mine")
INBOX = reverse("feedback:inbox")


def link(html: str, rel: str) -> str | None:
    found = re.search(rf'<a rel="{rel}" href="([^"]+)"', html)
    return unescape(found.group(1)) if found else None


def titles(html: str) -> list[str]:
    return re.findall(r"<strong>([^<]+)</strong>", html)


def inbox_titles(html: str) -> list[str]:
    return re.findall(r'/staff/reports/\d+/">([^<]+)</a>', html)


def walk(client, path: str, query: str = "", read=titles) -> list[list[str]]:
    """The titles of every page, following "next" links from the first."""
    pages = []
    url = f"{path}?{query}" if query else path
    while url:
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        pages.append(read(html))
        following = link(html, "next")
        url = path + following if following else None
    return pages


def _cursor(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


BAD_CURSORS = [
    "garbage",
    "",
    "x" * 1000,
    _cursor(["n", "a", "not a date", 1]),
    _cursor(["n", "a", "2026-01-01T00:00:00+00:00", "1; DROP TABLE"]),
    _cursor(["u", "a", 0, "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00", 1]),
    _cursor(["n", "b", "9999-12-31T23:59:59+00:00", 2**63 - 1]),  # valid, far away
]


# --- The public list ------------------------------------------------------------------------


def test_the_public_list_walks_older_page_by_page_and_every_report_shows_once(client, world):
    make_reports(world, 45)
    pages = walk(client, PUBLIC)
    assert [len(page) for page in pages] == [20, 20, 5]
    shown = [title for page in pages for title in page]
    assert shown == [f"Phản ánh {n:03d}" for n in range(45)]  # newest first


def test_newer_goes_back_a_page_and_the_first_page_has_no_newer_link(client, world):
    make_reports(world, 45)
    first = client.get(PUBLIC).content.decode()
    assert link(first, "prev") is None
    second = client.get(PUBLIC + link(first, "next")).content.decode()
    assert titles(second)[0] == "Phản ánh 020"
    back = client.get(PUBLIC + link(second, "prev")).content.decode()
    assert titles(back) == titles(first)
    assert link(back, "prev") is None


def test_the_category_filter_stays_in_the_links(client, world):
    make_reports(world, 25, category="moi-truong-ve-sinh", title="Rác")
    make_reports(world, 25, category="giao-thong", title="Đường")
    pages = walk(client, PUBLIC, "category=moi-truong-ve-sinh")
    assert [len(page) for page in pages] == [20, 5]
    assert all(title.startswith("Rác") for page in pages for title in page)
    first = client.get(PUBLIC + "?category=moi-truong-ve-sinh").content.decode()
    assert "category=moi-truong-ve-sinh" in link(first, "next")


@pytest.mark.parametrize("code", ["no-such-thing", "private", "x" * 300, "giao-thong\x00"])
def test_an_unknown_or_private_category_shows_every_public_report(client, world, code):
    make_reports(world, 3)
    if code == "private":
        from ihanoi.feedback.models import Category

        Category.objects.filter(code="an-ninh-trat-tu").update(is_public=False)
        make_reports(world, 2, category="an-ninh-trat-tu", title="Riêng tư")
        code = "an-ninh-trat-tu"
    response = client.get(PUBLIC, {"category": code})
    assert response.status_code == 200
    html = response.content.decode()
    assert titles(html) == [f"Phản ánh {n:03d}" for n in range(3)]
    assert 'value="an-ninh-trat-tu"' not in html or code != "an-ninh-trat-tu"


def test_private_reports_never_reach_the_pages(client, world):
    make_reports(world, 3, title="Công khai")
    make_reports(world, 3, title="Ẩn", is_published=False)
    make_reports(world, 3, title="Từ chối", status=Status.REJECTED)
    shown = [title for page in walk(client, PUBLIC) for title in page]
    assert shown and all(title.startswith("Công khai") for title in shown)


@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_a_bad_cursor_shows_the_first_page_not_an_error(client, world, cursor):
    make_reports(world, 25)
    response = client.get(PUBLIC, {"cursor": cursor})
    assert response.status_code == 200
    assert titles(response.content.decode())[0] in ("Phản ánh 000", "Phản ánh 020")


def test_old_page_numbers_show_the_first_page(client, world):
    make_reports(world, 25)
    for page in ("3", "abc", "-1", "99999999999999999999"):
        html = client.get(PUBLIC, {"page": page}).content.decode()
        assert titles(html)[0] == "Phản ánh 000"
    # The links drop the page number: it means nothing to a keyset list.
    assert "page=" not in link(client.get(PUBLIC, {"page": "3"}).content.decode(), "next")


def test_a_cursor_past_the_end_shows_an_empty_page_with_a_way_back(client, world):
    reports = make_reports(world, 3)
    oldest = min(reports, key=lambda r: r.submitted_at)
    cursor = keyset.encode(NEWEST, (oldest.submitted_at, oldest.pk))
    html = client.get(PUBLIC, {"cursor": cursor}).content.decode()
    assert titles(html) == [] and link(html, "prev") is not None


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_public_list_costs_the_same_queries_for_few_or_many_reports(client, world):
    make_reports(world, 2)
    few = _queries(client, PUBLIC)
    make_reports(world, 60, start=timezone.now() - datetime.timedelta(days=3))
    many = _queries(client, PUBLIC)
    deep = _queries(client, PUBLIC + link(client.get(PUBLIC).content.decode(), "next"))
    # The reports with their category and ward in one query, and the category choices.
    assert few == many == deep == 2


def test_the_map_data_is_one_query_whatever_the_number_of_points(client, world):
    make_reports(world, 3)
    assert _queries(client, reverse("feedback:map_data")) == 1
    make_reports(world, 40)
    assert _queries(client, reverse("feedback:map_data")) == 1


# --- My reports ------------------------------------------------------------------------------


def test_my_reports_pages_show_only_mine_each_once(client, world):
    make_reports(world, 23, title="Của tôi")
    make_reports(world, 5, reporter=world.other_resident, title="Của người khác")
    client.force_login(world.resident)
    pages = walk(client, MINE)
    assert [len(page) for page in pages] == [20, 3]
    assert all(title.startswith("Của tôi") for page in pages for title in page)


@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_my_reports_with_a_bad_cursor_show_the_first_page(client, world, cursor):
    make_reports(world, 3)
    client.force_login(world.resident)
    response = client.get(MINE, {"cursor": cursor})
    assert response.status_code == 200
    assert len(titles(response.content.decode())) in (0, 3)


def test_my_reports_cost_the_same_queries_for_few_or_many(client, world):
    client.force_login(world.resident)
    make_reports(world, 2)
    few = _queries(client, MINE)
    make_reports(world, 50, start=timezone.now() - datetime.timedelta(days=3))
    assert _queries(client, MINE) == few
    # The session, the user, the page of reports, the header's unread badge.
    assert few == 4


# --- The staff inbox -------------------------------------------------------------------------


def test_the_inbox_pages_keep_the_filters_and_show_each_report_once(client, world):
    make_reports(world, 40, title="Giao thông")
    make_reports(world, 10, category="moi-truong-ve-sinh", title="Môi trường")
    client.force_login(world.hk_officer)
    pages = walk(client, INBOX, "category=giao-thong&severity=normal", read=inbox_titles)
    assert [len(page) for page in pages] == [30, 10]
    shown = [title for page in pages for title in page]
    assert sorted(shown) == sorted(f"Giao thông {n:03d}" for n in range(40))
    first = client.get(INBOX + "?category=giao-thong&severity=normal").content.decode()
    following = link(first, "next")
    assert "category=giao-thong" in following and "severity=normal" in following


def test_an_agency_never_pages_into_another_agencys_reports(client, world):
    make_reports(world, 35, title="Hoàn Kiếm")
    make_reports(world, 35, agency=world.cn_committee, title="Cửa Nam")
    client.force_login(world.hk_officer)
    shown = [t for page in walk(client, INBOX, read=inbox_titles) for t in page]
    assert len(shown) == 35 and all(t.startswith("Hoàn Kiếm") for t in shown)


def test_the_most_urgent_order_is_the_running_deadline_then_the_reports_without_one(client, world):
    now = timezone.now()
    hour = datetime.timedelta(hours=1)
    make_reports(world, 1, title="Chờ phân loại", status=Status.SUBMITTED, agency=None,
                 accept_due_at=None, start=now - 50 * hour)  # fmt: skip
    make_reports(world, 1, title="Hạn xa", accept_due_at=now + 40 * hour)
    make_reports(world, 1, title="Quá hạn", accept_due_at=now - 2 * hour)
    # In progress: its resolve deadline runs, not its old accept deadline.
    make_reports(world, 1, title="Đang xử lý", status=Status.IN_PROGRESS,
                 accept_due_at=now - 90 * hour, resolve_due_at=now + 3 * hour)  # fmt: skip
    client.force_login(world.hub_operator)
    html = client.get(INBOX).content.decode()
    assert inbox_titles(html) == ["Quá hạn 000", "Đang xử lý 000", "Hạn xa 000",
                                  "Chờ phân loại 000"]  # fmt: skip


def test_the_deadline_filters_pick_what_the_running_deadline_rule_picks(world):
    from ihanoi.feedback import deadlines, selectors
    from ihanoi.feedback.models import OPEN_STATUSES, running_deadline_before
    from ihanoi.feedback.permissions import scope_of

    now = timezone.now()
    soon = deadlines.due_soon_threshold(now)
    for offset in (-90, -1, 0, 1, 30, 60 * 24 * 5):
        due = now + datetime.timedelta(minutes=offset)
        make_reports(world, 1, accept_due_at=due, title=f"Chờ {offset}")
        make_reports(
            world,
            1,
            status=Status.IN_PROGRESS,
            resolve_due_at=due,
            accept_due_at=now - datetime.timedelta(days=9),
            title=f"Xử lý {offset}",
        )
        make_reports(world, 1, status=Status.RESOLVED, resolve_due_at=due, title=f"Xong {offset}")
    make_reports(world, 2, status=Status.SUBMITTED, agency=None, accept_due_at=None)  # fmt: skip
    hub = scope_of(world.hub_operator)
    open_reports = Report.objects.filter(status__in=OPEN_STATUSES)

    def ids(queryset):
        return set(queryset.values_list("pk", flat=True))

    overdue = selectors.staff_inbox(hub, selectors.InboxFilters(due="overdue"), now=now)
    assert ids(overdue) == ids(open_reports.filter(running_deadline_before(now)))
    due_soon = selectors.staff_inbox(hub, selectors.InboxFilters(due="soon"), now=now)
    expected = open_reports.filter(running_deadline_before(soon)).exclude(
        running_deadline_before(now)
    )
    assert ids(due_soon) == ids(expected) and ids(due_soon)


@pytest.mark.parametrize(
    ("sort", "expected"),
    [("newest", [f"Phản ánh {n:03d}" for n in range(5)]),
     ("oldest", [f"Phản ánh {n:03d}" for n in range(4, -1, -1)])],
)  # fmt: skip
def test_the_inbox_sorts_by_age_both_ways(client, world, sort, expected):
    make_reports(world, 5)
    client.force_login(world.hk_officer)
    html = client.get(INBOX, {"sort": sort}).content.decode()
    assert inbox_titles(html) == expected
    assert f'<option value="{sort}" selected>' in html


def test_a_cursor_of_another_sort_shows_the_first_page_of_this_one(client, world):
    make_reports(world, 40)
    client.force_login(world.hk_officer)
    newest = client.get(INBOX, {"sort": "newest"}).content.decode()
    cursor = re.search(r"cursor=([^&\"]+)", link(newest, "next")).group(1)
    oldest = client.get(INBOX, {"sort": "oldest", "cursor": cursor}).content.decode()
    assert inbox_titles(oldest)[0] == "Phản ánh 039"  # the oldest: the first page


@pytest.mark.parametrize(
    "query",
    [{"category": "giao-thong\x00"}, {"ward": "\x00\x00"}, {"status": "\x00"},
     {"sort": "newest\x00"}, {"cursor": "\x00"}, {"category": ["a", "b"]}],
)  # fmt: skip
def test_the_inbox_with_nul_or_repeated_filters_is_not_an_error(client, world, query):
    make_reports(world, 3)
    client.force_login(world.hub_operator)
    assert client.get(INBOX, query).status_code == 200


@pytest.mark.parametrize("cursor", BAD_CURSORS)
@pytest.mark.parametrize("sort", ["", "urgent", "newest", "oldest", "sideways"])
def test_the_inbox_with_a_bad_cursor_shows_the_first_page(client, world, cursor, sort):
    make_reports(world, 3)
    client.force_login(world.hk_officer)
    response = client.get(INBOX, {"cursor": cursor, "sort": sort})
    assert response.status_code == 200
    assert len(inbox_titles(response.content.decode())) in (0, 3)


def test_the_inbox_says_how_many_reports_up_to_a_cap(client, world, monkeypatch):
    make_reports(world, 12)
    client.force_login(world.hk_officer)
    assert "12 reports" in client.get(INBOX).content.decode()
    from ihanoi.feedback import staff_views

    monkeypatch.setattr(staff_views, "COUNT_CAP", 10)
    assert "More than 10 reports" in client.get(INBOX).content.decode()


@pytest.mark.parametrize("query", ["", "sort=newest", "due=overdue", "queue=triage",
                                   "status=closed", "ward=00070&category=giao-thong"])  # fmt: skip
def test_the_inbox_costs_the_same_queries_for_few_or_many_reports(client, world, query):
    client.force_login(world.hub_operator)
    old = timezone.now() - datetime.timedelta(days=30)
    make_reports(world, 2, start=old)
    make_reports(world, 2, start=old, status=Status.SUBMITTED, agency=None)
    make_reports(world, 2, start=old, status=Status.CLOSED)
    few = _queries(client, f"{INBOX}?{query}")
    for status in (Status.ASSIGNED, Status.SUBMITTED, Status.CLOSED):
        make_reports(world, 40, status=status, assignee=world.hk_officer)
    many = _queries(client, f"{INBOX}?{query}")
    # Session, user, TOTP check, scope, page, count, category choices, badge.
    assert few == many <= 9


def test_the_list_orders_and_the_status_values_agree():
    from ihanoi.feedback import ordering
    from ihanoi.feedback.models import OPEN_STATUSES

    assert set(ordering.OPEN) == set(OPEN_STATUSES)
    assert set(ordering.WITH_DEADLINE) == {Status.ASSIGNED, Status.IN_PROGRESS}
    assert NEWEST.tag != OLDEST.tag
    assert views.PAGE_SIZE == 20
    assert Report._meta.get_field("submitted_at").null is False
