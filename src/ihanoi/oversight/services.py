"""Writes of the oversight app: keeping the roll-ups current (and rebuilding them).

``rollup_run`` folds the events appended since the watermark into the roll-up tables, in
batches; each batch is one transaction that writes the facts, the counters and the new
watermark together, so a crash leaves the tables as they were before the batch and a
re-run never counts an event twice. The periodic task runs it every minute
(``tasks.rollup``): the statistics lag the events by at most that interval plus a run.

``rollup_rebuild`` empties the tables and recomputes them from every event (after a change
of the definitions or of the working calendar, or to check the incremental path).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import h3
from django.db import connection, models, transaction
from django.db.models import Max, Q
from django.utils import timezone

from ihanoi.accounts.models import User
from ihanoi.feedback.models import Report, ReportEvent

from . import exports
from .metrics import COUNTER_FIELDS, COUNTER_INDEX, HIST_FIELDS, Counts, bucket_of
from .models import (
    AgencyDay,
    AgencyMonth,
    CellDay,
    DailyStat,
    ExportJob,
    Fact,
    FactKind,
    ResidentFirstReport,
    RollupState,
)
from .replay import EVENT_FIELDS, REPORT_FIELDS, Context, EventRow, FactRow, ReportInfo, replay
from .selectors import DEFAULT_MIN_SAMPLE, RANKING_METRICS, Filters, Scope, oversight_scope

logger = logging.getLogger(__name__)

BATCH_EVENTS = 2000
# One run stops after this many batches; the next run goes on (a backlog after downtime
# does not hold one worker for hours).
MAX_BATCHES = 200
GAP_TIMEOUT = dt.timedelta(minutes=15)
MAX_GAPS = 1000
# H3 resolution of the hexagon map: ~5 km² cells, a few hundred over Hanoi.
CELL_RESOLUTION = 7
REPORTS_PER_QUERY = 500

FineKey = tuple[dt.date, int | None, int, int, str]
CoarseKey = tuple[dt.date, int | None]  # (day or first day of the month, agency)


@dataclass(frozen=True)
class RollupResult:
    events: int
    facts: int
    batches: int
    last_event_id: int


# --- Reading the timeline ------------------------------------------------------------------


def _reports(report_ids: Iterable[int]) -> dict[int, ReportInfo]:
    ids = sorted(set(report_ids))
    found: dict[int, ReportInfo] = {}
    for start in range(0, len(ids), REPORTS_PER_QUERY):
        chunk = ids[start : start + REPORTS_PER_QUERY]
        for row in Report.objects.filter(pk__in=chunk).values_list(*REPORT_FIELDS):
            found[row[0]] = ReportInfo(*row)
    return found


def _timelines(report_ids: Iterable[int]) -> dict[int, list[EventRow]]:
    ids = sorted(set(report_ids))
    timelines: dict[int, list[EventRow]] = defaultdict(list)
    for start in range(0, len(ids), REPORTS_PER_QUERY):
        chunk = ids[start : start + REPORTS_PER_QUERY]
        for row in _event_rows(chunk):
            timelines[row[1]].append(EventRow(*row))
    return timelines


def _event_rows(report_ids: list[int]) -> Iterable[tuple[Any, ...]]:
    if connection.vendor != "postgresql":
        events = ReportEvent.objects.filter(report_id__in=report_ids).order_by("report_id", "id")
        yield from events.values_list(*EVENT_FIELDS)
        return
    # The ORM's per-row converters cost more than the replay itself on a rebuild.
    table = connection.ops.quote_name(ReportEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(EVENT_FIELDS)} FROM {table} "  # noqa: S608 (our own names)
            "WHERE report_id = ANY(%s) ORDER BY report_id, id",
            [report_ids],
        )
        for row in cursor.fetchall():
            data = row[6]
            if isinstance(data, str | bytes):
                data = json.loads(data)
            yield (*row[:6], data, row[7])


def _facts_of(report_ids: Iterable[int], wanted: Container[int], ctx: Context) -> list[FactRow]:
    # Report rows first, then events: a reclassification committed in between is then
    # seen in the events, which is where the replay reads the first classification from.
    reports = _reports(report_ids)
    timelines = _timelines(reports)
    facts: list[FactRow] = []
    for report_id, report in reports.items():
        facts.extend(replay(report, timelines.get(report_id, []), wanted=wanted, ctx=ctx))
    return facts


# --- Aggregating facts -----------------------------------------------------------------------


@dataclass
class Deltas:
    fine: dict[FineKey, Counts]
    coarse: dict[CoarseKey, Counts]
    monthly: dict[CoarseKey, Counts]
    cells: dict[tuple[dt.date, str, int], int]
    first_reports: dict[int, tuple[dt.datetime, int]]

    @classmethod
    def empty(cls) -> Deltas:
        return cls(fine={}, coarse={}, monthly={}, cells={}, first_reports={})

    def add(self, fact: FactRow) -> None:
        names, hists = fact.counters()
        fine_key: FineKey = (
            fact.day,
            fact.agency_id,
            fact.category_id,
            fact.ward_id,
            fact.severity,
        )
        _bump(self.fine, fine_key, names, hists)
        _bump(self.coarse, (fact.day, fact.agency_id), names, hists)
        _bump(self.monthly, (fact.day.replace(day=1), fact.agency_id), names, hists)
        if fact.kind == FactKind.SUBMIT:
            if fact.h3_cell:
                try:
                    cell = h3.cell_to_parent(fact.h3_cell, CELL_RESOLUTION)
                except (ValueError, h3.H3BaseException):
                    cell = ""
                if cell:
                    cell_key = (fact.day, cell, fact.category_id)
                    self.cells[cell_key] = self.cells.get(cell_key, 0) + 1
            known = self.first_reports.get(fact.reporter_id)
            if known is None or fact.at < known[0]:
                self.first_reports[fact.reporter_id] = (fact.at, fact.ward_id)


def _bump(
    table: dict[Any, Counts],
    key: Any,
    names: Sequence[str],
    hists: Sequence[tuple[str, int]],
) -> None:
    counts = table.get(key)
    if counts is None:
        counts = table[key] = Counts()
    for name in names:
        counts.values[COUNTER_INDEX[name]] += 1
    for name, seconds in hists:
        hist = counts.hists[name]
        bucket = bucket_of(seconds)
        hist[bucket] = hist.get(bucket, 0) + 1


def _counter_values(counts: Counts) -> dict[str, Any]:
    values: dict[str, Any] = dict(zip(COUNTER_FIELDS, counts.values, strict=True))
    for name in HIST_FIELDS:
        # JSON object keys are strings; sorted for a stable, readable value.
        values[name] = {str(k): v for k, v in sorted(counts.hists[name].items())}
    return values


# --- Writing ---------------------------------------------------------------------------------


def _copy_text(value: Any) -> str:
    """A value in the text format of PostgreSQL's COPY (faster than psycopg's write_row for
    the millions of rows of a rebuild)."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is dt.datetime or kind is dt.date:
        return value.isoformat()
    if kind is dict or kind is list:
        text = json.dumps(value, separators=(",", ":")) if value else "{}"
    else:
        text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


