"""The tables of the oversight pages as plain rows, and their CSV and XLSX files.

Numbers stay numbers (rates in percent with one decimal, durations in hours with two), so
that a spreadsheet can compute with them and a test can read them back."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from ihanoi.lib.worktime import CITY_TZ

from . import selectors
from .metrics import Counts, Rate
from .selectors import Filters, Scope

Progress = Callable[[int, int], None]


@dataclass
class Table:
    name: str
    title: str
    columns: list[str]
    rows: Iterable[list[Any]] = field(default_factory=list)
    # Known in advance for the item lists, so that a background export shows progress.
    size: int | None = None


def _pct(rate: Rate) -> float | None:
    return None if rate.percent is None else round(rate.percent, 1)


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def _late_hours(value: dt.timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 3600, 2)


def _local(moment: dt.datetime | None) -> str:
    return moment.astimezone(CITY_TZ).strftime("%Y-%m-%d %H:%M") if moment else ""


def counts_columns() -> list[str]:
    return [
        _("Submitted"),
        _("Received"),
        _("Received by transfer"),
        _("Accepted"),
        _("Accept deadlines decided"),
        _("Accepted on time"),
        _("Accepted on time (%)"),
        _("Resolved"),
        _("Resolve deadlines decided"),
        _("Resolved on time"),
        _("Resolved on time (%)"),
        _("Median time to accept (working hours)"),
        _("90th percentile time to accept (working hours)"),
        _("Median time to accept (calendar hours)"),
        _("90th percentile time to accept (calendar hours)"),
        _("Median time to resolve (working hours)"),
        _("90th percentile time to resolve (working hours)"),
        _("Median time to resolve (calendar hours)"),
        _("90th percentile time to resolve (calendar hours)"),
        _("Transferred out"),
        _("Returned to the hub"),
        _("Rejected"),
        _("Merged"),
        _("Extensions approved"),
        _("Rated"),
        _("Closed unrated"),
        _("Share rated (%)"),
        _("Satisfied"),
        _("Acceptable"),
        _("Not satisfied"),
        _("Satisfaction (%)"),
        _("Reopened"),
        _("Reopen rate (%)"),
    ]


def counts_values(c: Counts, *, durations: bool = True) -> list[Any]:
    d = c.durations if durations else {}
    return [
        c.submitted,
        c.received,
        c.received_by_transfer,
        c.accepted,
        c.accept_decided,
        c.accept_on_time,
        _pct(c.accept_on_time_rate),
        c.resolved,
        c.resolve_decided,
        c.resolve_on_time,
        _pct(c.resolve_on_time_rate),
        _hours(d.get("accept_work_p50")),
        _hours(d.get("accept_work_p90")),
        _hours(d.get("accept_calendar_p50")),
        _hours(d.get("accept_calendar_p90")),
        _hours(d.get("resolve_work_p50")),
        _hours(d.get("resolve_work_p90")),
        _hours(d.get("resolve_calendar_p50")),
        _hours(d.get("resolve_calendar_p90")),
        c.transferred_out,
        c.returned,
        c.rejected,
        c.merged,
        c.extensions,
        c.rated,
        c.closed_unrated,
        _pct(c.rated_share),
        c.satisfied,
        c.acceptable,
        c.not_satisfied,
        _pct(c.satisfaction),
        c.reopened,
        _pct(c.reopen_rate),
    ]


def agencies_table(filters: Filters, scope: Scope, *, now: dt.datetime) -> Table:
    rows = selectors.agency_table(filters, scope, now=now)
    body: list[list[Any]] = []
    for row in rows:
        overdue = row.overdue
        body.append(
            [
                row.code,
                str(row.agency) if row.agency else _("No agency (hub queue)"),
                *counts_values(row.counts),
                overdue.count if overdue else 0,
                _late_hours(overdue.max_late) if overdue else None,
            ]
        )
    totals = selectors.total({i: r.counts for i, r in enumerate(rows)})
    body.append(
        [
            "",
            _("Total"),
            *counts_values(totals),
            sum(r.overdue.count for r in rows if r.overdue),
            None,
        ]
    )
    return Table(
        "agencies",
        _("Agencies, %(period)s") % {"period": filters.period.label()},
        [
            _("Agency code"),
            _("Agency"),
            *counts_columns(),
            _("Overdue now"),
            _("Longest overdue (working hours)"),
        ],
        body,
    )


def dimension_table(filters: Filters, scope: Scope, dimension: str) -> Table:
    stats = selectors.dimension_stats(filters, scope, f"{dimension}_id")
    if dimension == "category":
        objects: dict[Any, Any] = selectors.categories_by_id(stats)
        title, code_label, name_label = _("Categories"), _("Category code"), _("Category")
    else:
        objects = selectors.wards_by_id(stats)
        title, code_label, name_label = _("Wards and communes"), _("Ward code"), _("Ward")
    body = []
    for key, counts in sorted(stats.items(), key=lambda kv: -kv[1].received):
        obj = objects.get(key)
        body.append(
            [
                obj.code if obj else "",
                obj.name if obj else "",
                *counts_values(counts, durations=False),
            ]
        )
    columns = counts_columns()
    # Durations are not kept per category or ward summed over agencies in SQL; the
    # columns stay, empty, so that every table has the same layout.
    return Table(
        f"{dimension}s",
        f"{title}, {filters.period.label()}",
        [code_label, name_label, *columns],
        body,
    )


def rankings_table(filters: Filters, scope: Scope, *, metric: str, min_sample: int) -> Table:
    result = selectors.ranking(filters, scope, metric=metric, min_sample=min_sample)
    body = []
    for row in result.ranked:
        low, high = row.rate.interval
        body.append(
            [
                row.rank,
                row.agency.code,
                row.agency.name,
                row.rate.num,
                row.rate.den,
                _pct(row.rate),
                round(100 * low, 1),
                round(100 * high, 1),
                _("yes") if row.tied else "",
            ]
        )
    for row in result.too_few:
        body.append(
            [
                None,
                row.agency.code,
                row.agency.name,
                row.rate.num,
                row.rate.den,
                _pct(row.rate),
                None,
                None,
                _("too few items"),
            ]
        )
    return Table(
        "rankings",
        _("Ranking, %(period)s") % {"period": filters.period.label()},
        [
            _("Rank"),
            _("Agency code"),
            _("Agency"),
            _("Successes"),
            _("Items"),
            _("Rate (%)"),
            _("95% interval, low (%)"),
            _("95% interval, high (%)"),
            _("Tied"),
        ],
        body,
    )


def named_units_table(filters: Filters, scope: Scope, *, now: dt.datetime) -> Table:
    units = selectors.named_units(filters, scope, now=now)
    return Table(
        "named_units",
        _("Units with overdue items, %(period)s") % {"period": filters.period.label()},
        [
            _("Agency code"),
            _("Agency"),
            _("Accepted late"),
            _("Resolved late"),
            _("Overdue now"),
            _("Longest overdue (working hours)"),
        ],
        [
            [
                u.agency.code,
                u.agency.name,
                u.accept_late,
                u.resolve_late,
                u.overdue_now,
                _late_hours(u.max_late),
            ]
            for u in units
        ],
    )


def overdue_table(filters: Filters, scope: Scope, *, now: dt.datetime) -> Table:
    # Without the wards' boundaries (tens of kB of GeoJSON each): the table needs names.
    reports = (
        selectors.overdue_reports(filters, scope, now=now)
        .select_related("agency", "category", "ward")
        .defer("ward__boundary")
    )
    size = reports.count()

    def rows() -> Iterator[list[Any]]:
        for start in range(0, size, 500):
            page = list(reports[start : start + 500])
            history = selectors.escalations([r.pk for r in page])
            for report in page:
                due = report.due  # type: ignore[attr-defined]
                yield [
                    report.pk,
                    report.title,
                    report.agency.code if report.agency else "",
                    str(report.agency or ""),
                    report.category.code,
                    report.ward.name,
                    report.get_severity_display(),
                    report.get_status_display(),
                    _local(due),
                    _late_hours(selectors.late_by(due, now)),
                    len(history.get(report.pk, [])),
                ]

    return Table(
        "overdue",
        _("Overdue items at %(moment)s") % {"moment": _local(now)},
        [
            _("Report"),
            _("Title"),
            _("Agency code"),
            _("Agency"),
            _("Category"),
            _("Ward"),
            _("Severity"),
            _("Status"),
            _("Deadline"),
            _("Late by (working hours)"),
            _("Reminders sent"),
        ],
        rows(),
        size,
    )


def items_table(filters: Filters, scope: Scope, *, metric: str) -> Table:
    facts = selectors.facts(filters, scope, metric)
    size = facts.count()

    def rows() -> Iterator[list[Any]]:
        for fact in facts.iterator(chunk_size=2000):
            yield [
                fact.report_id,
                fact.report.title,
                fact.agency.code if fact.agency else "",
                str(fact.agency or ""),
                fact.category.code,
                fact.ward.name,
                fact.severity,
                _local(fact.at),
                fact.get_kind_display(),
                "" if fact.on_time is None else (_("yes") if fact.on_time else _("no")),
                _local(fact.due_at),
                _hours(fact.work_seconds),
                _hours(fact.calendar_seconds),
                fact.get_rating_display() if fact.rating else "",
            ]

    return Table(
        "items",
        _("Items: %(metric)s, %(period)s") % {"metric": metric, "period": filters.period.label()},
        [
            _("Report"),
            _("Title"),
            _("Agency code"),
            _("Agency"),
            _("Category"),
            _("Ward"),
            _("Severity"),
            _("When"),
            _("What"),
            _("On time"),
            _("Deadline"),
            _("Working hours"),
            _("Calendar hours"),
            _("Rating"),
        ],
        rows(),
        size,
    )


def adoption_table(*, now: dt.datetime) -> Table:
    data = selectors.adoption(now=now)
    return Table(
        "adoption",
        _("Resident accounts by ward"),
        [_("Ward code"), _("Ward"), _("Residents"), _("Population"), _("Share (%)")],
        [
            [
                row.ward.code if row.ward else "",
                row.ward.name if row.ward else _("Unknown (no report yet)"),
                row.residents,
                row.population,
                None if row.share is None else round(row.share, 2),
            ]
            for row in data.wards
        ],
    )


def staff_table(*, now: dt.datetime) -> Table:
    data = selectors.adoption(now=now)
    return Table(
        "staff",
        _("Staff accounts by agency"),
        [_("Agency code"), _("Agency"), _("Members"), _("Leads")],
        [[a.code, a.name, n, leads] for a, n, leads in data.staff_by_agency],
    )


# --- Files -----------------------------------------------------------------------------------


def _report(progress: Progress | None, done: int, size: int | None) -> None:
    if progress is not None and size:
        progress(done, size)


def to_csv(table: Table, progress: Progress | None = None) -> bytes:
    # UTF-8 with a BOM: Excel then opens Vietnamese text correctly.
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.columns)
    for index, row in enumerate(table.rows, start=1):
        writer.writerow(["" if v is None else v for v in row])
        if index % 1000 == 0:
            _report(progress, index, table.size)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(table: Table, progress: Progress | None = None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=table.name[:31])
    header = []
    for name in table.columns:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    for index, row in enumerate(table.rows, start=1):
        sheet.append(row)
        if index % 1000 == 0:
            _report(progress, index, table.size)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def render(table: Table, fmt: str, progress: Progress | None = None) -> bytes:
    if fmt == "csv":
        return to_csv(table, progress)
    if fmt == "xlsx":
        return to_xlsx(table, progress)
    raise ValueError(fmt)
