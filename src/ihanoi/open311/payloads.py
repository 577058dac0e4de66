"""What each Open311 resource says, as plain data (``render`` makes XML or JSON of it).

Statuses (DESIGN §2 → Open311): the core spec knows only ``open`` and ``closed``; the
mySociety extension's statuses say more, and ``servicerequestupdates`` uses them.

=============  ======  =================================================================
ours           spec    mySociety extended
=============  ======  =================================================================
submitted      open    OPEN
assigned       open    OPEN
in_progress    open    IN_PROGRESS
resolved       closed  FIXED
closed         closed  FIXED (the result stood: rated, or the rating window passed)
rejected       closed  DUPLICATE (merged, or rejected as a repeat),
                       NOT_COUNCILS_RESPONSIBILITY (out of scope or not in Hanoi),
                       NO_FURTHER_ACTION (unclear, inappropriate), CLOSED (otherwise)
=============  ======  =================================================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from ihanoi.agencies.models import Agency
from ihanoi.feedback.models import (
    OPEN_STATUSES,
    Category,
    EventKind,
    Question,
    Report,
    ReportEvent,
    Status,
)

from .params import w3c
from .selectors import Media

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
LIST_TYPES = (Question.Datatype.SINGLE, Question.Datatype.MULTI)

EXTENDED_STATUS: dict[str, str] = {
    Status.SUBMITTED: "OPEN",
    Status.ASSIGNED: "OPEN",
    Status.IN_PROGRESS: "IN_PROGRESS",
    Status.RESOLVED: "FIXED",
    Status.CLOSED: "FIXED",
    Status.REJECTED: "CLOSED",
}
# Rejection reasons (feedback.seed) → the extended status that says why.
REJECTION_STATUS: dict[str, str] = {
    "trung-lap": "DUPLICATE",
    "khieu-nai-to-cao": "NOT_COUNCILS_RESPONSIBILITY",
    "bi-mat": "NOT_COUNCILS_RESPONSIBILITY",
    "ngoai-dia-ban": "NOT_COUNCILS_RESPONSIBILITY",
    "khong-ro": "NO_FURTHER_ACTION",
    "khong-phu-hop": "NO_FURTHER_ACTION",
}


def localised(name: str, name_en: str) -> str:
    return name_en if get_language() == "en" and name_en else name


def spec_status(status: str) -> str:
    return "open" if status in OPEN_STATUSES else "closed"


def extended_status(event: ReportEvent) -> str:
    """The mySociety status a request had after ``event``."""
    if event.kind == EventKind.MERGED:
        return "DUPLICATE"
    if event.kind == EventKind.REJECTED:
        return REJECTION_STATUS.get(str(event.data.get("reason", "")), "CLOSED")
    return EXTENDED_STATUS.get(event.to_status, "OPEN")


def discovery(*, endpoint_url: str, changeset: str, production: bool) -> dict[str, Any]:
    return {
        "changeset": changeset,
        "contact": _("iHaNoi, Hanoi's digital citizen platform: %(site)s")
        % {"site": settings.IHANOI_SITE_URL},
        "key_service": _(
            "API keys are issued by the city's administrators; ask the receiving hub at %(site)s."
        )
        % {"site": settings.IHANOI_SITE_URL},
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": endpoint_url,
                "changeset": changeset,
                "type": "production" if production else "test",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }


def service(category: Category) -> dict[str, Any]:
    questions = list(category.questions.all())
    return {
        "service_code": category.code,
        "service_name": localised(category.name, category.name_en),
        "description": category.description or None,
        "metadata": bool(questions),
        "type": "realtime",
        "keywords": category.keywords or None,
        "group": localised(category.group.name, category.group.name_en),
    }


def _values(question: Question) -> list[dict[str, str]]:
    if question.datatype not in LIST_TYPES:
        return []
    return [
        {"key": str(choice["key"]), "name": localised(choice["name"], choice.get("name_en", ""))}
        for choice in question.choices
    ]


def service_definition(category: Category) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "attributes": [
            {
                "variable": True,
                "code": question.code,
                "datatype": question.datatype,
                "required": question.required,
                "datatype_description": question.help_text or None,
                "order": order,
                "description": localised(question.label, question.label_en),
                "values": _values(question),
            }
            for order, question in enumerate(category.questions.all(), start=1)
        ],
    }


def _agency_name(agency: Agency | None) -> str | None:
    return localised(agency.name, agency.name_en) if agency else None


def request_row(report: Report) -> dict[str, Any]:
    """One report as the row ``selectors.requests_find`` reads (``REQUEST_FIELDS``, its last
    public event and rejection note): the detail and the list make the same payload."""
    agency = report.agency
    return {
        "id": report.pk,
        "public_id": report.public_id,
        "title": report.title,
        "description": report.description,
        "status": report.status,
        "result_text": report.result_text,
        "address": report.address,
        "lat": report.lat,
        "lon": report.lon,
        "submitted_at": report.submitted_at,
        "resolve_due_at": report.resolve_due_at,
        "category__code": report.category.code,
        "category__name": report.category.name,
        "category__name_en": report.category.name_en,
        "agency__name": agency.name if agency else None,
        "agency__name_en": agency.name_en if agency else None,
        "ward__name": report.ward.name,
        "last_public_event_at": getattr(report, "last_public_event_at", None),
        "rejection_note": getattr(report, "rejection_note", None),
    }


def service_request(report: Report, media: Media, *, extensions: bool = False) -> dict[str, Any]:
    return service_requests([request_row(report)], media, extensions=extensions)[0]


def service_requests(
    rows: Sequence[Mapping[str, Any]], media: Media, *, extensions: bool = False
) -> list[dict[str, Any]]:
    """The service requests of rows (``request_row``). What every item shares (the
    language, the status words) is worked out once: a page holds up to a thousand."""
    english = get_language() == "en"
    words = {status: str(label) for status, label in Status.choices}
    handled = (Status.RESOLVED, Status.CLOSED)

    def name(vietnamese: str | None, in_english: str | None) -> str | None:
        return in_english if english and in_english else vietnamese

    payloads = []
    for row in rows:
        status = row["status"]
        if status == Status.REJECTED:
            notes = row["rejection_note"] or words[status]
        elif status in handled and row["result_text"]:
            notes = row["result_text"]
        else:
            notes = words[status]
        urls = media.by_report.get(row["id"], [])
        due = row["resolve_due_at"]
        payload: dict[str, Any] = {
            "service_request_id": str(row["public_id"]),
            "status": spec_status(status),
            "status_notes": notes,
            "service_name": name(row["category__name"], row["category__name_en"]),
            "service_code": row["category__code"],
            "description": row["description"],
            "agency_responsible": name(row["agency__name"], row["agency__name_en"]),
            "service_notice": None,
            "requested_datetime": w3c(row["submitted_at"]),
            "updated_datetime": w3c(row["last_public_event_at"] or row["submitted_at"]),
            "expected_datetime": w3c(due) if due else None,
            "address": row["address"] or row["ward__name"],
            "address_id": None,
            "zipcode": None,
            "lat": round(row["lat"], 6),
            "long": round(row["lon"], 6),
            "media_url": urls[0] if urls else None,
        }
        if extensions:
            payload["extended_attributes"] = {
                "detailed_status": status,
                "title": row["title"],
                "ward": row["ward__name"],
                "media_urls": urls,
            }
        payloads.append(payload)
    return payloads


def service_notice(report: Report) -> str:
    """What happens next, told to the client that just sent the request."""
    if report.agency is not None and report.status == Status.ASSIGNED:
        return _("Forwarded to %(agency)s, which has until %(due)s to accept it.") % {
            "agency": _agency_name(report.agency),
            "due": w3c(report.accept_due_at) if report.accept_due_at else "—",
        }
    return _("Received; the city's receiving hub will forward it to the agency responsible.")


def created_request(report: Report) -> dict[str, Any]:
    return {"service_request_id": str(report.public_id), "service_notice": service_notice(report)}


def token(report: Report, token_value: str) -> dict[str, Any]:
    return {"service_request_id": str(report.public_id), "token": token_value}


def _update_description(event: ReportEvent) -> str:
    label = str(EventKind(event.kind).label)
    if event.kind == EventKind.ROUTED and event.agency is not None:
        return f"{label}: {_agency_name(event.agency)}"
    return event.note or label


def request_update(event: ReportEvent, media: Media) -> dict[str, Any]:
    urls = media.by_event.get(event.pk, [])
    return {
        "update_id": str(event.pk),
        "service_request_id": str(event.report.public_id),
        "status": extended_status(event),
        "updated_datetime": w3c(event.created_at),
        "description": _update_description(event),
        "media_url": urls[0] if urls else None,
    }


def posted_update(event: ReportEvent) -> dict[str, Any]:
    return {"update_id": str(event.pk)}
