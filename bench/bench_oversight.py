"""Oversight statistics: the roll-up tables against the naive aggregate, on generated data.

    .venv/bin/python bench/bench_oversight.py [--reports N] [--days D] [--rounds R] [--keep]

Creates a scratch PostgreSQL database (``ihanoi_bench_oversight`` on the server of
``--server``, default postgres://postgres@127.0.0.1:5432), migrates it, seeds 126 wards
with their People's Committees, the city departments and the categories, then generates N
reports (default 1,000,000) spread over D days (default 100: the 10k reports a day DESIGN
plans for) with their whole timelines — routing, transfers, returns and rejections,
acceptance, extensions, results, ratings, unrated closing, reopening — on the city's
working calendar, and bulk-loads them with COPY. The generation is the one of
``ihanoi generate_volume`` (``ihanoi.feedback.volume``, docs/data-volume.md); its photos
go to a scratch media folder, removed at the end.

Then, in one run:
1. builds the roll-ups from scratch (``rollup_rebuild``) and times it;
2. adds one more day of reports and times the periodic run (``rollup_run``) that folds
   them in: the work the scheduler does for a day's events;
3. times each dashboard query from the roll-ups and the same figures computed naively
   from the reports and events tables (SQL aggregates, and the working-time medians in
   Python, since SQL cannot count working hours), R rounds each (median), and prints
   both and their ratio.

The database is dropped at the end unless --keep. Figures are for this machine; the ratios
are what carries over.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

if TYPE_CHECKING:
    from ihanoi.feedback.volume import VolumeGenerator

DAY = dt.timedelta(days=1)


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--residents", type=int, default=0, help="default: reports / 5")
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="ihanoi_bench_oversight")
    parser.add_argument("--seed", type=int, default=1022)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    if args.reports < 1000 or args.days < 35:
        parser.error("at least 1000 reports over 35 days (a full month must fit)")
    return args


def _admin(server: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def _say(message: str, end: str = "\n") -> None:
    print(message, end=end, flush=True)


# --- Generation ------------------------------------------------------------------------------


def reference_data(rng: random.Random, end: dt.datetime) -> None:
    """126 wards with their People's Committees (points around made-up centres: no
    boundaries), the seeded departments and utilities, and the catalogue."""
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
    wards = []
    for i in range(126):
        wards.append(
            AdministrativeUnit(
                code=f"{10000 + i:05d}",
                level="ward",
                name=f"Phường Thử {i}",
                short_name=f"Thử {i}",
                name_ascii=f"phuong thu {i}",
                unit_type="phường",
                parent=province,
                valid_from=REFORM_2025,
                centre_lat=20.95 + 0.2 * rng.random(),
                centre_lon=105.72 + 0.22 * rng.random(),
            )
        )
    AdministrativeUnit.objects.bulk_create(wards)
    agencies_seed(on=end.date())
    feedback_seed()


def generator_for(
    seed: int, residents: int, first: dt.datetime, end: dt.datetime
) -> VolumeGenerator:
    """The package's generator (``ihanoi.feedback.volume``) with ``residents`` who join up
    to ``end``."""
    from ihanoi.accounts.models import User
    from ihanoi.feedback.volume import City, VolumeGenerator, residents_create
    from ihanoi.feedback.volume.photos import photo_assets
    from ihanoi.feedback.volume.residents import USER_COLUMNS, phones_in_use
    from ihanoi.feedback.volume.sinks import Table, next_id

    rng = random.Random(seed)
    city = City.load(random.Random(f"{seed}:city"))
    users = Table(User, USER_COLUMNS)
    people = residents_create(
        count=residents,
        start=first,
        end=end,
        first_id=next_id(User),
        taken_phones=phones_in_use(),
        table=users,
        rng=rng,
    )
    users.flush()
    return VolumeGenerator(city, people, rng=rng, photos=photo_assets(seed))


# --- The naive aggregate ---------------------------------------------------------------------


def naive_agency_table(
    first: dt.datetime, stop: dt.datetime, *, category: int | None, working: bool
) -> dict[int | None, dict[str, Any]]:
    """The per-agency dashboard computed from the reports and events tables: event counts
    by SQL, deadlines met from the report rows, medians exactly — the working-time ones in
    Python, row by row (``working``)."""
    from django.db import connection

    from ihanoi.oversight.metrics import exact_percentile
    from ihanoi.workcalendar.selectors import city_calendar

    calendar = city_calendar()
    where_category = "AND r.category_id = %s" if category else ""
    params: list[Any] = [first, stop] + ([category] if category else [])
    table: dict[int | None, dict[str, Any]] = defaultdict(Counter)  # type: ignore[arg-type]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT CASE WHEN e.kind = 'transferred' THEN a.id ELSE e.agency_id END, e.kind,
                   count(*)
            FROM feedback_reportevent e
            JOIN feedback_report r ON r.id = e.report_id
            LEFT JOIN agencies_agency a ON e.kind = 'transferred' AND a.code = e.data->>'to'
            WHERE e.created_at >= %s AND e.created_at < %s {where_category}
              AND e.kind IN ('submitted', 'routed', 'transferred', 'returned', 'rejected',
                             'extension_approved', 'reopened', 'rated', 'closed')
            GROUP BY 1, 2
            """,  # noqa: S608
            params,
        )
        for agency, kind, n in cursor.fetchall():
            table[agency][kind] += n
        cursor.execute(
            f"""
            SELECT r.agency_id,
              count(*) FILTER (WHERE r.accepted_at >= %s AND r.accepted_at < %s),
              count(*) FILTER (WHERE r.accepted_at >= %s AND r.accepted_at < %s
                               AND r.accepted_at <= r.accept_due_at),
              count(*) FILTER (WHERE r.resolved_at >= %s AND r.resolved_at < %s),
              count(*) FILTER (WHERE r.resolved_at >= %s AND r.resolved_at < %s
                               AND r.resolved_at <= r.resolve_due_at),
              count(*) FILTER (WHERE r.rated_at >= %s AND r.rated_at < %s
                               AND r.rating IN ('satisfied', 'acceptable')),
              percentile_disc(0.5) WITHIN GROUP (ORDER BY r.accepted_at - r.assigned_at)
                FILTER (WHERE r.accepted_at >= %s AND r.accepted_at < %s),
              percentile_disc(0.9) WITHIN GROUP (ORDER BY r.accepted_at - r.assigned_at)
                FILTER (WHERE r.accepted_at >= %s AND r.accepted_at < %s),
              percentile_disc(0.5) WITHIN GROUP (ORDER BY r.resolved_at - r.accepted_at)
                FILTER (WHERE r.resolved_at >= %s AND r.resolved_at < %s),
              percentile_disc(0.9) WITHIN GROUP (ORDER BY r.resolved_at - r.accepted_at)
                FILTER (WHERE r.resolved_at >= %s AND r.resolved_at < %s)
            FROM feedback_report r
            WHERE ((r.accepted_at >= %s AND r.accepted_at < %s)
                OR (r.resolved_at >= %s AND r.resolved_at < %s)
                OR (r.rated_at >= %s AND r.rated_at < %s)) {where_category}
            GROUP BY r.agency_id
            """,  # noqa: S608
            [first, stop] * 12 + ([category] if category else []),
        )
        for agency, *values in cursor.fetchall():
            names = ("accepted", "accept_on_time", "resolved", "resolve_on_time", "satisfied")
            table[agency].update(dict(zip(names, values[:5], strict=True)))
            table[agency]["calendar_medians"] = values[5:]
        if working:
            cursor.execute(
                f"""
                SELECT r.agency_id, r.assigned_at, r.accepted_at, r.resolved_at
                FROM feedback_report r
                WHERE ((r.accepted_at >= %s AND r.accepted_at < %s)
                    OR (r.resolved_at >= %s AND r.resolved_at < %s)) {where_category}
                """,  # noqa: S608
                [first, stop, first, stop] + ([category] if category else []),
            )
            samples: dict[Any, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
            for agency, assigned, accepted, resolved in cursor.fetchall():
                if accepted and assigned and first <= accepted < stop:
                    span = calendar.working_time_between(assigned, accepted).total_seconds()
                    samples[agency]["accept"].append(span)
                if resolved and accepted and first <= resolved < stop:
                    span = calendar.working_time_between(accepted, resolved).total_seconds()
                    samples[agency]["resolve"].append(span)
            for agency, by_kind in samples.items():
                for kind, values in by_kind.items():
                    table[agency][f"{kind}_work_p50"] = exact_percentile(values, 0.5)
                    table[agency][f"{kind}_work_p90"] = exact_percentile(values, 0.9)
    return table


def naive_trend(first: dt.datetime, stop: dt.datetime) -> list[tuple[Any, ...]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT (e.created_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day,
                   count(*) FILTER (WHERE e.kind IN ('routed', 'transferred')),
                   count(*) FILTER (WHERE e.kind = 'resolved'),
                   count(*) FILTER (WHERE e.kind = 'rated'
                                    AND e.data->>'rating' IN ('satisfied', 'acceptable')),
                   count(*) FILTER (WHERE e.kind = 'rated')
            FROM feedback_reportevent e
            WHERE e.created_at >= %s AND e.created_at < %s
            GROUP BY 1 ORDER BY 1
            """,
            [first, stop],
        )
        return cursor.fetchall()


# --- Measuring -------------------------------------------------------------------------------


def measure(fn: Callable[[], object], rounds: int) -> float:
    fn()  # warm the caches (database pages, the calendar) for both sides alike
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run(args: argparse.Namespace) -> None:
    from django.db import connection

    from ihanoi.feedback.models import Category
    from ihanoi.feedback.volume import tables_finish
    from ihanoi.lib.worktime import CITY_TZ
    from ihanoi.oversight import selectors
    from ihanoi.oversight.models import AgencyDay, DailyStat, Fact
    from ihanoi.oversight.periods import Period, PeriodKind
    from ihanoi.oversight.selectors import CITY, Filters
    from ihanoi.oversight.services import rollup_rebuild, rollup_run

    rng = random.Random(args.seed)
    end_day = dt.date(2026, 4, 15)
    end = dt.datetime.combine(end_day, dt.time(0), tzinfo=CITY_TZ)
    first = end - dt.timedelta(days=args.days)
    residents = args.residents or max(1000, args.reports // 5)

    started = time.perf_counter()
    reference_data(rng, end)
    generator = generator_for(args.seed, residents, first, end)
    _say(f"reference data and {residents:,} residents: {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    generator.generate(args.reports, first, end)
    generator.flush()
    tables_finish()
    generation = time.perf_counter() - started
    counts = generator.counts()
    _say(
        f"generated {counts.reports:,} reports and {counts.events:,} events "
        f"over {args.days} days with COPY: {generation:.1f} s"
    )

    started = time.perf_counter()
    result = rollup_rebuild(progress=None)
    build = time.perf_counter() - started
    with connection.cursor() as cursor:
        for model in (Fact, DailyStat, AgencyDay):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    _say(
        f"roll-ups built from scratch: {build:.1f} s ({result.facts:,} facts, "
        f"{DailyStat.objects.count():,} detailed rows, {AgencyDay.objects.count():,} agency-days)"
    )

    # One more day of reports (the events of the last day of the span, plus the new day's),
    # folded in by the periodic run.
    day_reports = max(100, args.reports // args.days)
    events_before = generator.counts().events
    generator.generate(day_reports, end, end + DAY)
    generator.close()
    tables_finish()
    started = time.perf_counter()
    incremental = rollup_run()
    fold = time.perf_counter() - started
    _say(
        f"periodic run over one more day ({day_reports:,} reports, "
        f"{generator.counts().events - events_before:,} events): {fold:.1f} s "
        f"({incremental.events:,} events folded in {incremental.batches} batches)"
    )

    month = Period.around(PeriodKind.MONTH, (end - 20 * DAY).date())
    start, stop = month.start, month.end
    category = Category.objects.order_by("pk").values_list("pk", flat=True)[0]
    now = end + DAY
    cases: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
        (
            "agency table, month",
            lambda: selectors.agency_stats(Filters(month), CITY),
            lambda: naive_agency_table(start, stop, category=None, working=True),
        ),
        (
            "agency table, month, one category",
            lambda: selectors.agency_stats(Filters(month, category_id=category), CITY),
            lambda: naive_agency_table(start, stop, category=category, working=True),
        ),
        (
            "agency table, month (naive: calendar-time medians only)",
            lambda: selectors.agency_stats(Filters(month), CITY),
            lambda: naive_agency_table(start, stop, category=None, working=False),
        ),
        (
            "daily trend, month",
            lambda: selectors.trend(Filters(month), CITY),
            lambda: naive_trend(start, stop),
        ),
        (
            "public page, month",
            lambda: selectors.public_summary(month),
            lambda: naive_agency_table(start, stop, category=None, working=False),
        ),
    ]
    _say("")
    _say(f"{'query':<52} {'roll-ups':>10} {'naive':>10} {'ratio':>8}")
    for name, rolled, naive in cases:
        fast = measure(rolled, args.rounds)
        slow = measure(naive, args.rounds)
        _say(f"{name:<52} {fast * 1000:>8.1f}ms {slow * 1000:>8.1f}ms {slow / fast:>7.0f}×")
    overdue = measure(
        lambda: selectors.overdue_by_agency(Filters(month), CITY, now=now), args.rounds
    )
    _say(f"{'overdue now by agency (live, indexed; both sides)':<52} {overdue * 1000:>8.1f}ms")

    # The two ways agree on what they both can count exactly.
    stats = selectors.agency_stats(Filters(month), CITY)
    naive = naive_agency_table(start, stop, category=None, working=False)
    rolled_received = sum(c.received for c in stats.values())
    naive_received = sum(row.get("routed", 0) + row.get("transferred", 0) for row in naive.values())
    _say(f"\nitems received in {month.label()}: roll-ups {rolled_received:,}, ", end="")
    _say(f"naive {naive_received:,}")


def main() -> None:
    args = _parse()
    server, database = args.server.rstrip("/"), args.database
    _admin(server, f'DROP DATABASE IF EXISTS "{database}"')
    _admin(server, f'CREATE DATABASE "{database}"')
    os.environ["DATABASE_URL"] = f"{server}/{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ihanoi.settings")
    os.environ.setdefault("TASKS_BACKEND", "dummy")
    media = tempfile.mkdtemp(prefix="ihanoi-bench-media-")
    os.environ["MEDIA_ROOT"] = media
    try:
        import django

        django.setup()
        from django.core.management import call_command

        _say(
            f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}; database {database}"
        )
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        call_command("createcachetable", verbosity=0)
        _say(f"migrated: {time.perf_counter() - started:.1f} s")
        run(args)
    finally:
        from django.db import connections

        connections.close_all()
        shutil.rmtree(media, ignore_errors=True)
        if not args.keep:
            _admin(server, f'DROP DATABASE IF EXISTS "{database}"')


if __name__ == "__main__":
    main()
