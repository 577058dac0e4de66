"""Writes on reports: submission and every action of the lifecycle (DESIGN §2).

Each public function owns its transaction, locks the report row, checks the actor's right
(``permissions.can_act``), changes the status only through ``transitions.transition`` and
writes the notifications in the same transaction (the outbox), so that a status change and
the message about it exist together or not at all.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import h3
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, override

from ihanoi.accounts.models import Role, User
from ihanoi.agencies.models import Agency, Membership
from ihanoi.lib.geo import InvalidCoordinates
from ihanoi.lib.text import nfc
from ihanoi.notifications.services import Message, notify, notify_all
from ihanoi.places.models import AdministrativeUnit
from ihanoi.places.selectors import locate_ward_hit

from . import deadlines
from .models import (
    H3_RESOLUTION,
    Category,
    Follow,
    Kind,
    RatingValue,
    RejectionReason,
    Report,
    ReportEvent,
    ReportPhoto,
    Severity,
    Status,
    running_deadline_before,
)
from .models import EventKind as E
from .permissions import StaffScope, can_act, scope_of
from .photos import PreparedPhoto
from .questions import clean_answers
from .reference import Reference, reference, reference_clear
from .routing import RoutingDecision, route
from .selectors import report_by_client_key
from .transitions import transition

MAX_PHOTOS = 5
TITLE_MAX = 150
DESCRIPTION_MAX = 4000
CLIENT_KEY_MAX = 64


# --- Submission --------------------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    kind: str
    category_code: str
    title: str
    description: str
    lat: Any
    lon: Any
    address: str = ""
    answers: Mapping[str, Any] | None = None
    client_key: str = ""
    share_contact: bool = False
    channel: str = "web"
    # Addresses of photos held elsewhere (Open311 media_url); they count as the photo a
    # category may require, and the integration that received them stores them.
    media_urls: tuple[str, ...] = ()


def submission_validate(
    submission: Submission, photos: Sequence[PreparedPhoto], snapshot: Reference
) -> tuple[Category, dict[str, Any], AdministrativeUnit]:
    """All checks before anything is written; ValidationError keyed by field. Categories,
    questions and wards come from the ``snapshot`` (reference.py), not the database."""
    errors: dict[str, list[str]] = {}
    category = snapshot.category(submission.category_code)
    if category is None:
        errors["category"] = [_("Choose a category from the list.")]
    if submission.kind not in Kind.values:
        errors["kind"] = [_("Choose a kind of feedback from the list.")]
    title = nfc(submission.title or "").strip()
    description = nfc(submission.description or "").strip()
    if not title:
        errors["title"] = [_("Give the report a short title.")]
    elif len(title) > TITLE_MAX:
        errors["title"] = [
            _("The title is too long (at most %(n)d characters).") % {"n": TITLE_MAX}
        ]
    if not description:
        errors["description"] = [_("Describe the problem.")]
    elif len(description) > DESCRIPTION_MAX:
        errors["description"] = [
            _("The description is too long (at most %(n)d characters).") % {"n": DESCRIPTION_MAX}
        ]
    if len(nfc(submission.address or "")) > 255:
        errors["address"] = [_("The address is too long (at most 255 characters).")]
    if len(submission.client_key or "") > CLIENT_KEY_MAX:
        errors["client_key"] = [_("The idempotency key is too long.")]
    if len(photos) > MAX_PHOTOS:
        errors["photos"] = [_("Attach at most %(n)d photos.") % {"n": MAX_PHOTOS}]
    elif category is not None and category.photo_required and not (photos or submission.media_urls):
        errors["photos"] = [_("This category needs at least one photo.")]
    ward = None
    try:
        hit = locate_ward_hit(submission.lat, submission.lon)
    except InvalidCoordinates as exc:
        errors["location"] = [str(exc)]
    else:
        if hit is not None:
            # The snapshot misses a ward only for the seconds after a boundary change.
            ward = snapshot.ward(hit.unit_id) or (
                AdministrativeUnit.objects.defer("boundary").filter(pk=hit.unit_id).first()
            )
        if ward is None:
            errors["location"] = [_("This point is outside the city. Place the pin in Hanoi.")]
    answers: dict[str, Any] = {}
    if category is not None:
        try:
            answers = clean_answers(
                category, submission.answers or {}, snapshot.questions(category)
            )
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    assert category is not None and ward is not None
    return category, answers, ward


@dataclass(frozen=True)
class Submitted:
    """What ``report_submit_detailed`` did. A new report carries the rows made with it, so
    that the caller can present it without reading them back."""

    report: Report
    created: bool
    photos: tuple[ReportPhoto, ...] = ()
    events: tuple[ReportEvent, ...] = ()


def report_submit(
    *,
    reporter: User,
    submission: Submission,
    photos: Sequence[PreparedPhoto] = (),
    now: datetime.datetime | None = None,
) -> tuple[Report, bool]:
    """Create a report, route it and tell the reporter. Returns (report, created); see
    ``report_submit_detailed``."""
    done = report_submit_detailed(reporter=reporter, submission=submission, photos=photos, now=now)
    return done.report, done.created


def report_submit_detailed(
    *,
    reporter: User,
    submission: Submission,
    photos: Sequence[PreparedPhoto] = (),
    now: datetime.datetime | None = None,
) -> Submitted:
    """Create a report, route it and tell the reporter.

    A retry with the same ``client_key`` returns the report made the first time, unchanged
    (``created`` False). The key is not looked up first: a retry is rare, and the unique key
    (reporter, client_key) stops its INSERT, after which the earlier report is read. A retry
    that no longer validates (its category closed meanwhile) also gets the earlier report."""
    snapshot = reference()
    try:
        category, answers, ward = submission_validate(submission, photos, snapshot)
    except ValidationError:
        earlier = report_by_client_key(reporter, submission.client_key)
        if earlier is not None:
            return Submitted(earlier, False)
        raise
    decision = route(category=category, ward=ward, snapshot=snapshot)  # before the transaction
    now = now or timezone.now()
    lat, lon = float(submission.lat), float(submission.lon)
    report = Report(
        kind=submission.kind,
        category=category,
        title=nfc(submission.title).strip(),
        description=nfc(submission.description).strip(),
        answers=answers,
        lat=lat,
        lon=lon,
        address=nfc(submission.address or "").strip(),
        ward=ward,
        h3_cell=h3.latlng_to_cell(lat, lon, H3_RESOLUTION),
        reporter=reporter,
        share_contact=submission.share_contact,
        channel=submission.channel,
        client_key=submission.client_key or "",
        status="",
        severity=category.default_severity,
        submitted_at=now,
    )
    # The report is written once, in its routed state, with both of its first events: the
    # events and the messages are made first in memory (the transition table still decides
    # every status), then inserted together.
    submitted = transition(report, E.SUBMITTED, actor=reporter, now=now, save=False)
    routed = _route(report, decision, now=now)
    try:
        with transaction.atomic():
            report.save(force_insert=True)
            rows = _attach_photos(report, photos, role=ReportPhoto.Role.REPORT, user=reporter)
            ReportEvent.objects.bulk_create([submitted, routed])
            messages: list[Message] = []
            _tell_people(report, submitted, followers=False, out=messages)  # none yet
            if report.agency is None:
                _tell_hub(report, routed, TRIAGE_NEWS, out=messages)
            else:
                _tell_people(report, routed, followers=False, out=messages)
                _tell_agency(report, routed, ROUTED_NEWS, out=messages)
            # The keys name the two events just inserted: no notification can have them.
            notify_all(messages, fresh_keys=True)
    except IntegrityError:
        # A retry (or two racing): the unique key kept the first report.
        earlier = report_by_client_key(reporter, submission.client_key)
        if earlier is not None:
            return Submitted(earlier, False)
        # Not the key: perhaps a row the snapshot named is gone; the next call rereads them.
        reference_clear()
        raise
    return Submitted(report, True, tuple(rows), (submitted, routed))


TRIAGE_NEWS = gettext_noop("A report waits for triage: %(title)s")
ROUTED_NEWS = gettext_noop("New report for your agency: %(title)s")


def _route(report: Report, decision: RoutingDecision, *, now: datetime.datetime) -> ReportEvent:
    """Route a report being submitted: its routing event, unsaved (the caller saves both
    and tells the people concerned)."""
    data: dict[str, Any] = {"reason": decision.reason, "rules": list(decision.rule_ids)}
    if decision.agency is None:
        return transition(
            report, E.TRIAGE, actor=None, now=now, note=decision.explain(), data=data, save=False
        )
    _assign_to(report, decision.agency, now=now)
    data["agency"] = decision.agency.code
    data["accept_due"] = _due(report.accept_due_at)
    return transition(
        report, E.ROUTED, actor=None, now=now, note=decision.explain(), data=data, save=False
    )


def _due(moment: datetime.datetime | None) -> str | None:
    """A deadline as recorded in event data: oversight replays the timeline with the
    deadlines that applied then, not with today's limits and calendar."""
    return moment.isoformat() if moment else None


