"""The API's lists page by cursor (``next`` → ``cursor``) or by page number: every item
once, the same queries for any page, and a 400 for a cursor that is not one of ours."""

from __future__ import annotations

import base64
import datetime
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ihanoi.feedback.models import ReportPhoto
from ihanoi.notifications.models import Notification
from tests.api.conftest import assert_error
from tests.feedback.factories import make_reports


def _notifications(user, count: int, *, start=None) -> list[Notification]:
    start = start or timezone.now()
    return Notification.objects.bulk_create(
        Notification(
            recipient=user,
            kind="test",
            title=f"Tin {n:03d}",
            created_at=start - datetime.timedelta(minutes=n),
            dedupe_key=f"test:{start.timestamp()}:{n}",
        )
        for n in range(count)
    )


def _photos(reports) -> None:
    ReportPhoto.objects.bulk_create(
        ReportPhoto(report=r, image=f"reports/{r.public_id}/a.jpg",
                    thumbnail=f"reports/{r.public_id}/t.jpg", width=4, height=3, sha256="0" * 64)
        for r in reports
    )  # fmt: skip


def _walk(api, path: str, **params) -> list[dict]:
    bodies = [api.get(path, params).json()]
    while bodies[-1]["next"]:
        bodies.append(api.get(path, {**params, "cursor": bodies[-1]["next"]}).json())
    return bodies


