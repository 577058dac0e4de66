"""Reads of the oversight pages. Statistics come from the roll-up tables (never from
scanning reports); "overdue now" and the overdue board read the reports' deadline indexes
live, because they are about this moment."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connections
from django.db.models import Case, Count, F, Max, Min, Q, QuerySet, Sum, When
from django.db.models.functions import TruncWeek
from django.utils.translation import gettext as _

from ihanoi.accounts.models import STAFF_ROLES, Role, User
from ihanoi.agencies.models import Agency, Membership
from ihanoi.feedback.models import Category, Report, ReportEvent, Status
from ihanoi.feedback.models import EventKind as E
from ihanoi.lib.worktime import CITY_TZ
from ihanoi.places.models import AdministrativeUnit
from ihanoi.workcalendar.selectors import city_calendar

from .metrics import COUNTER_FIELDS, HIST_FIELDS, Counts, Rate
from .models import (
    AgencyDay,
    AgencyMonth,
    CellDay,
    DailyStat,
    Fact,
    FactKind,
    RatingOutcome,
    ResidentFirstReport,
    RollupState,
    WardPopulation,
)
from .periods import Period, bucket_start, local_midnight

# --- Who sees what ---------------------------------------------------------------------------

OVERSIGHT_ROLES = frozenset({Role.OVERSIGHT, Role.HUB_OPERATOR, Role.AGENCY_LEAD})


@dataclass(frozen=True)
class Scope:
    """The agencies a person may see statistics of; ``None``: the whole city."""

    agency_ids: frozenset[int] | None

    @property
    def is_city(self) -> bool:
        return self.agency_ids is None

    def allows(self, agency_id: int | None) -> bool:
        return self.agency_ids is None or agency_id in self.agency_ids


CITY = Scope(None)


def oversight_scope(user: User) -> Scope | None:
    """Oversight and the hub see the city; an agency lead the agencies they lead; anyone
    else nothing (None)."""
    if not user.is_authenticated or not user.is_active:
        return None
    if user.role in (Role.OVERSIGHT, Role.HUB_OPERATOR):
        return CITY
    if user.role == Role.AGENCY_LEAD:
        led = frozenset(
            Membership.objects.filter(
                user=user, role=Membership.Role.LEAD, agency__is_active=True
            ).values_list("agency_id", flat=True)
        )
        return Scope(led) if led else None
    return None


# --- Filters ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    period: Period
    category_id: int | None = None
    ward_id: int | None = None
    severity: str = ""
    # One agency; ``unassigned``: the rows of no agency (the hub's queue).
    agency_id: int | None = None
    unassigned: bool = False

    @property
    def has_dimensions(self) -> bool:
        return bool(self.category_id or self.ward_id or self.severity)


def _restrict(qs: QuerySet[Any], filters: Filters, scope: Scope, *, agency: str = "agency_id"):
    if scope.agency_ids is not None:
        qs = qs.filter(**{f"{agency}__in": scope.agency_ids})
    if filters.agency_id is not None:
        qs = qs.filter(**{agency: filters.agency_id})
    elif filters.unassigned:
        qs = qs.filter(**{f"{agency}__isnull": True})
    return qs


def _dimensions(qs: QuerySet[Any], filters: Filters) -> QuerySet[Any]:
    if filters.category_id:
        qs = qs.filter(category_id=filters.category_id)
    if filters.ward_id:
        qs = qs.filter(ward_id=filters.ward_id)
    if filters.severity:
        qs = qs.filter(severity=filters.severity)
    return qs


def _rollup_rows(filters: Filters, scope: Scope, *, fine: bool = False) -> QuerySet[Any]:
    """The roll-up rows of each day of the period: per agency-day when no dimension is
    filtered, per agency-category-ward-severity-day otherwise."""
    period = filters.period
    if fine or filters.has_dimensions:
        qs: QuerySet[Any] = _dimensions(
            DailyStat.objects.filter(day__gte=period.first, day__lte=period.last), filters
        )
    else:
        qs = AgencyDay.objects.filter(day__gte=period.first, day__lte=period.last)
    return _restrict(qs, filters, scope)


def _whole_months(period: Period) -> tuple[list[dt.date], list[tuple[dt.date, dt.date]]]:
    """The calendar months wholly inside the period, and the day ranges left around them."""
    months: list[dt.date] = []
    month = period.first.replace(day=1)
    if month < period.first:
        month = (month + dt.timedelta(days=32)).replace(day=1)
    while True:
        following = (month + dt.timedelta(days=32)).replace(day=1)
        if following - dt.timedelta(days=1) > period.last:
            break
        months.append(month)
        month = following
    if not months:
        return [], [(period.first, period.last)]
    ranges = []
    if period.first < months[0]:
        ranges.append((period.first, months[0] - dt.timedelta(days=1)))
    after = (months[-1] + dt.timedelta(days=32)).replace(day=1)
    if after <= period.last:
        ranges.append((after, period.last))
    return months, ranges


def _agency_parts(filters: Filters, scope: Scope) -> list[QuerySet[Any]]:
    """Querysets whose rows together cover the period once: whole months from the monthly
    roll-up and the other days from the daily one (detailed rows when filtered)."""
    if filters.has_dimensions:
        return [_rollup_rows(filters, scope)]
    months, ranges = _whole_months(filters.period)
    parts: list[QuerySet[Any]] = []
    if months:
        parts.append(_restrict(AgencyMonth.objects.filter(month__in=months), filters, scope))
    for first, last in ranges:
        parts.append(
            _restrict(AgencyDay.objects.filter(day__gte=first, day__lte=last), filters, scope)
        )
    return parts


_SUMS = {name: Sum(name) for name in COUNTER_FIELDS}


def _with_histograms(qs: QuerySet[Any], group: str, result: dict[Any, Counts]) -> None:
    """Merge the duration histograms of the rows into ``result`` per ``group``."""
    qs = qs.filter(Q(accepted__gt=0) | Q(resolved__gt=0)).values(group, *HIST_FIELDS)
    # The queryset's own alias: on a replica when the page reads from one.
    if connections[qs.db].vendor == "postgresql":
        _histograms_in_database(qs, result)
        return
    for row in qs.values_list(group, *HIST_FIELDS).iterator(chunk_size=2000):
        _counts_of(result, row[0]).add_row(dict(zip(HIST_FIELDS, row[1:], strict=True)))


def _counts_of(result: dict[Any, Counts], key: Any) -> Counts:
    counts = result.get(key)
    if counts is None:
        counts = result[key] = Counts()
    return counts


def _histograms_in_database(qs: QuerySet[Any], result: dict[Any, Counts]) -> None:
    """PostgreSQL adds the buckets itself (jsonb_each_text): a month of a busy city is
    hundreds of thousands of bucket entries, which Python would add one by one."""
    inner, params = qs.query.sql_with_params()
    names = ", ".join(f"h{i}" for i in range(len(HIST_FIELDS)))
    # Only our own column aliases are formatted in; the parameters stay parameters.
    parts = [
        f"SELECT t.g, {i}, b.key::int, SUM(b.value::bigint) "  # noqa: S608
        f"FROM t, jsonb_each_text(t.h{i}) AS b GROUP BY t.g, b.key"
        for i in range(len(HIST_FIELDS))
    ]
    sql = f"WITH t(g, {names}) AS ({inner}) " + " UNION ALL ".join(parts)
    with connections[qs.db].cursor() as cursor:
        cursor.execute(sql, params)
        for group, index, bucket, count in cursor.fetchall():
            hist = _counts_of(result, group).hists[HIST_FIELDS[index]]
            hist[bucket] = hist.get(bucket, 0) + int(count)


def agency_stats(
    filters: Filters, scope: Scope, *, durations: bool = True
) -> dict[int | None, Counts]:
    """Counters (and, unless ``durations`` is False, histograms) per agency (None: no
    agency) for the period."""
    result: dict[int | None, Counts] = {}
    for qs in _agency_parts(filters, scope):
        for row in qs.values("agency_id").annotate(**_SUMS).order_by():
            _counts_of(result, row["agency_id"]).add_row(row)
        if durations:
            _with_histograms(qs, "agency_id", result)
    return result


def total(stats: dict[Any, Counts]) -> Counts:
    counts = Counts()
    for value in stats.values():
        counts.add(value)
    return counts


def dimension_stats(filters: Filters, scope: Scope, dimension: str) -> dict[Any, Counts]:
    """Counters (no durations) per category, ward or severity, summed in the database."""
    if dimension not in ("category_id", "ward_id", "severity"):
        raise ValueError(dimension)
    qs = _rollup_rows(filters, scope, fine=True)
    return {
        row[dimension]: Counts.from_row(row)
        for row in qs.values(dimension).annotate(**_SUMS).order_by()
    }


def trend(filters: Filters, scope: Scope) -> list[tuple[dt.date, Counts]]:
    """Counters per day, week or month of the period (``Period.trend_step``), every bucket
    present even when empty."""
    step = filters.period.trend_step()
    buckets: dict[dt.date, Counts] = {}
    day = filters.period.first
    while day <= filters.period.last:
        buckets.setdefault(bucket_start(day, step), Counts())
        day += dt.timedelta(days=1)
    qs = _rollup_rows(filters, scope)
    for row in qs.values("day").annotate(**_SUMS).order_by():
        buckets[bucket_start(row["day"], step)].add_row(row)
    return sorted(buckets.items())


def rollup_state() -> RollupState | None:
    return RollupState.objects.filter(pk=1).first()


# --- Agencies table --------------------------------------------------------------------------


@dataclass(frozen=True)
class Overdue:
    count: int
    oldest_due: dt.datetime | None
    # How late the oldest item is, in working time.
    max_late: dt.timedelta | None


@dataclass
class AgencyRow:
    agency: Agency | None
    counts: Counts
    overdue: Overdue | None = None

    @property
    def code(self) -> str:
        return self.agency.code if self.agency else "none"


def agencies_by_id(ids: Any) -> dict[int, Agency]:
    return {a.pk: a for a in Agency.objects.filter(pk__in=[i for i in ids if i is not None])}


def agency_table(filters: Filters, scope: Scope, *, now: dt.datetime) -> list[AgencyRow]:
    stats = agency_stats(filters, scope)
    overdue = overdue_by_agency(filters, scope, now=now)
    agencies = agencies_by_id({*stats, *overdue})
    rows = [
        AgencyRow(agencies.get(agency_id) if agency_id else None, counts, overdue.get(agency_id))
        for agency_id, counts in stats.items()
    ]
    rows += [
        AgencyRow(agencies.get(agency_id) if agency_id else None, Counts(), value)
        for agency_id, value in overdue.items()
        if agency_id not in stats
    ]
    rows.sort(key=lambda r: (r.agency is None, r.agency.kind if r.agency else "", str(r.agency)))
    return rows


# --- Overdue now -----------------------------------------------------------------------------


def overdue_reports(filters: Filters, scope: Scope, *, now: dt.datetime) -> QuerySet[Report]:
    """Open reports whose running deadline has passed (``Report.is_overdue``), oldest
    deadline first, which is also most late first. Category, ward and severity are the
    report's current ones."""
    running = Q(status=Status.ASSIGNED, accept_due_at__lt=now) | Q(
        status=Status.IN_PROGRESS, resolve_due_at__lt=now
    )
    reports = _dimensions(Report.objects.filter(running), filters)
    reports = _restrict(reports, filters, scope)
    return reports.annotate(
        due=Case(When(status=Status.ASSIGNED, then=F("accept_due_at")), default=F("resolve_due_at"))
    ).order_by("due", "pk")


