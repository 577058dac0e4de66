"""The one place where a report's status changes (DESIGN §4.4).

``TRANSITIONS`` says, for every kind of event, from which statuses it may happen and which
status follows. ``transition`` checks the table, appends the event and sets the status; the
service that calls it owns the transaction and saves the report.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from ihanoi.accounts.models import User

from .models import EventKind as E
from .models import Report, ReportEvent
from .models import Status as S

_OPEN = (S.SUBMITTED, S.ASSIGNED, S.IN_PROGRESS)
_ANY = (*_OPEN, S.RESOLVED, S.CLOSED, S.REJECTED)


def _stay(*statuses: S) -> dict[str, S]:
    return {status: status for status in statuses}


TRANSITIONS: dict[str, dict[str, S]] = {
    E.SUBMITTED: {"": S.SUBMITTED},
    E.ROUTED: {S.SUBMITTED: S.ASSIGNED},
    E.TRIAGE: _stay(S.SUBMITTED),
    E.CLASSIFIED: _stay(*_OPEN),
    E.ACCEPTED: {S.ASSIGNED: S.IN_PROGRESS},
    E.OFFICER_ASSIGNED: _stay(S.IN_PROGRESS),
    E.INFO_REQUESTED: _stay(*_OPEN),
    E.INFO_PROVIDED: _stay(*_OPEN),
    E.RESOLVED: {S.IN_PROGRESS: S.RESOLVED},
    E.TRANSFERRED: {S.ASSIGNED: S.ASSIGNED, S.IN_PROGRESS: S.ASSIGNED},
    E.RETURNED: {S.ASSIGNED: S.SUBMITTED, S.IN_PROGRESS: S.SUBMITTED},
    E.EXTENSION_REQUESTED: _stay(S.IN_PROGRESS),
    E.EXTENSION_APPROVED: _stay(S.IN_PROGRESS),
    E.EXTENSION_REFUSED: _stay(S.IN_PROGRESS),
    E.MERGED: {status: S.REJECTED for status in _OPEN},
    E.REJECTED: {S.SUBMITTED: S.REJECTED},
    E.RATED: {S.RESOLVED: S.CLOSED},
    # A "not satisfied" review reopens a closed report; a wrongly rejected one goes back to
    # the hub's queue.
    E.REOPENED: {S.CLOSED: S.IN_PROGRESS, S.REJECTED: S.SUBMITTED},
    E.REVIEW_CLOSED: _stay(S.CLOSED),
    E.CLOSED: {S.RESOLVED: S.CLOSED},
    E.ESCALATED: _stay(S.ASSIGNED, S.IN_PROGRESS),
    E.COMMENT: _stay(*_ANY),
    E.REDACTED: _stay(*_ANY),
    E.PUBLISHED: _stay(*_ANY),
    E.UNPUBLISHED: _stay(*_ANY),
}


class TransitionError(ValidationError):
    """The action is not allowed in the report's current status (a validation error: the
    person acted on a stale page, or twice; they get a message, never a server error)."""

    def __init__(self, report: Report, kind: str) -> None:
        self.report = report
        self.kind = kind
        status = S(report.status).label if report.status else "—"
        super().__init__(
            _("This action (%(action)s) is not possible while the report is “%(status)s”.")
            % {"action": E(kind).label, "status": status},
            code="transition",
        )


def allowed(report: Report, kind: str) -> bool:
    return report.status in TRANSITIONS[kind]


def transition(
    report: Report,
    kind: str,
    *,
    actor: User | None,
    now: datetime.datetime,
    note: str = "",
    data: dict[str, Any] | None = None,
    is_public: bool = True,
    save: bool = True,
) -> ReportEvent:
    """Check the table, append the event, set ``report.status`` (the caller saves).

    ``save=False`` returns the event unsaved, for a caller that inserts the report and its
    first events together (a submission: the report has no row yet)."""
    table = TRANSITIONS[kind]
    if report.status not in table:
        raise TransitionError(report, kind)
    new_status = table[report.status]
    event = ReportEvent(
        report=report,
        kind=kind,
        from_status=report.status,
        to_status=new_status,
        actor=actor,
        agency=report.agency,
        note=note,
        data=data or {},
        is_public=is_public,
        created_at=now,
    )
    if save:
        event.save(force_insert=True)
    report.status = new_status
    return event
