"""The outbox sender: a sweep claiming its deliveries in groups against one claim per row.

    .venv/bin/python bench/bench_delivery.py [--count N] [--rounds R]

Runs on PostgreSQL, as bench_submit.py does: the server named by DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/postgres, used only to create and drop the scratch
database ``ihanoi_bench_<pid>``, migrated here and dropped at the end). The SMS backend is
the in-memory one, so a send costs what building the message costs, and the measurement is
the sender's own work: reading due rows, claiming them, writing each outcome.

Each round queues N deliveries (an SMS each to N residents with verified phones, written by
``notify_all`` as a submission writes them), then sends them with ``deliveries_run`` sweeps
(limit 100, as the task) until none is left, once per method, the order alternating by
round:

- groups: as the sender runs, ``claim_group_size()`` rows per ``UPDATE … RETURNING``
  (5 with the default lease and e-mail timeout);
- one by one: each row claimed with its own conditional ``UPDATE`` built by the ORM, which
  is what the sender did before the groups (and still does where ``RETURNING`` is missing).

Prints, per delivery (best round of each, and the median of rounds): this process's CPU
time, the CPU time of its PostgreSQL backend (read from /proc, so the server must be on this
machine), the wall time, the statements sent; and the ratios groups / one by one. Figures
are for this machine; the ratios carry over.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any
from unittest import mock

import psycopg

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE / "load")]
import bench_submit  # noqa: E402 - the scratch database and the settings
from run import CLK_TCK, proc_stat  # noqa: E402 - bench/load/run.py: CPU from /proc


def backend_cpu_seconds(pid: int) -> float:
    """utime + stime of a PostgreSQL backend on this machine."""
    ticks = proc_stat(pid)
    if ticks is None:
        raise SystemExit(f"the PostgreSQL backend {pid} is not a process of this machine")
    return ticks[0] / CLK_TCK


def queue_deliveries(residents: list[Any], round_number: int, method: str) -> None:
    from ihanoi.notifications.services import Message, notify_all

    notify_all(
        [
            Message(
                recipients=[person],
                kind="report.routed",
                title="Phản ánh của bạn đã được chuyển đến UBND phường Hoàn Kiếm",
                body="Phản ánh của bạn đã được chuyển đến UBND phường Hoàn Kiếm.",
                link=f"/feedback/{round_number}-{index}/",
                dedupe_key=f"bench:{round_number}:{method}:{index}",
                channels=("sms",),
            )
            for index, person in enumerate(residents)
        ],
        fresh_keys=True,
    )


def sweep_all(patch: Callable[[], AbstractContextManager[Any]]) -> tuple[int, int]:
    """Send every due delivery; returns (sent, statements)."""
    from django.db import connection

    from ihanoi.notifications.delivery import deliveries_run

    sent = statements = 0

    def count(execute: Any, *args: Any) -> Any:
        nonlocal statements
        statements += 1
        return execute(*args)

    with patch(), connection.execute_wrapper(count):
        while True:
            stats = deliveries_run(limit=100)
            sent += stats.sent
            if stats.seen == 0:
                break
    return sent, statements


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="deliveries per method per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    if args.count < 1 or args.rounds < 1:
        parser.error("--count and --rounds must be at least 1")

    server_url = os.environ.get("DATABASE_URL", bench_submit.DEFAULT_URL)
    name = f"ihanoi_bench_{os.getpid()}"
    try:
        bench_submit.database_create(server_url, name)
    except psycopg.OperationalError as exc:
        print(f"cannot reach PostgreSQL at {server_url}: {exc}".strip(), file=sys.stderr)
        return 2
    try:
        with tempfile.TemporaryDirectory(prefix="bench-delivery-") as media:
            os.environ["SMS_BACKEND"] = "locmem"
            os.environ["LOG_LEVEL"] = "WARNING"  # the backend logs every SMS
            bench_submit.django_setup(bench_submit.scratch_url(server_url, name), Path(media))
            return run(args)
    finally:
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        bench_submit.database_drop(server_url, name)
        print(f"scratch database {name} dropped")


def run(args: argparse.Namespace) -> int:
    from django.core.management import call_command
    from django.db import connection

    from ihanoi.accounts.models import User
    from ihanoi.accounts.sms import LocMemSMSBackend
    from ihanoi.notifications.delivery import claim_group_size
    from ihanoi.notifications.models import Delivery

    call_command("migrate", verbosity=0)
    residents = [
        User.objects.create_user(phone=f"+8491{index:07d}", phone_verified=True)
        for index in range(args.count)
    ]
    methods: dict[str, Callable[[], AbstractContextManager[Any]]] = {
        f"groups of {claim_group_size()}": nullcontext,
        "one by one (ORM)": lambda: mock.patch.object(
            connection.features, "can_return_columns_from_insert", False
        ),
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]

    # Warm-up: compiled queries, imports, the backend's caches.
    for number, patch in enumerate(methods.values()):
        queue_deliveries(residents[:100], -1 - number, "warm-up")
        sweep_all(patch)

    results: dict[str, list[dict[str, float]]] = {name: [] for name in methods}
    for round_number in range(args.rounds):
        order = list(methods) if round_number % 2 == 0 else list(reversed(methods))
        for name in order:
            queue_deliveries(residents, round_number, name)
            LocMemSMSBackend.outbox.clear()
            cpu, server, wall = (
                time.process_time(),
                backend_cpu_seconds(backend),
                time.perf_counter(),
            )
            sent, statements = sweep_all(methods[name])
            cpu = time.process_time() - cpu
            server = backend_cpu_seconds(backend) - server
            wall = time.perf_counter() - wall
            if sent != args.count or len(LocMemSMSBackend.outbox) != args.count:
                print(
                    f"{name}: sent {sent}, outbox {len(LocMemSMSBackend.outbox)}", file=sys.stderr
                )
                return 1
            results[name].append(
                {
                    "cpu_ms": cpu * 1000 / sent,
                    "server_ms": server * 1000 / sent,
                    "wall_ms": wall * 1000 / sent,
                    "statements": statements / sent,
                }
            )
    left = Delivery.objects.exclude(status=Delivery.Status.SENT).count()
    if left:
        print(f"{left} deliveries were not sent", file=sys.stderr)
        return 1

    print(f"{bench_submit.cpu_model()}, nproc {bench_submit.nproc()}; {args.count} deliveries")
    print(f"per method per round, {args.rounds} rounds; best round (median of rounds)\n")
    print("| per delivery | " + " | ".join(methods) + " | ratio |")
    print("|---|" + "---:|" * (len(methods) + 1))
    first, second = methods
    for key, label in (
        ("cpu_ms", "sender CPU ms"),
        ("server_ms", "PostgreSQL CPU ms"),
        ("wall_ms", "wall ms"),
        ("statements", "statements"),
    ):
        best = {name: min(r[key] for r in results[name]) for name in methods}
        median = {name: statistics.median(r[key] for r in results[name]) for name in methods}
        cells = [f"{best[name]:.3f} ({median[name]:.3f})" for name in methods]
        ratio = best[first] / best[second] if best[second] else float("nan")
        print(f"| {label} | " + " | ".join(cells) + f" | {ratio:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
