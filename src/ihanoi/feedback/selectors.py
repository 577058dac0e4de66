"""Reads on reports: inboxes, the resident's list, public lists, nearby, timelines."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import h3
from django.db.models import Q, QuerySet
from django.utils import timezone

from ihanoi.accounts.models import User

from . import deadlines
from .models import (
    H3_RESOLUTION,
    OPEN_STATUSES,
    Category,
    Report,
    ReportEvent,
    ResponseTemplate,
    Status,
    running_deadline_before,
)
from .permissions import StaffScope

NEARBY_DAYS = 30
NEARBY_RING = 1  # the cell and its neighbours: ~300 m around the point at resolution 9


@dataclass(frozen=True)
class InboxFilters:
    status: str = ""
    category: str = ""
    ward: str = ""
    severity: str = ""
    due: str = ""  # "", "overdue", "soon"
    queue: str = ""  # hub: "triage" (waiting for the hub), "review" (not satisfied)


def staff_reports(scope: StaffScope) -> QuerySet[Report]:
    """Every report this staff member may see."""
    reports = Report.objects.all()
    if not (scope.is_hub or scope.is_oversight):
        reports = reports.filter(agency_id__in=scope.agency_ids)
    return reports


def staff_inbox(
    scope: StaffScope, filters: InboxFilters, *, now: datetime.datetime | None = None
) -> QuerySet[Report]:
    now = now or timezone.now()
    reports = staff_reports(scope).select_related("category", "ward", "agency", "assignee")
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
    if filters.due == "overdue":
        reports = reports.filter(running_deadline_before(now))
    elif filters.due == "soon":
        reports = reports.filter(
            running_deadline_before(deadlines.due_soon_threshold(now))
        ).exclude(running_deadline_before(now))
    # Most urgent first: the running deadline, then the oldest.
    return reports.order_by("accept_due_at", "resolve_due_at", "submitted_at", "pk")


def reports_of(user: User) -> QuerySet[Report]:
    return (
        Report.objects.filter(reporter=user)
        .select_related("category", "ward", "agency")
        .order_by("-submitted_at", "-pk")
    )


def public_reports() -> QuerySet[Report]:
    """Reports anyone may see: published, of a public category, not a merged duplicate."""
    return (
        Report.objects.filter(is_published=True, category__is_public=True)
        .exclude(status=Status.REJECTED)
        .select_related("category", "ward", "agency")
        .order_by("-submitted_at", "-pk")
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


def timeline(report: Report, *, public_only: bool) -> QuerySet[ReportEvent]:
    events = report.events.select_related("actor", "agency").order_by("created_at", "id")
    return events.filter(is_public=True) if public_only else events


def response_templates(report: Report) -> QuerySet[ResponseTemplate]:
    """Wording the agency handling ``report`` may reuse: its own and the city-wide ones."""
    return ResponseTemplate.objects.filter(
        Q(agency__isnull=True) | Q(agency_id=report.agency_id), is_active=True
    ).order_by("title")
