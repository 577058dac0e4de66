"""Load tests of the main flows through the production-like stack, each next to a raw-database
baseline measured in the same run.

    .venv/bin/python bench/load/run.py [--duration 20] [--warmup 3] [--scenarios a,b]
                                       [--volume N] [--users submit=32,...] [--rounds 1]
    make load-test

What it does:

1. Starts deploy/stack.py (two gunicorn instances behind nginx, the RQ worker, the scheduler,
   PostgreSQL with per-process pools, Redis) on its own database ``ihanoi_load_bench`` (kept
   between runs: the data volume is expensive to make; ``--fresh`` drops it first), Redis
   database 7, var directory ``var/load`` and ports 18070-18073, plain HTTP (TLS is not what
   is measured).
2. Data: with ``--volume N``, when the database holds fewer than N reports, it calls
   ``ihanoi generate_volume --reports <missing> --residents M --years 2 [--append]`` if that
   command exists; otherwise (and without ``--volume``) it tops the database up to
   ``--seed-reports`` reports (default 2,000) through ``report_submit`` itself. Either way
   each load resident gets 20 reports. The result names the volume.
3. Identities: one resident per submitting user with a device token, a hub operator with
   TOTP and one signed-in session per inbox user (created directly, as the sign-in would).
4. For each scenario, a closed loop (no think time) of N users for warm-up + duration seconds:
   - the application: locust headless (FastHttpUser, bench/load/locustfile.py) through
     nginx;
   - the baseline: N threads with one psycopg connection each doing the same database work:
     for the submission, the rows a submission writes (copied from one the API made, as
     bench/bench_submit.py does: report, events, notifications, deliveries, in one
     transaction, the API's photo rows and files aside); for the reads, the SELECT
     statements the same request runs (captured from the application itself, with their
     parameters) replayed one after another.
   Requests that end within the measured window count (after the warm-up); the same
   statistics are computed for both: throughput, p50/p95/p99 latency, and the ratios.
   Between phases the RQ queue is left to drain, so that one phase's deliveries do not run
   in the next one.
5. Meanwhile it samples every 0.25 s the CPU time and resident memory of every process of
   the stack (gunicorn masters and workers, the RQ worker, the scheduler, nginx), of the
   PostgreSQL backends of the database, and of the load client itself, and reports CPU per
   request by group, the client's share of the machine, and each process's peak RSS
   (sampled VmRSS and the kernel's VmHWM).

It writes ``var/load/results/load-<time>.json`` and ``.md`` and prints the markdown. Figures
are for this machine; read the ratios, and the CPU per request, not the rates.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import importlib.metadata
import io
import json
import os
import platform
import random
import re
import shlex
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import psycopg.sql

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "deploy"))
sys.path.insert(0, str(ROOT / "bench"))
import bench_submit  # noqa: E402 - the baseline's row copying
import stack  # noqa: E402 - deploy/stack.py

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/ihanoi_load_bench"
REDIS_URL = "redis://127.0.0.1:6379/7"
HTTP_PORT, APP_PORT = 18070, 18072
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
SAMPLE_EVERY = 0.25
LOAD_PHONE_PREFIX = "+8491770"  # + 4 digits: the load residents
BASELINE_PHONE = "+84917729999"  # the reporter of the submit baseline's copies
TITLE = "Ổ gà lớn trên phố Đinh Tiên Hoàng"
DESCRIPTION = (
    "Mặt đường bị sụt thành ổ gà sâu khoảng 10 cm ngay trước số 12, xe máy phải tránh "
    "sang làn bên cạnh, rất nguy hiểm vào buổi tối."
)


@dataclass(frozen=True)
class Scenario:
    name: str
    user_class: str  # in locustfile.py
    users: int
    what: str


SCENARIOS = {
    s.name: s
    for s in (
        Scenario(
            "submit",
            "Submit",
            32,
            "POST /api/v1/reports: multipart, fresh client_key, a share with one photo",
        ),
        Scenario("my_reports", "MyReports", 32, "GET /api/v1/me/reports?page_size=20"),
        # The floor under every signed-in API call: the token's lookup, one count, a small
        # JSON body. No submission can be served faster than this request.
        Scenario("me", "Me", 32, "GET /api/v1/me (token lookup, unread count)"),
        Scenario("public_list", "PublicList", 32, "GET /feedback/ (HTML, anonymous)"),
        Scenario("map_data", "MapData", 32, "GET /feedback/map.json (≤ 1000 points)"),
        # A city's hub and its integrators are a handful of people and systems.
        Scenario("staff_inbox", "StaffInbox", 16, "GET /staff/reports/ (hub operator, TOTP)"),
        Scenario("open311", "Open311", 8, "GET /open311/v2/requests.json?page_size=1000"),
    )
}


# --- Statistics -------------------------------------------------------------------------------

Record = tuple[float, float, int]  # start (epoch seconds), duration (seconds), failed


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation, as numpy's default."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class Window:
    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


def window_of(records: Sequence[Record], warmup: float, duration: float) -> Window:
    first = min(start for start, _, _ in records)
    return Window(first + warmup, first + warmup + duration)


def summarise(records: Sequence[Record], window: Window) -> dict[str, Any]:
    """Requests that ended inside the window: rate, latency percentiles, failures."""
    inside = [r for r in records if window.start <= r[0] + r[1] <= window.end]
    ok = [seconds for _, seconds, failed in inside if not failed]
    failures = sum(failed for _, _, failed in inside)
    return {
        "requests": len(inside),
        "failures": failures,
        "per_second": len(ok) / window.seconds,
        "p50_ms": percentile(ok, 50) * 1000,
        "p95_ms": percentile(ok, 95) * 1000,
        "p99_ms": percentile(ok, 99) * 1000,
        "mean_ms": (statistics.fmean(ok) * 1000) if ok else float("nan"),
        "max_ms": (max(ok) * 1000) if ok else float("nan"),
    }


# --- Processes: CPU and memory ----------------------------------------------------------------


def proc_stat(pid: int) -> tuple[int, int] | None:
    """(own CPU ticks, reaped children's CPU ticks) of a process, or None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # After the ")": state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17).
    return int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def proc_memory(pid: int) -> tuple[int, int] | None:
    """(VmRSS, VmHWM) in KiB."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    values = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", text, re.M))
    if "VmRSS" not in values:
        return None
    return int(values["VmRSS"]), int(values.get("VmHWM", values["VmRSS"]))


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine."""
    numbers = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = numbers[3] + (numbers[4] if len(numbers) > 4 else 0)
    return sum(numbers) - idle, sum(numbers)


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        for child in stack.children_of(todo.pop()):
            found.append(child)
            todo.append(child)
    return found


@dataclass
class Sample:
    at: float
    cpu: dict[str, int]  # group → ticks (reaped children included)
    machine: tuple[int, int]


class Sampler:
    """Samples, in a thread, the CPU ticks of each group of processes and everyone's RSS."""

    def __init__(self, state: dict[str, Any], database: str) -> None:
        self.roots = {name: p["pid"] for name, p in state["processes"].items() if p.get("pid")}
        self.database = database
        self.samples: list[Sample] = []
        self.rss_peak: dict[tuple[str, int], int] = {}
        self.hwm: dict[tuple[str, int], int] = {}
        self.extra: dict[str, list[int]] = {}  # group → pids (client, postgres backends)
        # The last ticks seen of each watched process outside the stack's tree (the client,
        # PostgreSQL backends): a backend that ends mid-phase (its gunicorn worker recycled
        # after max_requests) keeps what it spent instead of taking it out of the total.
        self.last_ticks: dict[tuple[str, int], int] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def watch(self, group: str, pids: list[int]) -> None:
        with self.lock:
            self.extra[group] = list(pids)
            for key in [key for key in self.last_ticks if key[0] == group]:
                del self.last_ticks[key]

    def _groups(self) -> dict[str, list[tuple[str, int, bool]]]:
        """group → (label, pid, count reaped children)."""
        groups: dict[str, list[tuple[str, int, bool]]] = {}
        for name, pid in self.roots.items():
            group = "web" if name.startswith("app") else name.split("-")[0]
            groups.setdefault(group, []).append((f"{name} master", pid, True))
            for child in descendants(pid):
                label = f"{name} worker" if group in ("web", "nginx") else f"{name} child"
                groups[group].append((label, child, True))
        with self.lock:
            for group, pids in self.extra.items():
                if group == "postgres" and pids:
                    # Backends opened after the phase started (a recycled worker's pool).
                    pids.extend(set(database_backends(self.database)) - set(pids))
                groups.setdefault(group, []).extend((group, pid, False) for pid in pids)
        return groups

    def sample(self) -> None:
        cpu: dict[str, int] = {}
        for group, members in self._groups().items():
            total = 0
            for label, pid, reaped in members:
                stat = proc_stat(pid)
                if not reaped:  # outside the stack: nobody reaps it into a parent's ticks
                    with self.lock:
                        if stat is not None:
                            self.last_ticks[(group, pid)] = stat[0]
                        total += self.last_ticks.get((group, pid), 0)
                    continue
                if stat is None:
                    continue
                total += stat[0] + stat[1]
                if group in ("client", "postgres"):
                    continue
                memory = proc_memory(pid)
                if memory:
                    key = (label, pid)
                    self.rss_peak[key] = max(self.rss_peak.get(key, 0), memory[0])
                    self.hwm[key] = max(self.hwm.get(key, 0), memory[1])
            cpu[group] = total
        self.samples.append(Sample(time.time(), cpu, machine_ticks()))

    def _run(self) -> None:
        while not self.stopping.is_set():
            with contextlib.suppress(Exception):
                self.sample()
            self.stopping.wait(SAMPLE_EVERY)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()

    def nearest(self, at: float) -> Sample:
        return min(self.samples, key=lambda s: abs(s.at - at))

    def usage(self, window: Window) -> dict[str, Any]:
        """CPU seconds of each group, and the machine's busy share, within the window."""
        first, last = self.nearest(window.start), self.nearest(window.end)
        seconds = max(last.at - first.at, 1e-6)
        groups = {
            group: (last.cpu[group] - first.cpu.get(group, 0)) / CLK_TCK
            for group in last.cpu
            if group in first.cpu
        }
        busy = (last.machine[0] - first.machine[0]) / max(last.machine[1] - first.machine[1], 1)
        cpus = os.cpu_count() or 1
        return {
            "seconds": seconds,
            "cpu_seconds": groups,
            "machine_busy": busy,  # share of all CPUs
            "cpus": cpus,
        }


def database_backends(database: str) -> list[int]:
    """PostgreSQL backends connected to ``database``, by their process titles
    ("postgres: 15/main: user database host(port) state"), without asking the server."""
    marker = f" {database} ".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if title.startswith(b"postgres: ") and marker in title:
            found.append(int(entry.name))
    return found


def postgres_backends(url: str) -> list[int]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        ).fetchall()
    return [int(row[0]) for row in rows]


