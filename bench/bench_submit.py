"""Report submission: ``report_submit`` against raw psycopg inserts of the same rows.

    .venv/bin/python bench/bench_submit.py [--count N] [--rounds R] [--batch B] [--profile [N]]

Runs on PostgreSQL: the server named by DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/postgres, whose database is used only to create and drop
the scratch one). It creates a scratch database ``ihanoi_bench_<pid>``, migrates it and
builds a small world (two wards with square boundaries, ``agencies_seed()``,
``feedback_seed()``, a resident with a verified phone, an officer and a lead in the
Hoàn Kiếm ward's People's Committee), with MEDIA_ROOT in a temporary folder and the dummy
task backend (the delivery task is not run: the measurement is the web request's work).
The scratch database is dropped at the end, whatever happens. The cache is the settings'
default (a database table) unless ``REDIS_URL`` is set, as it is in production
(``REDIS_URL=redis://127.0.0.1:6379/9``: the table's SELECTs are not production's SQL).

Four methods, each submitting N reports per round. Within a round they take turns every
``--batch`` reports (A, B, C, D, B, C, D, A, …: the order rotates, so that no method always follows
the same one), so that all three meet the same machine load even when it changes within
seconds (the project's machines are shared; a test run next door is common):

- service: ``report_submit`` without photos, category "giao-thong" (no routing rule: the
  ward's People's Committee), a point in Hoàn Kiếm, a fresh ``client_key`` as the web form
  sends;
- service + photo: the same with one photo, prepared once before the rounds from a
  phone-like 12 MP JPEG and reused (decoding is ``bench_images.py``'s subject);
- API request: the same report as the app sends it, ``POST /api/v1/reports`` (multipart,
  a device token) through Django's WSGI handler in this process: middleware, token, ninja,
  the service and the 201 presenter, without an HTTP server;
- baseline: through psycopg (the driver Django uses, with the same client-side binding),
  one transaction per report inserting the rows the service writes for one report
  without a photo, copied from a report the service made: 1 ``feedback_report``, 2
  ``feedback_reportevent``, the ``notifications_notification`` rows and their
  ``notifications_delivery`` rows, one multi-row INSERT per table; no reads, no updates.

Prints reports per second (best round), the per-report time ratio service / baseline,
median and 95th-percentile latency over all rounds, the SQL statements the service sends
per report (an untimed pass), and with ``--profile`` where the service's time goes
(cProfile, another untimed pass). Checks at the end that every row expected is there.
Figures are for this machine; only the ratios carry over to another one.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import gc
import io
import os
import platform
import pstats
import re
import shlex
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/postgres"
START_HINT = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"

# Inside the Hoàn Kiếm square below (as in tests/feedback/conftest.py).
POINT = (21.0287, 105.8523)
CATEGORY = "giao-thong"
ANSWERS = {"su-co": "mat-duong"}
TITLE = "Ổ gà lớn trên phố Đinh Tiên Hoàng"
DESCRIPTION = (
    "Mặt đường bị sụt thành ổ gà sâu khoảng 10 cm ngay trước số 12, xe máy phải tránh "
    "sang làn bên cạnh, rất nguy hiểm vào buổi tối."
)
WARM_UP = 20

SERVICE, PHOTO, API, BASELINE = "service", "service + photo", "API request", "baseline"
METHODS = (SERVICE, PHOTO, API, BASELINE)


# --- Machine ----------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def nproc() -> int:
    """CPUs this process may use, as `nproc` counts them."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def command_line() -> str:
    python = Path(sys.executable)
    try:
        shown = str(python.relative_to(Path.cwd()))
    except ValueError:
        shown = str(python)
    return shlex.join([shown, *sys.argv])


# --- Scratch database and Django --------------------------------------------------------------


