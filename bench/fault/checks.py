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
    mismatched = 0
    foreign_keys = 0
    for delivery in deliveries:
        expected = expected_text(delivery)
        for record in sends.get(delivery.pk, []):
            if expected is None or (record["to"], record["text"]) != expected:
                mismatched += 1
            if record["key_source"] == "app" and not key_names(record, delivery):
                foreign_keys += 1
    counts["deliveries"] = len(deliveries)
    counts["deliveries_by_status"] = dict(statuses)
    counts["deliveries_by_channel"] = dict(channels)
    counts.update(sink_counts(records, [d.pk for d in deliveries]))
    counts["sink_text_mismatch"] = mismatched
    counts["sink_key_not_its_delivery"] = foreign_keys
    counts["sent_status_without_send"] = sum(
        1 for d in deliveries if d.status == "sent" and per_delivery[d.pk] == 0
    )
    explained, without_fault = explain_duplicates(
        [d for d in deliveries if per_delivery[d.pk] > 1], sends, stack, events
    )
    counts["duplicates_explained"] = explained
    counts["resends_without_fault_nearby"] = without_fault
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


def key_names(record: dict[str, Any], delivery: Any) -> bool:
    """Whether a send's key is its delivery's ``idempotency_key``: verbatim on an SMS, as
    the local part of the ``Message-ID`` on an e-mail."""
    from ihanoi.notifications.delivery import idempotency_key

    key, expected = record.get("key") or "", idempotency_key(delivery)
    if record["channel"] == "email":
        return key.startswith(f"<{expected}@") and key.endswith(">")
    return key == expected


def provider_view(records: list[dict[str, Any]], delivery_ids: list[int]) -> dict[str, int]:
    """What a provider that deduplicates by idempotency key hands on: it takes the sends in
    the order they reached it and passes each key on once (a send without a key every
    time). A delivery is lost when none of its sends was passed on (never sent, or its key
    was first used by another delivery), duplicated when more than one was (sent under two
    keys, or without one)."""
    first_use: dict[str, Any] = {}
    owners: dict[str, set[Any]] = collections.defaultdict(set)
    passed_on: collections.Counter[Any] = collections.Counter()
    dropped = 0
    for record in records:
        key = record.get("key")
        if key:
            owners[key].add(record["delivery"])
            if key in first_use:
                dropped += 1
                continue
            first_use[key] = record["delivery"]
        passed_on[record["delivery"]] += 1
    return {
        "dedup_lost": sum(1 for pk in delivery_ids if passed_on[pk] == 0),
        "dedup_once": sum(1 for pk in delivery_ids if passed_on[pk] == 1),
        "dedup_duplicated": sum(1 for pk in delivery_ids if passed_on[pk] > 1),
        "dedup_dropped_resends": dropped,
        "keys_shared_by_deliveries": sum(1 for found in owners.values() if len(found) > 1),
    }


def sink_counts(records: list[dict[str, Any]], delivery_ids: list[int]) -> dict[str, int]:
    """The sink's records against the outbox's deliveries: raw sends per delivery (what
    left the application) and what a deduplicating provider makes of them."""
    per_delivery = collections.Counter(record["delivery"] for record in records)
    known = set(delivery_ids)
    sent = [per_delivery[pk] for pk in delivery_ids]
    counts = {
        "sink_raw_sends": len(records),
        "sink_distinct_keys": len({r["key"] for r in records if r.get("key")}),
        "sink_without_delivery_id": per_delivery[None],
        "sink_unknown_delivery": sum(
            n for pk, n in per_delivery.items() if pk is not None and pk not in known
        ),
        "sends_without_app_key": sum(1 for r in records if r.get("key_source") != "app"),
        "lost": sum(1 for n in sent if n == 0),
        "once": sum(1 for n in sent if n == 1),
        "duplicated": sum(1 for n in sent if n > 1),
        "extra_sends": sum(n - 1 for n in sent if n > 1),
    }
    counts.update(provider_view(records, delivery_ids))
    return counts