# --- Django in this process -------------------------------------------------------------------


def django_setup(state: dict[str, Any], database_url: str, redis_url: str) -> None:
    """This process prepares data and captures SQL: the development settings, the stack's
    secret key (the sessions it makes must be valid there) and its database, cache and queue."""
    var_dir = Path(state["var_dir"])
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "ihanoi.settings",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "TASKS_BACKEND": "rq",
            "IHANOI_PRODUCTION": "0",
            "DEBUG": "0",
            "SECRET_KEY": (var_dir / "secret_key").read_text().strip(),
            "MEDIA_ROOT": state["media_root"],
            "IHANOI_VAR_DIR": str(var_dir),
            "LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()


def volume(database_url: str) -> dict[str, int]:
    tables = {
        "reports": "feedback_report",
        "events": "feedback_reportevent",
        "photos": "feedback_reportphoto",
        "notifications": "notifications_notification",
        "deliveries": "notifications_delivery",
        "users": "accounts_user",
    }
    with psycopg.connect(database_url, autocommit=True) as conn:
        return {
            name: int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]  # noqa: S608
            for name, table in tables.items()
        }


def ihanoi_has(command: str) -> bool:
    done = subprocess.run(  # noqa: S603
        stack.ihanoi_command("help", command), capture_output=True, check=False, env=os.environ
    )
    return done.returncode == 0