def _insert(
    model: type[models.Model], columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
) -> None:
    """Insert plain rows: COPY on PostgreSQL (the rebuild writes millions), bulk_create
    elsewhere. ``columns`` are attribute names (``agency_id``), which are the column names
    of this app's tables."""
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(model._meta.db_table)
        names = ", ".join(connection.ops.quote_name(c) for c in columns)
        with connection.cursor() as cursor:
            raw = cursor.cursor
            with raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                lines: list[str] = []
                for row in rows:
                    lines.append("\t".join(map(_copy_text, row)))
                    if len(lines) >= 10_000:
                        copy.write("\n".join(lines) + "\n")
                        lines = []
                if lines:
                    copy.write("\n".join(lines) + "\n")
        return
    batch: list[models.Model] = []
    for row in rows:
        batch.append(model(**dict(zip(columns, row, strict=True))))
        if len(batch) >= 1000:
            model._default_manager.bulk_create(batch)
            batch = []
    if batch:
        model._default_manager.bulk_create(batch)


FACT_COLUMNS = (
    "event_id",
    "report_id",
    "kind",
    "at",
    "day",
    "agency_id",
    "category_id",
    "ward_id",
    "severity",
    "on_time",
    "done",
    "due_at",
    "via_transfer",
    "rating",
    "work_seconds",
    "calendar_seconds",
)