def _assign_to(report: Report, agency: Agency, *, now: datetime.datetime) -> None:
    """Give the report to ``agency`` with a fresh accept deadline: an agency that receives a
    wrongly routed report is not charged for the time it spent elsewhere."""
    report.agency = agency
    report.assignee = None
    report.assigned_at = now
    report.accepted_at = None
    report.resolve_due_at = None
    report.accept_due_at = deadlines.accept_deadline(report.category, now)
    report.escalation_level = 0


def _attach_photos(
    report: Report, photos: Iterable[PreparedPhoto], *, role: str, user: User | None
) -> list[ReportPhoto]:
    rows = []
    for index, photo in enumerate(photos):
        stem = f"{role}-{photo.sha256[:16]}-{index}"
        row = ReportPhoto(
            report=report,
            role=role,
            width=photo.width,
            height=photo.height,
            sha256=photo.sha256,
            uploaded_by=user,
        )
        row.image.save(f"{stem}.jpg", ContentFile(photo.image), save=False)
        row.thumbnail.save(f"{stem}-thumb.jpg", ContentFile(photo.thumbnail), save=False)
        row.save()
        rows.append(row)
    return rows


# --- Lifecycle actions -------------------------------------------------------------------


def _locked(report: Report) -> Report:
    # of=("self",): PostgreSQL cannot lock the nullable side of the agency outer join.
    return (
        Report.objects.select_for_update(of=("self",))
        .select_related("category", "agency")
        .get(pk=report.pk)
    )


