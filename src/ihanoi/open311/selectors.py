"""Reads for the Open311 server: keys, services, the requests a caller may see, updates.

What an Open311 caller may see is what the public site shows (``public_reports``: published,
of a public category, not rejected), plus the requests its own key created: a client that
sent a report of a private category can still follow it. Nothing about the reporter is
ever read here.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, Max, OuterRef, Q, QuerySet, Subquery

from ihanoi.feedback.catalogue import active_categories
from ihanoi.feedback.models import (
    OPEN_STATUSES,
    Category,
    EventKind,
    Report,
    ReportEvent,
    ReportPhoto,
    Status,
)
from ihanoi.feedback.ordering import NEWEST
from ihanoi.feedback.selectors import public_reports, public_rule
from ihanoi.lib import keyset

from .models import ApiKey, ExternalMedia, Open311Request
from .params import Page, Window

KEY_SEPARATOR = "_"
# GET requests: newest first, paged by this key (``after``) or by number (``page``).
REQUEST_ORDER = NEWEST
# What a service request shows (payloads.request_row): the rest stays in the table.
REQUEST_FIELDS = (
    "id",
    "public_id",
    "title",
    "description",
    "status",
    "result_text",
    "address",
    "lat",
    "lon",
    "submitted_at",
    "resolve_due_at",
    "category__code",
    "category__name",
    "category__name_en",
    "agency__name",
    "agency__name_en",
    "ward__name",
)


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
    if api_key is None:
        return public_reports()
    # EXISTS, probed only for the rows that are not public (the OR tries the public rule
    # first): a join to every request of the key, or the set of them, would cost per call.
    own = Exists(Open311Request.objects.filter(report=OuterRef("pk"), api_key=api_key))
    return (
        Report.objects.filter(public_rule() | Q(own))
        .select_related("category", "ward", "agency")
        .order_by(*REQUEST_ORDER.order_by())
    )


def _with_request_facts(reports: QuerySet[Report]) -> QuerySet[Report]:
    """A report with its last public event and rejection note (one request's detail)."""
    public_events = ReportEvent.objects.filter(report=OuterRef("pk"), is_public=True).order_by(
        "-created_at", "-id"
    )
    reports = reports.select_related("category", "agency", "ward")
    return reports.annotate(
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


def requests_find(
    *,
    api_key: ApiKey | None,
    filters: RequestFilters,
    page: Page,
    after: keyset.Cursor | None = None,
) -> keyset.Page[dict[str, Any]]:
    """GET requests, newest first (``REQUEST_ORDER``): ``service_request_id`` overrides
    every other filter (the spec). The page after the ``after`` cursor, or page number
    ``page``; either way with the cursor of the page that follows (``next``).

    The rows are plain dicts of ``REQUEST_FIELDS`` (no model instances: a page is up to a
    thousand requests), with ``last_public_event_at`` and ``rejection_note`` added by one
    query for the page (``_add_request_facts``), not by a subquery per row: an offset page
    would evaluate it for every row it skips."""
    reports = visible_reports(api_key)
    if filters.ids:
        reports = reports.filter(public_id__in=parse_request_ids(filters.ids))
    else:
        if filters.service_codes:
            # By id: one category is then a seek in its own index (category, time).
            codes = list(filters.service_codes)
            category_ids = list(
                Category.objects.filter(code__in=codes).values_list("pk", flat=True)
            )
            reports = reports.filter(category_id__in=category_ids)
        if set(filters.statuses) == {"open"}:
            reports = reports.filter(status__in=OPEN_STATUSES)
        elif set(filters.statuses) == {"closed"}:
            reports = reports.exclude(status__in=OPEN_STATUSES)
        if filters.window is not None:
            reports = reports.filter(
                submitted_at__gte=filters.window.start, submitted_at__lte=filters.window.end
            )
    rows = reports.select_related(None).values(*REQUEST_FIELDS)
    if after is not None:
        found = keyset.paginate(rows, REQUEST_ORDER, size=page.size, cursor=after)
    else:
        found = keyset.offset_page(rows, REQUEST_ORDER, offset=page.offset, size=page.size)
    _add_request_facts(found.items)
    return found


def _add_request_facts(rows: Sequence[dict[str, Any]]) -> None:
    """Each row's last public event time, and for a rejected one the note of its rejection
    (or merge): ``_with_request_facts`` for a page of rows, in one or two queries."""
    ids = [row["id"] for row in rows]
    last = dict(
        ReportEvent.objects.filter(report_id__any_of=ids, is_public=True)
        .values("report_id")
        .annotate(last=Max("created_at"))
        .values_list("report_id", "last")
        .order_by()
    )
    rejected = [row["id"] for row in rows if row["status"] == Status.REJECTED]
    notes: dict[int, str] = {}
    for report_id, note in (
        ReportEvent.objects.filter(
            report_id__any_of=rejected,
            is_public=True,
            kind__in=[EventKind.REJECTED, EventKind.MERGED],
        )
        .order_by("report_id", "created_at", "id")
        .values_list("report_id", "note")
    ):
        notes[report_id] = note  # the latest wins
    for row in rows:
        row["last_public_event_at"] = last.get(row["id"])
        row["rejection_note"] = notes.get(row["id"])


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
    report_ids: Sequence[int], events: Sequence[ReportEvent] = (), *, absolute: UrlBuilder
) -> Media:
    """External URLs first, then our own public photos, as absolute URLs: a query per kind
    of media, whatever the number of reports, reading only the URLs and file names."""
    media = Media(
        by_report=defaultdict(list),
        by_event=defaultdict(list),
    )
    event_ids = [e.pk for e in events]
    storage = ReportPhoto._meta.get_field("image").storage
    external = ExternalMedia.objects.filter(report_id__any_of=report_ids, event__isnull=True)
    for report_id, url in external.values_list("report_id", "url"):
        media.by_report[report_id].append(url)
    for event_id, url in ExternalMedia.objects.filter(event_id__any_of=event_ids).values_list(
        "event_id", "url"
    ):
        media.by_event[event_id].append(url)
    photos = ReportPhoto.objects.filter(
        report_id__any_of=report_ids, role=ReportPhoto.Role.REPORT, is_hidden=False
    )
    for report_id, name in photos.values_list("report_id", "image"):
        media.by_report[report_id].append(absolute(storage.url(name)))
    resolved = {e.report_id: e.pk for e in events if e.kind == EventKind.RESOLVED}
    evidence = ReportPhoto.objects.filter(
        report_id__any_of=list(resolved), role=ReportPhoto.Role.EVIDENCE, is_hidden=False
    )
    for report_id, name in evidence.values_list("report_id", "image"):
        media.by_event[resolved[report_id]].append(absolute(storage.url(name)))
    return media


class UrlBuilder:
    """Makes a site path absolute for the caller (the request's scheme and host)."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def __call__(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return self.base + "/" + path.lstrip("/")