def _fact_tuple(fact: FactRow) -> tuple[Any, ...]:
    return tuple(getattr(fact, name) for name in FACT_COLUMNS)


def _write_facts(facts: Sequence[FactRow]) -> None:
    _insert(Fact, FACT_COLUMNS, (_fact_tuple(f) for f in facts))


_COUNTER_COLUMNS = (*COUNTER_FIELDS, *HIST_FIELDS)
_FINE_COLUMNS = ("day", "agency_id", "category_id", "ward_id", "severity")
_COARSE_COLUMNS = ("day", "agency_id")
_MONTH_COLUMNS = ("month", "agency_id")


def _merge_counters(
    model: type[DailyStat] | type[AgencyDay] | type[AgencyMonth],
    key_columns: Sequence[str],
    deltas: dict[Any, Counts],
) -> None:
    """Add ``deltas`` to the rows of their keys: the existing rows are read, added to and
    written back (delete + insert; the caller holds the roll-up lock, no one else writes)."""
    if not deltas:
        return
    days = sorted({key[0] for key in deltas})
    agencies = {key[1] for key in deltas}
    where = Q(agency_id__in=[a for a in agencies if a is not None])
    if None in agencies:
        where |= Q(agency__isnull=True)
    narrow = {f"{key_columns[0]}__in": days}
    for position, column in enumerate(key_columns[2:], start=2):
        narrow[f"{column}__in"] = sorted({key[position] for key in deltas})
    existing = model._default_manager.filter(where, **narrow).values(
        "pk", *key_columns, *_COUNTER_COLUMNS
    )
    replaced: list[int] = []
    for row in existing:
        key = tuple(row[c] for c in key_columns)
        counts = deltas.get(key)
        if counts is not None:
            counts.add_row(row)
            replaced.append(row["pk"])
    for start in range(0, len(replaced), 500):
        model._default_manager.filter(pk__in=replaced[start : start + 500]).delete()
    _insert_counters(model, key_columns, deltas)


def _insert_counters(
    model: type[models.Model], key_columns: Sequence[str], deltas: dict[Any, Counts]
) -> None:
    def rows() -> Iterable[tuple[Any, ...]]:
        for key, counts in deltas.items():
            values = _counter_values(counts)
            yield (*key, *(values[c] for c in _COUNTER_COLUMNS))

    _insert(model, (*key_columns, *_COUNTER_COLUMNS), rows())


def _merge_cells(cells: dict[tuple[dt.date, str, int], int]) -> None:
    if not cells:
        return
    days = sorted({key[0] for key in cells})
    names = {key[1] for key in cells}
    existing = CellDay.objects.filter(day__in=days, cell__in=names).values_list(
        "pk", "day", "cell", "category_id", "submitted"
    )
    replaced = []
    for pk, day, cell, category_id, submitted in existing:
        key = (day, cell, category_id)
        if key in cells:
            cells[key] += submitted
            replaced.append(pk)
    CellDay.objects.filter(pk__in=replaced).delete()
    _insert(
        CellDay,
        ("day", "cell", "category_id", "submitted"),
        ((day, cell, category, n) for (day, cell, category), n in cells.items()),
    )