def _check(scope: StaffScope, report: Report, kind: str) -> None:
    if not can_act(scope, report, kind):
        raise PermissionDenied(_("You may not do this on this report."))


def _now(now: datetime.datetime | None) -> datetime.datetime:
    return now or timezone.now()


def _begin(
    actor: User, report: Report, kind: str, now: datetime.datetime | None
) -> tuple[Report, datetime.datetime]:
    """Every action starts so: lock the row (fresh state), check the actor's right."""
    locked = _locked(report)
    _check(scope_of(actor), locked, kind)
    return locked, _now(now)


def _text(value: str, *, field: str, required: bool, limit: int = 4000) -> str:
    value = nfc(value or "").strip()
    if required and not value:
        raise ValidationError({field: [_("This field is required.")]})
    if len(value) > limit:
        raise ValidationError(
            {field: [_("The text is too long (at most %(n)d characters).") % {"n": limit}]}
        )
    return value


@transaction.atomic
def report_forward(
    *,
    actor: User,
    report: Report,
    agency: Agency,
    severity: str | None = None,
    category: Category | None = None,
    note: str = "",
    now: datetime.datetime | None = None,
) -> Report:
    """The hub places a report that routing could not (or classifies it on the way)."""
    report, now = _begin(actor, report, E.ROUTED, now)
    if not agency.is_active:
        raise ValidationError({"agency": [_("This agency is not active.")]})
    note = _text(note, field="note", required=False)
    _classify(report, actor=actor, severity=severity, category=category, now=now)
    _assign_to(report, agency, now=now)
    data = {"agency": agency.code, "by": "hub", "accept_due": _due(report.accept_due_at)}
    event = transition(report, E.ROUTED, actor=actor, now=now, note=note, data=data)
    report.save()
    _tell_people(report, event)
    _tell_agency(report, event, gettext_noop("New report for your agency: %(title)s"))
    return report


