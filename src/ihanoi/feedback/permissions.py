"""Who may see a report and who may act on it (DESIGN §1, §2 Privacy).

- the hub's operators see and triage everything;
- oversight sees everything and acts on nothing;
- an agency's officers and leads see and handle the reports that are with their agency;
  leads also assign officers and transfer;
- the reporter replies to questions and rates; any resident may follow a public report;
- the system (actor None) routes, escalates and closes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ihanoi.accounts.models import Role, User
from ihanoi.agencies.models import Membership

from .models import EventKind as E
from .models import Report

HUB_ACTIONS = frozenset(
    {
        E.ROUTED,
        E.CLASSIFIED,
        E.REJECTED,
        E.MERGED,
        E.TRANSFERRED,
        E.INFO_REQUESTED,
        E.EXTENSION_APPROVED,
        E.EXTENSION_REFUSED,
        E.REOPENED,
        E.REVIEW_CLOSED,
        E.PUBLISHED,
        E.UNPUBLISHED,
        E.REDACTED,
        E.COMMENT,
    }
)
AGENCY_ACTIONS = frozenset(
    {
        E.ACCEPTED,
        E.CLASSIFIED,
        E.INFO_REQUESTED,
        E.RESOLVED,
        E.RETURNED,
        E.EXTENSION_REQUESTED,
        E.COMMENT,
    }
)
LEAD_ACTIONS = AGENCY_ACTIONS | {E.OFFICER_ASSIGNED, E.TRANSFERRED}
REPORTER_ACTIONS = frozenset({E.INFO_PROVIDED, E.RATED})


@dataclass(frozen=True)
class StaffScope:
    """What one signed-in user is, for the report pages: computed once per request."""

    user: User
    is_hub: bool = False
    is_oversight: bool = False
    agency_ids: frozenset[int] = field(default_factory=frozenset)
    lead_agency_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_staff(self) -> bool:
        return self.is_hub or self.is_oversight or bool(self.agency_ids)


def scope_of(user: User) -> StaffScope:
    if not user.is_authenticated or not user.is_active:
        return StaffScope(user=user)
    memberships = list(
        Membership.objects.filter(user=user, agency__is_active=True).values_list(
            "agency_id", "role"
        )
    )
    return StaffScope(
        user=user,
        is_hub=user.role == Role.HUB_OPERATOR,
        is_oversight=user.role == Role.OVERSIGHT,
        agency_ids=frozenset(agency for agency, _role in memberships)
        if user.role in (Role.AGENCY_OFFICER, Role.AGENCY_LEAD)
        else frozenset(),
        lead_agency_ids=frozenset(
            agency for agency, role in memberships if role == Membership.Role.LEAD
        )
        if user.role == Role.AGENCY_LEAD
        else frozenset(),
    )


def can_view_as_staff(scope: StaffScope, report: Report) -> bool:
    return scope.is_hub or scope.is_oversight or report.agency_id in scope.agency_ids


def can_see_reporter(scope: StaffScope, report: Report) -> bool:
    """The reporter's identity: the hub and oversight; an agency only with consent."""
    if scope.is_hub or scope.is_oversight:
        return True
    return report.share_contact and report.agency_id in scope.agency_ids


def can_act(scope: StaffScope, report: Report, kind: str) -> bool:
    if kind in REPORTER_ACTIONS:
        return report.reporter_id == scope.user.pk
    if scope.is_hub and kind in HUB_ACTIONS:
        return True
    if report.agency_id in scope.lead_agency_ids:
        return kind in LEAD_ACTIONS
    if report.agency_id in scope.agency_ids:
        return kind in AGENCY_ACTIONS
    return False
