"""Oversight statistics: the roll-up tables against the naive aggregate, on generated data.

    .venv/bin/python bench/bench_oversight.py [--reports N] [--days D] [--rounds R] [--keep]

Creates a scratch PostgreSQL database (``ihanoi_bench_oversight`` on the server of
``--server``, default postgres://postgres@127.0.0.1:5432), migrates it, seeds 126 wards
with their People's Committees, the city departments and the categories, then generates N
reports (default 1,000,000) spread over D days (default 100: the 10k reports a day DESIGN
plans for) with their whole timelines — routing, transfers, returns and rejections,
acceptance, extensions, results, ratings, unrated closing, reopening — on the city's
working calendar, and bulk-loads them with COPY.

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
import json
import os
import platform
import random
import statistics
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


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


def _text(value: Any) -> str:
    """A value in COPY's text format."""
    if value is None:
        return r"\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict | list):
        value = json.dumps(value, separators=(",", ":"))
    return (
        str(value)
        .replace("\\", "\\\\")
        .replace("\t", "\\t")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
    )


class Copier:
    """Buffers rows of one table and sends them with COPY in large chunks."""

    def __init__(
        self,
        model: Any,
        columns: list[str],
        constants: dict[str, Any],
        after: Copier | None = None,
    ) -> None:
        from django.db import connection

        # Rows this table refers to are sent first.
        self.after = after
        self.connection = connection
        self.table = model._meta.db_table
        # Every other column gets its model default (a field added later keeps working).
        others = [
            f
            for f in model._meta.concrete_fields
            if f.attname not in columns and f.attname not in constants and not f.primary_key
        ]
        for field in others:
            constants[field.attname] = None if field.null else field.get_default()
        self.columns = columns + list(constants)
        self.tail = "\t".join(_text(v) for v in constants.values())
        self.lines: list[str] = []
        self.rows = 0

    def add(self, values: str) -> None:
        self.lines.append(f"{values}\t{self.tail}\n" if self.tail else f"{values}\n")

    def flush_if_full(self) -> None:
        if len(self.lines) >= 50_000:
            self.flush()

    def flush(self) -> None:
        if self.after is not None:
            self.after.flush()
        if not self.lines:
            return
        names = ", ".join(f'"{c}"' for c in self.columns)
        statement = f'COPY "{self.table}" ({names}) FROM STDIN'
        with self.connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
            copy.write("".join(self.lines))
        self.rows += len(self.lines)
        self.lines = []


class City:
    """Reference data of the generated city."""

    def __init__(self, rng: random.Random, residents: int, end: dt.datetime) -> None:
        import h3
        from django.contrib.auth.hashers import make_password

        from ihanoi.accounts.models import User
        from ihanoi.agencies.models import Agency
        from ihanoi.agencies.services import agencies_seed
        from ihanoi.feedback.catalogue import feedback_seed
        from ihanoi.feedback.models import Category, RoutingRule
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
            lat = 20.95 + 0.2 * rng.random()
            lon = 105.72 + 0.22 * rng.random()
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
                    centre_lat=lat,
                    centre_lon=lon,
                )
            )
        AdministrativeUnit.objects.bulk_create(wards)
        agencies_seed(on=end.date())
        feedback_seed()
        self.wards = list(AdministrativeUnit.objects.filter(level="ward").order_by("code"))
        committees = {
            unit.pk: agency.pk
            for agency in Agency.objects.filter(kind=Agency.Kind.WARD_COMMITTEE)
            for unit in agency.served_units.all()
        }
        self.committee = [committees[w.pk] for w in self.wards]
        self.agency_code = dict(Agency.objects.values_list("pk", "code"))
        self.categories = list(Category.objects.order_by("pk"))
        rules = {
            r.category_id: r.agency_id
            for r in RoutingRule.objects.filter(unit__isnull=True, is_active=True)
        }
        self.rule = [rules.get(c.pk) for c in self.categories]
        # A handful of points (and their H3 cells) per ward, drawn from once per report.
        self.points = []
        for ward in self.wards:
            spots = []
            for _ in range(40):
                lat = ward.centre_lat + rng.uniform(-0.01, 0.01)
                lon = ward.centre_lon + rng.uniform(-0.01, 0.01)
                spots.append((lat, lon, h3.latlng_to_cell(lat, lon, 9)))
            self.points.append(spots)
        password = make_password(None)
        started = end - dt.timedelta(days=400)
        users = [
            User(
                phone=f"+8490{i:07d}",
                phone_verified=True,
                password=password,
                date_joined=started + dt.timedelta(seconds=rng.randint(0, 400 * 86400)),
            )
            for i in range(residents)
        ]
        User.objects.bulk_create(users, batch_size=5000)
        self.residents = list(User.objects.filter(role="resident").values_list("pk", flat=True))


