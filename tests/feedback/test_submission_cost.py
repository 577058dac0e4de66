"""What a submission costs the database, pinned: a change that adds a statement per
recipient, a second save of the report or a savepoint per message fails here. The rows
written are checked too, so that a cheaper path cannot write less."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ihanoi.feedback.models import EventKind, Report
from ihanoi.feedback.services import report_submit
from ihanoi.notifications.models import Delivery, Notification
from tests.feedback.conftest import World
from tests.feedback.test_submission import _submission

# A category that needs no photo: the photo's own writes are the photo tests' subject.
TRAFFIC: dict[str, Any] = {"category_code": "giao-thong", "answers": {"su-co": "mat-duong"}}


# Each table once: the report in its routed state, both first events, every notification and
# every delivery.
WRITES = [
    "INSERT feedback_report",
    "INSERT feedback_reportevent",
    "INSERT notifications_notification",
    "INSERT notifications_delivery",
]


def _statements(world: World, **overrides: Any) -> list[str]:
    # A first submission warms this process's caches (ward index, working calendar); then
    # the outbox is emptied, so that what follows counts the measured submission's rows.
    report_submit(reporter=world.cn_officer, submission=_submission(**TRAFFIC))
    Notification.objects.all().delete()
    with CaptureQueriesContext(connection) as captured:
        report_submit(reporter=world.resident, submission=_submission(**TRAFFIC, **overrides))
    return [_head(query["sql"]) for query in captured]


def _head(sql: str) -> str:
    words = sql.split()
    if words[0] in ("INSERT", "UPDATE"):
        return f"{words[0]} {words[2 if words[0] == 'INSERT' else 1].strip(chr(34))}"
    if words[0] == "SELECT":
        table = words[words.index("FROM") + 1].strip('"')
        return f"SELECT {table}"
    return words[0]


def test_a_routed_submission_writes_each_table_once(world: World) -> None:
    statements = _statements(world, client_key="k-1")
    writes = [s for s in statements if s.startswith(("INSERT", "UPDATE"))]
    assert writes == WRITES
    # Inside a transaction (this test's) the reference snapshot is read afresh: categories,
    # questions, wards, routing rules, committees; then the committee's members.
    assert len([s for s in statements if s.startswith("SELECT")]) <= 6, statements
    assert not any(s.startswith("UPDATE") for s in statements)

    report = Report.objects.get(client_key="k-1")

    assert list(report.events.values_list("kind", flat=True)) == [
        EventKind.SUBMITTED,
        EventKind.ROUTED,
    ]
    # The receipt and the routing news for the resident, one message for the committee's
    # two members; an SMS to the resident, e-mail to the members.
    assert Notification.objects.count() == 4
    assert sorted(Delivery.objects.values_list("channel", flat=True)) == [
        "email",
        "email",
        "sms",
    ]


def test_a_submission_left_for_triage_tells_the_hub_in_the_same_writes(world: World) -> None:
    world.hk_committee.is_active = False
    world.hk_committee.save()
    statements = _statements(world, client_key="k-2")
    writes = [s for s in statements if s.startswith(("INSERT", "UPDATE"))]
    assert writes == WRITES
    report = Report.objects.get(client_key="k-2")
    assert report.agency is None
    assert list(report.events.values_list("kind", flat=True)) == [
        EventKind.SUBMITTED,
        EventKind.TRIAGE,
    ]
    assert Notification.objects.filter(recipient=world.hub_operator).count() == 1


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_reference_snapshot_leaves_one_read(
    world: World, settings: Any
) -> None:
    """As in production: the category, questions, ward, rules and committee come from this
    process's snapshot, and the client_key is not looked up first (its unique key stops a
    retry); the database is asked only for the members to tell."""
    # Deliveries queued on commit are not the submission's statements.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    statements = [s for s in _statements(world, client_key="k-3") if s not in ("BEGIN", "COMMIT")]

    assert (
        statements
        == [
            *WRITES[:2],
            "SELECT accounts_user",  # the committee's members
            *WRITES[2:],
        ]
    )
    assert Report.objects.get(client_key="k-3").agency == world.hk_committee