def _merge_first_reports(first: dict[int, tuple[dt.datetime, int]]) -> None:
    if not first:
        return
    users = sorted(first)
    known = dict(
        ResidentFirstReport.objects.filter(user_id__in=users).values_list(
            "user_id", "first_report_at"
        )
    )
    earlier = [u for u in users if u in known and first[u][0] < known[u]]
    ResidentFirstReport.objects.filter(user_id__in=earlier).delete()
    _insert(
        ResidentFirstReport,
        ("user_id", "first_report_at", "ward_id"),
        ((u, *first[u]) for u in users if u not in known or u in earlier),
    )


def _write_deltas(deltas: Deltas, *, merge: bool) -> None:
    if merge:
        _merge_counters(DailyStat, _FINE_COLUMNS, deltas.fine)
        _merge_counters(AgencyDay, _COARSE_COLUMNS, deltas.coarse)
        _merge_counters(AgencyMonth, _MONTH_COLUMNS, deltas.monthly)
        _merge_cells(deltas.cells)
    else:
        _insert_counters(DailyStat, _FINE_COLUMNS, deltas.fine)
        _insert_counters(AgencyDay, _COARSE_COLUMNS, deltas.coarse)
        _insert_counters(AgencyMonth, _MONTH_COLUMNS, deltas.monthly)
        _insert(
            CellDay,
            ("day", "cell", "category_id", "submitted"),
            ((day, cell, category, n) for (day, cell, category), n in deltas.cells.items()),
        )
    _merge_first_reports(deltas.first_reports)


# --- The incremental run ---------------------------------------------------------------------


def _locked_state() -> RollupState:
    RollupState.objects.get_or_create(pk=1)
    return RollupState.objects.select_for_update().get(pk=1)


def _gaps_in(ids: Sequence[int], after: int) -> list[int]:
    """Ids missing between ``after`` and the ids read (ascending)."""
    missing: list[int] = []
    previous = after
    for event_id in ids:
        # A first run (after = 0) does not chase the ids before the table's first event.
        if previous and event_id - previous > 1:
            missing.extend(range(previous + 1, min(event_id, previous + 1 + MAX_GAPS)))
        previous = event_id
    return missing[:MAX_GAPS]


def _run_batch(*, batch_size: int, now: dt.datetime, ctx: Context) -> tuple[int, int, bool]:
    """One batch in one transaction. Returns (events folded, facts written, more waiting)."""
    with transaction.atomic():
        state = _locked_state()
        watermark = state.last_event_id
        gaps = {int(g[0]): str(g[1]) for g in state.pending_gaps}
        rows = list(
            ReportEvent.objects.filter(id__gt=watermark)
            .order_by("id")
            .values_list("id", "report_id", "created_at")[:batch_size]
        )
        late = (
            list(
                ReportEvent.objects.filter(id__in=list(gaps)).values_list(
                    "id", "report_id", "created_at"
                )
            )
            if gaps
            else []
        )
        new_watermark = rows[-1][0] if rows else watermark
        wanted = {r[0] for r in rows} | {r[0] for r in late}
        # Belt and braces: an event that already has facts is never folded again.
        if wanted:
            already = set(
                Fact.objects.filter(event_id__gt=watermark, event_id__lte=new_watermark)
                .values_list("event_id", flat=True)
                .distinct()
            )
            if late:
                already |= set(
                    Fact.objects.filter(event_id__in=[r[0] for r in late]).values_list(
                        "event_id", flat=True
                    )
                )
            wanted -= already
        facts = _facts_of({r[1] for r in (*rows, *late)}, wanted, ctx) if wanted else []
        _write_facts(facts)
        deltas = Deltas.empty()
        for fact in facts:
            deltas.add(fact)
        _write_deltas(deltas, merge=True)

        for event_id, _report, _at in late:
            gaps.pop(event_id, None)
        for event_id in _gaps_in([r[0] for r in rows], watermark):
            gaps.setdefault(event_id, now.isoformat())
        cutoff = now - GAP_TIMEOUT
        state.pending_gaps = [
            [event_id, seen]
            for event_id, seen in sorted(gaps.items())
            if dt.datetime.fromisoformat(seen) >= cutoff
        ][:MAX_GAPS]
        state.last_event_id = new_watermark
        state.events_processed += len(rows) + len(late)
        state.last_run_at = now
        newest = max((r[2] for r in (*rows, *late)), default=None)
        if newest is not None and (state.last_event_at is None or newest > state.last_event_at):
            state.last_event_at = newest
        state.save()
    return len(rows) + len(late), len(facts), len(rows) == batch_size


