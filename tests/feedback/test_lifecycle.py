"""The whole loop through the pages: report → route → accept → resolve → rate; every other
action of the lifecycle, and transitions the table forbids."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from ihanoi.feedback import services
from ihanoi.feedback.models import EventKind, RejectionReason, Report, Status
from ihanoi.notifications.models import Notification
from tests.feedback.conftest import HOAN_KIEM_LAKE, prepared_photo, upload
from tests.feedback.test_submission import _form, _submission

E = EventKind


@pytest.fixture
def report(world):
    report, _ = services.report_submit(
        reporter=world.resident, submission=_submission(), photos=[prepared_photo()]
    )
    return report


def _act(client, report, slug, data=None):
    return client.post(reverse("feedback:staff_action", args=[report.pk, slug]), data or {})


def test_the_whole_loop_through_the_pages(client, world):
    # The resident sends it from the spot.
    client.force_login(world.resident)
    client.post(reverse("feedback:new"), _form())
    report = Report.objects.get()
    assert report.agency == world.hk_committee

    # The ward's officer finds it in the inbox with its accept deadline; the reporter's
    # name is hidden from the agency.
    client.force_login(world.hk_officer)
    inbox = client.get(reverse("feedback:inbox")).content.decode()
    assert report.title in inbox
    detail = client.get(reverse("feedback:staff_detail", args=[report.pk])).content.decode()
    assert "Nguyễn Văn Dân" not in detail
    assert "Accept by" in detail

    assert _act(client, report, "accept").status_code == 302
    response = _act(client, report, "resolve", {"result": "Đã thu gom rác.", "photos": [upload()]})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == Status.RESOLVED

    # The resident rates it; the report is complete.
    client.force_login(world.resident)
    page = client.get(reverse("feedback:detail", args=[report.public_id])).content.decode()
    assert "Rate the result" in page
    client.post(reverse("feedback:rate", args=[report.public_id]), {"value": "satisfied"})
    report.refresh_from_db()
    assert report.status == Status.CLOSED
    assert report.rating == "satisfied"
    kinds = list(report.events.values_list("kind", flat=True))
    assert kinds == [E.SUBMITTED, E.ROUTED, E.ACCEPTED, E.RESOLVED, E.RATED]
    actors = list(report.events.values_list("actor_id", flat=True))
    assert actors == [
        world.resident.pk,
        None,
        world.hk_officer.pk,
        world.hk_officer.pk,
        world.resident.pk,
    ]
    # The resident heard of each step.
    kinds_heard = set(
        Notification.objects.filter(recipient=world.resident).values_list("kind", flat=True)
    )
    assert {"report.routed", "report.accepted", "report.resolved"} <= kinds_heard


def test_resolving_before_accepting_is_refused_with_a_message(client, world, report):
    client.force_login(world.hk_officer)
    response = _act(client, report, "resolve", {"result": "x", "photos": [upload()]})
    assert response.status_code == 400
    report.refresh_from_db()
    assert report.status == Status.ASSIGNED
    assert not report.events.filter(kind=E.RESOLVED).exists()


def test_accepting_twice_is_refused(client, world, report):
    client.force_login(world.hk_officer)
    _act(client, report, "accept")
    response = _act(client, report, "accept")
    assert response.status_code == 400
    assert report.events.filter(kind=E.ACCEPTED).count() == 1


def test_a_category_that_needs_evidence_refuses_a_result_without_a_photo(world, report):
    services.report_accept(actor=world.hk_officer, report=report)
    with pytest.raises(services.ValidationError):
        services.report_resolve(actor=world.hk_officer, report=report, result="Xong.")
    report.refresh_from_db()
    assert report.status == Status.IN_PROGRESS


def test_rating_before_the_result_is_refused(client, world, report):
    client.force_login(world.resident)
    client.post(reverse("feedback:rate", args=[report.public_id]), {"value": "satisfied"})
    report.refresh_from_db()
    assert report.status == Status.ASSIGNED and report.rating == ""


def test_an_unknown_rating_is_refused(client, world, report):
    services.report_accept(actor=world.hk_officer, report=report)
    services.report_resolve(
        actor=world.hk_officer, report=report, result="Xong.", photos=[prepared_photo()]
    )
    client.force_login(world.resident)
    client.post(reverse("feedback:rate", args=[report.public_id]), {"value": "meh"})
    report.refresh_from_db()
    assert report.status == Status.RESOLVED


def test_not_satisfied_goes_to_the_hub_which_reopens_it(world, report):
    services.report_accept(actor=world.hk_officer, report=report)
    services.report_resolve(
        actor=world.hk_officer, report=report, result="Xong.", photos=[prepared_photo()]
    )
    services.rating_submit(actor=world.resident, report=report, value="not_satisfied")
    report.refresh_from_db()
    assert report.status == Status.CLOSED and report.review_pending
    assert Notification.objects.filter(
        recipient=world.hub_operator, kind="report.staff.rated"
    ).exists()
    services.report_reopen(actor=world.hub_operator, report=report, note="Rác vẫn còn.")
    report.refresh_from_db()
    assert report.status == Status.IN_PROGRESS
    assert report.agency == world.hk_committee
    assert not report.review_pending
    assert report.resolve_due_at > timezone.now()


def test_a_report_nobody_could_route_waits_for_the_hub_which_forwards_it(world):
    world.hk_committee.is_active = False
    world.hk_committee.save()
    report, _ = services.report_submit(
        reporter=world.resident, submission=_submission(), photos=[prepared_photo()]
    )
    assert report.status == Status.SUBMITTED and report.agency is None
    assert report.events.filter(kind=E.TRIAGE).exists()
    services.report_forward(
        actor=world.hub_operator, report=report, agency=world.cn_committee, severity="urgent"
    )
    report.refresh_from_db()
    assert (report.status, report.agency, report.severity) == (
        Status.ASSIGNED,
        world.cn_committee,
        "urgent",
    )
    assert report.events.filter(kind=E.CLASSIFIED, is_public=False).exists()


def test_the_hub_rejects_with_a_template_reason(world):
    world.hk_committee.is_active = False
    world.hk_committee.save()
    report, _ = services.report_submit(
        reporter=world.resident, submission=_submission(), photos=[prepared_photo()]
    )
    reason = RejectionReason.objects.get(code="khieu-nai-to-cao")
    services.report_reject(actor=world.hub_operator, report=report, reason=reason, note="Xem luật.")
    report.refresh_from_db()
    assert report.status == Status.REJECTED
    event = report.events.get(kind=E.REJECTED)
    assert reason.text in event.note and "Xem luật." in event.note


def test_transfer_gives_the_new_agency_a_fresh_accept_deadline(world, report):
    later = timezone.now() + datetime.timedelta(days=3)
    services.report_transfer(
        actor=world.hub_operator,
        report=report,
        agency=world.cn_committee,
        note="Thuộc địa bàn Cửa Nam.",
        now=later,
    )
    report.refresh_from_db()
    assert report.agency == world.cn_committee
    assert report.assigned_at == later
    assert report.accept_due_at > later
    transferred = report.events.get(kind=E.TRANSFERRED)
    assert transferred.agency == world.hk_committee  # counted against the sender
    assert (transferred.data["from"], transferred.data["to"]) == ("ubnd-00070", "ubnd-00082")
    # The event keeps the deadline the receiving agency was given.
    recorded = datetime.datetime.fromisoformat(transferred.data["accept_due"])
    assert recorded == report.accept_due_at


def test_return_to_hub_clears_the_agency_and_its_deadlines(world, report):
    services.report_return_to_hub(actor=world.hk_officer, report=report, note="Không thuộc.")
    report.refresh_from_db()
    assert report.status == Status.SUBMITTED
    assert report.agency is None and report.accept_due_at is None


def test_extension_requested_by_the_agency_and_approved_by_the_hub_moves_the_deadline(
    world, report
):
    services.report_accept(actor=world.hk_officer, report=report)
    report.refresh_from_db()
    old_due = report.resolve_due_at
    services.report_request_extension(
        actor=world.hk_officer, report=report, working_days=3, reason="Chờ vật tư."
    )
    services.report_decide_extension(actor=world.hub_operator, report=report, approve=True)
    report.refresh_from_db()
    assert report.resolve_due_at > old_due
    approved = report.events.get(kind=E.EXTENSION_APPROVED)
    assert approved.data["old_due"] == old_due.isoformat()
    with pytest.raises(services.ValidationError):
        services.report_decide_extension(actor=world.hub_operator, report=report, approve=True)


def test_asking_for_information_and_the_residents_reply(client, world, report):
    services.report_request_info(actor=world.hk_officer, report=report, question="Số nhà?")
    client.force_login(world.resident)
    page = client.get(reverse("feedback:detail", args=[report.public_id])).content.decode()
    assert "needs more information" in page
    client.post(reverse("feedback:reply", args=[report.public_id]), {"answer": "Số 5."})
    report.refresh_from_db()
    assert not report.info_requested
    assert report.events.filter(kind=E.INFO_PROVIDED, note="Số 5.").exists()


def test_the_lead_assigns_an_officer_of_the_agency_only(world, report):
    services.report_accept(actor=world.hk_officer, report=report)
    services.report_assign_officer(actor=world.hk_lead, report=report, officer=world.hk_officer)
    report.refresh_from_db()
    assert report.assignee == world.hk_officer
    with pytest.raises(services.ValidationError):
        services.report_assign_officer(actor=world.hk_lead, report=report, officer=world.cn_officer)


def test_merge_makes_the_duplicates_reporter_follow_the_original(world, report):
    duplicate, _ = services.report_submit(
        reporter=world.other_resident,
        submission=_submission(title="Rác bên hồ (2)", lat=HOAN_KIEM_LAKE[0] + 0.0001),
        photos=[prepared_photo()],
    )
    services.report_merge(actor=world.hub_operator, report=duplicate, original=report)
    duplicate.refresh_from_db()
    assert duplicate.status == Status.REJECTED and duplicate.duplicate_of == report
    assert report.follows.filter(user=world.other_resident).exists()


def test_unrated_results_close_after_the_rating_window(world, report):
    services.report_accept(actor=world.hk_officer, report=report)
    services.report_resolve(
        actor=world.hk_officer, report=report, result="Xong.", photos=[prepared_photo()]
    )
    assert services.reports_close_unrated(now=timezone.now() + datetime.timedelta(days=1)) == 0
    assert services.reports_close_unrated(now=timezone.now() + datetime.timedelta(days=8)) == 1
    report.refresh_from_db()
    assert report.status == Status.CLOSED
    assert report.events.get(kind=E.CLOSED).data == {"unrated": True}


def test_a_report_over_its_deadline_is_escalated_once_to_the_lead_and_the_hub(world, report):
    later = report.accept_due_at + datetime.timedelta(minutes=1)
    assert report.is_overdue(later)
    assert services.reports_escalate(now=later) == 1
    assert services.reports_escalate(now=later) == 0
    event = report.events.get(kind=E.ESCALATED)
    assert event.data["level"] == 2 and not event.is_public
    told = set(
        Notification.objects.filter(kind="report.staff.escalated").values_list(
            "recipient", flat=True
        )
    )
    assert told == {world.hk_lead.pk, world.hub_operator.pk}


def test_the_hub_redacts_public_text_and_hides_a_photo_keeping_the_original(client, world, report):
    photo = report.photos.get()
    client.force_login(world.hub_operator)
    response = _act(
        client,
        report,
        "redact",
        {
            "title": "Rác thải bên hồ",
            "description": "Rác trên vỉa hè.",
            "hidden_photos": [photo.pk],
        },
    )
    assert response.status_code == 302
    report.refresh_from_db()
    photo.refresh_from_db()
    assert report.description == "Rác trên vỉa hè." and photo.is_hidden
    event = report.events.get(kind=E.REDACTED)
    assert not event.is_public
    assert event.data["description"][0] == "Rác tập kết trên vỉa hè phía đông hồ Hoàn Kiếm."
    assert event.data["photos_hidden"] == [photo.pk]
    public = client.get(reverse("feedback:detail", args=[report.public_id])).content.decode()
    assert photo.thumbnail.url not in public
    assert "phía đông" not in public


def test_redaction_by_an_agency_is_forbidden_and_a_no_op_redaction_is_refused(
    client, world, report
):
    client.force_login(world.hk_officer)
    assert _act(client, report, "redact", {"title": "x", "description": "y"}).status_code == 403
    with pytest.raises(services.ValidationError):
        services.report_redact(
            actor=world.hub_operator,
            report=report,
            title=report.title,
            description=report.description,
        )


def test_response_templates_of_the_agency_and_the_city_are_offered(client, world, report):
    from ihanoi.feedback.models import ResponseTemplate

    ResponseTemplate.objects.create(
        agency=world.hk_committee, title="Đã thu gom", text="Đã thu gom rác."
    )
    ResponseTemplate.objects.create(agency=None, title="Cảm ơn", text="Cảm ơn người dân.")
    ResponseTemplate.objects.create(agency=world.cn_committee, title="Khác", text="Của Cửa Nam.")
    services.report_accept(actor=world.hk_officer, report=report)
    client.force_login(world.hk_officer)
    page = client.get(reverse("feedback:staff_detail", args=[report.pk])).content.decode()
    assert "Đã thu gom rác." in page and "Cảm ơn người dân." in page
    assert "Của Cửa Nam." not in page
