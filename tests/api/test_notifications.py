"""The inbox through the app: one's own notifications only, read marks."""

from __future__ import annotations

import pytest

from ihanoi.notifications.models import Notification
from ihanoi.notifications.services import notify
from tests.api.conftest import assert_error


def _notify(user, n: int, link: str = "/notifications/") -> Notification:
    note = notify(
        recipient=user,
        kind="test",
        title=f"Tin {n}",
        body="Nội dung",
        link=link,
        dedupe_key=f"test:{n}",
        channels=(),
    )
    assert note is not None
    return note


def test_the_inbox_lists_my_notifications_newest_first(world, resident_api):
    for n in range(3):
        _notify(world.resident, n)
    _notify(world.other_resident, 9)
    body = resident_api.get("/notifications", {"page_size": 2}).json()
    assert body["count"] == 3 and body["unread"] == 3 and body["has_next"] is True
    assert [n["title"] for n in body["items"]] == ["Tin 2", "Tin 1"]
    assert body["items"][0]["link"] == "http://testserver/notifications/"
    assert body["items"][0]["report_id"] is None
    assert resident_api.get("/me").json()["unread_notifications"] == 3


def test_a_notification_about_a_report_names_the_report(world, resident_api):
    from tests.api.test_reports import _report

    report = _report(world)  # the receipt of the submission is a notification
    items = resident_api.get("/notifications").json()["items"]
    assert str(report.public_id) in {item["report_id"] for item in items}


def test_marking_read_one_and_all(world, resident_api):
    first, *_others = (_notify(world.resident, n) for n in range(3))
    response = resident_api.post(f"/notifications/{first.pk}/read")
    assert response.status_code == 200 and response.json()["read_at"]
    assert resident_api.get("/notifications", {"unread_only": "true"}).json()["count"] == 2
    assert resident_api.post("/notifications/read-all").json() == {"changed": 2}
    assert resident_api.post("/notifications/read-all").json() == {"changed": 0}
    assert resident_api.get("/notifications").json()["unread"] == 0


def test_another_persons_notification_is_a_404_and_stays_unread(world, resident_api):
    theirs = _notify(world.other_resident, 1)
    assert_error(resident_api.post(f"/notifications/{theirs.pk}/read"), 404, "not_found")
    theirs.refresh_from_db()
    assert theirs.read_at is None


@pytest.mark.parametrize("params", [{"page": 0}, {"page_size": 500}, {"unread_only": "maybe"}])
def test_bad_inbox_parameters_are_a_400(world, resident_api, params):
    assert_error(resident_api.get("/notifications", params), 400, "invalid")


def test_the_inbox_needs_a_token(world, anonymous):
    assert_error(anonymous.get("/notifications"), 401, "unauthorized")
    assert_error(anonymous.post("/notifications/read-all"), 401, "unauthorized")
