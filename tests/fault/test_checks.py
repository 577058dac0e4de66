"""The fault test's pass criterion on made-up sink records (fast; no stack, no database):
deliveries count as the provider sees them, deduplicating by idempotency key; resends under
the same key pass, a delivery sent under two keys, without a key, or never, fails."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.mail import EmailMessage

from bench.fault.checks import key_names, sink_counts, verdict
from bench.fault.sink import SINK_ENV, RecordingEmailBackend, RecordingSMSBackend, read_sink
from ihanoi.accounts.sms import SMSMessage

DELIVERIES = [1, 2, 3]


def send(delivery: int | None, key: str | None, source: str = "app") -> dict[str, Any]:
    return {"delivery": delivery, "key": key, "key_source": source if key else "none"}


def fine_reports() -> dict[str, Any]:
    """Counts of a run whose reports and outbox are all in order."""
    return {
        "acknowledged": 10,
        "acked_exactly_one": 10,
        "acked_missing": 0,
        "keys_with_duplicate_reports": 0,
        "acked_wrong_report": 0,
        "reports_never_sent": 0,
        "rejected_4xx": 0,
        "unacknowledged": 0,
        "reports_missing_outbox_rows": 0,
        "settled": True,
        "sink_text_mismatch": 0,
        "sink_key_not_its_delivery": 0,
        "sent_status_without_send": 0,
        "foreign_workers": [],
    }


def judge(records: list[dict[str, Any]], **options: Any) -> tuple[dict[str, Any], list[str]]:
    counts = {**fine_reports(), **sink_counts(records, DELIVERIES)}
    return counts, verdict(counts, **options)


def test_each_delivery_once_passes():
    counts, failed = judge([send(pk, f"ihanoi-delivery-{pk}") for pk in DELIVERIES])
    assert failed == []
    assert counts["once"] == counts["dedup_once"] == 3


def test_a_resend_under_the_same_key_is_counted_not_failed():
    records = [send(pk, f"ihanoi-delivery-{pk}") for pk in DELIVERIES]
    records.append(send(2, "ihanoi-delivery-2"))
    counts, failed = judge(records)
    assert failed == []
    assert (counts["duplicated"], counts["extra_sends"]) == (1, 1)
    assert (counts["dedup_duplicated"], counts["dedup_dropped_resends"]) == (0, 1)


def test_a_delivery_sent_under_two_keys_fails():
    records = [send(pk, f"ihanoi-delivery-{pk}") for pk in DELIVERIES]
    records.append(send(2, "<other-key@example.vn>"))
    counts, failed = judge(records)
    assert counts["dedup_duplicated"] == 1
    assert "deliveries duplicated by key" in failed
    # Accepted only as at-least-once.
    assert judge(records, allow_duplicates=True)[1] == []


def test_a_delivery_never_sent_fails():
    counts, failed = judge([send(pk, f"ihanoi-delivery-{pk}") for pk in (1, 2)])
    assert (counts["lost"], counts["dedup_lost"]) == (1, 1)
    assert "deliveries never sent" in failed
    assert (
        "deliveries never sent"
        in judge([send(pk, f"ihanoi-delivery-{pk}") for pk in (1, 2)], allow_duplicates=True)[1]
    )


def test_a_key_taken_by_another_delivery_is_a_loss_at_the_provider():
    records = [send(1, "k-1"), send(2, "k-1"), send(3, "k-3")]
    counts, failed = judge(records)
    assert counts["lost"] == 0
    assert (counts["dedup_lost"], counts["keys_shared_by_deliveries"]) == (1, 1)
    assert "deliveries the provider drops (lost by key)" in failed


def test_sends_without_the_applications_key_fail():
    records = [send(1, "k-1"), send(2, None), send(3, "<random@host>", source="generated")]
    counts, failed = judge(records)
    assert counts["sends_without_app_key"] == 2
    assert "sends without the application's key" in failed
    # Resent without a key, a delivery reaches the recipient twice.
    counts, _failed = judge([*records, send(2, None)])
    assert counts["dedup_duplicated"] == 1


@pytest.fixture
def sink(tmp_path, monkeypatch):
    path = tmp_path / "sink.jsonl"
    monkeypatch.setenv(SINK_ENV, str(path))
    return path


def test_the_sink_records_the_key_the_provider_receives(sink):
    RecordingSMSBackend().send(SMSMessage(to="+84912900000", body="b", idempotency_key="k-9"))
    RecordingEmailBackend().send_messages(
        [
            EmailMessage("s", "b", to=["a@example.vn"], headers={"Message-ID": "<k-9@h.vn>"}),
            EmailMessage("s", "b", to=["a@example.vn"]),
        ]
    )
    RecordingSMSBackend().send(SMSMessage(to="+84912900000", body="b"))
    sms, email, generated, bare = read_sink(sink)
    assert (sms["key"], sms["key_source"]) == ("k-9", "app")
    assert (email["key"], email["key_source"]) == ("<k-9@h.vn>", "app")
    assert generated["key_source"] == "generated"
    assert generated["key"].startswith("<")
    assert (bare["key"], bare["key_source"]) == (None, "none")


@pytest.mark.django_db
def test_the_sender_passes_each_deliverys_key_to_the_sink(sink, settings):
    from ihanoi.accounts.models import User
    from ihanoi.notifications.delivery import deliveries_run
    from ihanoi.notifications.models import Delivery
    from ihanoi.notifications.services import notify

    settings.SMS_BACKEND = "bench.fault.sink.RecordingSMSBackend"
    settings.EMAIL_BACKEND = "bench.fault.sink.RecordingEmailBackend"
    settings.IHANOI_SITE_URL = "http://127.0.0.1:18100"
    resident = User.objects.create_user(
        phone="+84912999001", phone_verified=True, email="fault-key@example.vn"
    )
    notify(
        recipient=resident,
        kind="report.status",
        title="Received",
        body="Forwarded.",
        link="/feedback/x/",
        dedupe_key="report-event:fault-key",
    )
    assert deliveries_run().sent == 2

    deliveries = {d.pk: d for d in Delivery.objects.all()}
    records = list(read_sink(sink))
    assert sorted(r["delivery"] for r in records) == sorted(deliveries)
    for record in records:
        delivery = deliveries[record["delivery"]]
        assert record["key_source"] == "app"
        assert key_names(record, delivery)
    [email] = [r for r in records if r["channel"] == "email"]
    assert email["key"] == f"<ihanoi-delivery-{email['delivery']}@127.0.0.1>"
    assert sink_counts(records, list(deliveries))["sends_without_app_key"] == 0
