"""Writes for the Open311 server: API keys, requests sent by clients, their updates.

Decisions (docs/api.md, "Open311 GeoReport v2", says the same for integrators):

- Title: Open311 has none; ours is the first line of the description, cut to 80
  characters at a word. A request without a description gets the service's name as both.
- Reporter: a request's ``phone`` (a Vietnamese number) finds or creates that resident; else
  its ``email`` does; else the report belongs to the client's own account (one per key,
  inactive: it cannot sign in and is told nothing). Staff accounts and deleted accounts
  are never matched: such a request also goes to the client's account. Contact details
  are never returned in any response.
- An update posted by a client is the reporter's own action only when the key that made
  the request posts it for the same person (same phone or e-mail, or both anonymous);
  then it answers an open question, accepts the result (CLOSED/FIXED on a resolved
  report) or says it is not fixed (REOPEN on a resolved report: a "not satisfied" rating,
  which the hub reviews). Anything else is a public comment on the timeline.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, override

from ihanoi.accounts.models import Role, User
from ihanoi.feedback import services as feedback_services
from ihanoi.feedback.models import Channel, Kind, RatingValue, Report, ReportEvent, Status
from ihanoi.feedback.models import EventKind as E
from ihanoi.feedback.reference import reference
from ihanoi.feedback.transitions import transition
from ihanoi.lib.phone import InvalidPhoneNumber, normalise_vn_phone
from ihanoi.lib.text import nfc
from ihanoi.notifications.services import notify_many

from . import selectors
from .models import (
    DEFAULT_REQUESTS_PER_MINUTE,
    ApiKey,
    ExternalMedia,
    Open311Request,
    Open311Update,
)

DESCRIPTION_MAX = 4000
TITLE_MAX = 80
MEDIA_MAX = 10
MEDIA_URL_MAX = 500
NAME_MAX = 150

# Statuses a client may send with an update (mySociety's extension, upper case).
CLIENT_STATUSES = (
    "OPEN",
    "CLOSED",
    "FIXED",
    "IN_PROGRESS",
    "ACTION_SCHEDULED",
    "INVESTIGATING",
    "DUPLICATE",
    "NOT_COUNCILS_RESPONSIBILITY",
    "NO_FURTHER_ACTION",
    "INTERNAL_REFERRAL",
    "REOPEN",
)
ACCEPTS_RESULT = ("CLOSED", "FIXED")
NOT_FIXED = ("REOPEN",)


class ServiceNotFound(Exception):
    """No active service (category) has this code."""


class RequestNotFound(Exception):
    """No request with this id that the caller may see."""


# --- API keys ----------------------------------------------------------------------------


def api_key_create(
    *, name: str, requests_per_minute: int = DEFAULT_REQUESTS_PER_MINUTE
) -> tuple[ApiKey, str]:
    """A new key and its raw value, which is shown once and never stored."""
    name = nfc(name or "").strip()
    if not name or len(name) > 120:
        raise ValidationError({"name": [_("Name the client (1 to 120 characters).")]})
    if not 1 <= requests_per_minute <= 100_000:
        raise ValidationError(
            {"requests_per_minute": [_("Allow 1 to 100000 requests per minute.")]}
        )
    secret = secrets.token_urlsafe(32)
    for _attempt in range(5):
        prefix = secrets.token_hex(4)
        try:
            with transaction.atomic():
                api_key = ApiKey.objects.create(
                    name=name,
                    prefix=prefix,
                    key_hash=selectors.key_digest(secret),
                    requests_per_minute=requests_per_minute,
                )
        except IntegrityError:
            continue  # a prefix already taken: draw another
        return api_key, f"{prefix}{selectors.KEY_SEPARATOR}{secret}"
    raise RuntimeError("Could not draw a free API key prefix.")


def api_key_revoke(*, api_key: ApiKey, now: datetime.datetime | None = None) -> ApiKey:
    """Refuse the key from now on (idempotent: a revoked key keeps its first date)."""
    if api_key.revoked_at is None:
        api_key.revoked_at = now or timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def _client_user(api_key: ApiKey) -> User:
    """The client's own account, made on first use."""
    if api_key.client_user_id is not None:
        assert api_key.client_user is not None
        return api_key.client_user
    with transaction.atomic():
        locked = ApiKey.objects.select_for_update().get(pk=api_key.pk)
        if locked.client_user is None:
            locked.client_user = User.objects.create_user(
                email=f"open311-{locked.prefix}@clients.invalid",
                full_name=f"Open311: {locked.name}"[:NAME_MAX],
                is_active=False,
            )
            locked.save(update_fields=["client_user"])
    api_key.client_user = locked.client_user
    api_key.client_user_id = locked.client_user_id
    assert locked.client_user is not None
    return locked.client_user