def _classify(
    report: Report,
    *,
    actor: User,
    severity: str | None,
    category: Category | None,
    now: datetime.datetime,
) -> None:
    changes: dict[str, Any] = {}
    if severity and severity != report.severity:
        if severity not in Severity.values:
            raise ValidationError({"severity": [_("Choose a severity from the list.")]})
        changes["severity"] = [report.severity, severity]
        report.severity = severity
        if report.status == Status.IN_PROGRESS and report.accepted_at is not None:
            # The running resolve deadline follows the new severity, from acceptance.
            report.resolve_due_at = deadlines.resolve_deadline(
                report.category, severity, report.accepted_at
            )
            changes["resolve_due"] = _due(report.resolve_due_at)
    if category is not None and category.pk != report.category_id:
        changes["category"] = [report.category.code, category.code]
        report.category = category
    if changes:
        transition(report, E.CLASSIFIED, actor=actor, now=now, data=changes, is_public=False)


@transaction.atomic
def report_classify(
    *,
    actor: User,
    report: Report,
    severity: str | None = None,
    category: Category | None = None,
    now: datetime.datetime | None = None,
) -> Report:
    report, now = _begin(actor, report, E.CLASSIFIED, now)
    _classify(report, actor=actor, severity=severity, category=category, now=now)
    report.save()
    return report


@transaction.atomic
def report_reject(
    *,
    actor: User,
    report: Report,
    reason: RejectionReason,
    note: str = "",
    now: datetime.datetime | None = None,
) -> Report:
    report, now = _begin(actor, report, E.REJECTED, now)
    note = _text(note, field="note", required=False)
    text = f"{reason.text}\n{note}".strip()
    event = transition(
        report, E.REJECTED, actor=actor, now=now, note=text, data={"reason": reason.code}
    )
    report.closed_at = now
    report.save()
    _tell_people(report, event)
    return report


@transaction.atomic
def report_accept(*, actor: User, report: Report, now: datetime.datetime | None = None) -> Report:
    report, now = _begin(actor, report, E.ACCEPTED, now)
    report.accepted_at = now
    report.resolve_due_at = deadlines.resolve_deadline(report.category, report.severity, now)
    report.escalation_level = 0
    event = transition(
        report, E.ACCEPTED, actor=actor, now=now, data={"resolve_due": _due(report.resolve_due_at)}
    )
    report.save()
    _tell_people(report, event)
    return report


@transaction.atomic
def report_assign_officer(
    *, actor: User, report: Report, officer: User, now: datetime.datetime | None = None
) -> Report:
    report, now = _begin(actor, report, E.OFFICER_ASSIGNED, now)
    if not Membership.objects.filter(user=officer, agency=report.agency).exists():
        raise ValidationError({"officer": [_("This person is not a member of the agency.")]})
    transition(
        report,
        E.OFFICER_ASSIGNED,
        actor=actor,
        now=now,
        data={"officer": officer.pk},
        is_public=False,
    )
    report.assignee = officer
    report.save()
    notify(
        recipient=officer,
        kind="report.assigned",
        title=_city_text(gettext_noop("A report was assigned to you: %(title)s"), report),
        body=report.title,
        link=reverse("feedback:staff_detail", args=[report.pk]),
        dedupe_key=f"report:{report.pk}:assigned:{officer.pk}:{now.isoformat()}",
    )
    return report


@transaction.atomic
def report_request_info(
    *, actor: User, report: Report, question: str, now: datetime.datetime | None = None
) -> Report:
    report, now = _begin(actor, report, E.INFO_REQUESTED, now)
    question = _text(question, field="question", required=True, limit=1000)
    event = transition(report, E.INFO_REQUESTED, actor=actor, now=now, note=question)
    report.info_requested = True
    report.save()
    _tell_people(report, event, followers=False)
    return report


@transaction.atomic
def report_provide_info(
    *,
    actor: User,
    report: Report,
    answer: str,
    photos: Sequence[PreparedPhoto] = (),
    now: datetime.datetime | None = None,
) -> Report:
    report, now = _begin(actor, report, E.INFO_PROVIDED, now)
    if not report.info_requested:
        raise ValidationError({"answer": [_("No information was asked for.")]})
    if len(photos) > MAX_PHOTOS:
        raise ValidationError({"photos": [_("Attach at most %(n)d photos.") % {"n": MAX_PHOTOS}]})
    answer = _text(answer, field="answer", required=True, limit=2000)
    event = transition(report, E.INFO_PROVIDED, actor=actor, now=now, note=answer)
    _attach_photos(report, photos, role=ReportPhoto.Role.INFO, user=actor)
    report.info_requested = False
    report.save()
    if report.agency_id:
        _tell_agency(report, event, gettext_noop("The resident answered: %(title)s"))
    else:
        _tell_hub(report, event, gettext_noop("The resident answered: %(title)s"))
    return report


