"""The long lists at city scale: queries and time per page, first page and a deep one.

    .venv/bin/python bench/bench_lists.py generate [--reports N] [--residents R] [--days D]
    .venv/bin/python bench/bench_lists.py measure [--rounds K] [--src PATH]
    .venv/bin/python bench/bench_lists.py explain
    .venv/bin/python bench/bench_lists.py migrate [--src PATH]

``generate`` (re)creates the PostgreSQL database ``ihanoi_bench_lists``, migrates it, lays
bench_oversight's reference data (126 wards, the agencies, the catalogue) and fills it with
``ihanoi.feedback.volume`` (what ``ihanoi generate_volume`` runs): N reports, default
1,000,000, over D days, default 100 (DESIGN's 10k a day), with their timelines, photos and
Open311 requests, and R residents, default 500,000. Then it adds what the lists need: a
hub operator, an officer of the busiest agency, a resident with 12,000 reports and as many
notifications (the deep pages of "my reports"), and an Open311 key whose secret it keeps
(in the temporary directory) to which the generated Open311 requests are moved.

``measure`` requests every list through Django's test client (the whole middleware stack)
and prints, per page, the number of SQL queries and the median time of K rounds (default
5). The deep page is page 500 (or the list's last page if it has fewer): ``?page=500``
where a list pages by number; where it pages by key, by following the links from the
first page, or for Open311 (pages of 1,000) with the cursor that page 499 hands out.
``--src`` measures another source tree (a copy of an older ``src``) against the same
database; ``migrate`` (with ``--src``, or ``ihanoi migrate feedback 0001``) puts the schema
where that tree expects it. ``explain`` prints the plans of the pages' queries (EXPLAIN
ANALYZE). docs/performance.md, "Long lists: keyset pagination", has the procedure and
the figures.

The database is kept; drop it with ``dropdb -h 127.0.0.1 -U postgres ihanoi_bench_lists``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import bench_oversight  # noqa: E402 - after the path: its reference data

DATABASE = "ihanoi_bench_lists"
HEAVY_REPORTS = 12_000
DEEP = 500
NULL = "\\N"  # COPY's text format
KEY_FILE_DIR = Path(tempfile.gettempdir())


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("generate", "measure", "explain", "migrate"))
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--residents", type=int, default=500_000)
    parser.add_argument("--days", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default=DATABASE)
    parser.add_argument("--src", default=str(ROOT / "src"), help="the source tree to measure")
    parser.add_argument("--seed", type=int, default=311)
    parser.add_argument("--only", default="", help="measure the lists whose name has this")
    return parser.parse_args()


def _setup(args: argparse.Namespace) -> None:
    # The tree under test comes first (bench_oversight put this checkout's src on the path).
    sys.path.insert(0, str(Path(args.src).resolve()))
    os.environ["DATABASE_URL"] = f"{args.server.rstrip('/')}/{args.database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ihanoi.settings")
    os.environ.setdefault("TASKS_BACKEND", "dummy")
    import django

    django.setup()


def _say(message: str) -> None:
    print(message, flush=True)


def _key_file(database: str) -> Path:
    """Where ``generate`` leaves the raw Open311 key of the bench client for ``measure``."""
    return KEY_FILE_DIR / f"{database}.open311-key"


# --- Generation ------------------------------------------------------------------------------


def _copy(table: str, columns: list[str], lines: list[str]) -> None:
    from django.db import connection

    names = ", ".join(f'"{c}"' for c in columns)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy,
    ):
        for start in range(0, len(lines), 50_000):
            copy.write("".join(lines[start : start + 50_000]))


def _extras() -> None:
    """What the lists need beyond the generated city: staff to sign in as, a resident with
    many reports (the deep pages of "my reports"), and an Open311 key whose secret we
    know, to which the generated Open311 requests are moved."""
    from allauth.mfa.totp.internal.auth import TOTP
    from django.db import connection

    from ihanoi.accounts.models import Role, User
    from ihanoi.agencies.models import Membership
    from ihanoi.open311.services import api_key_create

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT agency_id FROM feedback_report WHERE agency_id IS NOT NULL "
            "AND status IN ('assigned', 'in_progress') GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        )
        busiest = cursor.fetchone()[0]
    officer = User.objects.create_user(
        email="officer@bench.vn", password="x" * 12, role=Role.AGENCY_OFFICER
    )
    Membership.objects.create(user=officer, agency_id=busiest, role="officer")
    hub = User.objects.create_user(email="hub@bench.vn", password="x" * 12, role=Role.HUB_OPERATOR)
    TOTP.activate(hub, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")  # the staff pages need TOTP
    heavy = User.objects.create_user(phone="+84989999999", phone_verified=True)
    api_key, raw_key = api_key_create(name="Bench client", requests_per_minute=100_000)
    _key_file(connection.settings_dict["NAME"]).write_text(raw_key)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE open311_open311request SET api_key_id = %s", [api_key.pk])
        moved = cursor.rowcount
        cursor.execute(
            "UPDATE feedback_report SET reporter_id = %s WHERE id IN "
            "(SELECT id FROM feedback_report WHERE id %% 80 = 11 ORDER BY id LIMIT %s) "
            "RETURNING id, public_id, submitted_at",
            [heavy.pk, HEAVY_REPORTS],
        )
        mine = cursor.fetchall()
    _copy(
        "notifications_notification",
        ["recipient_id", "kind", "title", "body", "link", "created_at", "read_at", "dedupe_key"],
        [
            f"{heavy.pk}\treport.status\tPhản ánh #{rid} đã được xử lý\tCảm ơn bạn.\t"
            f"/feedback/r/{public_id}/\t{at.isoformat()}\t"
            f"{NULL if rid % 3 else at.isoformat()}\treport.status:{rid}\n"
            for rid, public_id, at in mine
        ],
    )
    with connection.cursor() as cursor:
        for table in ("feedback_report", "notifications_notification", "open311_open311request"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    _say(
        f"extras: {moved:,} Open311 requests moved to the bench key, {len(mine):,} reports "
        f"and notifications of one resident; busiest agency #{busiest}"
    )


def generate(args: argparse.Namespace) -> None:
    from django.core.management import call_command

    from ihanoi.feedback.volume import volume_generate
    from ihanoi.lib.worktime import CITY_TZ

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    _say(f"migrated: {time.perf_counter() - started:.1f} s")
    # The span ends today, so that the lists' "now" (deadlines, Open311's 90 days) is real.
    end = dt.datetime.combine(dt.datetime.now(CITY_TZ).date(), dt.time(0), tzinfo=CITY_TZ)
    bench_oversight.reference_data(random.Random(args.seed), end)
    started = time.perf_counter()
    result = volume_generate(
        reports=args.reports,
        residents=args.residents,
        start=end - dt.timedelta(days=args.days),
        end=end,
        seed=args.seed,
    )
    _say(
        f"{result.counts.reports:,} reports, {result.counts.residents:,} residents "
        f"(ihanoi.feedback.volume): {time.perf_counter() - started:.1f} s"
    )
    _extras()


# --- Measuring -------------------------------------------------------------------------------


class Surface:
    """One list: how to ask for its first page, page N by number, and the next page."""

    def __init__(
        self,
        name: str,
        client: Any,
        path: str,
        params: dict[str, str],
        kind: str,  # "html", "api" or "open311"
        headers: dict[str, str] | None = None,
    ) -> None:
        self.name, self.client, self.path, self.params = name, client, path, params
        self.kind, self.headers = kind, headers or {}

    def get(self, url: str) -> Any:
        response = self.client.get(url, headers=self.headers)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        return response

    def url(self, **extra: str) -> str:
        from urllib.parse import urlencode

        query = urlencode({**self.params, **extra})
        return f"{self.path}?{query}" if query else self.path

    def next_url(self, response: Any) -> str | None:
        from html import unescape
        from urllib.parse import urlsplit

        if self.kind == "html":
            found = re.search(r'<a rel="next" href="([^"]+)"', response.content.decode())
            return self.path + unescape(found.group(1)) if found else None
        if self.kind == "api":
            cursor = response.json().get("next")
            return self.url(cursor=cursor) if cursor else None
        link = response.headers.get("Link", "")
        found = re.match(r"<([^>]+)>", link)
        if not found:
            return None
        parts = urlsplit(found.group(1))
        return f"{parts.path}?{parts.query}"


def _time(surface: Surface, url: str, rounds: int) -> tuple[int, float, int]:
    """(queries, median milliseconds, bytes) of one page."""
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    reset_queries()  # as each request does: the capture counts from an empty log
    with CaptureQueriesContext(connection) as queries:
        response = surface.get(url)
    count = len(queries)  # now: the capture reads the log, which the next request clears
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        surface.get(url)
        times.append(time.perf_counter() - started)
    return count, statistics.median(times) * 1000, len(response.content)


def _row(figures: tuple[int, float, int]) -> str:
    queries, milliseconds, size = figures
    return f"{queries:>7} {milliseconds:>9.1f} {size / 1024:>7.0f}"


def _deep_url(surface: Surface, keyset: bool) -> tuple[str, str]:
    """The address of page DEEP (or the last page before it) and how it was reached."""
    if not keyset or surface.kind == "map":
        return surface.url(page=str(DEEP)), f"page={DEEP}"
    if surface.kind == "open311":
        # 499 pages of 1,000 are minutes to walk: the cursor of page 500 is the one the
        # page before it hands out (an offset query, once).
        from django.http import QueryDict

        from ihanoi.open311 import params, selectors

        window = params.date_window(params.Params(QueryDict()))
        before = selectors.requests_find(
            api_key=None,
            filters=selectors.RequestFilters(window=window),
            page=params.Page(number=DEEP - 1, size=int(surface.params["page_size"])),
        )
        if before.next is not None:
            return surface.url(after=before.next), f"after, page {DEEP}"
    url, number = surface.url(), 1  # a shorter list: walk it to its last page
    while number < DEEP:
        following = surface.next_url(surface.get(url))
        if following is None:
            break
        url, number = following, number + 1
    return url, f"cursor, page {number}"


def measure(args: argparse.Namespace) -> None:
    from django.test import Client

    from ihanoi.accounts.models import User

    try:
        import ihanoi.lib.keyset  # noqa: F401 - present once the lists page by key

        keyset = True
    except ImportError:
        keyset = False
    heavy = User.objects.get(phone="+84989999999")
    hub = User.objects.get(email="hub@bench.vn")
    officer = User.objects.get(email="officer@bench.vn")
    from ihanoi.api.services import device_token_issue

    _device, token = device_token_issue(user=heavy, name="bench")
    bearer = {"Authorization": f"Bearer {token}"}
    anonymous = Client()
    clients = {}
    for user in (heavy, hub, officer):
        clients[user.pk] = Client()
        clients[user.pk].force_login(user)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.code FROM feedback_report r JOIN feedback_category c ON c.id = r.category_id"
            " WHERE c.is_public GROUP BY 1 ORDER BY count(*) LIMIT 1 OFFSET 5"
        )
        category = cursor.fetchone()[0]
        cursor.execute("SELECT code FROM places_administrativeunit WHERE level = 'ward' LIMIT 1")
        ward = cursor.fetchone()[0]
    key = _key_file(args.database).read_text().strip()
    surfaces = [
        Surface("public list", anonymous, "/feedback/", {}, "html"),
        Surface(f"public list, category {category}", anonymous, "/feedback/",
                {"category": category}, "html"),
        Surface("map data (1,000 points)", anonymous, "/feedback/map.json", {}, "map"),
        Surface("my reports (12,000)", clients[heavy.pk], "/feedback/mine/", {}, "html"),
        Surface("staff inbox, hub", clients[hub.pk], "/staff/reports/", {}, "html"),
        Surface("staff inbox, hub, one ward", clients[hub.pk], "/staff/reports/",
                {"ward": ward}, "html"),
        Surface("staff inbox, hub, overdue", clients[hub.pk], "/staff/reports/",
                {"due": "overdue"}, "html"),
        Surface("staff inbox, busiest agency", clients[officer.pk], "/staff/reports/", {}, "html"),
        Surface("API /me/reports", anonymous, "/api/v1/me/reports", {"page_size": "20"}, "api",
                bearer),
        Surface("API /notifications", anonymous, "/api/v1/notifications", {"page_size": "20"},
                "api", bearer),
        Surface("Open311 requests.json ×1000", anonymous, "/open311/v2/requests.json",
                {"page_size": "1000"}, "open311"),
        Surface("Open311 requests.json ×1000, api_key", anonymous, "/open311/v2/requests.json",
                {"page_size": "1000", "api_key": key}, "open311"),
        Surface("Open311 requests.xml ×1000", anonymous, "/open311/v2/requests.xml",
                {"page_size": "1000"}, "open311"),
    ]  # fmt: skip
    _say(f"paging by {'key (cursor)' if keyset else 'number (offset)'}; {args.rounds} rounds\n")
    _say(f"{'list':<40} {'page':<18} {'queries':>7} {'ms':>9} {'KB':>7}")
    for surface in surfaces:
        if args.only not in surface.name:
            continue
        first = _time(surface, surface.url(), args.rounds)
        _say(f"{surface.name:<40} {'first':<18} {_row(first)}")
        if surface.kind == "map":
            continue
        url, how = _deep_url(surface, keyset)
        deep = _time(surface, url, args.rounds)
        _say(f"{'':<40} {how:<18} {_row(deep)}")
        if keyset and surface.kind in ("api", "open311"):
            legacy = _time(surface, surface.url(page=str(DEEP)), args.rounds)
            _say(f"{'':<40} {f'page={DEEP}':<18} {_row(legacy)}")


def explain() -> None:
    """EXPLAIN ANALYZE of the pages' queries as this tree builds them (page 500 by key)."""
    from django.db import connection
    from django.http import QueryDict

    from ihanoi.accounts.models import User
    from ihanoi.feedback import selectors
    from ihanoi.feedback.ordering import MOST_URGENT, NEWEST
    from ihanoi.feedback.permissions import scope_of
    from ihanoi.open311 import params
    from ihanoi.open311 import selectors as open311

    def show(label: str, queryset: Any) -> None:
        sql, values = queryset.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE) " + sql, values)
            lines = [row[0] for row in cursor.fetchall()]
        _say(f"== {label}")
        for line in lines:
            if re.search(r"Limit|Scan|Sort|Aggregate|Gather|Execution", line):
                _say("   " + line.strip()[:140])

    def deep(queryset: Any, ordering: Any, row: int) -> Any:
        prepared = ordering.prepare(queryset)
        found = list(prepared[row : row + 1])
        return prepared.filter(ordering.beyond(ordering.key_of(found[0]))) if found else prepared

    heavy = User.objects.get(phone="+84989999999")
    hub = scope_of(User.objects.get(email="hub@bench.vn"))
    show("public list, page 500", deep(selectors.public_list(), NEWEST, 9979)[:21])
    inbox = selectors.staff_inbox(hub, selectors.InboxFilters())
    show("hub inbox, first page", MOST_URGENT.prepare(inbox)[:31])
    show("hub inbox, capped count", inbox.order_by().values("pk")[:1001])
    show("my reports, page 500", deep(selectors.reports_of(heavy), NEWEST, 9979)[:21])
    window = params.date_window(params.Params(QueryDict()))
    rows = (
        open311.visible_reports(None)
        .filter(submitted_at__gte=window.start, submitted_at__lte=window.end)
        .select_related(None)
        .values(*open311.REQUEST_FIELDS)
    )
    show("Open311, first page of 1,000", NEWEST.prepare(rows)[:1001])
    show("Open311, page 500 by after", deep(rows, NEWEST, 498_999)[:1001])


def _admin(server: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{server.rstrip('/')}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def main() -> None:
    args = _parse()
    if args.command == "generate":
        _admin(args.server, f'DROP DATABASE IF EXISTS "{args.database}"')
        _admin(args.server, f'CREATE DATABASE "{args.database}"')
    _setup(args)
    import ihanoi

    _say(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; database {args.database}; "
        f"code {Path(ihanoi.__file__).parent}"
    )
    try:
        if args.command == "generate":
            generate(args)
        elif args.command == "migrate":
            from django.core.management import call_command

            started = time.perf_counter()
            call_command("migrate", verbosity=1)
            _say(f"migrated: {time.perf_counter() - started:.1f} s")
        elif args.command == "explain":
            explain()
        else:
            measure(args)
    finally:
        from django.db import connections

        connections.close_all()


if __name__ == "__main__":
    main()
