"""mySociety's servicerequestupdates: updates out (the timeline), updates in (a client's)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from ihanoi.feedback import services as feedback_services
from ihanoi.feedback.models import EventKind, RejectionReason, Report, ReportEvent, Status
from ihanoi.notifications.models import Notification
from ihanoi.open311.models import ExternalMedia, Open311Update
from tests.feedback.conftest import prepared_photo

from .conftest import BASE, assert_w3c, errors_in, json_of, request_form, submit, xml_of

UPDATE_FIELDS = [
    "update_id",
    "service_request_id",
    "status",
    "updated_datetime",
    "description",
    "media_url",
]


def create(client, key, **form):
    response = client.post(f"{BASE}/requests.json", {"api_key": key.raw, **request_form(**form)})
    assert response.status_code == 200, response.content
    return Report.objects.get(public_id=json_of(response)[0]["service_request_id"])


def updates(client, query=""):
    return json_of(client.get(f"{BASE}/servicerequestupdates.json?{query}"))


def post_update(client, key, report, fmt="json", **form):
    data = {"api_key": key.raw, "service_request_id": str(report.public_id), **form}
    return client.post(f"{BASE}/servicerequestupdates.{fmt}", data)


def resolve(world, report):
    feedback_services.report_accept(actor=world.hk_officer, report=report)
    feedback_services.report_resolve(
        actor=world.hk_officer, report=report, result="Đã vá ổ gà.", photos=[prepared_photo()]
    )
    report.refresh_from_db()


# --- GET ---------------------------------------------------------------------------------


def test_the_timeline_comes_out_as_updates_with_extended_statuses(client, world):
    report = submit(world.resident)
    resolve(world, report)
    items = updates(client)
    assert all(list(item) == UPDATE_FIELDS for item in items)
    assert [i["status"] for i in items] == ["OPEN", "IN_PROGRESS", "FIXED"]
    routed, accepted, resolved = items
    assert (
        routed["description"]
        == f"Forwarded to the agency: {world.hk_committee.name_en or world.hk_committee.name}"
    )
    assert accepted["description"] == "Accepted"
    assert resolved["description"] == "Đã vá ổ gà."
    assert resolved["media_url"].startswith("http://testserver/media/")
    for item in items:
        assert item["service_request_id"] == str(report.public_id)
        assert_w3c(item["updated_datetime"])
    assert len({i["update_id"] for i in items}) == 3


def test_updates_in_xml_use_the_extension_elements(client, world):
    report = submit(world.resident)
    resolve(world, report)
    root = xml_of(client.get(f"{BASE}/servicerequestupdates.xml"))
    assert root.tag == "service_request_updates"
    assert all(child.tag == "request_update" for child in root)
    assert [c.tag for c in root[0]] == UPDATE_FIELDS
    assert [u.findtext("status") for u in root] == ["OPEN", "IN_PROGRESS", "FIXED"]


def test_internal_events_and_private_reports_are_not_updates(client, world):
    report = submit(world.resident)
    feedback_services.report_comment(actor=world.hk_officer, report=report, text="Nội bộ")
    private = submit(world.resident, category="an-toan-thuc-pham", answers={"co-so": "Quán A"})
    items = updates(client)
    assert "Nội bộ" not in str(items)
    assert str(private.public_id) not in str(items)


def test_rejections_say_why_in_the_extended_status(client, world, key):
    duplicate = create(client, key)
    unclear = create(client, key, description="Không rõ")
    for report, reason in ((duplicate, "trung-lap"), (unclear, "khong-ro")):
        feedback_services.report_return_to_hub(actor=world.hk_officer, report=report, note="Sai.")
        feedback_services.report_reject(
            actor=world.hub_operator, report=report, reason=RejectionReason.objects.get(code=reason)
        )
    statuses = {
        (i["service_request_id"], i["status"]) for i in updates(client, f"api_key={key.raw}")
    }
    assert (str(duplicate.public_id), "DUPLICATE") in statuses
    assert (str(unclear.public_id), "NO_FURTHER_ACTION") in statuses
    # Rejected reports are not public: without the key, nothing of them shows.
    assert updates(client) == []


def test_the_update_window_and_pages(client, world):
    report = submit(world.resident)
    resolve(world, report)
    later = (timezone.now() + datetime.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert updates(client, f"start_date={later}") == []
    assert len(updates(client, "page_size=2")) == 2
    assert len(updates(client, "page_size=2&page=2")) == 1
    response = client.get(f"{BASE}/servicerequestupdates.json?start_date=nope")
    assert response.status_code == 400
    assert errors_in(response)[0]["description"].startswith("start_date: ")


# --- POST --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_another_client_posts_a_public_comment(client, world, key, other_key, fmt):
    report = create(client, key)
    response = post_update(
        client,
        other_key,
        report,
        fmt,
        description="Vẫn chưa sửa.",
        status="OPEN",
        update_id="fms-1",
        updated_datetime="2025-07-01T08:00:00+07:00",
        media_url=["https://example.org/u1.jpg", "https://example.org/u2.jpg"],
    )
    assert response.status_code == 200, response.content
    event = ReportEvent.objects.get(kind=EventKind.COMMENT)
    if fmt == "json":
        assert json_of(response) == [{"update_id": str(event.pk)}]
    else:
        root = xml_of(response)
        assert root.tag == "service_request_updates"
        assert root.findtext("request_update/update_id") == str(event.pk)
    assert event.is_public and event.note == "Vẫn chưa sửa."
    other_key.api_key.refresh_from_db()
    assert event.actor == other_key.api_key.client_user
    assert event.data["open311"]["status"] == "OPEN"
    assert ExternalMedia.objects.filter(event=event).count() == 2
    report.refresh_from_db()
    assert report.status == Status.ASSIGNED
    # The agency hears of it; the comment is among the public updates.
    assert Notification.objects.filter(
        kind="report.staff.comment", recipient=world.hk_officer
    ).exists()
    (out,) = [u for u in updates(client) if u["update_id"] == str(event.pk)]
    assert out["description"] == "Vẫn chưa sửa."
    assert out["media_url"] == "https://example.org/u1.jpg"


def test_a_retried_update_is_recorded_once(client, world, key):
    report = create(client, key)
    first = json_of(post_update(client, key, report, description="Một", update_id="7"))
    again = json_of(post_update(client, key, report, description="Một", update_id="7"))
    assert first == again
    assert Open311Update.objects.count() == 1


def test_the_reporters_client_answers_a_question(client, world, key):
    report = create(client, key, phone="0912000101")
    feedback_services.report_request_info(
        actor=world.hk_officer, report=report, question="Số nhà cụ thể?"
    )
    response = post_update(
        client, key, report, description="Số 12.", status="OPEN", phone="0912000101"
    )
    assert response.status_code == 200
    report.refresh_from_db()
    assert report.info_requested is False
    event = report.events.get(kind=EventKind.INFO_PROVIDED)
    assert event.actor == world.resident
    assert event.note == "Số 12."


def test_the_reporters_client_accepts_the_result(client, world, key):
    report = create(client, key)  # nobody named: the client speaks for the reporter
    resolve(world, report)
    assert (
        post_update(client, key, report, description="Cảm ơn.", status="FIXED").status_code == 200
    )
    report.refresh_from_db()
    assert report.status == Status.CLOSED
    assert report.rating == ""  # accepted, not rated
    assert report.events.filter(kind=EventKind.CLOSED).exists()


def test_the_reporters_client_says_it_is_not_fixed(client, world, key):
    report = create(client, key, email="an@example.vn")
    resolve(world, report)
    response = post_update(
        client, key, report, description="Ổ gà vẫn còn.", status="REOPEN", email="an@example.vn"
    )
    assert response.status_code == 200
    report.refresh_from_db()
    assert report.status == Status.CLOSED
    assert report.rating == "not_satisfied"
    assert report.review_pending is True
    (update,) = Open311Update.objects.all()
    assert update.event.kind == EventKind.RATED


def test_someone_else_cannot_close_or_reopen_for_the_reporter(client, world, key, other_key):
    report = create(client, key, phone="0912000101")
    resolve(world, report)
    # Same client, another person; then another client naming the reporter.
    post_update(client, key, report, description="Tốt.", status="CLOSED", phone="0912000102")
    post_update(client, other_key, report, description="Chưa.", status="REOPEN", phone="0912000101")
    report.refresh_from_db()
    assert report.status == Status.RESOLVED
    assert report.events.filter(kind=EventKind.COMMENT).count() == 2


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("api_key", [None, "", "wrong_key"])
def test_posting_an_update_needs_a_valid_key(client, world, key, fmt, api_key):
    report = create(client, key)
    data = {"service_request_id": str(report.public_id), "description": "x"}
    if api_key is not None:
        data["api_key"] = api_key
    response = client.post(f"{BASE}/servicerequestupdates.{fmt}", data)
    assert response.status_code == 403
    assert errors_in(response)[0]["code"] == 403
    assert Open311Update.objects.count() == 0


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"status": "MAYBE", "description": "x"}, "status"),
        ({"status": "OPEN", "description": ""}, "description"),
        ({"description": "x" * 4001}, "description"),
        ({"description": "x", "updated_datetime": "hôm qua"}, "updated_datetime"),
        ({"description": "x", "media_url": "file:///etc/passwd"}, "media_url"),
        ({"description": "x", "update_id": "9" * 65}, "update_id"),
    ],
)
def test_bad_updates_are_400_and_store_nothing(client, world, key, fmt, form, field):
    report = create(client, key)
    events = ReportEvent.objects.count()
    response = post_update(client, key, report, fmt, **form)
    assert response.status_code == 400, response.content
    assert any(e["description"].startswith(f"{field}: ") for e in errors_in(response))
    assert ReportEvent.objects.count() == events
    assert Open311Update.objects.count() == 0


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_update_for_an_unknown_request_is_404(client, world, key, fmt):
    response = client.post(
        f"{BASE}/servicerequestupdates.{fmt}",
        {
            "api_key": key.raw,
            "service_request_id": "00000000-0000-0000-0000-000000000000",
            "description": "x",
        },
    )
    assert response.status_code == 404
    missing = client.post(
        f"{BASE}/servicerequestupdates.{fmt}", {"api_key": key.raw, "description": "x"}
    )
    assert missing.status_code == 400
    assert errors_in(missing)[0]["description"].startswith("service_request_id: ")
