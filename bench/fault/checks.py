"""The fault test's checks: what the clients were told against the database, and the
outbox's deliveries against the sink; and the printed summary.

Runs in the harness process with Django set up on the test's database (``django_setup``)."""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.fault.clients import Journal
from bench.fault.processes import STARTED, Stack
from bench.fault.sink import read_sink

TERMINAL_DELIVERY = ("sent", "failed", "skipped")
FAULT_KINDS = (
    "web-worker",
    "web-master",
    "web-all",
    "task-worker",
    "task-horse",
    "pg-fast",
    "pg-immediate",
)
EXPLAINED_MAX = 20
IN_PROCESS_FAULTS = ("crash-after-commit", "crash-after-send", "provider-error")


# --- Checks ---------------------------------------------------------------------------------


def django_setup(env: dict[str, str]) -> None:
    """The harness reads and writes the test database through the ORM (setup, counts)."""
    for key, value in env.items():
        os.environ[key] = value
    # The harness survives PostgreSQL restarts with plain connections, not a pool.
    os.environ.pop("DATABASE_POOL", None)
    import django

    django.setup()


def db_retry(function: Callable[[], Any], attempts: int = 20) -> Any:
    """Run a read, reconnecting while the database restarts."""
    from django.db import InterfaceError, OperationalError, connection

    for attempt in range(attempts):
        try:
            return function()
        except (OperationalError, InterfaceError):
            connection.close()
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)
    return None


def make_residents(count: int) -> list[tuple[int, str]]:
    from ihanoi.accounts.models import User
    from ihanoi.api.services import device_token_issue

    residents = []
    for index in range(count):
        user = User.objects.create_user(
            phone=f"+849129{index:05d}",
            phone_verified=True,
            email=f"fault-{index}@example.vn",
            full_name=f"Cư dân thử lỗi {index}",
        )
        _device, token = device_token_issue(user=user, name=f"fault-phone-{index}")
        residents.append((user.pk, token))
    return residents


def expected_text(delivery: Any) -> tuple[str, str] | None:
    """(address, text) the sink should have recorded for ``delivery``."""
    from ihanoi.notifications.delivery import email_text, sms_text
    from ihanoi.notifications.services import channel_address

    notification = delivery.notification
    address = channel_address(notification.recipient, delivery.channel)
    if address is None:
        return None
    if delivery.channel == "sms":
        return address, sms_text(notification)
    return address, f"{notification.title}\n\n{email_text(notification)}"


def outbox_status() -> dict[str, int]:
    from django.db.models import Count

    from ihanoi.notifications.models import Delivery

    return {
        row["status"]: row["n"] for row in Delivery.objects.values("status").annotate(n=Count("id"))
    }