def points_in_wards() -> list[tuple[float, float]]:
    """The current wards' centre points that locate to their own ward."""
    from ihanoi.places.selectors import current_wards, locate_ward

    points = []
    for ward in current_wards().exclude(centre_lat=None):
        found = locate_ward(ward.centre_lat, ward.centre_lon)
        if found is not None and found.pk == ward.pk:
            points.append((round(ward.centre_lat, 6), round(ward.centre_lon, 6)))
    if not points:
        raise SystemExit("no ward centre locates to its ward: are the places loaded?")
    return points


def categories_with_answers() -> list[tuple[str, dict[str, Any]]]:
    """Public categories that need no photo, with an answer to every required question."""
    from ihanoi.feedback.catalogue import active_categories
    from ihanoi.feedback.models import Question

    found = []
    for category in active_categories().filter(is_public=True, photo_required=False):
        answers: dict[str, Any] = {}
        for question in category.questions.filter(required=True):
            datatype = question.datatype
            if datatype in (Question.Datatype.SINGLE, Question.Datatype.MULTI):
                key = question.choices[0]["key"]
                answers[question.code] = [key] if datatype == Question.Datatype.MULTI else key
            elif datatype == Question.Datatype.NUMBER:
                answers[question.code] = "1"
            elif datatype == Question.Datatype.DATE:
                answers[question.code] = datetime.date.today().isoformat()
            else:
                answers[question.code] = "Kiểm tra tải"
        found.append((category.code, answers))
    return found


def load_residents(count: int) -> list[Any]:
    from ihanoi.accounts.models import Role, User

    residents = []
    for i in range(count):
        user, _ = User.objects.get_or_create(
            phone=f"{LOAD_PHONE_PREFIX}{i:04d}",
            defaults={"phone_verified": True, "role": Role.RESIDENT, "full_name": f"Tải {i}"},
        )
        residents.append(user)
    return residents


def seed_reports(target: int, residents: list[Any], per_resident: int, say: Any) -> int:
    """Top the database up to ``target`` reports (and ``per_resident`` for each load resident)
    through report_submit, as the web form would; their deliveries go to the stack's worker."""
    from ihanoi.accounts.models import Role, User
    from ihanoi.feedback.models import Report
    from ihanoi.feedback.services import Submission, report_submit

    rng = random.Random(2025)
    points = points_in_wards()
    categories = categories_with_answers()
    others = [
        User.objects.get_or_create(
            phone=f"+8491771{i:04d}", defaults={"phone_verified": True, "role": Role.RESIDENT}
        )[0]
        for i in range(200)
    ]
    owners = []
    for resident in residents:
        owners += [resident] * max(
            0, per_resident - Report.objects.filter(reporter=resident).count()
        )
    missing = max(0, target - Report.objects.count())
    owners += [rng.choice(others) for _ in range(max(0, missing - len(owners)))]
    if not owners:
        return 0
    say(f"seeding {len(owners)} reports through report_submit (once; the database keeps them)")
    started = time.monotonic()
    for number, owner in enumerate(owners, 1):
        code, answers = rng.choice(categories)
        lat, lon = rng.choice(points)
        report_submit(
            reporter=owner,
            submission=Submission(
                kind="field",
                category_code=code,
                title=f"{TITLE} ({number})",
                description=DESCRIPTION,
                lat=lat + rng.uniform(-0.0005, 0.0005),
                lon=lon + rng.uniform(-0.0005, 0.0005),
                answers=answers,
                client_key=uuid.uuid4().hex,
            ),
            photos=(),
        )
        if number % 250 == 0:
            say(f"  {number}/{len(owners)} ({number / (time.monotonic() - started):.0f}/s)")
    return len(owners)


def tokens_for(residents: list[Any]) -> list[str]:
    from ihanoi.api.services import device_token_issue

    return [device_token_issue(user=user, name="load test")[1] for user in residents]