@transaction.atomic
def report_resolve(
    *,
    actor: User,
    report: Report,
    result: str,
    photos: Sequence[PreparedPhoto] = (),
    now: datetime.datetime | None = None,
) -> Report:
    report, now = _begin(actor, report, E.RESOLVED, now)
    result = _text(result, field="result", required=True)
    if report.category.evidence_required and not photos:
        raise ValidationError({"photos": [_("This category needs a photo of the result.")]})
    if len(photos) > MAX_PHOTOS:
        raise ValidationError({"photos": [_("Attach at most %(n)d photos.") % {"n": MAX_PHOTOS}]})
    event = transition(report, E.RESOLVED, actor=actor, now=now, note=result)
    _attach_photos(report, photos, role=ReportPhoto.Role.EVIDENCE, user=actor)
    report.result_text = result
    report.resolved_at = now
    report.save()
    _tell_people(report, event)
    return report


@transaction.atomic
def report_transfer(
    *,
    actor: User,
    report: Report,
    agency: Agency,
    note: str,
    now: datetime.datetime | None = None,
) -> Report:
    report, now = _begin(actor, report, E.TRANSFERRED, now)
    note = _text(note, field="note", required=True, limit=1000)
    if not agency.is_active or agency.pk == report.agency_id:
        raise ValidationError({"agency": [_("Choose another, active agency.")]})
    old = report.agency
    data = {
        "from": old.code if old else None,
        "to": agency.code,
        # The same deadline _assign_to gives the receiving agency below.
        "accept_due": _due(deadlines.accept_deadline(report.category, now)),
    }
    event = transition(report, E.TRANSFERRED, actor=actor, now=now, note=note, data=data)
    _assign_to(report, agency, now=now)
    report.save()
    _tell_people(report, event)
    _tell_agency(report, event, gettext_noop("A report was transferred to your agency: %(title)s"))
    return report


@transaction.atomic
def report_return_to_hub(
    *, actor: User, report: Report, note: str, now: datetime.datetime | None = None
) -> Report:
    report, now = _begin(actor, report, E.RETURNED, now)
    note = _text(note, field="note", required=True, limit=1000)
    event = transition(report, E.RETURNED, actor=actor, now=now, note=note, is_public=False)
    report.agency = None
    report.assignee = None
    report.accept_due_at = None
    report.resolve_due_at = None
    report.accepted_at = None
    report.save()
    _tell_hub(report, event, gettext_noop("An agency returned a report: %(title)s"))
    return report


@transaction.atomic
def report_request_extension(
    *,
    actor: User,
    report: Report,
    working_days: int,
    reason: str,
    now: datetime.datetime | None = None,
) -> Report:
    report, now = _begin(actor, report, E.EXTENSION_REQUESTED, now)
    reason = _text(reason, field="reason", required=True, limit=1000)
    if not 1 <= working_days <= 30:
        raise ValidationError({"working_days": [_("Ask for 1 to 30 working days.")]})
    assert report.resolve_due_at is not None
    requested = deadlines.deadline_after(report.resolve_due_at, working_days=working_days)
    event = transition(
        report,
        E.EXTENSION_REQUESTED,
        actor=actor,
        now=now,
        note=reason,
        data={"working_days": working_days, "requested_due": requested.isoformat()},
        is_public=False,
    )
    report.save()
    _tell_hub(report, event, gettext_noop("An agency asks for more time: %(title)s"))
    return report


@transaction.atomic
def report_decide_extension(
    *,
    actor: User,
    report: Report,
    approve: bool,
    note: str = "",
    now: datetime.datetime | None = None,
) -> Report:
    kind = E.EXTENSION_APPROVED if approve else E.EXTENSION_REFUSED
    report, now = _begin(actor, report, kind, now)
    request = pending_extension(report)
    if request is None:
        raise ValidationError({"extension": [_("No extension is waiting for a decision.")]})
    note = _text(note, field="note", required=False, limit=1000)
    old_due = report.resolve_due_at
    new_due = datetime.datetime.fromisoformat(request.data["requested_due"])
    data = {
        "request": request.pk,
        "old_due": old_due.isoformat() if old_due else None,
        "new_due": new_due.isoformat() if approve else None,
    }
    transition(report, kind, actor=actor, now=now, note=note, data=data, is_public=approve)
    if approve:
        report.resolve_due_at = new_due
        report.escalation_level = 0
    report.save()
    return report