def rollup_run(
    *,
    batch_size: int = BATCH_EVENTS,
    max_batches: int = MAX_BATCHES,
    now: dt.datetime | None = None,
) -> RollupResult:
    """Fold every event appended since the last run into the roll-ups."""
    ctx = Context.load()
    events = facts = batches = 0
    for _ in range(max_batches):
        folded, written, more = _run_batch(
            batch_size=batch_size, now=now or timezone.now(), ctx=ctx
        )
        events += folded
        facts += written
        batches += 1
        if not more:
            break
    state = RollupState.objects.get(pk=1)
    return RollupResult(events, facts, batches, state.last_event_id)


# --- The rebuild -----------------------------------------------------------------------------


def rollup_rebuild(
    *,
    chunk: int = 2000,
    progress: Callable[[int, int], None] | None = None,
    now: dt.datetime | None = None,
) -> RollupResult:
    """Empty the roll-ups and recompute them from every event, in one transaction (the
    pages keep reading the old tables until it commits)."""
    now = now or timezone.now()
    ctx = Context.load()
    with transaction.atomic():
        state = _locked_state()
        _empty_tables()
        last = ReportEvent.objects.aggregate(m=Max("id"))["m"] or 0
        wanted = _AllUpTo(last)
        deltas = Deltas.empty()
        report_ids = list(Report.objects.order_by("pk").values_list("pk", flat=True))
        facts_written = 0
        for start in range(0, len(report_ids), chunk):
            ids = report_ids[start : start + chunk]
            facts = _facts_of(ids, wanted, ctx)
            _write_facts(facts)
            facts_written += len(facts)
            for fact in facts:
                deltas.add(fact)
            if progress is not None:
                progress(min(start + chunk, len(report_ids)), len(report_ids))
        _write_deltas(deltas, merge=False)
        recent = list(
            ReportEvent.objects.filter(id__gt=max(0, last - MAX_GAPS), id__lte=last)
            .order_by("id")
            .values_list("id", flat=True)
        )
        state.last_event_id = last
        state.pending_gaps = (
            [[g, now.isoformat()] for g in _gaps_in(recent, recent[0] - 1)] if recent else []
        )
        state.events_processed = ReportEvent.objects.filter(id__lte=last).count()
        state.last_run_at = state.rebuilt_at = now
        state.last_event_at = ReportEvent.objects.filter(id__lte=last).aggregate(
            m=Max("created_at")
        )["m"]
        state.save()
    return RollupResult(state.events_processed, facts_written, 1, last)


class _AllUpTo:
    """Every event id up to ``last`` (a set that needs no memory)."""

    def __init__(self, last: int) -> None:
        self.last = last

    def __contains__(self, event_id: object) -> bool:
        return isinstance(event_id, int) and event_id <= self.last


def _empty_tables() -> None:
    tables = [Fact, DailyStat, AgencyDay, AgencyMonth, CellDay, ResidentFirstReport]
    if connection.vendor == "postgresql":
        names = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in tables)
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {names}")
        return
    for model in tables:
        model._default_manager.all().delete()


# --- Exports ---------------------------------------------------------------------------------