def staff_sessions(count: int) -> tuple[Any, list[str]]:
    """A hub operator with TOTP, signed in ``count`` times (sessions in the database)."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP
    from django.test import Client

    from ihanoi.accounts.models import Role, User
    from ihanoi.accounts.services import staff_user_create

    email = "hub-load@load.example.vn"
    user = User.objects.filter(email=email).first()
    if user is None:
        user = staff_user_create(email=email, password=uuid.uuid4().hex, role=Role.HUB_OPERATOR)
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, "JBSWY3DPEHPK3PXPLOADTESTHUB23456")
    cookies = []
    for _ in range(count):
        client = Client()
        client.force_login(user)
        cookies.append(client.cookies["sessionid"].value)
    return user, cookies


def test_photo(width: int, height: int) -> bytes:
    from bench_images import phone_exif, phone_photo

    buffer = io.BytesIO()
    phone_photo(width, height, seed=7).save(buffer, "JPEG", quality=90, exif=phone_exif(6))
    return buffer.getvalue()


# --- Baselines --------------------------------------------------------------------------------


def submit_template(http_base: str, token: str, category: str, answers: dict[str, Any]) -> int:
    """A report made through the API (no photo): the rows the submit baseline copies."""
    import requests

    from ihanoi.feedback.models import Report

    response = requests.post(
        f"{http_base}/api/v1/reports",
        data={
            "category": category,
            "title": TITLE,
            "description": DESCRIPTION,
            "lat": "21.0287",
            "lon": "105.8523",
            "answers": json.dumps(answers),
            "client_key": uuid.uuid4().hex,
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    if response.status_code != 201:
        raise SystemExit(f"the template submission failed: {response.status_code} {response.text}")
    return int(Report.objects.get(public_id=response.json()["id"]).pk)


def submit_baseline_template(url: str, report_id: int) -> bench_submit.Baseline:
    """bench_submit.baseline_build, the copies going to a reporter of their own (they are
    deleted after the phase: baseline_rows_delete)."""
    from ihanoi.accounts.models import Role, User

    copier, _ = User.objects.get_or_create(
        phone=BASELINE_PHONE, defaults={"phone_verified": True, "role": Role.RESIDENT}
    )
    return bench_submit.baseline_build(url, report_id, copies_for=copier.pk)


class CollectingBaseline:
    """A submit baseline that remembers the reports it made, for baseline_rows_delete."""

    def __init__(self, baseline: bench_submit.Baseline) -> None:
        self.baseline = baseline
        self.conn = baseline.conn
        self.ids: list[int] = []

    def __call__(self) -> None:
        self.ids.append(self.baseline())


def baseline_rows_delete(url: str, report_ids: list[int]) -> None:
    """Remove what the submit baseline inserted (deliveries, notifications, events, reports:
    the foreign keys have no ON DELETE in the database), so that runs do not pile up rows."""
    if not report_ids:
        return
    with psycopg.connect(url) as conn, conn.transaction():
        conn.execute(
            "CREATE TEMPORARY TABLE gone_events ON COMMIT DROP AS SELECT id::text AS id "
            "FROM feedback_reportevent WHERE report_id = ANY(%s)",
            [report_ids],
        )
        conn.execute(
            "CREATE TEMPORARY TABLE gone_notifications ON COMMIT DROP AS SELECT n.id "
            "FROM notifications_notification n JOIN gone_events e "
            "ON split_part(n.dedupe_key, ':', 2) = e.id "
            "WHERE n.dedupe_key LIKE 'report-event:%%'"
        )
        conn.execute(
            "DELETE FROM notifications_delivery WHERE notification_id IN "
            "(SELECT id FROM gone_notifications)"
        )
        conn.execute(
            "DELETE FROM notifications_notification WHERE id IN (SELECT id FROM gone_notifications)"
        )
        conn.execute("DELETE FROM feedback_reportevent WHERE report_id = ANY(%s)", [report_ids])
        conn.execute("DELETE FROM feedback_report WHERE id = ANY(%s)", [report_ids])


Statement = tuple[str, Any]


def capture_selects(path: str, **extra: Any) -> list[Statement]:
    """The SELECT statements (with their parameters) of one GET request, run in this process
    through Django's test client: what the baseline replays."""
    from django.db import connection
    from django.test import Client

    client = Client()
    if "cookie" in extra:
        client.cookies["sessionid"] = extra.pop("cookie")
    client.get(path, **extra)  # warm: caches, the ward index, the session's first touch
    seen: list[Statement] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.lstrip().upper().startswith("SELECT"):
            seen.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper), _page_built_afresh():
        response = client.get(path, **extra)
    if response.status_code != 200:
        raise SystemExit(f"capturing {path}: {response.status_code}")
    return seen


def _page_built_afresh() -> Any:
    """The baseline replays what building the page reads, also where the application keeps
    the page in its cache (the public list and map: a hit would read nothing)."""
    try:
        from ihanoi.feedback.public_cache import bypassed
    except ImportError:  # an older source tree (PYTHONPATH=.../src): no cache there
        return contextlib.nullcontext()
    return bypassed()


class ReadBaseline:
    """One connection replaying one request's SELECTs, fetching every row."""

    def __init__(self, url: str, statements: list[Statement]) -> None:
        self.conn = psycopg.connect(url, autocommit=True, cursor_factory=psycopg.ClientCursor)
        self.statements = statements

    def __call__(self) -> int:
        rows = 0
        with self.conn.cursor() as cursor:
            for sql, params in self.statements:
                cursor.execute(sql, params)
                rows += len(cursor.fetchall())
        return rows

    def close(self) -> None:
        self.conn.close()