def pending_extension(report: Report) -> ReportEvent | None:
    """The latest extension request, if no decision followed it."""
    last = (
        report.events.filter(
            kind__in=[E.EXTENSION_REQUESTED, E.EXTENSION_APPROVED, E.EXTENSION_REFUSED]
        )
        .order_by("-created_at", "-id")
        .first()
    )
    return last if last is not None and last.kind == E.EXTENSION_REQUESTED else None


@transaction.atomic
def report_merge(
    *,
    actor: User,
    report: Report,
    original: Report,
    now: datetime.datetime | None = None,
) -> Report:
    """Merge a duplicate into its original; the duplicate's reporter and followers follow
    the original from now on and are told."""
    report, now = _begin(actor, report, E.MERGED, now)
    if original.pk == report.pk or original.duplicate_of_id is not None:
        raise ValidationError({"original": [_("Choose another report that is not a duplicate.")]})
    event = transition(report, E.MERGED, actor=actor, now=now, data={"original": original.pk})
    report.duplicate_of = original
    report.closed_at = now
    report.save()
    people = {report.reporter_id, *report.follows.values_list("user_id", flat=True)}
    people.discard(original.reporter_id)
    Follow.objects.bulk_create(
        [Follow(report=original, user_id=user_id) for user_id in people], ignore_conflicts=True
    )
    _tell_people(report, event)
    return report


@transaction.atomic
def rating_submit(
    *,
    actor: User,
    report: Report,
    value: str,
    comment: str = "",
    now: datetime.datetime | None = None,
) -> Report:
    report, now = _begin(actor, report, E.RATED, now)
    if value not in RatingValue.values:
        raise ValidationError({"value": [_("Choose one of the three answers.")]})
    comment = _text(comment, field="comment", required=False, limit=1000)
    event = transition(report, E.RATED, actor=actor, now=now, note=comment, data={"rating": value})
    report.rating = value
    report.rating_comment = comment
    report.rated_at = now
    report.closed_at = now
    report.review_pending = value == RatingValue.NOT_SATISFIED
    report.save()
    if report.review_pending:
        _tell_hub(report, event, gettext_noop("A resident is not satisfied: %(title)s"))
    return report


@transaction.atomic
def report_reopen(
    *, actor: User, report: Report, note: str, now: datetime.datetime | None = None
) -> Report:
    """After a "not satisfied" review the same agency handles it again, with a new resolve
    deadline; a wrongly rejected report goes back to the hub's queue."""
    report, now = _begin(actor, report, E.REOPENED, now)
    note = _text(note, field="note", required=True, limit=1000)
    if report.status == Status.CLOSED and not (report.review_pending and report.agency_id):
        raise ValidationError({"note": [_("Only a report under review can be reopened.")]})
    reviewed = report.status == Status.CLOSED  # back to the same agency, a new deadline
    new_due = (
        deadlines.resolve_deadline(report.category, report.severity, now) if reviewed else None
    )
    event = transition(
        report, E.REOPENED, actor=actor, now=now, note=note, data={"resolve_due": _due(new_due)}
    )
    report.review_pending = False
    report.closed_at = None
    if report.status == Status.IN_PROGRESS:
        report.resolved_at = None
        report.resolve_due_at = new_due
        report.escalation_level = 0
    else:
        report.duplicate_of = None
    report.save()
    _tell_people(report, event)
    if report.agency_id:
        _tell_agency(report, event, gettext_noop("A report was reopened: %(title)s"))
    return report


@transaction.atomic
def report_review_close(
    *, actor: User, report: Report, note: str, now: datetime.datetime | None = None
) -> Report:
    report, now = _begin(actor, report, E.REVIEW_CLOSED, now)
    if not report.review_pending:
        raise ValidationError({"note": [_("This report is not under review.")]})
    note = _text(note, field="note", required=True, limit=1000)
    transition(report, E.REVIEW_CLOSED, actor=actor, now=now, note=note)
    report.review_pending = False
    report.save()
    return report