# --- Who sent it ------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """Who a client says sent the request or the update (never shown to anyone else)."""

    email: str = ""
    phone: str = ""
    first_name: str = ""
    last_name: str = ""

    def phone_e164(self) -> str | None:
        try:
            return normalise_vn_phone(self.phone) if self.phone else None
        except InvalidPhoneNumber:
            return None

    def clean_email(self) -> str | None:
        email = (self.email or "").strip()
        if not email or len(email) > 254:
            return None
        try:
            validate_email(email)
        except ValidationError:
            return None
        return User.objects.normalize_email(email)

    def full_name(self) -> str:
        return " ".join(nfc(f"{self.first_name} {self.last_name}").split())[:NAME_MAX]


def _usable_resident(user: User | None) -> User | None:
    if user is None or user.role != Role.RESIDENT or not user.is_active or user.anonymised_at:
        return None
    return user


def _known_resident(person: Person) -> tuple[User | None, bool]:
    """(the resident this person is, whether they named themselves at all)."""
    phone, email = person.phone_e164(), person.clean_email()
    if phone:
        return _usable_resident(User.objects.filter(phone=phone).first()), True
    if email:
        return _usable_resident(User.objects.filter(email__iexact=email).first()), True
    return None, False


def _reporter_for(api_key: ApiKey, person: Person) -> User:
    phone, email = person.phone_e164(), person.clean_email()
    if phone:
        user = User.objects.filter(phone=phone).first()
    elif email:
        user = User.objects.filter(email__iexact=email).first()
    else:
        return _client_user(api_key)
    if user is not None:
        return _usable_resident(user) or _client_user(api_key)
    if email and User.objects.filter(email__iexact=email).exists():
        email = None  # the address is someone else's account: keep only the phone
    try:
        with transaction.atomic():
            # Unverified: no SMS reaches this number until its owner verifies it.
            return User.objects.create_user(
                phone=phone, email=email, full_name=person.full_name(), phone_verified=False
            )
    except IntegrityError:
        # Another request made the same person a moment ago.
        user = User.objects.filter(phone=phone).first() if phone else None
        if user is None and email:
            user = User.objects.filter(email__iexact=email).first()
        return _usable_resident(user) or _client_user(api_key)


# --- POST requests ----------------------------------------------------------------------


@dataclass(frozen=True)
class RequestInput:
    service_code: str | None
    lat: str | None = None
    long: str | None = None
    address_string: str | None = None
    address_id: str | None = None
    description: str | None = None
    attributes: dict[str, list[str]] = field(default_factory=dict)
    media_urls: Sequence[str] = ()
    person: Person = field(default_factory=Person)
    idempotency_key: str = ""