def closed_loop(
    operations: list[Callable[[], Any]], seconds: float
) -> tuple[list[Record], list[str]]:
    """Each operation in its own thread, back to back, for ``seconds``."""
    records: list[Record] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(operations) + 1)
    stop_at = 0.0

    def run(operation: Callable[[], Any]) -> None:
        mine: list[Record] = []
        barrier.wait()
        clock = time.perf_counter
        while time.time() < stop_at:
            start, before = time.time(), clock()
            try:
                operation()
                failed = 0
            except Exception as exc:
                failed = 1
                if len(errors) < 5:
                    errors.append(repr(exc))
            mine.append((start, clock() - before, failed))
        with lock:
            records.extend(mine)

    threads = [threading.Thread(target=run, args=(op,)) for op in operations]
    for thread in threads:
        thread.start()
    stop_at = time.time() + seconds
    barrier.wait()
    for thread in threads:
        thread.join()
    return records, errors


# --- Phases -----------------------------------------------------------------------------------


def rq_idle(redis_url: str, timeout: float) -> float:
    """Wait until the RQ queue is empty and no job runs; the seconds it took."""
    import redis
    from rq import Queue
    from rq.registry import StartedJobRegistry

    connection = redis.Redis.from_url(redis_url)
    queue = Queue("default", connection=connection)
    registry = StartedJobRegistry(queue=queue)
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if queue.count == 0 and registry.count == 0:
            break
        time.sleep(0.25)
    connection.close()
    return time.monotonic() - started


@dataclass
class Phase:
    records: list[Record]
    window: Window
    stats: dict[str, Any]
    usage: dict[str, Any]
    client_cpu_seconds: float
    errors: list[str] = field(default_factory=list)


def app_phase(
    scenario: Scenario,
    users: int,
    base_url: str,
    config: dict[str, Any],
    out: Path,
    sampler: Sampler,
    database_url: str,
    warmup: float,
    duration: float,
) -> Phase:
    records_path = out / f"{scenario.name}-records.json"
    records_path.unlink(missing_ok=True)
    config_path = out / f"{scenario.name}-locust.json"
    config_path.write_text(json.dumps({**config, "records": str(records_path)}))
    locust = Path(sys.executable).parent / "locust"
    command = [
        str(locust),
        "-f",
        str(HERE / "locustfile.py"),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(users),
        "--run-time",
        f"{warmup + duration + 2:.0f}s",
        "--host",
        base_url,
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--stop-timeout",
        "0",
        scenario.user_class,
    ]
    env = dict(os.environ, IHANOI_LOAD_CONFIG=str(config_path))
    log = (out / f"{scenario.name}-locust.log").open("w")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    sampler.watch("client", [process.pid])
    time.sleep(1.0)
    sampler.watch("client", [process.pid])
    sampler.watch("postgres", postgres_backends(database_url))
    process.wait()
    log.close()
    sampler.watch("client", [])
    records = (
        [tuple(r) for r in json.loads(records_path.read_text())] if records_path.exists() else []
    )
    if not records:
        raise SystemExit(f"locust recorded nothing; see {out / (scenario.name + '-locust.log')}")
    window = window_of(records, warmup, duration)  # type: ignore[arg-type]
    usage = sampler.usage(window)
    return Phase(
        records=records,  # type: ignore[arg-type]
        window=window,
        stats=summarise(records, window),  # type: ignore[arg-type]
        usage=usage,
        client_cpu_seconds=usage["cpu_seconds"].get("client", 0.0),
    )


def baseline_phase(
    operations: list[Callable[[], Any]],
    sampler: Sampler,
    database_url: str,
    warmup: float,
    duration: float,
) -> Phase:
    sampler.watch("client", [os.getpid()])
    sampler.watch("postgres", postgres_backends(database_url))
    records, errors = closed_loop(operations, warmup + duration + 1)
    sampler.watch("client", [])
    window = window_of(records, warmup, duration)
    usage = sampler.usage(window)
    return Phase(
        records=records,
        window=window,
        stats=summarise(records, window),
        usage=usage,
        client_cpu_seconds=usage["cpu_seconds"].get("client", 0.0),
        errors=errors,
    )


# --- Reporting --------------------------------------------------------------------------------


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def phase_json(phase: Phase, workers: int) -> dict[str, Any]:
    usage = phase.usage
    done = max(phase.stats["requests"], 1)
    cpu_ms = {g: s * 1000 / done for g, s in usage["cpu_seconds"].items()}
    total_ms = sum(cpu_ms.values())
    return {
        **phase.stats,
        "concurrency": workers,
        "window_seconds": phase.window.seconds,
        "cpu_ms_per_request": cpu_ms,
        "cpu_ms_per_request_total": total_ms,
        # What the machine could do if all its CPUs were ours: robust to neighbours' load.
        "cpu_bound_per_second": usage["cpus"] * 1000 / total_ms if total_ms else float("nan"),
        "measured_share_of_machine": sum(usage["cpu_seconds"].values())
        / max(usage["seconds"] * usage["cpus"], 1e-6),
        "client_cpu_share_of_one_core": phase.client_cpu_seconds / max(usage["seconds"], 1e-6),
        "machine_busy": usage["machine_busy"],
        "errors": phase.errors,
    }