@transaction.atomic
def report_set_published(
    *, actor: User, report: Report, published: bool, now: datetime.datetime | None = None
) -> Report:
    kind = E.PUBLISHED if published else E.UNPUBLISHED
    report, now = _begin(actor, report, kind, now)
    transition(report, kind, actor=actor, now=now, is_public=False)
    report.is_published = published
    report.save()
    return report


@transaction.atomic
def report_redact(
    *,
    actor: User,
    report: Report,
    title: str,
    description: str,
    hidden_photo_ids: Iterable[int] = (),
    now: datetime.datetime | None = None,
) -> Report:
    """The hub removes personal data or insults from what the public sees. The original
    text stays in the internal event (the audit trail); hidden photos stay stored."""
    report, now = _begin(actor, report, E.REDACTED, now)
    title = _text(title, field="title", required=True, limit=TITLE_MAX)
    description = _text(description, field="description", required=True, limit=DESCRIPTION_MAX)
    photo_ids = set(hidden_photo_ids)
    photos = report.photos.filter(pk__in=photo_ids, is_hidden=False)
    if photo_ids - set(report.photos.values_list("pk", flat=True)):
        raise ValidationError({"photos": [_("Choose photos of this report.")]})
    changes: dict[str, Any] = {}
    if title != report.title:
        changes["title"] = [report.title, title]
    if description != report.description:
        changes["description"] = [report.description, description]
    hidden = sorted(photos.values_list("pk", flat=True))
    if hidden:
        changes["photos_hidden"] = hidden
    if not changes:
        raise ValidationError({"description": [_("Nothing was changed.")]})
    transition(report, E.REDACTED, actor=actor, now=now, data=changes, is_public=False)
    photos.update(is_hidden=True)
    report.title = title
    report.description = description
    report.save()
    return report


@transaction.atomic
def report_comment(
    *, actor: User, report: Report, text: str, now: datetime.datetime | None = None
) -> ReportEvent:
    """An internal note between the hub and the agency; residents never see it."""
    report, now = _begin(actor, report, E.COMMENT, now)
    text = _text(text, field="text", required=True, limit=2000)
    return transition(report, E.COMMENT, actor=actor, now=now, note=text, is_public=False)


def report_follow(*, user: User, report: Report) -> bool:
    """ "Me too": follow a public, open report. Returns whether a follow was added."""
    if report.reporter_id == user.pk:
        return False
    if not (report.is_published and report.category.is_public):
        raise PermissionDenied(_("This report cannot be followed."))
    _follow, created = Follow.objects.get_or_create(report=report, user=user)
    return created


def report_unfollow(*, user: User, report: Report) -> None:
    Follow.objects.filter(report=report, user=user).delete()


# --- Periodic jobs -----------------------------------------------------------------------


def reports_close_unrated(*, now: datetime.datetime | None = None) -> int:
    """Close results that the resident did not rate within the rating window."""
    now = _now(now)
    cutoff = now - deadlines.rating_window()
    closed = 0
    for pk in Report.objects.filter(status=Status.RESOLVED, resolved_at__lt=cutoff).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            report = Report.objects.select_for_update().get(pk=pk)
            if report.status != Status.RESOLVED:
                continue
            transition(report, E.CLOSED, actor=None, now=now, data={"unrated": True})
            report.closed_at = now
            report.save()
            closed += 1
    return closed


def reports_escalate(*, now: datetime.datetime | None = None) -> int:
    """Tell the agency's leads and the hub about deadlines that are near (level 1) or
    passed (level 2), once per level and deadline; recorded on the timeline."""
    now = _now(now)
    soon = deadlines.due_soon_threshold(now)
    candidates = Report.objects.filter(
        status__in=[Status.ASSIGNED, Status.IN_PROGRESS], escalation_level__lt=2
    ).filter(running_deadline_before(soon, inclusive=True))
    sent = 0
    for pk in candidates.values_list("pk", flat=True):
        with transaction.atomic():
            report = _locked(Report(pk=pk))
            due = report.due_at()
            if due is None:
                continue
            level = 2 if now > due else 1 if due <= soon else 0
            if level <= report.escalation_level:
                continue
            which = "accept" if report.status == Status.ASSIGNED else "resolve"
            event = transition(
                report,
                E.ESCALATED,
                actor=None,
                now=now,
                data={"level": level, "deadline": which, "due": due.isoformat()},
                is_public=False,
            )
            report.escalation_level = level
            report.save(update_fields=["escalation_level"])
            leads = User.objects.filter(
                memberships__agency=report.agency,
                memberships__role=Membership.Role.LEAD,
                is_active=True,
            )
            template = (
                gettext_noop("Overdue: %(title)s")
                if level == 2
                else gettext_noop("Deadline near: %(title)s")
            )
            _tell_staff([*leads, *_hub_operators()], report, event, template)
            sent += 1
    return sent


