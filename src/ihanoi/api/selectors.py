"""Reads for the mobile app's API: devices, which reports a caller may see, and the pages
of its lists."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from ihanoi.accounts.models import User
from ihanoi.feedback.models import Report, ReportPhoto, Status
from ihanoi.feedback.selectors import ROW_FIELDS
from ihanoi.lib import keyset

from .models import DeviceToken

# What a report summary shows (presenters.report_summary_out), and nothing more.
SUMMARY_FIELDS = (*ROW_FIELDS, "category__code", "lat", "lon", "address")
# A person's notifications, newest first: the order of notifications.selectors.inbox.
NOTIFICATIONS = keyset.Ordering(
    "m", (keyset.Column("created_at", datetime.datetime), keyset.Column("id", int)), descending=True
)


@dataclass
class ListPage:
    items: list[Any]
    count: int | None
    page: int | None
    has_next: bool
    next: str | None


def list_page(
    rows: QuerySet[Any],
    ordering: keyset.Ordering,
    *,
    page_size: int,
    page: int | None = None,
    cursor: str | None = None,
) -> ListPage:
    """A page of one of the API's lists, by ``cursor`` (the ``next`` of the page before: a
    seek, whatever the depth; no count) or by ``page`` number (older apps: an offset, and
    the count they show). Either way the answer carries ``next``, so a client can switch."""
    if cursor is not None and page is not None:
        raise ValidationError(
            {
                "cursor": [
                    _("Send either %(one)s or %(other)s, not both.")
                    % {"one": "page", "other": "cursor"}
                ]
            }
        )
    if cursor is not None:
        try:
            position = keyset.decode(ordering, cursor)
        except keyset.InvalidCursor:
            raise ValidationError(
                {"cursor": [_("This cursor is not valid: start again from the first page.")]}
            ) from None
        found = keyset.paginate(rows, ordering, size=page_size, cursor=position)
        return ListPage(found.items, None, None, found.next is not None, found.next)
    number = page or 1
    found = keyset.offset_page(rows, ordering, offset=(number - 1) * page_size, size=page_size)
    return ListPage(found.items, rows.count(), number, found.next is not None, found.next)


def devices_of(user: User) -> QuerySet[DeviceToken]:
    """The devices signed in to ``user``'s account, the most recently used first."""
    return DeviceToken.objects.filter(user=user, revoked_at__isnull=True).order_by(
        "-last_used_at", "-created_at", "-pk"
    )


def is_publicly_visible(report: Report) -> bool:
    """The rule of ``feedback.selectors.public_reports`` for one row already loaded."""
    return report.is_published and report.category.is_public and report.status != Status.REJECTED


def visible_report(public_id: uuid.UUID, user: User | None) -> Report | None:
    """The report if ``user`` may see it: their own, or a public one. Another resident's
    private report is as missing as one that does not exist (no 403 that confirms it)."""
    report = (
        Report.objects.select_related("category", "category__group", "ward", "agency")
        .filter(public_id=public_id)
        .first()
    )
    if report is None:
        return None
    if user is not None and report.reporter_id == user.pk:
        return report
    return report if is_publicly_visible(report) else None


def visible_photos(report: Report) -> QuerySet[ReportPhoto]:
    """Photos anyone who may see the report may see: hidden ones never leave the hub."""
    return report.photos.filter(is_hidden=False).order_by("created_at", "pk")


def is_following(report: Report, user: User | None) -> bool:
    return user is not None and report.follows.filter(user=user).exists()