def _cursor(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


# --- By cursor -------------------------------------------------------------------------------


def test_my_reports_by_cursor_give_every_report_once_newest_first(world, resident_api):
    make_reports(world, 23)
    make_reports(world, 4, reporter=world.other_resident, title="Not mine")
    pages = _walk(resident_api, "/me/reports", page_size=10)
    assert [len(body["items"]) for body in pages] == [10, 10, 3]
    titles = [item["title"] for body in pages for item in body["items"]]
    assert titles == [f"Phản ánh {n:03d}" for n in range(23)]
    # The first page (no cursor) is page 1 with its count; later ones skip the count.
    assert pages[0]["count"] == 23 and pages[0]["page"] == 1
    assert all(body["count"] is None and body["page"] is None for body in pages[1:])
    assert [body["has_next"] for body in pages] == [True, True, False]


def test_notifications_by_cursor_give_every_one_once(world, resident_api):
    _notifications(world.resident, 25)
    _notifications(world.other_resident, 3)
    pages = _walk(resident_api, "/notifications", page_size=20)
    titles = [item["title"] for body in pages for item in body["items"]]
    assert titles == [f"Tin {n:03d}" for n in range(25)]
    assert all(body["unread"] == 25 for body in pages)


def test_unread_notifications_page_by_cursor_too(world, resident_api):
    notes = _notifications(world.resident, 12)
    Notification.objects.filter(pk__in=[n.pk for n in notes[::2]]).update(read_at=timezone.now())
    pages = _walk(resident_api, "/notifications", page_size=4, unread_only="true")
    titles = [item["title"] for body in pages for item in body["items"]]
    assert titles == [f"Tin {n:03d}" for n in range(1, 12, 2)]


def test_a_page_by_number_hands_its_next_cursor_over(world, resident_api):
    make_reports(world, 12)
    second = resident_api.get("/me/reports", {"page_size": 5, "page": 2}).json()
    assert second["count"] == 12 and second["page"] == 2 and second["next"]
    third = resident_api.get("/me/reports", {"page_size": 5, "cursor": second["next"]}).json()
    assert [item["title"] for item in third["items"]] == [f"Phản ánh {n:03d}" for n in (10, 11)]
    assert third["next"] is None and third["has_next"] is False


def test_a_cursor_names_a_place_in_the_callers_own_list_only(world, resident_api, api_as):
    make_reports(world, 6, title="Của Dân")
    make_reports(world, 6, reporter=world.other_resident, title="Của người khác")
    cursor = resident_api.get("/me/reports", {"page_size": 2}).json()["next"]
    theirs = api_as(world.other_resident).get("/me/reports", {"cursor": cursor}).json()
    assert theirs["items"] and all(i["title"].startswith("Của người") for i in theirs["items"])


# --- Bad cursors -----------------------------------------------------------------------------

BAD = [
    "garbage",
    "x" * 401,
    _cursor(["n", "a", "not a date", 1]),
    _cursor(["n", "a", "2026-01-01T00:00:00", 1]),
    _cursor(["n", "a", "2026-01-01T00:00:00+00:00", "1 OR 1=1"]),
    _cursor(["m", "a", "2026-01-01T00:00:00+00:00", 1]),  # a notifications cursor
    _cursor({"cursor": 1}),
]


@pytest.mark.parametrize("cursor", BAD)
def test_a_bad_report_cursor_is_a_400_naming_the_cursor(world, resident_api, cursor):
    error = assert_error(resident_api.get("/me/reports", {"cursor": cursor}), 400, "invalid")
    assert list(error["fields"]) == ["cursor"]


@pytest.mark.parametrize("cursor", [*BAD[:-2], _cursor(["n", "a", "2026-01-01T00:00:00Z", 1])])
def test_a_bad_notification_cursor_is_a_400(world, resident_api, cursor):
    error = assert_error(resident_api.get("/notifications", {"cursor": cursor}), 400, "invalid")
    assert list(error["fields"]) == ["cursor"]


@pytest.mark.parametrize("path", ["/me/reports", "/notifications"])
def test_page_and_cursor_together_are_a_400(world, resident_api, path):
    cursor = _cursor(["n" if path == "/me/reports" else "m", "a",
                      "2026-01-01T00:00:00+00:00", 1])  # fmt: skip
    error = assert_error(resident_api.get(path, {"page": 1, "cursor": cursor}), 400, "invalid")
    assert list(error["fields"]) == ["cursor"]


@pytest.mark.parametrize("path", ["/me/reports", "/notifications"])
def test_an_empty_cursor_is_a_400(world, resident_api, path):
    assert_error(resident_api.get(path, {"cursor": ""}), 400, "invalid")


# --- The cost of a page ----------------------------------------------------------------------


def _queries(api, path: str, params: dict) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert api.get(path, params).status_code == 200
    return len(queries)


def test_my_reports_cost_the_same_queries_for_any_page(world, resident_api):
    _photos(make_reports(world, 3))
    few = _queries(resident_api, "/me/reports", {})
    _photos(make_reports(world, 60, start=timezone.now() - datetime.timedelta(days=2)))
    many = _queries(resident_api, "/me/reports", {"page_size": 50})
    cursor = resident_api.get("/me/reports", {"page_size": 50}).json()["next"]
    deep = _queries(resident_api, "/me/reports", {"page_size": 50, "cursor": cursor})
    # The token (and its device's last use), the page, its photos, and the count on page 1.
    assert few == many == deep + 1


def test_notifications_cost_the_same_queries_for_any_page(world, resident_api):
    _notifications(world.resident, 3)
    few = _queries(resident_api, "/notifications", {})
    _notifications(world.resident, 60, start=timezone.now() - datetime.timedelta(days=1))
    many = _queries(resident_api, "/notifications", {"page_size": 50})
    cursor = resident_api.get("/notifications", {"page_size": 50}).json()["next"]
    deep = _queries(resident_api, "/notifications", {"page_size": 50, "cursor": cursor})
    assert few == many == deep + 1


def test_the_schema_documents_both_ways_of_paging(world, anonymous):
    schema = anonymous.get("/openapi.json").json()
    for path in ("/api/v1/me/reports", "/api/v1/notifications"):
        names = {p["name"] for p in schema["paths"][path]["get"]["parameters"]}
        assert {"page", "page_size", "cursor"} <= names
    page = schema["components"]["schemas"]["ReportPageOut"]["properties"]
    assert "next" in page and "count" in page
