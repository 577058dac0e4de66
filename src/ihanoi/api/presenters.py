"""Rows → the API's response shapes, in the caller's language (activated per request)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.translation import get_language

from ihanoi.accounts.models import User
from ihanoi.feedback.models import (
    Category,
    EventKind,
    Kind,
    RatingValue,
    Report,
    ReportEvent,
    ReportPhoto,
    Status,
)
from ihanoi.feedback.selectors import timeline
from ihanoi.lib.phone import format_vn_phone
from ihanoi.notifications.models import Notification

from . import selectors
from .models import DeviceToken


def localised(vietnamese: str, english: str) -> str:
    """The English variant when the caller reads English and one exists."""
    return english if english and get_language() == "en" else vietnamese


def local_time(moment: datetime.datetime | None) -> datetime.datetime | None:
    return timezone.localtime(moment) if moment is not None else None


def device_out(device: DeviceToken, *, current: DeviceToken | None) -> dict[str, Any]:
    return {
        "id": device.pk,
        "name": device.name,
        "prefix": device.prefix,
        "created_at": local_time(device.created_at),
        "last_used_at": local_time(device.last_used_at),
        "current": current is not None and device.pk == current.pk,
    }


def me_out(user: User, *, unread: int) -> dict[str, Any]:
    return {
        "id": user.pk,
        "phone": user.phone,
        "phone_display": format_vn_phone(user.phone) if user.phone else "",
        "full_name": user.full_name,
        "email": user.email,
        "role": user.role,
        "date_joined": local_time(user.date_joined),
        "unread_notifications": unread,
    }


def category_out(category: Category) -> dict[str, Any]:
    return {
        "code": category.code,
        "name": localised(category.name, category.name_en),
        "description": category.description,
        "group": {
            "code": category.group.code,
            "name": localised(category.group.name, category.group.name_en),
        },
        "is_public": category.is_public,
        "photo_required": category.photo_required,
        "questions": [
            {
                "code": question.code,
                "label": localised(question.label, question.label_en),
                "help_text": question.help_text,
                "datatype": question.datatype,
                "required": question.required,
                "choices": [
                    {
                        "key": str(choice.get("key", "")),
                        "name": localised(
                            str(choice.get("name", "")), str(choice.get("name_en", ""))
                        ),
                    }
                    for choice in question.choices or []
                    if isinstance(choice, dict)
                ],
            }
            # Prefetched in order by catalogue.active_categories().
            for question in category.questions.all()
        ],
    }


def _url(request: HttpRequest, file: Any) -> str:
    return request.build_absolute_uri(file.url)


def photo_out(request: HttpRequest, photo: ReportPhoto) -> dict[str, Any]:
    return {
        "id": photo.pk,
        "role": photo.role,
        "url": _url(request, photo.image),
        "thumbnail_url": _url(request, photo.thumbnail),
        "width": photo.width,
        "height": photo.height,
    }


def _thumbnail(request: HttpRequest, photos: list[ReportPhoto]) -> str | None:
    for photo in photos:
        if photo.role == ReportPhoto.Role.REPORT and not photo.is_hidden:
            return _url(request, photo.thumbnail)
    return None


def report_summary_out(
    request: HttpRequest, report: Report, photos: list[ReportPhoto] | None = None
) -> dict[str, Any]:
    """``photos``: the report's visible photos if already loaded (lists prefetch them)."""
    if photos is None:
        photos = list(selectors.visible_photos(report))
    return {
        "id": report.public_id,
        "number": report.pk,
        "title": report.title,
        "category": {
            "code": report.category.code,
            "name": localised(report.category.name, report.category.name_en),
        },
        "status": report.status,
        "status_label": str(Status(report.status).label),
        "lat": report.lat,
        "lon": report.lon,
        "address": report.address,
        "ward": report.ward.name,
        "submitted_at": local_time(report.submitted_at),
        "thumbnail_url": _thumbnail(request, photos),
    }


def event_out(event: ReportEvent) -> dict[str, Any]:
    changed = event.to_status and event.to_status != event.from_status
    return {
        "kind": event.kind,
        "label": str(EventKind(event.kind).label),
        "status": event.to_status if changed else None,
        "status_label": str(Status(event.to_status).label) if changed else None,
        "agency": localised(event.agency.name, event.agency.name_en) if event.agency else None,
        "note": event.note,
        "created_at": local_time(event.created_at),
    }


@dataclass(frozen=True)
class Fresh:
    """The photos and events of a report made in this request, as the service made them."""

    photos: list[ReportPhoto]
    events: list[ReportEvent]


def report_out(
    request: HttpRequest, report: Report, *, user: User | None, fresh: Fresh | None = None
) -> dict[str, Any]:
    """The detail of a report the caller may see (``selectors.visible_report``); ``fresh``
    for one made in this request (nothing is read back)."""
    if fresh is None:
        photos = list(selectors.visible_photos(report))
        events = list(timeline(report, public_only=True))
    else:
        photos = [photo for photo in fresh.photos if not photo.is_hidden]
        events = [event for event in fresh.events if event.is_public]
    mine = user is not None and report.reporter_id == user.pk
    public = selectors.is_publicly_visible(report)
    following = not mine and selectors.is_following(report, user)
    data = report_summary_out(request, report, photos)
    data.update(
        {
            "kind": report.kind,
            "kind_label": str(Kind(report.kind).label),
            "description": report.description,
            "agency": (
                {
                    "code": report.agency.code,
                    "name": localised(report.agency.name, report.agency.name_en),
                }
                if report.agency
                else None
            ),
            "resolved_at": local_time(report.resolved_at),
            "closed_at": local_time(report.closed_at),
            "result": report.result_text,
            "rating": report.rating or None,
            "rating_label": str(RatingValue(report.rating).label) if report.rating else None,
            "photos": [photo_out(request, photo) for photo in photos],
            "timeline": [event_out(event) for event in events],
            "mine": mine,
            "following": following,
            "can_follow": user is not None and not mine and public and report.is_open(),
            "can_rate": mine and report.status == Status.RESOLVED,
            "can_reply": mine and report.info_requested,
        }
    )
    if mine:
        data.update(
            {
                "answers": report.answers or {},
                "share_contact": report.share_contact,
                "rating_comment": report.rating_comment,
            }
        )
    return data


def _report_id_of(link: str) -> Any:
    if not link.startswith("/"):
        return None
    try:
        match = resolve(link.split("?")[0])
    except Resolver404:
        return None
    if match.view_name == "feedback:detail":
        return match.kwargs.get("public_id")
    return None


def notification_out(request: HttpRequest, notification: Notification) -> dict[str, Any]:
    return {
        "id": notification.pk,
        "kind": notification.kind,
        "title": notification.title,
        "body": notification.body,
        "link": request.build_absolute_uri(notification.link) if notification.link else "",
        "report_id": _report_id_of(notification.link),
        "created_at": local_time(notification.created_at),
        "read_at": local_time(notification.read_at),
    }