def late_by(due: dt.datetime | None, now: dt.datetime) -> dt.timedelta | None:
    if due is None:
        return None
    return max(dt.timedelta(0), city_calendar().working_time_between(due, now))


def overdue_by_agency(filters: Filters, scope: Scope, *, now: dt.datetime) -> dict[Any, Overdue]:
    rows = (
        overdue_reports(filters, scope, now=now)
        .order_by()
        .values("agency_id")
        .annotate(n=Count("id"), oldest=Min("due"))
    )
    return {
        row["agency_id"]: Overdue(row["n"], row["oldest"], late_by(row["oldest"], now))
        for row in rows
    }


def escalations(report_ids: list[int]) -> dict[int, list[ReportEvent]]:
    history: dict[int, list[ReportEvent]] = defaultdict(list)
    for event in ReportEvent.objects.filter(
        report_id__in=report_ids, kind=E.ESCALATED
    ).select_related("agency"):
        history[event.report_id].append(event)
    return history


# --- Named units -----------------------------------------------------------------------------


@dataclass
class NamedUnit:
    agency: Agency
    accept_late: int
    resolve_late: int
    overdue_now: int
    max_late: dt.timedelta | None

    @property
    def total(self) -> int:
        return self.accept_late + self.resolve_late + self.overdue_now