def fmt(value: float, digits: int = 0) -> str:
    if value != value:  # NaN
        return "–"
    return f"{value:,.{digits}f}"


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"Load test {result['started_at']} — {result['machine']['cpu']}, "
        f"nproc {result['machine']['nproc']}; stack: {result['stack']['summary']}; "
        f"data: {result['volume']['reports']:,} reports, {result['volume']['users']:,} users; "
        f"{result['duration']:.0f} s measured after {result['warmup']:.0f} s warm-up.",
        "",
        "| scenario | users | app req/s | app p50 / p95 / p99 ms | baseline ops/s | "
        "baseline p50 / p95 / p99 ms | throughput app/baseline | latency ratio p50 / p95 / p99 "
        "| errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in result["scenarios"].items():
        app, base, r = row["app"], row["baseline"], row["ratios"]
        lines.append(
            f"| {name} | {app['concurrency']} | {fmt(app['per_second'], 1)} | "
            f"{fmt(app['p50_ms'], 1)} / {fmt(app['p95_ms'], 1)} / {fmt(app['p99_ms'], 1)} | "
            f"{fmt(base['per_second'], 1)} | {fmt(base['p50_ms'], 2)} / {fmt(base['p95_ms'], 2)}"
            f" / {fmt(base['p99_ms'], 2)} | **{fmt(r['throughput'], 3)}** | "
            f"{fmt(r['p50'], 1)} / {fmt(r['p95'], 1)} / {fmt(r['p99'], 1)} | "
            f"{app['failures']} / {base['failures']} |"
        )
    scenarios = result["scenarios"]
    if "me" in scenarios and "submit" in scenarios:
        floor = scenarios["me"]["app"]["per_second"]
        bare = scenarios["submit"]["baseline"]["per_second"]
        lines += [
            "",
            f"The floor: the cheapest signed-in API request (`me`) ran at {fmt(floor, 1)}/s, "
            f"{fmt(100 * ratio(floor, bare), 1)} % of the submission's raw baseline "
            f"({fmt(bare, 1)}/s); a submission through the API cannot be faster than it.",
        ]
    lines += [
        "",
        "CPU time per request in ms (each group's processes; the application's worker column is"
        " the RQ worker and the scheduler), the load client's share of one core, and how busy"
        " the whole machine was against what the measured processes used",
        "",
        "| scenario | web | worker | nginx | postgres | client | **app total** | "
        "baseline: postgres | client | **total** | CPU ratio app/baseline | "
        "CPU-bound req/s app / baseline | client, % of one core | machine busy / ours |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in result["scenarios"].items():
        app, base = row["app"]["cpu_ms_per_request"], row["baseline"]["cpu_ms_per_request"]
        lines.append(
            f"| {name} | {fmt(app.get('web', 0), 1)} | "
            f"{fmt(app.get('rqworker', 0) + app.get('scheduler', 0), 1)} | "
            f"{fmt(app.get('nginx', 0), 2)} | {fmt(app.get('postgres', 0), 2)} | "
            f"{fmt(app.get('client', 0), 2)} | **{fmt(row['app']['cpu_ms_per_request_total'], 1)}**"
            f" | {fmt(base.get('postgres', 0), 2)} | {fmt(base.get('client', 0), 2)} | "
            f"**{fmt(row['baseline']['cpu_ms_per_request_total'], 2)}** | "
            f"{fmt(row['ratios']['cpu_per_request'], 1)} | "
            f"{fmt(row['app']['cpu_bound_per_second'])} / "
            f"{fmt(row['baseline']['cpu_bound_per_second'])} | "
            f"{fmt(row['app']['client_cpu_share_of_one_core'] * 100)} % | "
            f"{fmt(row['app']['machine_busy'] * 100)} % / "
            f"{fmt(row['app']['measured_share_of_machine'] * 100)} % |"
        )
    lines += [
        "",
        "Peak memory per process (MiB)",
        "",
        "| process | pid | peak VmRSS sampled | VmHWM |",
    ]
    lines.append("|---|---:|---:|---:|")
    for row in result["memory"]:
        lines.append(
            f"| {row['process']} | {row['pid']} | {fmt(row['peak_rss_kib'] / 1024, 1)} | "
            f"{fmt(row['hwm_kib'] / 1024, 1)} |"
        )
    if result.get("drain"):
        lines += [
            "",
            "RQ queue drained after each phase (s): "
            + ", ".join(f"{k} {fmt(v, 1)}" for k, v in result["drain"].items()),
        ]
    return "\n".join(lines) + "\n"


# --- Main -------------------------------------------------------------------------------------


def parse_users(raw: str) -> dict[str, int]:
    users = {}
    for item in filter(None, (p.strip() for p in raw.split(","))):
        name, _, count = item.partition("=")
        if name not in SCENARIOS or not count.isdigit() or int(count) < 1:
            raise argparse.ArgumentTypeError(f"--users: NAME=COUNT with NAME in {list(SCENARIOS)}")
        users[name] = int(count)
    return users


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    add = parser.add_argument
    add("--duration", type=float, default=20.0, help="measured seconds per phase")
    add("--warmup", type=float, default=3.0, help="seconds before the measurement starts")
    add("--rounds", type=int, default=1, help="app/baseline pairs per scenario (order alternates)")
    add("--scenarios", default=",".join(SCENARIOS), help="comma-separated, from the list above")
    add("--users", type=parse_users, default={}, help="e.g. submit=64,open311=4 (overrides)")
    add("--photo-share", type=float, default=0.25, help="share of submissions with a photo")
    add("--photo-size", default="2000x1500", help="WIDTHxHEIGHT of the JPEG (quality 90)")
    add("--volume", type=int, default=0, help="ihanoi generate_volume --reports N, if present")
    add("--residents", type=int, default=0, help="with --volume (default N/20)")
    add("--seed-reports", type=int, default=2000, help="without a volume: reports to have")
    add("--database-url", default=DATABASE_URL)
    add("--redis-url", default=REDIS_URL)
    add("--fresh", action="store_true", help="drop the database first")
    add("--instances", type=int, default=2)
    add("--workers", type=int, default=2, help="gunicorn workers per instance")
    add("--worker-class", choices=["sync", "gthread"], default="sync")
    add("--threads", type=int, default=1)
    add("--stack-arg", action="append", default=[], help="more deploy/stack.py up options")
    add("--var-dir", type=Path, default=ROOT / "var" / "load")
    add("--out", type=Path, default=None, help="result file (default var/load/results/…)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    names = [n.strip() for n in args.scenarios.split(",") if n.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise SystemExit(f"unknown scenario(s) {unknown}; known: {list(SCENARIOS)}")
    width, height = (int(v) for v in args.photo_size.lower().split("x"))
    var_dir = args.var_dir.resolve()
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    out_file = args.out or var_dir / "results" / f"load-{stamp}.json"
    work = var_dir / "work"
    work.mkdir(parents=True, exist_ok=True)

    def say(message: str) -> None:
        print(f"[load] {message}", flush=True)

    if args.fresh:
        name = urlsplit(args.database_url).path.lstrip("/")
        with psycopg.connect(stack.server_url(args.database_url), autocommit=True) as conn:
            conn.execute(
                psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    psycopg.sql.Identifier(name)
                )
            )
        say(f"dropped {name}")

    stack_argv = [
        "--database-url",
        args.database_url,
        "--redis-url",
        args.redis_url,
        "--instances",
        str(args.instances),
        "--workers",
        str(args.workers),
        "--worker-class",
        args.worker_class,
        "--threads",
        str(args.threads),
        "--http-port",
        str(HTTP_PORT),
        "--https-port",
        "0",
        "--app-port",
        str(APP_PORT),
        *[part for extra in args.stack_arg for part in shlex.split(extra)],
    ]
    say(f"starting the stack: deploy/stack.py up {shlex.join(stack_argv)}")
    with stack.running_stack(stack_argv, var_dir=var_dir, log=var_dir / "launcher.log") as state:
        return run(args, names, state, width, height, out_file, work, say)


def run(
    args: argparse.Namespace,
    names: list[str],
    state: dict[str, Any],
    width: int,
    height: int,
    out_file: Path,
    work: Path,
    say: Callable[[str], None],
) -> int:
    started_at = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    base_url = state["urls"]["http"]
    django_setup(state, args.database_url, args.redis_url)
    import django

    users_of = {n: args.users.get(n, SCENARIOS[n].users) for n in names}
    most = max(users_of.values())

    # Data.
    before = volume(args.database_url)
    generated = False
    if args.volume and before["reports"] < args.volume:
        if ihanoi_has("generate_volume"):
            # Up to N reports: the missing ones, added to what the database holds.
            residents = args.residents or max(1000, args.volume // 20)
            missing = args.volume - before["reports"]
            command = stack.ihanoi_command(
                "generate_volume",
                "--reports",
                str(missing),
                "--residents",
                str(max(1, residents * missing // args.volume)),
                "--years",
                "2",
                *(["--append"] if before["reports"] else []),
            )
            say(f"generating the volume: {shlex.join(command[1:])}")
            subprocess.run(command, check=True, env=os.environ)  # noqa: S603
            generated = True
        else:
            say("no `ihanoi generate_volume` here: seeding a smaller set instead")
    residents = load_residents(max(most, users_of.get("submit", 0), users_of.get("my_reports", 0)))
    seeded = seed_reports(
        0 if generated else args.seed_reports, residents, per_resident=20, say=say
    )
    tokens = tokens_for(residents)
    _hub, cookies = staff_sessions(users_of.get("staff_inbox", 1))
    data = volume(args.database_url)
    say(f"data: {data}")
    drain = {"seeding": rq_idle(args.redis_url, 300)}

    photo = test_photo(width, height)
    photo_path = work / "photo.jpg"
    photo_path.write_bytes(photo)
    categories = dict(categories_with_answers())
    category = "giao-thong" if "giao-thong" in categories else next(iter(categories))
    points = points_in_wards()
    locust_config = {
        "tokens": tokens,
        "staff_cookies": cookies,
        "submit": {
            "category": category,
            "answers": categories[category],
            "title": TITLE,
            "description": DESCRIPTION,
            "points": points,
            "photo": str(photo_path),
            "photo_share": args.photo_share,
        },
    }

    # Baselines' preparation.
    auth = {"HTTP_AUTHORIZATION": f"Bearer {tokens[0]}"}
    captures: dict[str, list[Statement]] = {}
    if "my_reports" in names:
        captures["my_reports"] = capture_selects("/api/v1/me/reports?page_size=20", **auth)
    if "me" in names:
        captures["me"] = capture_selects("/api/v1/me", **auth)
    if "public_list" in names:
        captures["public_list"] = capture_selects("/feedback/")
    if "map_data" in names:
        captures["map_data"] = capture_selects("/feedback/map.json")
    if "staff_inbox" in names:
        captures["staff_inbox"] = capture_selects("/staff/reports/", cookie=cookies[0])
    if "open311" in names:
        captures["open311"] = capture_selects("/open311/v2/requests.json?page_size=1000")
    template = None
    if "submit" in names:
        template = submit_baseline_template(
            args.database_url,
            submit_template(base_url, tokens[0], category, categories[category]),
        )
        template.conn.close()
    from django.db import connections

    connections.close_all()

    sampler = Sampler(state, urlsplit(args.database_url).path.lstrip("/"))
    sampler.start()
    scenarios: dict[str, Any] = {}
    try:
        for name in names:
            scenario = SCENARIOS[name]
            users = users_of[name]
            rounds: list[tuple[Phase, Phase]] = []
            for round_number in range(args.rounds):
                order = ("app", "baseline") if round_number % 2 == 0 else ("baseline", "app")
                phases: dict[str, Phase] = {}
                for side in order:
                    drain[f"before {name} {side}"] = rq_idle(args.redis_url, 180)
                    if side == "app":
                        say(f"{name}: application, {users} users ({scenario.what})")
                        phases[side] = app_phase(
                            scenario,
                            users,
                            base_url,
                            locust_config,
                            work,
                            sampler,
                            args.database_url,
                            args.warmup,
                            args.duration,
                        )
                    else:
                        say(f"{name}: baseline, {users} threads with one connection each")
                        if name == "submit":
                            assert template is not None
                            operations: list[Callable[[], Any]] = [
                                CollectingBaseline(
                                    dataclasses.replace(
                                        template,
                                        conn=psycopg.connect(
                                            args.database_url,
                                            autocommit=True,
                                            cursor_factory=psycopg.ClientCursor,
                                        ),
                                    )
                                )
                                for _ in range(users)
                            ]
                        else:
                            operations = [
                                ReadBaseline(args.database_url, captures[name])
                                for _ in range(users)
                            ]
                        try:
                            phases[side] = baseline_phase(
                                operations, sampler, args.database_url, args.warmup, args.duration
                            )
                        finally:
                            for operation in operations:
                                with contextlib.suppress(Exception):
                                    operation.conn.close()  # type: ignore[attr-defined]
                            made = [
                                pk
                                for operation in operations
                                if isinstance(operation, CollectingBaseline)
                                for pk in operation.ids
                            ]
                            baseline_rows_delete(args.database_url, made)
                    stats = phases[side].stats
                    say(
                        f"  {side}: {fmt(stats['per_second'], 1)}/s, p50 "
                        f"{fmt(stats['p50_ms'], 1)} ms, p95 {fmt(stats['p95_ms'], 1)} ms, p99 "
                        f"{fmt(stats['p99_ms'], 1)} ms, {stats['failures']} failures"
                    )
                rounds.append((phases["app"], phases["baseline"]))
            # The best round of each side counts (the machine is shared), as in bench_submit.
            app = max((r[0] for r in rounds), key=lambda p: p.stats["per_second"])
            base = max((r[1] for r in rounds), key=lambda p: p.stats["per_second"])
            scenarios[name] = {
                "what": scenario.what,
                "app": phase_json(app, users),
                "baseline": phase_json(base, users),
                "baseline_statements": (
                    len(captures[name]) if name in captures else "4 INSERTs + COMMIT"
                ),
                "ratios": {
                    "throughput": ratio(app.stats["per_second"], base.stats["per_second"]),
                    "cpu_per_request": ratio(
                        sum(app.usage["cpu_seconds"].values()) / max(app.stats["requests"], 1),
                        sum(base.usage["cpu_seconds"].values()) / max(base.stats["requests"], 1),
                    ),
                    "p50": ratio(app.stats["p50_ms"], base.stats["p50_ms"]),
                    "p95": ratio(app.stats["p95_ms"], base.stats["p95_ms"]),
                    "p99": ratio(app.stats["p99_ms"], base.stats["p99_ms"]),
                },
                "rounds": [{"app": a.stats, "baseline": b.stats} for a, b in rounds],
            }
        drain["after the last phase"] = rq_idle(args.redis_url, 180)
    finally:
        sampler.sample()
        sampler.stop()

    memory = [
        {
            "process": label,
            "pid": pid,
            "peak_rss_kib": peak,
            "hwm_kib": sampler.hwm.get((label, pid), peak),
        }
        for (label, pid), peak in sorted(sampler.rss_peak.items())
    ]
    result = {
        "started_at": started_at,
        "command": shlex.join([Path(sys.executable).name, *sys.argv]),
        "machine": {
            "cpu": bench_submit.cpu_model(),
            "nproc": bench_submit.nproc(),
            "loadavg_at_end": os.getloadavg(),
        },
        "versions": {
            "python": platform.python_version(),
            "django": django.get_version(),
            "psycopg": psycopg.__version__,
            # Not imported here: locust patches the standard library with gevent on import.
            "locust": importlib.metadata.version("locust"),
        },
        "stack": {
            "summary": (
                f"{args.instances} × gunicorn {args.worker_class} {args.workers} workers"
                + (f" × {args.threads} threads" if args.worker_class == "gthread" else "")
                + ", nginx, 1 RQ worker, scheduler"
            ),
            "state": {k: v for k, v in state.items() if k != "processes"},
            "processes": {n: p["command"] for n, p in state["processes"].items()},
        },
        "volume": data,
        "seeded_now": seeded,
        "generated_volume": generated,
        "photo": {"width": width, "height": height, "bytes": len(photo), "share": args.photo_share},
        "warmup": args.warmup,
        "duration": args.duration,
        "rounds": args.rounds,
        "scenarios": scenarios,
        "memory": memory,
        "drain": drain,
    }
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(result, indent=2, default=str) + "\n")
    table = markdown(result)
    out_file.with_suffix(".md").write_text(table)
    print()
    print(table)
    say(f"results: {out_file} (and .md)")
    failures = sum(row["app"]["failures"] for row in scenarios.values())
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