def scratch_url(server_url: str, name: str) -> str:
    parts = urlsplit(server_url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise SystemExit(f"DATABASE_URL must be a PostgreSQL URL, not {parts.scheme!r}")
    return urlunsplit(parts._replace(path=f"/{name}", query=""))


def database_create(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def database_drop(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def django_setup(url: str, media_root: Path) -> None:
    """Settings come from the environment (ihanoi/settings.py reads it at import)."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "ihanoi.settings"
    os.environ["DATABASE_URL"] = url
    os.environ["MEDIA_ROOT"] = str(media_root)
    os.environ["TASKS_BACKEND"] = "dummy"
    os.environ["DEBUG"] = "false"  # no query log
    os.environ["IHANOI_PRODUCTION"] = "false"
    # The API method goes through the WSGI handler, whose request_finished would close a
    # connection kept for no time: production borrows from a pool (DATABASE_POOL).
    os.environ.setdefault("DATABASE_CONN_MAX_AGE", "600")
    import django

    django.setup()


# --- The world --------------------------------------------------------------------------------


@dataclass
class World:
    resident: Any
    ward: Any
    committee: Any
    staff: int


def _square(lon0: float, lat0: float, lon1: float, lat1: float) -> dict[str, Any]:
    ring = [[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]
    return {"type": "Polygon", "coordinates": [ring]}


def world_build() -> World:
    from ihanoi.accounts.models import Role, User
    from ihanoi.agencies.models import Agency, Membership
    from ihanoi.agencies.services import agencies_seed
    from ihanoi.feedback.catalogue import feedback_seed
    from ihanoi.places.models import REFORM_2025, AdministrativeUnit

    province = AdministrativeUnit.objects.create(
        code="01",
        level="province",
        name="Thành phố Hà Nội",
        short_name="Hà Nội",
        name_ascii="thanh pho ha noi",
        unit_type="thành phố",
    )

    def ward(code: str, name: str, box: dict[str, Any]) -> Any:
        return AdministrativeUnit.objects.create(
            code=code,
            level="ward",
            name=f"Phường {name}",
            short_name=name,
            name_ascii=f"phuong {name}".lower(),
            unit_type="phường",
            parent=province,
            valid_from=REFORM_2025,
            boundary=box,
            boundary_source="official",
        )

    hoan_kiem = ward("00070", "Hoàn Kiếm", _square(105.85, 21.01, 105.87, 21.04))
    ward("00082", "Cửa Nam", _square(105.83, 21.01, 105.85, 21.04))
    agencies_seed()
    feedback_seed()
    committee = Agency.objects.get(code="ubnd-00070")
    resident = User.objects.create_user(
        phone="+84912000101", phone_verified=True, full_name="Nguyễn Văn Dân"
    )
    # Staff without a password: the hasher is not what is measured.
    people = [
        ("hub@example.vn", Role.HUB_OPERATOR, Agency.objects.get(kind=Agency.Kind.HUB), "officer"),
        ("hk-officer@example.vn", Role.AGENCY_OFFICER, committee, "officer"),
        ("hk-lead@example.vn", Role.AGENCY_LEAD, committee, "lead"),
        (
            "cn-officer@example.vn",
            Role.AGENCY_OFFICER,
            Agency.objects.get(code="ubnd-00082"),
            "officer",
        ),
    ]
    for email, role, agency, membership in people:
        user = User.objects.create_user(email=email, role=role)
        Membership.objects.create(user=user, agency=agency, role=membership)
    staff = Membership.objects.filter(agency=committee).count()
    return World(resident=resident, ward=hoan_kiem, committee=committee, staff=staff)


def photo_prepare(width: int, height: int) -> tuple[Any, int]:
    """One phone-like photo (bench_images' generator), prepared as an upload would be."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_images import phone_exif, phone_photo

    from ihanoi.feedback.photos import prepare_uploads

    buffer = io.BytesIO()
    phone_photo(width, height, seed=1).save(buffer, "JPEG", quality=92, exif=phone_exif(6))
    return prepare_uploads([buffer.getvalue()])[0], len(buffer.getvalue())


# --- The methods ------------------------------------------------------------------------------


def service_method(world: World, photos: Sequence[Any]) -> Callable[[], int]:
    from ihanoi.feedback.services import Submission, report_submit

    lat, lon = POINT

    def submit() -> int:
        report, created = report_submit(
            reporter=world.resident,
            submission=Submission(
                kind="field",
                category_code=CATEGORY,
                title=TITLE,
                description=DESCRIPTION,
                lat=lat,
                lon=lon,
                answers=ANSWERS,
                client_key=uuid.uuid4().hex,
            ),
            photos=photos,
        )
        assert created
        return report.pk

    return submit


def api_method(world: World) -> Callable[[], int]:
    """The same submission as the mobile app sends it: POST /api/v1/reports (multipart, a
    device token) through Django's WSGI handler in this process: middleware, the token,
    ninja's parsing, the service and the 201 presenter; no HTTP server, no network."""
    import json

    from django.core.handlers.wsgi import WSGIHandler

    from ihanoi.api.services import device_token_issue

    token = device_token_issue(user=world.resident, name="bench")[1]
    handler = WSGIHandler()
    lat, lon = POINT
    fields = {
        "category": CATEGORY,
        "title": TITLE,
        "description": DESCRIPTION,
        "answers": json.dumps(ANSWERS),
        "lat": str(lat),
        "lon": str(lon),
    }

    def submit() -> int:
        boundary = uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
            for key, value in {**fields, "client_key": uuid.uuid4().hex}.items()
        ]
        body = ("".join(parts) + f"--{boundary}--\r\n").encode()
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/api/v1/reports",
            "QUERY_STRING": "",
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "80",
            "HTTP_HOST": "localhost",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "CONTENT_TYPE": f"multipart/form-data; boundary={boundary}",
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_AUTHORIZATION": f"Bearer {token}",
        }
        status: list[str] = []
        answer = b"".join(handler(environ, lambda line, headers: status.append(line)))
        if not status or not status[0].startswith("201"):
            raise RuntimeError(f"the API answered {status}: {answer[:300]!r}")
        return int(json.loads(answer)["number"])

    return submit


def _json(value: Any) -> Any:
    return Jsonb(value) if isinstance(value, dict | list) else value


def _insert(model: Any, columns: Sequence[str], rows: int, returning: bool) -> sql.Composed:
    one = sql.SQL("({})").format(sql.SQL(", ").join(sql.Placeholder() * len(columns)))
    statement = sql.SQL("INSERT INTO {} ({}) VALUES {}").format(
        sql.Identifier(model._meta.db_table),
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join([one] * rows),
    )
    if returning:
        statement += sql.SQL(" RETURNING {}").format(sql.Identifier(model._meta.pk.column))
    return statement


def _template(model: Any, rows: Sequence[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """Columns (all but the primary key, from the model's table) and the rows' values."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = [f.column for f in fields]
    return columns, [[_json(row[f.attname]) for f in fields] for row in rows]


@dataclass
class Baseline:
    """The rows of one service report (no photo), inserted again with fresh keys and times."""

    conn: psycopg.Connection[Any]
    statements: tuple[sql.Composed, sql.Composed, sql.Composed, sql.Composed]
    report_row: list[Any]
    event_rows: list[list[Any]]
    notification_rows: list[list[Any]]
    delivery_rows: list[list[Any]]
    accept_delta: datetime.timedelta
    # Column positions of the values that change per report, by table.
    report_at: dict[str, int]
    event_at: dict[str, int]
    notification_at: dict[str, int]
    delivery_at: dict[str, int]
    # Per notification: the event it announces (position) and its dedupe key's suffix; its
    # link around the report's id ("uuid" or "pk"). Per delivery: its notification.
    notification_event: list[int]
    notification_suffix: list[str]
    notification_link: list[tuple[str, str, str]]
    delivery_notification: list[int]

    def __call__(self) -> int:
        now = datetime.datetime.now(datetime.UTC)
        public_id = uuid.uuid4()
        report = list(self.report_row)
        at = self.report_at
        report[at["public_id"]] = public_id
        report[at["client_key"]] = uuid.uuid4().hex
        report[at["submitted_at"]] = report[at["assigned_at"]] = now
        report[at["accept_due_at"]] = now + self.accept_delta
        report_sql, event_sql, notification_sql, delivery_sql = self.statements
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute(report_sql, report)
            report_id = cur.fetchone()[0]  # type: ignore[index]
            events: list[Any] = []
            for template in self.event_rows:
                values = list(template)
                values[self.event_at["report_id"]] = report_id
                values[self.event_at["created_at"]] = now
                events += values
            cur.execute(event_sql, events)
            event_ids = [row[0] for row in cur.fetchall()]
            notifications: list[Any] = []
            ids = {"uuid": str(public_id), "pk": str(report_id)}
            for position, template in enumerate(self.notification_rows):
                values = list(template)
                event_id = event_ids[self.notification_event[position]]
                values[self.notification_at["created_at"]] = now
                values[self.notification_at["dedupe_key"]] = (
                    f"report-event:{event_id}:{self.notification_suffix[position]}"
                )
                before, which, after = self.notification_link[position]
                if which:
                    values[self.notification_at["link"]] = before + ids[which] + after
                notifications += values
            cur.execute(notification_sql, notifications)
            notification_ids = [row[0] for row in cur.fetchall()]
            deliveries: list[Any] = []
            for position, template in enumerate(self.delivery_rows):
                values = list(template)
                values[self.delivery_at["notification_id"]] = notification_ids[
                    self.delivery_notification[position]
                ]
                values[self.delivery_at["next_attempt_at"]] = now
                deliveries += values
            cur.execute(delivery_sql, deliveries)
        return int(report_id)


def _link_parts(link: str, public_id: str, pk: int) -> tuple[str, str, str]:
    """A notification's link split around the report's id (public UUID or primary key)."""
    if public_id in link:
        before, after = link.split(public_id, 1)
        return before, "uuid", after
    if match := re.search(rf"/{pk}(?=/|$)", link):
        return link[: match.start() + 1], "pk", link[match.end() :]
    return link, "", ""


def baseline_build(url: str, report_id: int, *, copies_for: int | None = None) -> Baseline:
    """Copy what the service wrote for ``report_id`` (its rows, its texts) into templates.

    ``copies_for``: a user's id. The copies then go to that reporter, unpublished, with their
    deliveries already sent: the same tables, columns and sizes, but no list shows them and
    no worker sends them (the load test runs the baseline beside a live stack)."""
    from ihanoi.feedback.models import Report, ReportEvent
    from ihanoi.notifications.models import Delivery, Notification

    report = Report.objects.values().get(pk=report_id)
    events = list(ReportEvent.objects.filter(report_id=report_id).order_by("pk").values())
    event_position = {event["id"]: position for position, event in enumerate(events)}
    keys = re.compile(r"report-event:(\d+):(.+)")
    ids = "|".join(str(pk) for pk in event_position)
    notifications, matches = [], []
    # Only this report's notifications: the database may hold millions.
    for row in (
        Notification.objects.filter(dedupe_key__regex=rf"^report-event:({ids}):")
        .order_by("pk")
        .values()
    ):
        match = keys.fullmatch(row["dedupe_key"])
        if match and int(match[1]) in event_position:
            notifications.append(row)
            matches.append(match)
    notification_position = {n["id"]: position for position, n in enumerate(notifications)}
    deliveries = list(
        Delivery.objects.filter(notification_id__in=notification_position).order_by("pk").values()
    )

    report_columns, [report_row] = _template(Report, [report])
    event_columns, event_rows = _template(ReportEvent, events)
    notification_columns, notification_rows = _template(Notification, notifications)
    delivery_columns, delivery_rows = _template(Delivery, deliveries)

    def positions(columns: list[str]) -> dict[str, int]:
        return {column: index for index, column in enumerate(columns)}

    if copies_for is not None:
        report_row[report_columns.index("reporter_id")] = copies_for
        report_row[report_columns.index("is_published")] = False
        recipient = notification_columns.index("recipient_id")
        for row in notification_rows:
            if row[recipient] == report["reporter_id"]:
                row[recipient] = copies_for
        status = delivery_columns.index("status")
        for row in delivery_rows:
            row[status] = Delivery.Status.SENT

    return Baseline(
        # Django's cursors bind parameters on the client too (no server-side prepare).
        conn=psycopg.connect(url, autocommit=True, cursor_factory=psycopg.ClientCursor),
        statements=(
            _insert(Report, report_columns, 1, returning=True),
            _insert(ReportEvent, event_columns, len(event_rows), returning=True),
            _insert(Notification, notification_columns, len(notification_rows), returning=True),
            _insert(Delivery, delivery_columns, len(delivery_rows), returning=False),
        ),
        report_row=report_row,
        event_rows=event_rows,
        notification_rows=notification_rows,
        delivery_rows=delivery_rows,
        accept_delta=report["accept_due_at"] - report["submitted_at"],
        report_at=positions(report_columns),
        event_at=positions(event_columns),
        notification_at=positions(notification_columns),
        delivery_at=positions(delivery_columns),
        notification_event=[event_position[int(match[1])] for match in matches],
        notification_suffix=[match[2] for match in matches],
        notification_link=[
            _link_parts(n["link"], str(report["public_id"]), report_id) for n in notifications
        ],
        delivery_notification=[notification_position[d["notification_id"]] for d in deliveries],
    )


# --- Measuring --------------------------------------------------------------------------------


def timed(submit: Callable[[], int], count: int) -> tuple[float, list[float]]:
    """Seconds for ``count`` reports, and each report's seconds."""
    latencies = []
    clock = time.perf_counter
    started = clock()
    for _ in range(count):
        before = clock()
        submit()
        latencies.append(clock() - before)
    return clock() - started, latencies


def p95(values: Sequence[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


def tasks_clear() -> None:
    """The dummy task backend keeps every enqueued task in a list: empty it between rounds."""
    from django_tasks import default_task_backend

    clear = getattr(default_task_backend, "clear", None)
    if clear is not None:
        clear()


VERB = re.compile(r"\s*(\w+)")
TABLE = re.compile(r'\b(?:FROM|INTO|UPDATE)\s+"?(\w+)"?')


def statements_per_report(submit: Callable[[], int], count: int) -> tuple[Counter[str], float]:
    """SQL statements the service sends per report, by verb and table, and the share of its
    time spent inside ``cursor.execute`` (driver + round trip + server)."""
    from django.db import connection

    seen: Counter[str] = Counter()
    inside = 0.0

    def wrapper(execute: Any, statement: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal inside
        verb, table = VERB.match(statement), TABLE.search(statement)
        verb_name = verb[1].upper() if verb else "?"
        table_name = table[1] if table else ""
        seen[f"{verb_name} {table_name}".strip()] += 1
        started = time.perf_counter()
        try:
            return execute(statement, params, many, context)
        finally:
            inside += time.perf_counter() - started

    with connection.execute_wrapper(wrapper):
        seconds, _ = timed(submit, count)
    return Counter({k: v / count for k, v in seen.items()}), inside / seconds


# Steps of report_submit for the --profile breakdown: (label, file suffix, function).
STEPS = (
    ("report_submit, all of it", "feedback/services.py", "report_submit"),
    ("validation (category, answers, point → ward)", "feedback/services.py", "submission_validate"),
    ("point → ward: index + AdministrativeUnit row", "places/selectors.py", "locate_ward"),
    ("answers", "feedback/questions.py", "clean_answers"),
    ("routing: RoutingRule + committee queries", "feedback/routing.py", "route"),
    ("working-time deadline", "feedback/deadlines.py", "accept_deadline"),
    ("transition (ReportEvent INSERTs)", "feedback/transitions.py", "transition"),
    ("notifications: notify_many (outbox)", "notifications/services.py", "notify_many"),
    ("  resident's news (_tell_people)", "feedback/services.py", "_tell_people"),
    ("  agency staff (_tell_agency)", "feedback/services.py", "_tell_agency"),
    (
        "Model.save: Report ×3 (INSERT, 2 UPDATEs), ReportEvent ×2",
        "django/db/models/base.py",
        "save",
    ),
    ("task enqueue on commit (dummy backend)", "notifications/services.py", "_enqueue_delivery"),
    ("COMMIT", "django/db/backends/base/base.py", "_commit"),
    ("all SQL: Django cursor → psycopg", "django/db/backends/utils.py", "_execute"),
)


def profile(submit: Callable[[], int], count: int) -> tuple[list[tuple[str, float, float]], str]:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(count):
        submit()
    profiler.disable()
    stats = pstats.Stats(profiler)
    table: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    total = sum(
        row[3]
        for (filename, _, name), row in table.items()
        if filename.endswith("feedback/services.py") and name == "report_submit"
    )
    steps = []
    for label, suffix, name in STEPS:
        cumulative = sum(
            row[3]
            for (filename, _, function), row in table.items()
            if filename.endswith(suffix) and function == name
        )
        steps.append((label, cumulative / count * 1000, cumulative / total if total else 0.0))
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
    return steps, out.getvalue()


# --- Checking ---------------------------------------------------------------------------------


def verify(world: World, expected: Counter[str]) -> list[str]:
    from django.core.files.storage import default_storage

    from ihanoi.feedback.models import Report, ReportEvent, ReportPhoto, Status
    from ihanoi.notifications.models import Delivery, Notification

    problems = []
    found = {
        "reports": Report.objects.count(),
        "events": ReportEvent.objects.count(),
        "notifications": Notification.objects.count(),
        "deliveries": Delivery.objects.count(),
        "photos": ReportPhoto.objects.count(),
    }
    for name, count in found.items():
        if count != expected[name]:
            problems.append(f"{name}: {count} rows, expected {expected[name]}")
    stray = Report.objects.exclude(status=Status.ASSIGNED, agency=world.committee).count()
    if stray:
        problems.append(f"{stray} reports not assigned to {world.committee.code}")
    missing = sum(
        not (default_storage.exists(image) and default_storage.exists(thumbnail))
        for image, thumbnail in ReportPhoto.objects.values_list("image", "thumbnail")
    )
    if missing:
        problems.append(f"{missing} photos missing a file")
    return problems


# --- Main -------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="reports per method per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--batch", type=int, default=10, help="reports per method before switching to the next"
    )
    parser.add_argument("--photo-size", default="4000x3000", help="WIDTHxHEIGHT of the photo")
    parser.add_argument(
        "--profile",
        type=int,
        nargs="?",
        const=300,
        default=0,
        metavar="N",
        help="also profile N service reports with cProfile (default 300)",
    )
    args = parser.parse_args(argv)
    if args.count < 20 or args.rounds < 1 or args.batch < 1:
        parser.error("--count must be at least 20 (for a 95th percentile), --rounds and --batch 1")
    width, height = (int(side) for side in args.photo_size.lower().split("x"))

    server_url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    name = f"ihanoi_bench_{os.getpid()}"
    url = scratch_url(server_url, name)
    try:
        database_create(server_url, name)
    except psycopg.OperationalError as exc:
        print(f"cannot reach PostgreSQL at {server_url}: {exc}".strip(), file=sys.stderr)
        print(f"is it running? try: {START_HINT}", file=sys.stderr)
        return 2
    baseline: Baseline | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="bench-submit-") as media:
            baseline, status = run(args, url, name, Path(media), width, height)
            return status
    finally:
        if baseline is not None:
            baseline.conn.close()
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        database_drop(server_url, name)
        print(f"scratch database {name} dropped")


def run(
    args: argparse.Namespace, url: str, name: str, media: Path, width: int, height: int
) -> tuple[Baseline | None, int]:
    started = time.perf_counter()
    django_setup(url, media)
    import django
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    migrate_seconds = time.perf_counter() - started
    world = world_build()
    started = time.perf_counter()
    photo, photo_bytes = photo_prepare(width, height)
    photo_seconds = time.perf_counter() - started

    service = service_method(world, ())
    with_photo = service_method(world, (photo,))
    expected: Counter[str] = Counter()

    # Warm-up (caches: ward index, calendar, translations, query compilation), and the
    # service's rows per report, which the baseline copies.
    first = service()
    from ihanoi.feedback.models import ReportEvent
    from ihanoi.notifications.models import Delivery, Notification

    events = list(ReportEvent.objects.filter(report_id=first).values_list("pk", "kind"))
    notified = Notification.objects.filter(
        dedupe_key__regex=rf"^report-event:({'|'.join(str(pk) for pk, _ in events)}):"
    )
    per_report = Counter(
        reports=1,
        events=len(events),
        notifications=notified.count(),
        deliveries=Delivery.objects.filter(notification__in=notified).count(),
    )
    baseline = baseline_build(url, first)
    methods: dict[str, Callable[[], int]] = {
        SERVICE: service,
        PHOTO: with_photo,
        API: api_method(world),
        BASELINE: baseline,
    }

    def account(method: str, reports: int) -> None:
        for key, value in per_report.items():
            expected[key] += value * reports
        if method == PHOTO:
            expected["photos"] += reports

    account(SERVICE, 1)
    for method in METHODS:
        done = WARM_UP - (method == SERVICE)
        for _ in range(done):
            methods[method]()
        account(method, done)

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server_version = cursor.fetchone()[0]
    host = urlsplit(url).hostname
    print(f"command: {command_line()}")
    print(f"machine: {cpu_model()}, nproc {nproc()}")
    print(
        f"python {platform.python_version()}, Django {django.get_version()}, "
        f"psycopg {psycopg.__version__}, PostgreSQL {server_version}"
    )
    port = urlsplit(url).port or 5432
    print(f"database: {name} on {host}:{port}, migrated in {migrate_seconds:.1f} s")
    from django.conf import settings

    print(f"cache: {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}")
    print(
        f"world: 2 square wards, category {CATEGORY!r} → {world.committee.code} "
        f"({world.staff} members); reporter with a verified phone"
    )
    print(
        f"per report the service writes: {per_report['reports']} report, "
        f"{per_report['events']} events ({', '.join(kind for _, kind in events)}), "
        f"{per_report['notifications']} notifications, {per_report['deliveries']} deliveries"
        f" (+1 ReportPhoto row and 2 files with the photo); the baseline inserts the same"
    )
    print(
        f"photo: {photo.width}×{photo.height} JPEG {len(photo.image) / 1000:.0f} kB + "
        f"thumbnail {len(photo.thumbnail) / 1000:.0f} kB, prepared once in "
        f"{photo_seconds:.1f} s from a {width}×{height} JPEG of {photo_bytes / 1e6:.1f} MB"
    )
    print(
        f"{args.count} reports per method per round, {args.rounds} rounds; methods alternate "
        f"every {args.batch} reports, order rotating; {WARM_UP} warm-up reports each; "
        f"rates: best round; latency: all rounds"
    )

    seconds: dict[str, list[float]] = {m: [] for m in METHODS}
    latencies: dict[str, list[float]] = {m: [] for m in METHODS}
    for _ in range(args.rounds):
        tasks_clear()
        gc.collect()
        spent = dict.fromkeys(METHODS, 0.0)
        for batch, first_report in enumerate(range(0, args.count, args.batch)):
            size = min(args.batch, args.count - first_report)
            turn = batch % len(METHODS)
            for method in METHODS[turn:] + METHODS[:turn]:
                batch_seconds, each = timed(methods[method], size)
                spent[method] += batch_seconds
                latencies[method] += each
        for method in METHODS:
            seconds[method].append(spent[method])
            account(method, args.count)

    rates = {m: args.count / min(seconds[m]) for m in METHODS}
    print()
    print(f"{'':>17} {'reports/s':>10} {'median ms':>10} {'p95 ms':>8}")
    for method in METHODS:
        print(
            f"{method:>17} {rates[method]:>10,.0f} "
            f"{statistics.median(latencies[method]) * 1000:>10.2f} "
            f"{p95(latencies[method]) * 1000:>8.2f}"
        )
    for method in (SERVICE, PHOTO, API):
        ratios = [s / b for s, b in zip(seconds[method], seconds[BASELINE], strict=True)]
        print(
            f"time per report, {method} / baseline: {rates[BASELINE] / rates[method]:.2f}× "
            f"(best rounds); per-round {min(ratios):.2f}-{max(ratios):.2f}, "
            f"median {statistics.median(ratios):.2f}"
        )
    photo_cost = [p - s for p, s in zip(seconds[PHOTO], seconds[SERVICE], strict=True)]
    print(
        f"the photo adds {statistics.median(photo_cost) / args.count * 1000:.2f} ms per report "
        f"(median over rounds): storage writes + ReportPhoto row"
    )

    tasks_clear()
    anatomy_count = min(args.count, 100)
    statements, in_sql = statements_per_report(service, anatomy_count)
    account(SERVICE, anatomy_count)
    total = sum(statements.values())
    print()
    print(
        f"service, SQL per report ({anatomy_count} reports, untimed pass): {total:.1f} statements "
        f"+ COMMIT (baseline: 4 + COMMIT); {in_sql:.0%} of the time inside cursor.execute"
    )
    for statement, per in sorted(statements.items(), key=lambda item: (-item[1], item[0])):
        print(f"  {per:5.2f}  {statement}")

    if args.profile:
        tasks_clear()
        steps, top = profile(service, args.profile)
        account(SERVICE, args.profile)
        print()
        print(f"cProfile, service without photo, {args.profile} reports (steps nest; % of")
        print("report_submit's time under the profiler, which inflates Python over SQL):")
        for label, ms, share in steps:
            print(f"  {ms:7.3f} ms {share:6.1%}  {label}")
        print(top)

    problems = verify(world, expected)
    print(
        f"rows: {expected['reports']} reports, {expected['events']} events, "
        f"{expected['notifications']} notifications, {expected['deliveries']} deliveries, "
        f"{expected['photos']} photos: {'all there' if not problems else 'PROBLEMS'}"
    )
    for problem in problems:
        print(f"  {problem}")
    return baseline, 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