def named_units(filters: Filters, scope: Scope, *, now: dt.datetime) -> list[NamedUnit]:
    """Agencies that missed a deadline in the period (decided late), or that hold overdue
    items now when the period reaches today."""
    stats = agency_stats(filters, scope, durations=False)
    overdue: dict[Any, Overdue] = {}
    if filters.period.end > now:
        overdue = overdue_by_agency(filters, scope, now=now)
    agencies = agencies_by_id({*stats, *overdue})
    units = []
    for agency_id, agency in agencies.items():
        counts = stats.get(agency_id, Counts())
        late = overdue.get(agency_id)
        unit = NamedUnit(
            agency,
            counts.accept_late,
            counts.resolve_late,
            late.count if late else 0,
            late.max_late if late else None,
        )
        if unit.total:
            units.append(unit)
    units.sort(key=lambda u: (-u.total, -(u.max_late or dt.timedelta(0)), u.agency.name))
    return units


# --- Rankings --------------------------------------------------------------------------------

RANKING_METRICS = ("resolve_on_time", "accept_on_time", "satisfaction")
DEFAULT_MIN_SAMPLE = {"day": 5, "week": 10, "month": 20, "custom": 20}


def rate_of(counts: Counts, metric: str) -> Rate:
    if metric == "accept_on_time":
        return counts.accept_on_time_rate
    if metric == "resolve_on_time":
        return counts.resolve_on_time_rate
    if metric == "satisfaction":
        return counts.satisfaction
    raise ValueError(metric)