def verdict(counts: dict[str, Any], *, allow_duplicates: bool = False) -> list[str]:
    """The checks that failed (empty: pass).

    Reports: every acknowledged draft has exactly one report, the one it was told about,
    and its outbox rows; nothing refused or left unacknowledged; no report nobody sent.
    Deliveries: the outbox settled; every delivery reached the provider (raw, and after
    deduplication by key); every send carried the application's key, naming its delivery;
    no delivery reached the recipient twice as a deduplicating provider sees it. Raw
    resends (a sender stopped between the send and marking the row) are counted, not
    failed: they carry the key of the first send. ``allow_duplicates`` accepts deliveries
    passed on twice and sends without a key (at-least-once), never a loss."""
    failed = []

    def need(ok: bool, what: str) -> None:
        if not ok:
            failed.append(what)

    need(counts["acked_exactly_one"] == counts["acknowledged"], "acknowledged without one report")
    need(counts["acked_missing"] == 0, "acknowledged reports lost")
    need(counts["keys_with_duplicate_reports"] == 0, "duplicate reports")
    need(counts["acked_wrong_report"] == 0, "acknowledgements naming another report")
    need(counts["reports_never_sent"] == 0, "reports nobody sent")
    need(counts["rejected_4xx"] == 0, "drafts refused")
    need(counts["unacknowledged"] == 0, "drafts never acknowledged")
    need(counts["reports_missing_outbox_rows"] == 0, "reports without their outbox rows")
    need(counts["settled"], "outbox not settled")
    need(counts["lost"] == 0, "deliveries never sent")
    need(counts["dedup_lost"] == 0, "deliveries the provider drops (lost by key)")
    need(counts["keys_shared_by_deliveries"] == 0, "keys shared by two deliveries")
    need(counts["sink_without_delivery_id"] == 0, "sends naming no delivery")
    need(counts["sink_unknown_delivery"] == 0, "sends naming an unknown delivery")
    need(counts["sink_text_mismatch"] == 0, "sends whose text is not their delivery's")
    need(counts["sink_key_not_its_delivery"] == 0, "sends whose key is not their delivery's")
    need(counts["sent_status_without_send"] == 0, "deliveries marked sent, never sent")
    if not allow_duplicates:
        need(counts["dedup_duplicated"] == 0, "deliveries duplicated by key")
        need(counts["sends_without_app_key"] == 0, "sends without the application's key")
    need(not counts["foreign_workers"], "other RQ workers used the test's Redis database")
    return failed


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
) -> tuple[list[str], int]:
    """For each delivery sent more than once: its sends, their keys, and the fault that fell
    between a send and the recording of its outcome: the sender killed, or the database
    restarting (the sender then fails to mark the row sent, and the row is sent again once
    its lease runs out). Returns the lines (the first ``EXPLAINED_MAX``) and how many
    resends had no fault next to them."""
    lines = []
    without_fault = 0
    for number, delivery in enumerate(duplicated):
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
                without_fault += 1
                causes.append(f"no fault found next to the send by {row['pid']}")
        if number >= EXPLAINED_MAX:
            continue
        sends_text = ", ".join(
            f"attempt {r['attempt']} by pid {r['pid']} ({sender_role(stack, r)}) at "
            f"{r['t'] - STARTED:.1f} s"
            for r in rows
        )
        keys = {r.get("key") for r in rows}
        keys_text = (
            "one key" if len(keys) == 1 and None not in keys else f"keys {sorted(map(str, keys))}"
        )
        lines.append(
            f"delivery {delivery.pk} ({delivery.channel}): {sends_text}; {keys_text}; "
            f"cause: {'; '.join(causes)}"
        )
    if len(duplicated) > EXPLAINED_MAX:
        lines.append(f"… and {len(duplicated) - EXPLAINED_MAX} more (see sink.jsonl)")
    return lines, without_fault


def report(counts: dict[str, Any], args: argparse.Namespace) -> bool:
    def line(label: str, value: Any) -> None:
        sys.stdout.write(f"  {label:<64} {value}\n")

    failed = verdict(counts, allow_duplicates=args.allow_duplicates)
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
    line(
        "deliveries claimed more than once (retried, or taken over)",
        counts["deliveries_claimed_again"],
    )
    sys.stdout.write("  as the provider receives them (raw sends):\n")
    line("sends at the sink", counts["sink_raw_sends"])
    line("  distinct idempotency keys among them", counts["sink_distinct_keys"])
    line("  sends carrying the application's key", _of(counts, "sends_without_app_key"))
    line("deliveries sent 0 times (lost)", counts["lost"])
    line("deliveries sent exactly once", counts["once"])
    line("deliveries sent more than once (resends in the crash window)", counts["duplicated"])
    line("  extra sends", counts["extra_sends"])
    line("  resends with no fault next to them", counts["resends_without_fault_nearby"])
    sys.stdout.write("  as a provider that deduplicates by key passes them on:\n")
    line("deliveries passed on 0 times (lost by key)", counts["dedup_lost"])
    line("deliveries passed on exactly once", counts["dedup_once"])
    line("deliveries passed on more than once (duplicated by key)", counts["dedup_duplicated"])
    line("resends dropped by the provider (key seen before)", counts["dedup_dropped_resends"])
    line("keys used by more than one delivery", counts["keys_shared_by_deliveries"])
    sys.stdout.write("  consistency:\n")
    line(
        "sends naming no delivery / an unknown one",
        f"{counts['sink_without_delivery_id']} / {counts['sink_unknown_delivery']}",
    )
    line("sends whose text is not their delivery's", counts["sink_text_mismatch"])
    line("sends whose key is not their delivery's", counts["sink_key_not_its_delivery"])
    line("deliveries marked sent but never sent", counts["sent_status_without_send"])
    line("'lease lost' warnings in the workers' logs", counts["lease_lost_warnings"])
    for explanation in counts["duplicates_explained"]:
        sys.stdout.write(f"  - {explanation}\n")
    for rejection in counts["rejections"]:
        sys.stdout.write(f"  - refused: {rejection}\n")
    if counts["foreign_workers"]:
        sys.stdout.write(
            f"  ! other RQ workers used the test's Redis database: {counts['foreign_workers']}\n"
        )
    allowed = " (duplicates allowed)" if args.allow_duplicates else ""
    summary = (
        f"reports {counts['acknowledged']} acknowledged, {counts['acked_missing']} lost, "
        f"{counts['keys_with_duplicate_reports']} duplicated; deliveries "
        f"{counts['deliveries']}, lost {counts['lost']} raw / {counts['dedup_lost']} by key, "
        f"duplicated {counts['dedup_duplicated']} by key ({counts['duplicated']} resent raw)"
    )
    if failed:
        sys.stdout.write(f"== FAIL{allowed}: {'; '.join(failed)} ==\n== {summary} ==\n")
    else:
        sys.stdout.write(f"== PASS{allowed}: {summary} ==\n")
    return not failed


def _of(counts: dict[str, Any], missing_key: str) -> str:
    total = counts["sink_raw_sends"]
    return f"{total - counts[missing_key]} of {total}"