def export_table(
    name: str,
    filters: Filters,
    scope: Scope,
    *,
    data: dict[str, Any],
    now: dt.datetime,
) -> exports.Table:
    """The table ``name`` of the pages, for a file."""
    if name == "agencies":
        return exports.agencies_table(filters, scope, now=now)
    if name in ("categories", "wards"):
        return exports.dimension_table(filters, scope, name[:-1])
    if name == "rankings":
        metric = data.get("metric") or RANKING_METRICS[0]
        if metric not in RANKING_METRICS:
            metric = RANKING_METRICS[0]
        min_sample = data.get("min_sample") or DEFAULT_MIN_SAMPLE[filters.period.kind.value]
        return exports.rankings_table(filters, scope, metric=metric, min_sample=int(min_sample))
    if name == "named_units":
        return exports.named_units_table(filters, scope, now=now)
    if name == "overdue":
        return exports.overdue_table(filters, scope, now=now)
    if name == "items":
        return exports.items_table(filters, scope, metric=data["metric"])
    if name == "adoption":
        return exports.adoption_table(now=now)
    if name == "staff":
        return exports.staff_table(now=now)
    raise ValueError(name)


def export_job_create(
    *, user: User, kind: str, fmt: str, params: dict[str, Any], title: str = ""
) -> ExportJob:
    """Record the job and hand it to the task worker (after the row is committed, so the
    worker finds it)."""
    from .tasks import run_export

    job = ExportJob.objects.create(
        created_by=user, kind=kind, fmt=fmt, params=params, title=title[:200]
    )
    transaction.on_commit(lambda: run_export.enqueue(job.pk))
    return job


def _set_progress(job_id: int, percent: int) -> None:
    ExportJob.objects.filter(pk=job_id).update(progress=max(0, min(100, percent)))


def export_job_run(*, job_id: int, now: dt.datetime | None = None) -> ExportJob:
    """Prepare the file of a job; permissions are checked again as its owner now has them."""
    from django.core.files.base import ContentFile

    from .forms import ExportForm, MonthlyReportForm

    now = now or timezone.now()
    job = ExportJob.objects.select_related("created_by").get(pk=job_id)
    if job.status in (ExportJob.Status.DONE, ExportJob.Status.RUNNING):
        return job
    ExportJob.objects.filter(pk=job_id).update(status=ExportJob.Status.RUNNING, progress=0)
    try:
        scope = oversight_scope(job.created_by)
        if scope is None:
            raise PermissionError("not allowed")

        def progress(done: int, size: int) -> None:
            _set_progress(job_id, int(100 * done / max(1, size)))

        if job.kind == "monthly":
            from . import pdf

            form = MonthlyReportForm(job.params)
            if not form.is_valid():
                raise ValueError(form.errors.as_text())
            agency = form.agency_obj
            if (agency is None and not scope.is_city) or (
                agency is not None and not scope.allows(agency.pk)
            ):
                raise PermissionError("not allowed")
            content = pdf.monthly_report(
                month=form.cleaned_data["month"], agency=agency, now=now, progress=progress
            )
            unit = agency.code if agency else "toan-thanh-pho"
            filename = f"bao-cao-{form.cleaned_data['month']:%Y-%m}-{unit}.pdf"
        else:
            export_form = ExportForm(job.params, now=now)
            if not export_form.is_valid():
                raise ValueError(export_form.errors.as_text())
            filters = export_form.filters()
            if filters.agency_id is not None and not scope.allows(filters.agency_id):
                raise PermissionError("not allowed")
            table = export_table(job.kind, filters, scope, data=export_form.cleaned_data, now=now)
            content = exports.render(table, job.fmt, progress)
            filename = f"{job.kind}-{filters.period.first.isoformat()}.{job.fmt}"
        job.refresh_from_db()
        job.file.save(filename, ContentFile(content), save=False)
        job.status = ExportJob.Status.DONE
        job.progress = 100
        job.finished_at = timezone.now()
        job.save()
    except Exception as exc:  # the job records why; the worker stays up
        logger.exception("export %s failed", job_id)
        ExportJob.objects.filter(pk=job_id).update(
            status=ExportJob.Status.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        job.refresh_from_db()
    return job
