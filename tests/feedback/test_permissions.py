"""Permissions from the outside: nobody reads or acts on what is not theirs."""

import pytest
from django.urls import reverse

from ihanoi.feedback import services
from ihanoi.feedback.models import Report, Status
from tests.feedback.conftest import prepared_photo
from tests.feedback.test_submission import _submission


@pytest.fixture
def report(world):
    report, _ = services.report_submit(
        reporter=world.resident, submission=_submission(), photos=[prepared_photo()]
    )
    return report


def _act(client, report, slug, data=None):
    return client.post(reverse("feedback:staff_action", args=[report.pk, slug]), data or {})


def test_an_officer_of_another_agency_can_neither_see_nor_act(client, world, report):
    client.force_login(world.cn_officer)
    assert client.get(reverse("feedback:staff_detail", args=[report.pk])).status_code == 404
    assert _act(client, report, "accept").status_code == 404
    assert report.title not in client.get(reverse("feedback:inbox")).content.decode()
    report.refresh_from_db()
    assert report.status == Status.ASSIGNED


def test_an_officer_cannot_take_the_hubs_actions(client, world, report):
    client.force_login(world.hk_officer)
    response = _act(
        client, report, "forward", {"agency": world.cn_committee.pk, "severity": "normal"}
    )
    assert response.status_code == 403
    assert _act(client, report, "assign", {"officer": world.hk_officer.pk}).status_code == 403
    report.refresh_from_db()
    assert report.agency == world.hk_committee


def test_oversight_sees_everything_and_acts_on_nothing(client, world, report):
    client.force_login(world.oversight)
    page = client.get(reverse("feedback:staff_detail", args=[report.pk])).content.decode()
    assert "Nguyễn Văn Dân" in page  # oversight sees the reporter
    assert _act(client, report, "accept").status_code == 403


def test_the_hub_sees_the_reporter_and_the_agency_only_with_consent(client, world, report):
    client.force_login(world.hub_operator)
    assert (
        "Nguyễn Văn Dân"
        in client.get(reverse("feedback:staff_detail", args=[report.pk])).content.decode()
    )
    client.force_login(world.hk_officer)
    url = reverse("feedback:staff_detail", args=[report.pk])
    assert "Nguyễn Văn Dân" not in client.get(url).content.decode()
    Report.objects.filter(pk=report.pk).update(share_contact=True)
    assert "Nguyễn Văn Dân" in client.get(url).content.decode()


def test_residents_get_403_on_the_staff_workspace(client, world, report):
    client.force_login(world.resident)
    assert client.get(reverse("feedback:inbox")).status_code == 403
    assert client.get(reverse("feedback:staff_detail", args=[report.pk])).status_code == 403
    assert _act(client, report, "accept").status_code == 403
    report.refresh_from_db()
    assert report.status == Status.ASSIGNED


def test_another_resident_cannot_rate_or_answer_for_the_reporter(client, world, report):
    services.report_accept(actor=world.hk_officer, report=report)
    services.report_resolve(
        actor=world.hk_officer, report=report, result="Xong.", photos=[prepared_photo()]
    )
    client.force_login(world.other_resident)
    assert (
        client.post(
            reverse("feedback:rate", args=[report.public_id]), {"value": "not_satisfied"}
        ).status_code
        == 403
    )
    assert (
        client.post(reverse("feedback:reply", args=[report.public_id]), {"answer": "x"}).status_code
        == 403
    )
    report.refresh_from_db()
    assert report.status == Status.RESOLVED and report.rating == ""


def test_a_private_category_report_is_hidden_from_everyone_but_its_reporter(client, world):
    report, _ = services.report_submit(
        reporter=world.resident,
        submission=_submission(category_code="an-ninh-trat-tu", answers={}),
        photos=[],
    )
    url = reverse("feedback:detail", args=[report.public_id])
    assert client.get(url).status_code == 404
    client.force_login(world.other_resident)
    assert client.get(url).status_code == 404
    assert report.title not in client.get(reverse("feedback:public_list")).content.decode()
    client.force_login(world.resident)
    assert client.get(url).status_code == 200


def test_public_pages_never_show_the_reporters_name(client, world, report):
    page = client.get(reverse("feedback:detail", args=[report.public_id])).content.decode()
    assert report.title in page
    assert "Nguyễn Văn Dân" not in page
    assert "+84912000101" not in page


def test_an_unknown_action_or_report_is_a_404(client, world, report):
    client.force_login(world.hk_officer)
    assert _act(client, report, "explode").status_code == 404
    assert client.get(reverse("feedback:staff_detail", args=[99999])).status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        "status=nope",
        "due=later",
        "page=abc",
        "page=99999",
        "severity=x",
        "queue=y",
        "category=" + "x" * 300,
        "ward=" + "9" * 50,
    ],
)
def test_bad_inbox_filters_are_ignored_not_a_500(client, world, report, query):
    client.force_login(world.hk_officer)
    assert client.get(reverse("feedback:inbox") + "?" + query).status_code == 200


def test_bad_action_input_is_a_400_and_changes_nothing(client, world, report):
    client.force_login(world.hk_lead)
    response = _act(client, report, "transfer", {"agency": "999999", "note": ""})
    assert response.status_code == 400
    report.refresh_from_db()
    assert report.agency == world.hk_committee
