"""Reads for the Open311 server: keys, services, the requests a caller may see, updates.

What an Open311 caller may see is what the public site shows (``public_reports``: published,
of a public category, not rejected), plus the requests its own key created: a client that
sent a report of a private category can still follow it. Nothing about the reporter is
ever read here.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import OuterRef, QuerySet, Subquery

from ihanoi.feedback.catalogue import active_categories
from ihanoi.feedback.models import (
    OPEN_STATUSES,
    Category,
    EventKind,
    Report,
    ReportEvent,
    ReportPhoto,
)
from ihanoi.feedback.selectors import public_reports

from .models import ApiKey, ExternalMedia, Open311Request
from .params import Page, Window

KEY_SEPARATOR = "_"


def key_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_find(raw: str) -> ApiKey | None:
    """The key a caller presented (revoked ones too: the caller is told it was revoked),
    or None when no key matches."""
    prefix, separator, secret = raw.strip().partition(KEY_SEPARATOR)
    if not separator or not prefix or not secret or len(prefix) > 16:
        return None
    api_key = ApiKey.objects.filter(prefix=prefix).first()
    if api_key is None or not hmac.compare_digest(api_key.key_hash, key_digest(secret)):
        return None
    return api_key


def api_keys() -> QuerySet[ApiKey]:
    return ApiKey.objects.order_by("-created_at", "-id")


def services() -> QuerySet[Category]:
    """The service list: every active category (a category that needs a photo takes its
    address in media_url)."""
    return active_categories()


def service(code: str) -> Category | None:
    """Any active category by code: a client that knows a photo-only code gets its
    definition, and a clear 400 when it posts to it."""
    return active_categories().filter(code=code).first()


def visible_reports(api_key: ApiKey | None) -> QuerySet[Report]:
    reports = public_reports()
    if api_key is not None:
        reports = reports | Report.objects.filter(open311__api_key=api_key)
    return reports


def _with_request_facts(reports: QuerySet[Report]) -> QuerySet[Report]:
    public_events = ReportEvent.objects.filter(report=OuterRef("pk"), is_public=True).order_by(
        "-created_at", "-id"
    )
    return reports.select_related("category", "agency", "ward").annotate(
        last_public_event_at=Subquery(public_events.values("created_at")[:1]),
        rejection_note=Subquery(
            public_events.filter(kind__in=[EventKind.REJECTED, EventKind.MERGED]).values("note")[:1]
        ),
    )


def parse_request_ids(raw_ids: Iterable[str]) -> list[uuid.UUID]:
    """The ids that can be ours (UUIDs); others can match nothing and are dropped."""
    ids = []
    for raw in raw_ids:
        try:
            ids.append(uuid.UUID(raw))
        except ValueError:
            continue
    return ids


@dataclass(frozen=True)
class RequestFilters:
    ids: Sequence[str] = ()
    service_codes: Sequence[str] = ()
    statuses: Sequence[str] = ()  # "open", "closed"
    window: Window | None = None


def requests_find(*, api_key: ApiKey | None, filters: RequestFilters, page: Page) -> list[Report]:
    """GET requests: ``service_request_id`` overrides every other filter (the spec)."""
    reports = visible_reports(api_key)
    if filters.ids:
        reports = reports.filter(public_id__in=parse_request_ids(filters.ids))
    else:
        if filters.service_codes:
            reports = reports.filter(category__code__in=list(filters.service_codes))
        if set(filters.statuses) == {"open"}:
            reports = reports.filter(status__in=OPEN_STATUSES)
        elif set(filters.statuses) == {"closed"}:
            reports = reports.exclude(status__in=OPEN_STATUSES)
        if filters.window is not None:
            reports = reports.filter(
                submitted_at__gte=filters.window.start, submitted_at__lte=filters.window.end
            )
    reports = _with_request_facts(reports).order_by("-submitted_at", "-pk")
    return list(reports[page.offset : page.offset + page.size])


def request_get(*, api_key: ApiKey | None, request_id: str) -> Report | None:
    ids = parse_request_ids([request_id])
    if not ids:
        return None
    return _with_request_facts(visible_reports(api_key).filter(public_id=ids[0])).first()


def request_by_token(token: str) -> Open311Request | None:
    return Open311Request.objects.select_related("report").filter(token=token).first()


def updates_find(*, api_key: ApiKey | None, window: Window, page: Page) -> list[ReportEvent]:
    """The public timeline events of the visible requests in the window, oldest first (the
    order a client replays them in). The submission itself is not an update."""
    events = (
        ReportEvent.objects.filter(
            is_public=True,
            created_at__gte=window.start,
            created_at__lte=window.end,
            report__in=visible_reports(api_key).values("pk"),
        )
        .exclude(kind=EventKind.SUBMITTED)
        .select_related("report", "agency")
        .order_by("created_at", "id")
    )
    return list(events[page.offset : page.offset + page.size])


@dataclass
class Media:
    """Media URLs per report (the request's own) and per event (sent with an update or
    the agency's evidence of the result)."""

    by_report: dict[int, list[str]] = field(default_factory=dict)
    by_event: dict[int, list[str]] = field(default_factory=dict)


def media_for(
    reports: Sequence[Report], events: Sequence[ReportEvent] = (), *, absolute: UrlBuilder
) -> Media:
    """External URLs first, then our own public photos, as absolute URLs."""
    media = Media(
        by_report=defaultdict(list),
        by_event=defaultdict(list),
    )
    report_ids = [r.pk for r in reports]
    event_ids = [e.pk for e in events]
    for item in ExternalMedia.objects.filter(report_id__in=report_ids, event__isnull=True):
        media.by_report[item.report_id].append(item.url)
    for item in ExternalMedia.objects.filter(event_id__in=event_ids):
        assert item.event_id is not None
        media.by_event[item.event_id].append(item.url)
    for photo in ReportPhoto.objects.filter(
        report_id__in=report_ids, role=ReportPhoto.Role.REPORT, is_hidden=False
    ):
        media.by_report[photo.report_id].append(absolute(photo.image.url))
    resolved = {e.report_id: e.pk for e in events if e.kind == EventKind.RESOLVED}
    for photo in ReportPhoto.objects.filter(
        report_id__in=list(resolved), role=ReportPhoto.Role.EVIDENCE, is_hidden=False
    ):
        media.by_event[resolved[photo.report_id]].append(absolute(photo.image.url))
    return media


class UrlBuilder:
    """Makes a site path absolute for the caller (the request's scheme and host)."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def __call__(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return self.base + "/" + path.lstrip("/")


def last_event_time(report: Report) -> datetime.datetime:
    moment = getattr(report, "last_public_event_at", None)
    return moment or report.submitted_at
