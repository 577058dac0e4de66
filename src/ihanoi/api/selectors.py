"""Reads for the mobile app's API: devices, and which reports a caller may see."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from ihanoi.accounts.models import User
from ihanoi.feedback.models import Report, ReportPhoto, Status

from .models import DeviceToken


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


def report_by_client_key(user: User, client_key: str) -> Report | None:
    """The report a retried submission already made (same reporter, same key)."""
    if not client_key:
        return None
    return Report.objects.filter(reporter=user, client_key=client_key).first()


def visible_photos(report: Report) -> QuerySet[ReportPhoto]:
    """Photos anyone who may see the report may see: hidden ones never leave the hub."""
    return report.photos.filter(is_hidden=False).order_by("created_at", "pk")


def is_following(report: Report, user: User | None) -> bool:
    return user is not None and report.follows.filter(user=user).exists()