def count_everything(
    *,
    journal: Journal,
    residents: list[tuple[int, str]],
    sink: Path,
    stack: Stack,
    events: list[dict[str, Any]],
) -> dict[str, Any]:
    from django.urls import reverse

    from ihanoi.feedback.models import Report
    from ihanoi.notifications.models import Delivery

    drafts = journal.drafts
    reporter_ids = [pk for pk, _token in residents]
    counts: dict[str, Any] = {}

    # Reports against what the clients did.
    reports = collections.defaultdict(list)
    for report in Report.objects.filter(reporter_id__in=reporter_ids).only(
        "pk", "public_id", "reporter_id", "client_key", "agency_id"
    ):
        reports[(report.reporter_id, report.client_key)].append(report)
    states = collections.Counter(draft.state for draft in drafts.values())
    acked = [d for d in drafts.values() if d.state == "acked"]
    counts["drafts_sent"] = len(drafts)
    counts["acknowledged"] = len(acked)
    counts["acknowledged_201"] = sum(1 for d in acked if d.http == 201)
    counts["acknowledged_200_retry"] = sum(1 for d in acked if d.http == 200)
    counts["rejected_4xx"] = states["rejected"]
    counts["unacknowledged"] = states["unacknowledged"] + states["pending"]
    counts["unacknowledged_in_db"] = sum(
        1 for d in drafts.values() if d.state != "acked" and reports.get((d.reporter, d.key))
    )
    counts["attempts"] = sum(d.attempts for d in drafts.values())
    counts["retry_reasons"] = dict(journal.retry_reasons)
    waits = sorted(journal.latencies)
    counts["ack_seconds"] = (
        {
            "median": round(statistics.median(waits), 2),
            "p95": round(waits[int(0.95 * (len(waits) - 1))], 2),
            "max": round(waits[-1], 2),
        }
        if waits
        else {}
    )
    counts["reports_for_sent_keys"] = sum(len(reports.get(k, [])) for k in drafts)
    counts["acked_exactly_one"] = sum(
        1 for d in acked if len(reports.get((d.reporter, d.key), [])) == 1
    )
    counts["acked_missing"] = sum(1 for d in acked if not reports.get((d.reporter, d.key)))
    counts["keys_with_duplicate_reports"] = sum(1 for rows in reports.values() if len(rows) > 1)
    counts["acked_wrong_report"] = sum(
        1
        for d in acked
        if len(reports.get((d.reporter, d.key), [])) == 1
        and str(reports[(d.reporter, d.key)][0].public_id) != d.report_id
    )
    counts["reports_never_sent"] = sum(
        len(rows) for key, rows in reports.items() if key not in drafts
    )
    counts["rejections"] = [
        {"key": d.key, "http": d.http, "detail": d.detail}
        for d in drafts.values()
        if d.state == "rejected"
    ][:5]

    # The outbox rows each report should have: the resident's e-mail and SMS about the
    # forwarding, and an e-mail to each member of the agency (hub triage: to the operators).
    deliveries = list(Delivery.objects.select_related("notification__recipient").order_by("pk"))
    by_link = collections.Counter(d.notification.link for d in deliveries)
    missing_outbox = 0
    for rows in reports.values():
        for report in rows:
            resident_link = reverse("feedback:detail", args=[report.public_id])
            staff_link = reverse("feedback:staff_detail", args=[report.pk])
            if by_link[resident_link] < 2 or by_link[staff_link] < 1:
                missing_outbox += 1
    counts["reports_missing_outbox_rows"] = missing_outbox

    # Deliveries against the sink.
    records = list(read_sink(sink))
    sends = collections.defaultdict(list)
    for record in records:
        sends[record["delivery"]].append(record)
    statuses = collections.Counter(d.status for d in deliveries)
    channels = collections.Counter(d.channel for d in deliveries)
    per_delivery = {d.pk: len(sends.get(d.pk, [])) for d in deliveries}
    known = set(per_delivery)
    mismatched = 0
    for delivery in deliveries:
        expected = expected_text(delivery)
        for record in sends.get(delivery.pk, []):
            if expected is None or (record["to"], record["text"]) != expected:
                mismatched += 1
    counts["deliveries"] = len(deliveries)
    counts["deliveries_by_status"] = dict(statuses)
    counts["deliveries_by_channel"] = dict(channels)
    counts["sink_raw_sends"] = len(records)
    counts["sink_distinct_keys"] = len({r["key"] for r in records if r["key"]})
    counts["sink_without_delivery_id"] = len(sends.get(None, []))
    counts["sink_unknown_delivery"] = sum(
        len(rows) for pk, rows in sends.items() if pk is not None and pk not in known
    )
    counts["sink_text_mismatch"] = mismatched
    counts["lost"] = sum(1 for n in per_delivery.values() if n == 0)
    counts["once"] = sum(1 for n in per_delivery.values() if n == 1)
    counts["duplicated"] = sum(1 for n in per_delivery.values() if n > 1)
    counts["extra_sends"] = sum(n - 1 for n in per_delivery.values() if n > 1)
    # A provider that passes each key on once delivers, per delivery, one message per
    # distinct key among its sends.
    keys_per_delivery = {pk: {r["key"] for r in sends.get(pk, [])} for pk in per_delivery}
    counts["dedup_lost"] = sum(1 for keys in keys_per_delivery.values() if not keys)
    counts["dedup_duplicated"] = sum(1 for keys in keys_per_delivery.values() if len(keys) > 1)
    counts["keys_from_app"] = sum(1 for r in records if r.get("key_source") == "app")
    # What the recipients get: while the application passes no idempotency key, every send
    # reaches them; once every send carries one, the provider passes each key on once.
    counts["duplicates_counted_by"] = (
        "provider key" if records and counts["keys_from_app"] == len(records) else "raw send"
    )
    counts["duplicated_effective"] = (
        counts["dedup_duplicated"]
        if counts["duplicates_counted_by"] == "provider key"
        else counts["duplicated"]
    )
    counts["sent_status_without_send"] = sum(
        1 for d in deliveries if d.status == "sent" and per_delivery[d.pk] == 0
    )
    counts["duplicates_explained"] = explain_duplicates(
        [d for d in deliveries if per_delivery[d.pk] > 1], sends, stack, events
    )
    counts["deliveries_claimed_again"] = sum(1 for d in deliveries if d.attempts > 1)
    counts["jobs_killed"] = sum(
        (stack.logs / f"{name}.log")
        .read_text(errors="replace")
        .count("Work-horse terminated unexpectedly")
        for name in stack.task_names()
    )
    counts["lease_lost_warnings"] = sum(
        (stack.logs / f"{name}.log").read_text(errors="replace").count("lease lost")
        for name in stack.procs
        if (stack.logs / f"{name}.log").exists()
    )
    return counts


