"""The inbox's deadline filters and the escalation scan read the same running deadline."""

import datetime

from django.urls import reverse
from django.utils import timezone

from ihanoi.feedback import services
from ihanoi.feedback.models import Report
from tests.feedback.conftest import prepared_photo
from tests.feedback.test_submission import _submission


def _report(world, title, due):
    report, _ = services.report_submit(
        reporter=world.resident, submission=_submission(title=title), photos=[prepared_photo()]
    )
    Report.objects.filter(pk=report.pk).update(accept_due_at=due)
    return report


def test_overdue_and_due_soon_filters_pick_the_right_reports(client, world):
    now = timezone.now()
    _report(world, "Quá hạn rồi", now - datetime.timedelta(hours=1))
    _report(world, "Còn nhiều thời gian", now + datetime.timedelta(days=30))
    client.force_login(world.hk_officer)
    overdue = client.get(reverse("feedback:inbox") + "?due=overdue").content.decode()
    assert "Quá hạn rồi" in overdue and "Còn nhiều thời gian" not in overdue
    soon = client.get(reverse("feedback:inbox") + "?due=soon").content.decode()
    assert "Quá hạn rồi" not in soon and "Còn nhiều thời gian" not in soon


def test_only_reports_past_or_near_their_deadline_are_escalated(world):
    now = timezone.now()
    late = _report(world, "Quá hạn rồi", now - datetime.timedelta(hours=1))
    _report(world, "Còn nhiều thời gian", now + datetime.timedelta(days=30))
    assert services.reports_escalate(now=now) == 1
    assert late.events.filter(kind="escalated").count() == 1