# --- Who hears of what -------------------------------------------------------------------

RESIDENT_NEWS: dict[str, str] = {
    E.SUBMITTED: gettext_noop("Your report was received."),
    E.ROUTED: gettext_noop("Your report was forwarded to %(agency)s."),
    E.ACCEPTED: gettext_noop("%(agency)s is handling your report."),
    E.INFO_REQUESTED: gettext_noop("More information is needed about your report."),
    E.RESOLVED: gettext_noop("Your report was handled. Please rate the result."),
    E.TRANSFERRED: gettext_noop("Your report was transferred to %(agency)s."),
    E.REJECTED: gettext_noop("Your report was rejected."),
    E.MERGED: gettext_noop("Your report was merged into a report about the same problem."),
    E.REOPENED: gettext_noop("Your report was reopened."),
}


def _tell_people(
    report: Report,
    event: ReportEvent,
    *,
    followers: bool = True,
    out: list[Message] | None = None,
) -> None:
    """The reporter and the followers hear of each status change they should know about;
    the dedupe key makes a retried change notify nobody twice. Accounts keep no language
    yet, so messages are written in the city's language (LANGUAGE_CODE). With ``out``, the
    messages are added to it for the caller to write, instead of written now."""
    template = RESIDENT_NEWS.get(event.kind)
    if template is None:
        return
    recipients = [report.reporter]
    if followers:
        recipients += [f.user for f in report.follows.select_related("user")]
    link = reverse("feedback:detail", args=[report.public_id])
    agency = report.agency.name if report.agency else ""
    # The receipt of a submission goes to the inbox only (no SMS for what the resident just
    # did); other news is not sent to the person who caused it.
    receipt = event.kind == E.SUBMITTED
    with override(settings.LANGUAGE_CODE):
        body = _(template) % {"agency": agency}
    messages = [
        Message(
            recipients=[person],
            kind=f"report.{event.kind}",
            title=report.title,
            body=body,
            link=link,
            dedupe_key=f"report-event:{event.pk}:{person.pk}",
            channels=() if receipt else ("email", "sms"),
        )
        for person in dict.fromkeys(recipients)
        if (person.pk != event.actor_id or receipt) and person.is_active
    ]
    if out is not None:
        out.extend(messages)
    else:
        notify_all(messages)


def _hub_operators() -> list[User]:
    return list(User.objects.filter(role=Role.HUB_OPERATOR, is_active=True))


def _city_text(template: str, report: Report) -> str:
    """Staff notifications are written in the city's language, whoever acted."""
    with override(settings.LANGUAGE_CODE):
        return (_(template) % {"title": report.title})[:200]


def _tell_staff(
    people: Iterable[User],
    report: Report,
    event: ReportEvent,
    template: str,
    *,
    out: list[Message] | None = None,
) -> None:
    """E-mail and inbox for staff; keyed by the event, so a retried job tells nobody twice.
    With ``out``, the message is added to it instead of written now."""
    message = Message(
        recipients=[person for person in people if person.pk != event.actor_id],
        kind=f"report.staff.{event.kind}",
        title=_city_text(template, report),
        body=report.title,
        link=reverse("feedback:staff_detail", args=[report.pk]),
        dedupe_key=f"report-event:{event.pk}:staff",
        channels=("email",),
    )
    if out is not None:
        out.append(message)
    else:
        notify_all([message])


def _tell_hub(
    report: Report, event: ReportEvent, template: str, *, out: list[Message] | None = None
) -> None:
    _tell_staff(_hub_operators(), report, event, template, out=out)


def _tell_agency(
    report: Report, event: ReportEvent, template: str, *, out: list[Message] | None = None
) -> None:
    members = User.objects.filter(memberships__agency=report.agency, is_active=True)
    _tell_staff(members, report, event, template, out=out)