def sender_role(stack: Stack, record: dict[str, Any]) -> str:
    if record["pid"] in stack.roles:
        return stack.roles[record["pid"]]
    parent = stack.roles.get(record.get("ppid", 0))
    return f"work-horse of {parent}" if parent else "?"


def explain_duplicates(
    duplicated: list[Any],
    sends: dict[Any, list[dict[str, Any]]],
    stack: Stack,
    events: list[dict[str, Any]],
) -> list[str]:
    """For each duplicated delivery: its sends, and the fault that fell between a send and
    the recording of its outcome: the sender killed, or the database restarting (the sender
    then fails to mark the row sent, and the row is sent again once its lease runs out)."""
    lines = []
    for delivery in duplicated[:EXPLAINED_MAX]:
        rows = sorted(sends[delivery.pk], key=lambda r: r["t"])
        causes = []
        for row in rows[:-1]:  # every send but the last was followed by another one
            killed = [e for e in events if row["pid"] in e.get("killed", [])]
            restarts = [
                e
                for e in events
                if e["kind"].startswith("pg-")
                and e["t"] - 2 <= row["t"] <= e["t"] + e.get("took", 0)
            ]
            if killed:
                causes.append(f"{killed[0]['kind']} killed the sender {row['pid']}")
            elif restarts:
                offset = restarts[0]["t"] - row["t"]
                when = f"{abs(offset):.2f} s {'after' if offset >= 0 else 'before'}"
                causes.append(
                    f"{restarts[0]['kind']} began {when} the send; the row was not marked sent"
                )
            else:
                causes.append(f"no fault found next to the send by {row['pid']}")
        sends_text = ", ".join(
            f"attempt {r['attempt']} by pid {r['pid']} ({sender_role(stack, r)}) at "
            f"{r['t'] - STARTED:.1f} s"
            for r in rows
        )
        lines.append(
            f"delivery {delivery.pk} ({delivery.channel}): {sends_text}; cause: {'; '.join(causes)}"
        )
    if len(duplicated) > EXPLAINED_MAX:
        lines.append(f"… and {len(duplicated) - EXPLAINED_MAX} more (see sink.jsonl)")
    return lines


