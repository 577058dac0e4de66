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
from .selectors import Media, last_event_time

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


def _status_notes(report: Report) -> str | None:
    if report.status == Status.REJECTED:
        note = getattr(report, "rejection_note", None)
        return note or str(Status(report.status).label)
    if report.status in (Status.RESOLVED, Status.CLOSED) and report.result_text:
        return report.result_text
    return str(Status(report.status).label)


def service_request(report: Report, media: Media, *, extensions: bool = False) -> dict[str, Any]:
    urls = media.by_report.get(report.pk, [])
    payload: dict[str, Any] = {
        "service_request_id": str(report.public_id),
        "status": spec_status(report.status),
        "status_notes": _status_notes(report),
        "service_name": localised(report.category.name, report.category.name_en),
        "service_code": report.category.code,
        "description": report.description,
        "agency_responsible": _agency_name(report.agency),
        "service_notice": None,
        "requested_datetime": w3c(report.submitted_at),
        "updated_datetime": w3c(last_event_time(report)),
        "expected_datetime": w3c(report.resolve_due_at) if report.resolve_due_at else None,
        "address": report.address or report.ward.name,
        "address_id": None,
        "zipcode": None,
        "lat": round(report.lat, 6),
        "long": round(report.lon, 6),
        "media_url": urls[0] if urls else None,
    }
    if extensions:
        payload["extended_attributes"] = {
            "detailed_status": report.status,
            "title": report.title,
            "ward": report.ward.name,
            "media_urls": urls,
        }
    return payload


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
