"""Reads on reports: inboxes, the resident's list, public lists, nearby, timelines.

The long lists page by key (``ihanoi.lib.keyset``) in the orders of ``ordering.py``, whose
indexes make every page a seek; their rows load only the columns the pages show (a ward's
boundary, a GeoJSON polygon, never comes along with its name).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import h3
from django.db.models import Q, QuerySet
from django.utils import timezone

from ihanoi.accounts.models import User
from ihanoi.lib import keyset

from . import deadlines
from .models import (
    H3_RESOLUTION,
    OPEN_STATUSES,
    Category,
    Report,
    ReportEvent,
    ResponseTemplate,
    Status,
)
from .ordering import MOST_URGENT, NEWEST, OLDEST, WITH_DEADLINE, deadline_rank, running_due
from .permissions import StaffScope

NEARBY_DAYS = 30
NEARBY_RING = 1  # the cell and its neighbours: ~300 m around the point at resolution 9


# What a row of the lists shows (feedback/_report_row.html): the rest stays in the table.
ROW_FIELDS = (
    "public_id",
    "title",
    "status",
    "submitted_at",
    "category__name",
    "category__name_en",
    "ward__name",
)
INBOX_FIELDS = (
    "title",
    "status",
    "severity",
    "info_requested",
    "submitted_at",
    "accept_due_at",
    "resolve_due_at",
    "category__name",
    "category__name_en",
    "ward__name",
    "agency__name",
    "assignee__full_name",
    "assignee__email",
    "assignee__phone",
    "assignee__anonymised_at",
)

SORTS = ("urgent", "newest", "oldest")


@dataclass(frozen=True)
class InboxFilters:
    status: str = ""
    category: str = ""
    ward: str = ""
    severity: str = ""
    due: str = ""  # "", "overdue", "soon"
    queue: str = ""  # hub: "triage" (waiting for the hub), "review" (not satisfied)
    sort: str = "urgent"  # one of SORTS


def inbox_ordering(filters: InboxFilters) -> keyset.Ordering:
    """The order of an inbox. "Most urgent" is the running deadline's order where the
    filters let a deadline run; where none can (triage, review, a status without one) it is
    the oldest first, which is what it would be anyway and what a plain index serves."""
    if filters.sort == "newest":
        return NEWEST
    if filters.sort == "oldest":
        return OLDEST
    no_deadline = filters.queue in ("triage", "review") or (
        filters.status and filters.status not in WITH_DEADLINE
    )
    return OLDEST if no_deadline else MOST_URGENT


def staff_reports(scope: StaffScope) -> QuerySet[Report]:
    """Every report this staff member may see."""
    reports = Report.objects.all()
    if not (scope.is_hub or scope.is_oversight):
        reports = reports.filter(agency_id__in=scope.agency_ids)
    return reports


def staff_inbox(
    scope: StaffScope, filters: InboxFilters, *, now: datetime.datetime | None = None
) -> QuerySet[Report]:
    """The reports of an inbox, unordered: ``inbox_ordering`` pages them."""
    now = now or timezone.now()
    reports = (
        staff_reports(scope)
        .select_related("category", "ward", "agency", "assignee")
        .only(*INBOX_FIELDS)
    )
    if filters.queue == "triage":
        reports = reports.filter(status=Status.SUBMITTED)
    elif filters.queue == "review":
        reports = reports.filter(review_pending=True)
    elif filters.status:
        reports = reports.filter(status=filters.status)
    else:
        reports = reports.filter(status__in=OPEN_STATUSES)
    if filters.category:
        reports = reports.filter(category__code=filters.category)
    if filters.ward:
        reports = reports.filter(ward__code=filters.ward)
    if filters.severity:
        reports = reports.filter(severity=filters.severity)
    if filters.due in ("overdue", "soon"):
        # ``running_deadline_before`` as a range of the most-urgent key, which its index
        # reads directly (the "due soon" rows lie past every overdue one in that order).
        # The two agree because the services keep the running deadline set on every
        # assigned or in-progress report; test_list_pages checks them against each other.
        threshold = now if filters.due == "overdue" else deadlines.due_soon_threshold(now)
        reports = reports.alias(due_rank=deadline_rank(), due_key=running_due()).filter(
            due_rank=0, due_key__lt=threshold
        )
        if filters.due == "soon":
            reports = reports.filter(due_key__gte=now)
    return reports


def inbox_count(reports: QuerySet[Report], *, cap: int) -> int:
    """How many reports an inbox holds, counted up to ``cap`` + 1 at most: "more than
    ``cap``" is all a page needs to say, and a full count of a city's open reports is not."""
    return reports.order_by().values("pk")[: cap + 1].count()


def reports_of(user: User) -> QuerySet[Report]:
    """``user``'s reports, newest first (``NEWEST``), with what a list row shows."""
    return (
        Report.objects.filter(reporter=user)
        .select_related("category", "ward")
        .only(*ROW_FIELDS)
        .order_by(*NEWEST.order_by())
    )


def public_list(*, category_id: int | None = None) -> QuerySet[Report]:
    """The public list's rows (``public_reports``, one category or all), newest first; the
    category by id, so that the category's index can serve the order."""
    reports = public_reports().select_related(None).select_related("category", "ward")
    if category_id is not None:
        reports = reports.filter(category_id=category_id)
    return reports.only(*ROW_FIELDS).order_by(*NEWEST.order_by())


def public_rule() -> Q:
    """What anyone may see: published, of a public category, not rejected (a merged
    duplicate is rejected)."""
    return Q(is_published=True, category__is_public=True) & ~Q(status=Status.REJECTED)


def public_reports() -> QuerySet[Report]:
    """Reports anyone may see (``public_rule``), newest first."""
    return (
        Report.objects.filter(public_rule())
        .select_related("category", "ward", "agency")
        .order_by(*NEWEST.order_by())
    )


def nearby_open(
    *, category: Category, lat: float, lon: float, now: datetime.datetime | None = None
) -> QuerySet[Report]:
    """Open public reports of the same category around the point, from the last weeks:
    shown before submitting so that a resident can follow one instead."""
    now = now or timezone.now()
    cells = h3.grid_disk(h3.latlng_to_cell(lat, lon, H3_RESOLUTION), NEARBY_RING)
    return (
        public_reports()
        .filter(
            category=category,
            h3_cell__in=list(cells),
            status__in=OPEN_STATUSES,
            submitted_at__gte=now - datetime.timedelta(days=NEARBY_DAYS),
        )
        .order_by("-submitted_at")[:5]
    )


def report_by_client_key(reporter: User, client_key: str) -> Report | None:
    """The report a retried submission already made (same reporter, same key)."""
    if not client_key:
        return None
    return Report.objects.filter(reporter=reporter, client_key=client_key).first()


def timeline(report: Report, *, public_only: bool) -> QuerySet[ReportEvent]:
    events = report.events.select_related("actor", "agency").order_by("created_at", "id")
    return events.filter(is_public=True) if public_only else events


def response_templates(report: Report) -> QuerySet[ResponseTemplate]:
    """Wording the agency handling ``report`` may reuse: its own and the city-wide ones."""
    return ResponseTemplate.objects.filter(
        Q(agency__isnull=True) | Q(agency_id=report.agency_id), is_active=True
    ).order_by("title")