@dataclass
class RankRow:
    agency: Agency
    counts: Counts
    rate: Rate
    rank: int | None = None
    tied: bool = False
    # The 95% intervals of this agency and the one ranked just above overlap: the order
    # between them may be chance.
    overlaps_above: bool = False


@dataclass
class Ranking:
    metric: str
    min_sample: int
    ranked: list[RankRow] = field(default_factory=list)
    too_few: list[RankRow] = field(default_factory=list)


def _rank_key(row: RankRow) -> int:
    # Lower bounds equal to 0.1 percentage point are a tie.
    return round(row.rate.low * 1000)


def ranking(filters: Filters, scope: Scope, *, metric: str, min_sample: int) -> Ranking:
    """Agencies ranked by the lower bound of the Wilson 95% interval of ``metric``: a rate
    on few items has a wide interval and a low bound, so it cannot top the table by luck.
    Computed over the whole city; a scope only hides the other agencies' rows."""
    stats = agency_stats(
        Filters(filters.period, filters.category_id, filters.ward_id, filters.severity),
        CITY,
        durations=False,
    )
    agencies = agencies_by_id(stats)
    result = Ranking(metric, min_sample)
    for agency_id, counts in stats.items():
        agency = agencies.get(agency_id) if agency_id else None
        if agency is None or agency.kind == Agency.Kind.HUB:
            continue
        row = RankRow(agency, counts, rate_of(counts, metric))
        if row.rate.den == 0:
            continue
        (result.ranked if row.rate.den >= min_sample else result.too_few).append(row)
    result.ranked.sort(
        key=lambda r: (-_rank_key(r), -(r.rate.value or 0), -r.rate.den, r.agency.name)
    )
    previous: RankRow | None = None
    for position, row in enumerate(result.ranked, start=1):
        if previous is not None and _rank_key(previous) == _rank_key(row):
            row.rank, row.tied, previous.tied = previous.rank, True, True
        else:
            row.rank = position
        if previous is not None:
            row.overlaps_above = row.rate.high >= previous.rate.low
        previous = row
    result.too_few.sort(key=lambda r: r.agency.name)
    if scope.agency_ids is not None:
        result.ranked = [r for r in result.ranked if r.agency.pk in scope.agency_ids]
        result.too_few = [r for r in result.too_few if r.agency.pk in scope.agency_ids]
    return result