def report(counts: dict[str, Any], args: argparse.Namespace) -> bool:
    def line(label: str, value: Any) -> None:
        sys.stdout.write(f"  {label:<64} {value}\n")

    ok_reports = (
        counts["acked_missing"] == 0
        and counts["keys_with_duplicate_reports"] == 0
        and counts["acked_wrong_report"] == 0
        and counts["reports_never_sent"] == 0
        and counts["acked_exactly_one"] == counts["acknowledged"]
        and counts["rejected_4xx"] == 0
        and counts["unacknowledged"] == 0
        and counts["reports_missing_outbox_rows"] == 0
    )
    ok_outbox = (
        counts["lost"] == 0
        and counts["sink_unknown_delivery"] == 0
        and counts["sink_without_delivery_id"] == 0
        and counts["sink_text_mismatch"] == 0
        and counts["sent_status_without_send"] == 0
        and counts["settled"]
    )
    ok_duplicates = counts["duplicated_effective"] == 0 or args.allow_duplicates
    ok_alone = not counts["foreign_workers"]
    sys.stdout.write("\n== Faults injected ==\n")
    for kind in (*FAULT_KINDS, *IN_PROCESS_FAULTS):
        if kind in counts["faults"]:
            line(kind, counts["faults"][kind])
    line("faults skipped (nothing to kill at that moment)", counts["faults_skipped"])
    line("RQ jobs whose work-horse died mid-job", counts["jobs_killed"])
    line("processes that exited on their own and were restarted", counts["unplanned_exits"])
    line(
        "longest a gunicorn worker outlived its killed master", f"{counts['orphan_seconds']:.1f} s"
    )
    sys.stdout.write(
        f"== Submissions (POST /api/v1/reports), {counts['load_seconds']:.0f} s of load ==\n"
    )
    line("drafts sent by the clients (distinct client_keys)", counts["drafts_sent"])
    line("requests made (first tries and retries)", counts["attempts"])
    line("retries after", counts["retry_reasons"] or "none")
    line("acknowledged (2xx)", counts["acknowledged"])
    line(
        "  seconds from the first try to the 2xx: median / 95th / max",
        " / ".join(str(v) for v in counts["ack_seconds"].values()) or "-",
    )
    line("  of which 201 (made now)", counts["acknowledged_201"])
    line("  of which 200 (a retry found the report made earlier)", counts["acknowledged_200_retry"])
    line("refused (4xx)", counts["rejected_4xx"])
    line("not acknowledged when the clients stopped", counts["unacknowledged"])
    line("  of which in the database anyway", counts["unacknowledged_in_db"])
    line("reports in the database for the clients' keys", counts["reports_for_sent_keys"])
    line("acknowledged keys with exactly one report", counts["acked_exactly_one"])
    line("acknowledged keys with no report (lost)", counts["acked_missing"])
    line("keys with more than one report (duplicates)", counts["keys_with_duplicate_reports"])
    line("acknowledgements naming another report", counts["acked_wrong_report"])
    line("reports the clients never sent", counts["reports_never_sent"])
    line("reports without their outbox rows", counts["reports_missing_outbox_rows"])
    sys.stdout.write("== Notifications (outbox deliveries against the sink) ==\n")
    line("deliveries queued", counts["deliveries"])
    line("  by channel", counts["deliveries_by_channel"])
    line("  by status after settling", counts["deliveries_by_status"])
    line(
        "settled (no pending or claimed delivery) after",
        f"{counts['settle_seconds']:.0f} s"
        + ("" if counts["settled"] else " (NOT settled: --settle ran out)"),
    )
    line("sends at the sink: raw", counts["sink_raw_sends"])
    line("sends at the sink: distinct delivery keys", counts["sink_distinct_keys"])
    line(
        "deliveries claimed more than once (retried, or taken over)",
        counts["deliveries_claimed_again"],
    )
    line("deliveries sent 0 times (lost)", counts["lost"])
    line("deliveries sent exactly once", counts["once"])
    line("deliveries sent more than once (duplicates)", counts["duplicated"])
    line("  extra sends", counts["extra_sends"])
    line(
        "provider deduplicating by key: lost / duplicated",
        f"{counts['dedup_lost']} / {counts['dedup_duplicated']}",
    )
    line(
        "  keys passed by the application (else derived by the sink)",
        f"{counts['keys_from_app']} of {counts['sink_raw_sends']}",
    )
    line(
        "sends naming no delivery / an unknown one",
        f"{counts['sink_without_delivery_id']} / {counts['sink_unknown_delivery']}",
    )
    line("sends whose text is not their delivery's", counts["sink_text_mismatch"])
    line("deliveries marked sent but never sent", counts["sent_status_without_send"])
    line("'lease lost' warnings in the workers' logs", counts["lease_lost_warnings"])
    for explanation in counts["duplicates_explained"]:
        sys.stdout.write(f"  - {explanation}\n")
    for rejection in counts["rejections"]:
        sys.stdout.write(f"  - refused: {rejection}\n")
    if not ok_alone:
        sys.stdout.write(
            f"  ! other RQ workers used the test's Redis database: {counts['foreign_workers']}\n"
        )
    passed = ok_reports and ok_outbox and ok_duplicates and ok_alone
    sys.stdout.write(
        f"== {'PASS' if passed else 'FAIL'}: reports {'ok' if ok_reports else 'WRONG'}, "
        f"lost deliveries {counts['lost']}, duplicated deliveries "
        f"{counts['duplicated_effective']} (by {counts['duplicates_counted_by']})"
        f"{' (allowed)' if counts['duplicated_effective'] and args.allow_duplicates else ''} ==\n"
    )
    return passed