def first_line_title(description: str, limit: int = TITLE_MAX) -> str:
    """The first non-empty line of the description, cut at a word before ``limit``."""
    line = next((ln for ln in description.splitlines() if ln.strip()), "")
    line = " ".join(line.split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + "…"


def _media_errors(urls: Sequence[str]) -> list[str]:
    if len(urls) > MEDIA_MAX:
        return [_("Send at most %(n)d media URLs.") % {"n": MEDIA_MAX}]
    check = URLValidator(schemes=["http", "https"])
    for url in urls:
        try:
            if len(url) > MEDIA_URL_MAX:
                raise ValidationError("too long")
            check(url)
        except ValidationError:
            return [
                _("Give http(s) addresses of at most %(n)d characters (got “%(url)s”).")
                % {"n": MEDIA_URL_MAX, "url": url[:60]}
            ]
    return []


# Our submission's error keys → the Open311 parameter a client has to fix.
_FIELD_NAMES = {
    "category": "service_code",
    "title": "description",
    "description": "description",
    "location": "lat/long",
    "address": "address_string",
    "client_key": "Idempotency-Key",
    "comment": "description",
    "answer": "description",
}


def _open311_errors(exc: ValidationError) -> ValidationError:
    if not hasattr(exc, "error_dict"):
        return exc
    errors: dict[str, list[str]] = {}
    for key, messages in exc.message_dict.items():
        if key.startswith("answer_"):
            name = f"attribute[{key.removeprefix('answer_')}]"
        elif key == "photos":
            name = "media_url"
            messages = [
                _("This service needs a photo of the problem: give its address in media_url.")
            ]
        else:
            name = _FIELD_NAMES.get(key, key)
        errors.setdefault(name, []).extend(messages)
    return ValidationError(errors)


def _location_errors(data: RequestInput) -> dict[str, list[str]]:
    if data.lat is not None and data.long is not None:
        return {}
    if data.lat is not None or data.long is not None:
        return {"lat/long": [_("Send both lat and long.")]}
    if data.address_string or data.address_id:
        name = "address_string" if data.address_string else "address_id"
        return {
            name: [
                _(
                    "This server routes a request by its point and cannot place an address "
                    "alone: send lat and long (WGS84) as well."
                )
            ]
        }
    return {"lat/long": [_("Send the location: lat and long.")]}


def open311_request_submit(
    *, api_key: ApiKey, data: RequestInput, now: datetime.datetime | None = None
) -> tuple[Report, bool]:
    """Create the report for a client's POST requests; (report, created).

    A retry with the same ``Idempotency-Key`` returns the report made the first time.
    ValidationError is keyed by Open311 parameter; ServiceNotFound for an unknown code."""
    if not data.service_code:
        raise ValidationError({"service_code": [_("Send the service_code of a service.")]})
    category = selectors.service(data.service_code)
    if category is None:
        raise ServiceNotFound(data.service_code)
    errors = _location_errors(data)
    description = nfc(data.description or "").strip()
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = [
            _("The description is too long (at most %(n)d characters).") % {"n": DESCRIPTION_MAX}
        ]
    media_errors = _media_errors(data.media_urls)
    if media_errors:
        errors["media_url"] = media_errors
    client_key = ""
    if data.idempotency_key:
        client_key = f"o311:{api_key.prefix}:{data.idempotency_key}"
        if len(client_key) > feedback_services.CLIENT_KEY_MAX:
            errors["Idempotency-Key"] = [_("The idempotency key is too long.")]
    if errors:
        raise ValidationError(errors)
    if not description:
        description = category.name
    submission = feedback_services.Submission(
        kind=Kind.FIELD,
        category_code=category.code,
        title=first_line_title(description),
        description=description,
        lat=data.lat,
        lon=data.long,
        address=nfc(data.address_string or ""),
        answers=data.attributes,
        client_key=client_key,
        channel=Channel.OPEN311,
        media_urls=tuple(data.media_urls),
    )
    # The submissions' reference snapshot is kept only when read outside a transaction.
    reference()
    try:
        with transaction.atomic():
            reporter = _reporter_for(api_key, data.person)
            report, created = feedback_services.report_submit(
                reporter=reporter, submission=submission, now=now
            )
            if created:
                Open311Request.objects.create(
                    report=report, api_key=api_key, token=secrets.token_urlsafe(24)
                )
                ExternalMedia.objects.bulk_create(
                    ExternalMedia(report=report, url=url, position=position)
                    for position, url in enumerate(data.media_urls)
                )
    except ValidationError as exc:
        raise _open311_errors(exc) from None
    return report, created


# --- POST servicerequestupdates ---------------------------------------------------------


@dataclass(frozen=True)
class UpdateInput:
    service_request_id: str | None
    status: str | None = None
    description: str | None = None
    updated_datetime: datetime.datetime | None = None
    media_urls: Sequence[str] = ()
    client_update_id: str = ""
    person: Person = field(default_factory=Person)


def _tell_staff(report: Report, event: ReportEvent, template: str) -> None:
    """The agency handling the report (the hub while none does) hears of what came in."""
    if report.agency_id:
        people = User.objects.filter(memberships__agency_id=report.agency_id, is_active=True)
    else:
        people = User.objects.filter(role=Role.HUB_OPERATOR, is_active=True)
    with override(settings.LANGUAGE_CODE):
        title = _(template) % {"title": report.title}
    notify_many(
        recipients=list(people.distinct()),
        kind=f"report.staff.{event.kind}",
        title=title,
        body=event.note or report.title,
        link=reverse("feedback:staff_detail", args=[report.pk]),
        dedupe_key=f"report-event:{event.pk}:staff",
        channels=("email",),
    )


def _speaks_for_reporter(api_key: ApiKey, report: Report, person: Person) -> bool:
    """Whether this update is the reporter's own: the key that created the request sends
    it, for the same resident (or, for a request with nobody named, with nobody named)."""
    created_by = Open311Request.objects.filter(report=report).values_list("api_key_id", flat=True)
    if list(created_by) != [api_key.pk]:
        return False
    resident, named = _known_resident(person)
    if not named:
        return report.reporter_id == api_key.client_user_id
    return resident is not None and resident.pk == report.reporter_id


def _validate_update(data: UpdateInput) -> tuple[str, str]:
    errors: dict[str, list[str]] = {}
    if not data.service_request_id:
        errors["service_request_id"] = [_("Send the service_request_id of the request.")]
    status = (data.status or "").strip().upper().replace(" ", "_")
    if status and status not in CLIENT_STATUSES:
        errors["status"] = [_("Use one of: %(values)s.") % {"values": ", ".join(CLIENT_STATUSES)}]
    description = nfc(data.description or "").strip()
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = [
            _("The description is too long (at most %(n)d characters).") % {"n": DESCRIPTION_MAX}
        ]
    if len(data.client_update_id) > 64:
        errors["update_id"] = [_("The update id is too long (at most 64 characters).")]
    media_errors = _media_errors(data.media_urls)
    if media_errors:
        errors["media_url"] = media_errors
    if errors:
        raise ValidationError(errors)
    return status, description


def open311_update_post(
    *, api_key: ApiKey, data: UpdateInput, now: datetime.datetime | None = None
) -> ReportEvent:
    """Record an update a client sends (mySociety's POST servicerequestupdates) on the
    report's timeline, in one transaction with what it causes; returns the event.

    A retry with the same ``update_id`` returns the event recorded the first time."""
    status, description = _validate_update(data)
    assert data.service_request_id is not None
    if data.client_update_id:
        earlier = (
            Open311Update.objects.select_related("event", "event__report")
            .filter(api_key=api_key, client_update_id=data.client_update_id)
            .first()
        )
        if earlier is not None:
            return earlier.event
    found = selectors.request_get(api_key=api_key, request_id=data.service_request_id)
    if found is None:
        raise RequestNotFound(data.service_request_id)
    now = now or timezone.now()
    trace: dict[str, Any] = {"open311": {"client": api_key.prefix, "status": status}}
    if data.updated_datetime is not None:
        trace["open311"]["updated_datetime"] = data.updated_datetime.isoformat()
    try:
        with transaction.atomic():
            # of=("self",): PostgreSQL cannot lock the nullable side of the agency join.
            report = (
                Report.objects.select_for_update(of=("self",))
                .select_related("agency")
                .get(pk=found.pk)
            )
            own = _speaks_for_reporter(api_key, report, data.person)
            event = _apply_update(api_key, report, own, status, description, trace, now)
            Open311Update.objects.create(
                event=event,
                api_key=api_key,
                client_update_id=data.client_update_id,
                status=status,
                created_at=now,
            )
            ExternalMedia.objects.bulk_create(
                ExternalMedia(report=report, event=event, url=url, position=position)
                for position, url in enumerate(data.media_urls)
            )
    except IntegrityError:
        # The same update_id raced in twice; the first one was kept.
        earlier = Open311Update.objects.filter(
            api_key=api_key, client_update_id=data.client_update_id
        ).first()
        if data.client_update_id and earlier is not None:
            return earlier.event
        raise
    except ValidationError as exc:
        raise _open311_errors(exc) from None
    return event


def _apply_update(
    api_key: ApiKey,
    report: Report,
    own: bool,
    status: str,
    description: str,
    trace: dict[str, Any],
    now: datetime.datetime,
) -> ReportEvent:
    if own and report.info_requested and report.is_open() and description:
        event = transition(
            report, E.INFO_PROVIDED, actor=report.reporter, now=now, note=description, data=trace
        )
        report.info_requested = False
        report.save()
        _tell_staff(report, event, gettext_noop("The resident answered: %(title)s"))
        return event
    if own and report.status == Status.RESOLVED and status in ACCEPTS_RESULT:
        # The resident accepts the result without rating it (as when the window passes).
        event = transition(
            report, E.CLOSED, actor=report.reporter, now=now, note=description, data=trace
        )
        report.closed_at = now
        report.save()
        return event
    if own and report.status == Status.RESOLVED and status in NOT_FIXED:
        feedback_services.rating_submit(
            actor=report.reporter,
            report=report,
            value=RatingValue.NOT_SATISFIED,
            comment=description,
            now=now,
        )
        return report.events.filter(kind=E.RATED).latest("created_at", "id")
    if not description:
        raise ValidationError({"description": [_("Give the text of the update.")]})
    actor = report.reporter if own else _client_user(api_key)
    event = transition(report, E.COMMENT, actor=actor, now=now, note=description, data=trace)
    _tell_staff(report, event, gettext_noop("An Open311 client commented: %(title)s"))
    return event