# --- Drill-down ------------------------------------------------------------------------------

# metric → the facts it counts (each counter is a count of these facts).
DRILL_METRICS: dict[str, tuple[str, dict[str, Any]]] = {
    "submitted": (FactKind.SUBMIT, {}),
    "received": (FactKind.RECEIVE, {}),
    "received_by_transfer": (FactKind.RECEIVE, {"via_transfer": True}),
    "accept_decided": (FactKind.ACCEPT, {}),
    "accepted": (FactKind.ACCEPT, {"done": True}),
    "accept_on_time": (FactKind.ACCEPT, {"on_time": True}),
    "accept_late": (FactKind.ACCEPT, {"on_time": False}),
    "resolve_decided": (FactKind.RESOLVE, {}),
    "resolved": (FactKind.RESOLVE, {"done": True}),
    "resolve_on_time": (FactKind.RESOLVE, {"on_time": True}),
    "resolve_late": (FactKind.RESOLVE, {"on_time": False}),
    "transferred_out": (FactKind.TRANSFER_OUT, {}),
    "returned": (FactKind.RETURN, {}),
    "rejected": (FactKind.REJECT, {}),
    "merged": (FactKind.MERGE, {}),
    "extensions": (FactKind.EXTENSION, {}),
    "reopened": (FactKind.REOPEN, {}),
    "rated": (
        FactKind.RATING,
        {
            "rating__in": [
                RatingOutcome.SATISFIED,
                RatingOutcome.ACCEPTABLE,
                RatingOutcome.NOT_SATISFIED,
            ]
        },
    ),
    "satisfied": (FactKind.RATING, {"rating": RatingOutcome.SATISFIED}),
    "acceptable": (FactKind.RATING, {"rating": RatingOutcome.ACCEPTABLE}),
    "not_satisfied": (FactKind.RATING, {"rating": RatingOutcome.NOT_SATISFIED}),
    "closed_unrated": (FactKind.RATING, {"rating": RatingOutcome.UNRATED}),
}


def facts(filters: Filters, scope: Scope, metric: str) -> QuerySet[Fact]:
    """The items behind a number: the facts that its counter counts."""
    kind, extra = DRILL_METRICS[metric]
    period = filters.period
    qs = Fact.objects.filter(kind=kind, day__gte=period.first, day__lte=period.last, **extra)
    qs = _restrict(_dimensions(qs, filters), filters, scope)
    return (
        qs.select_related("report", "agency", "category", "ward")
        .defer("ward__boundary")  # tens of kB of GeoJSON a ward; the list shows names
        .order_by("at", "id")
    )


# --- Map -------------------------------------------------------------------------------------


def cell_counts(filters: Filters) -> dict[str, int]:
    """Reports submitted per H3 cell in the period (the category filter applies)."""
    period = filters.period
    qs = CellDay.objects.filter(day__gte=period.first, day__lte=period.last)
    if filters.category_id:
        qs = qs.filter(category_id=filters.category_id)
    return {
        row["cell"]: row["n"] for row in qs.values("cell").annotate(n=Sum("submitted")).order_by()
    }


def wards_by_id(ids: Any) -> dict[int, AdministrativeUnit]:
    return {w.pk: w for w in AdministrativeUnit.objects.filter(pk__in=[i for i in ids if i])}


def categories_by_id(ids: Any) -> dict[int, Category]:
    return {c.pk: c for c in Category.objects.filter(pk__in=[i for i in ids if i])}


# --- Adoption --------------------------------------------------------------------------------


@dataclass
class WardAdoption:
    ward: AdministrativeUnit | None  # None: residents who have not reported yet
    residents: int
    population: int | None

    @property
    def share(self) -> float | None:
        if not self.population or self.ward is None:
            return None
        return 100 * self.residents / self.population


@dataclass
class Adoption:
    residents: int
    staff: int
    wards: list[WardAdoption]
    staff_by_agency: list[tuple[Agency, int, int]]  # agency, members, leads
    weeks: list[tuple[dt.date, int, int, int, int]]  # week, new residents, total, new staff, total


def _active(users: QuerySet[User]) -> QuerySet[User]:
    return users.filter(is_active=True, anonymised_at__isnull=True)