class Generator:
    """Reports with their timelines on the working calendar, written with COPY."""

    def __init__(self, city: City, rng: random.Random) -> None:
        from ihanoi.feedback.models import Report, ReportEvent
        from ihanoi.workcalendar.selectors import city_calendar

        self.city, self.rng = city, rng
        self.calendar = city_calendar()
        self.report_id = (Report.objects.order_by("-pk").values_list("pk", flat=True).first()) or 0
        self.event_id = (
            ReportEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
        ) or 0
        report_columns = [
            "id",
            "public_id",
            "category_id",
            "lat",
            "lon",
            "ward_id",
            "h3_cell",
            "reporter_id",
            "status",
            "severity",
            "agency_id",
            "submitted_at",
            "assigned_at",
            "accepted_at",
            "resolved_at",
            "closed_at",
            "accept_due_at",
            "resolve_due_at",
            "rating",
            "rated_at",
        ]
        self.reports = Copier(
            Report,
            report_columns,
            {
                "kind": "field",
                "title": "Phản ánh thử",
                "description": "Dữ liệu sinh cho phép đo.",
                "answers": {},
                "address": "",
                "share_contact": False,
                "channel": "app",
                "client_key": "",
                "escalation_level": 0,
                "result_text": "",
                "rating_comment": "",
                "review_pending": False,
                "info_requested": False,
                "is_published": True,
            },
        )
        self.events = Copier(
            ReportEvent,
            [
                "id",
                "report_id",
                "kind",
                "from_status",
                "to_status",
                "agency_id",
                "data",
                "created_at",
            ],
            {"note": "", "is_public": True},
            after=self.reports,
        )

    def _event(self, report: int, kind: str, old: str, new: str, agency: int | None,
               data: dict[str, Any], at: dt.datetime) -> None:  # fmt: skip
        self.event_id += 1
        self.events.add(
            f"{self.event_id}\t{report}\t{kind}\t{old}\t{new}\t{_text(agency)}\t"
            f"{_text(data)}\t{at.isoformat()}"
        )

    def _accept_due(self, at: dt.datetime) -> dt.datetime:
        return self.calendar.add_working_time(at, 8 * HOUR)

    def _resolve_due(self, at: dt.datetime, severity: str) -> dt.datetime:
        if severity == "urgent":
            return self.calendar.add_working_time(at, 4 * HOUR)
        return self.calendar.add_working_days(at, 10 if severity == "complex" else 5)

    def report(self, submitted: dt.datetime, end: dt.datetime) -> None:
        """One report and its timeline, cut at ``end``."""
        rng, city = self.rng, self.city
        self.report_id += 1
        rid = self.report_id
        w = rng.randrange(len(city.wards))
        c = rng.randrange(len(city.categories))
        category = city.categories[c]
        severity = category.default_severity
        roll = rng.random()
        if roll < 0.05:
            severity = "urgent"
        elif roll < 0.10:
            severity = "complex"
        agency = city.rule[c] or city.committee[w]
        lat, lon, cell = rng.choice(city.points[w])
        row: dict[str, Any] = {
            "status": "assigned",
            "agency": agency,
            "assigned": submitted,
            "accepted": None,
            "resolved": None,
            "closed": None,
            "accept_due": self._accept_due(submitted),
            "resolve_due": None,
            "rating": "",
            "rated": None,
        }
        self._event(rid, "submitted", "", "submitted", None, {}, submitted)
        code = city.agency_code
        self._event(
            rid, "routed", "submitted", "assigned", agency, {"agency": code[agency]}, submitted
        )
        self._life(rid, row, severity, submitted, end)
        self.reports.add(
            "\t".join(
                (
                    str(rid),
                    str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    str(category.pk),
                    f"{lat:.6f}",
                    f"{lon:.6f}",
                    str(city.wards[w].pk),
                    cell,
                    str(rng.choice(city.residents)),
                    row["status"],
                    severity,
                    _text(row["agency"]),
                    submitted.isoformat(),
                    _text(row["assigned"]),
                    _text(row["accepted"]),
                    _text(row["resolved"]),
                    _text(row["closed"]),
                    _text(row["accept_due"]),
                    _text(row["resolve_due"]),
                    row["rating"],
                    _text(row["rated"]),
                )
            )
        )
        # Only here, with the report row buffered: its events refer to it.
        self.events.flush_if_full()

    def _life(
        self, rid: int, row: dict[str, Any], severity: str, t: dt.datetime, end: dt.datetime
    ) -> None:
        rng, city = self.rng, self.city
        code = city.agency_code
        agency = row["agency"]
        if rng.random() < 0.05:  # wrongly routed: transferred
            t = t + dt.timedelta(minutes=rng.randint(30, 30 * 60))
            if t >= end:
                return
            other = rng.choice(city.committee)
            self._event(rid, "transferred", "assigned", "assigned", agency,
                        {"from": code[agency], "to": code[other]}, t)  # fmt: skip
            agency = row["agency"] = other
            row["assigned"], row["accept_due"] = t, self._accept_due(t)
        if rng.random() < 0.015:  # not for the city: returned, then rejected
            t = t + dt.timedelta(minutes=rng.randint(30, 20 * 60))
            if t >= end:
                return
            self._event(rid, "returned", "assigned", "submitted", agency, {}, t)
            t += 2 * HOUR
            row.update(status="submitted", agency=None, accept_due=None, assigned=None)
            if t >= end:
                return
            self._event(rid, "rejected", "submitted", "rejected", None, {"reason": "x"}, t)
            row.update(status="rejected", closed=t)
            return
        if rng.random() < 0.06:
            return  # never accepted
        t = t + dt.timedelta(minutes=min(int(rng.expovariate(1 / 360)) + 5, 60 * 24 * 6))
        if t >= end:
            return
        self._event(rid, "accepted", "assigned", "in_progress", agency, {}, t)
        due = self._resolve_due(t, severity)
        row.update(status="in_progress", accepted=t, resolve_due=due)
        if rng.random() < 0.03:  # extension
            asked = t + 2 * DAY
            if asked >= end:
                return
            new_due = self.calendar.add_working_days(due, 3)
            asked_for = {"working_days": 3, "requested_due": new_due.isoformat()}
            self._event(
                rid, "extension_requested", "in_progress", "in_progress", agency, asked_for, asked
            )
            decided = asked + 3 * HOUR
            if decided >= end:
                return
            decision = {"old_due": due.isoformat(), "new_due": new_due.isoformat()}
            self._event(
                rid, "extension_approved", "in_progress", "in_progress", agency, decision, decided
            )
            due = row["resolve_due"] = new_due
        for attempt in range(2):
            t = t + dt.timedelta(minutes=min(int(rng.expovariate(1 / (3 * 24 * 60))) + 60,
                                             60 * 24 * 30))  # fmt: skip
            if t >= end or rng.random() < 0.05:
                return
            self._event(rid, "resolved", "in_progress", "resolved", agency, {}, t)
            row.update(status="resolved", resolved=t)
            closes = t + 7 * DAY
            if rng.random() < 0.65:
                t = t + dt.timedelta(minutes=rng.randint(60, 5 * 24 * 60))
                if t >= end:
                    return
                value = rng.choices(["satisfied", "acceptable", "not_satisfied"], [55, 30, 15])[0]
                if attempt == 1:
                    value = "satisfied"
                self._event(rid, "rated", "resolved", "closed", agency, {"rating": value}, t)
                row.update(status="closed", closed=t, rating=value, rated=t)
                if value != "not_satisfied" or rng.random() > 0.2:
                    return
                t += DAY  # the hub reopens after a "not satisfied" review
                if t >= end:
                    return
                self._event(rid, "reopened", "closed", "in_progress", agency, {}, t)
                due = self._resolve_due(t, severity)
                row.update(status="in_progress", resolved=None, closed=None, resolve_due=due)
                continue
            if closes >= end:
                return
            self._event(rid, "closed", "resolved", "closed", agency, {"unrated": True}, closes)
            row.update(status="closed", closed=closes)
            return

    def generate(self, count: int, first: dt.datetime, days: int, end: dt.datetime) -> None:
        rng = self.rng
        # Reports come in daytime mostly; days are shuffled within the span.
        hours = [1, 1, 1, 1, 1, 2, 4, 7, 9, 9, 8, 7, 6, 7, 8, 8, 7, 6, 5, 4, 3, 2, 2, 1]
        moments = sorted(
            first
            + dt.timedelta(
                days=rng.randrange(days),
                hours=rng.choices(range(24), hours)[0],
                seconds=rng.randrange(3600),
            )
            for _ in range(count)
        )
        for moment in moments:
            self.report(moment, end)
        self.reports.flush()
        self.events.flush()

    def finish(self) -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            for table in ("feedback_report", "feedback_reportevent"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT max(id) FROM {table}))"
                )
                cursor.execute(f"ANALYZE {table}")


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
    city = City(rng, residents, end)
    _say(f"reference data and {residents:,} residents: {time.perf_counter() - started:.1f} s")
    generator = Generator(city, rng)
    started = time.perf_counter()
    generator.generate(args.reports, first, args.days, end)
    generator.finish()
    generation = time.perf_counter() - started
    _say(
        f"generated {generator.reports.rows:,} reports and {generator.events.rows:,} events "
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
    events_before = generator.events.rows
    generator.generate(day_reports, end, 1, end + DAY)
    generator.finish()
    started = time.perf_counter()
    incremental = rollup_run()
    fold = time.perf_counter() - started
    _say(
        f"periodic run over one more day ({day_reports:,} reports, "
        f"{generator.events.rows - events_before:,} events): {fold:.1f} s "
        f"({incremental.events:,} events folded in {incremental.batches} batches)"
    )

    month = Period.around(PeriodKind.MONTH, (end - 20 * DAY).date())
    start, stop = month.start, month.end
    category = city.categories[0].pk
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
        if not args.keep:
            _admin(server, f'DROP DATABASE IF EXISTS "{database}"')


if __name__ == "__main__":
    main()