def adoption(*, now: dt.datetime, weeks: int = 12) -> Adoption:
    residents = _active(User.objects.filter(role=Role.RESIDENT))
    staff = _active(User.objects.filter(role__in=STAFF_ROLES))
    resident_count = residents.count()
    by_ward = dict(
        ResidentFirstReport.objects.filter(
            user__role=Role.RESIDENT, user__is_active=True, user__anonymised_at__isnull=True
        )
        .values("ward_id")
        .annotate(n=Count("user_id"))
        .values_list("ward_id", "n")
    )
    populations = dict(WardPopulation.objects.values_list("ward_id", "population"))
    wards = wards_by_id({*by_ward, *populations})
    rows = [
        WardAdoption(ward, by_ward.get(ward_id, 0), populations.get(ward_id))
        for ward_id, ward in wards.items()
    ]
    rows.sort(key=lambda r: (-r.residents, r.ward.name if r.ward else ""))
    known = sum(by_ward.values())
    rows.append(WardAdoption(None, max(0, resident_count - known), None))

    members = (
        Membership.objects.filter(user__is_active=True, agency__is_active=True)
        .values("agency_id")
        .annotate(n=Count("user_id", distinct=True), leads=Count("id", filter=Q(role="lead")))
    )
    agencies = agencies_by_id([m["agency_id"] for m in members])
    staff_rows = sorted(
        ((agencies[m["agency_id"]], m["n"], m["leads"]) for m in members),
        key=lambda r: (-r[1], r[0].name),
    )

    this_week = local_midnight(now.astimezone(CITY_TZ).date())
    this_week -= dt.timedelta(days=this_week.weekday())
    start = this_week - dt.timedelta(weeks=weeks - 1)

    def per_week(users: QuerySet[User]) -> tuple[int, dict[dt.date, int]]:
        before = users.filter(date_joined__lt=start).count()
        counts = (
            users.filter(date_joined__gte=start)
            .annotate(week=TruncWeek("date_joined", tzinfo=CITY_TZ))
            .values("week")
            .annotate(n=Count("id"))
            .order_by()
        )
        found: dict[dt.date, int] = {}
        for row in counts:
            week = row["week"]
            day = week.astimezone(CITY_TZ).date() if isinstance(week, dt.datetime) else week
            found[day] = found.get(day, 0) + row["n"]
        return before, found

    resident_before, resident_weeks = per_week(residents)
    staff_before, staff_weeks = per_week(staff)
    series = []
    resident_total, staff_total = resident_before, staff_before
    for index in range(weeks):
        week = (start + dt.timedelta(weeks=index)).date()
        new_residents = resident_weeks.get(week, 0)
        new_staff = staff_weeks.get(week, 0)
        resident_total += new_residents
        staff_total += new_staff
        series.append((week, new_residents, resident_total, new_staff, staff_total))
    return Adoption(resident_count, staff.count(), rows, staff_rows, series)


# --- Public page -----------------------------------------------------------------------------


def public_summary(period: Period) -> dict[str, Any]:
    """What the public page shows: counts and rates by agency and by category. Private
    categories are counted in an "other" row, never named."""
    filters = Filters(period)
    stats = agency_stats(filters, CITY, durations=False)
    agencies = agencies_by_id(stats)
    agency_rows = sorted(
        (
            (agencies[k], v)
            for k, v in stats.items()
            if k in agencies and (v.received or v.resolved)
        ),
        key=lambda kv: (-kv[1].received, kv[0].name),
    )
    by_category = dimension_stats(filters, CITY, "category_id")
    categories = categories_by_id(by_category)
    category_rows: list[tuple[str, Counts]] = []
    private = Counts()
    for key, counts in by_category.items():
        category = categories.get(key)
        if category is None or not category.is_public:
            private.add(counts)
        else:
            category_rows.append((category.name, counts))
    category_rows.sort(key=lambda kv: -kv[1].received)
    if any(private.values):
        category_rows.append((str(_("Other (not published)")), private))
    return {
        "period": period,
        "totals": total(stats),
        "agency_rows": agency_rows,
        "category_rows": category_rows,
    }


def latest_event_at() -> dt.datetime | None:
    return ReportEvent.objects.aggregate(m=Max("created_at"))["m"]
