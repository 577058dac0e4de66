"""Feedback reports, their categories and routing rules, and the timeline.

The event table is the timeline, the audit trail and the source of every statistic: a
report's columns (status, agency, deadlines) are the current state, derived by the services
in ``transitions.py`` that append an event for every action. "Overdue" is not a status; it is
computed from the deadlines (``Report.is_overdue``).
"""

from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ihanoi.agencies.models import Agency
from ihanoi.places.models import AdministrativeUnit

from .ordering import LIST_INDEXES

# H3 resolution of ``Report.h3_cell``: ~0.1 km² cells, for "nearby" and heat maps.
H3_RESOLUTION = 9


class Severity(models.TextChoices):
    URGENT = "urgent", _("Urgent")
    NORMAL = "normal", _("Normal")
    COMPLEX = "complex", _("Complex")


class Kind(models.TextChoices):
    FIELD = "field", _("Field feedback")
    PROCEDURE = "procedure", _("Feedback on administrative procedures")
    WASTE = "waste", _("Wasteful behaviour")
    INITIATIVE = "initiative", _("Initiative for the capital")


class Status(models.TextChoices):
    # Labels are the words iHaNoi shows residents (translated in locale/vi).
    SUBMITTED = "submitted", _("Awaiting reception")
    ASSIGNED = "assigned", _("Awaiting handling")
    IN_PROGRESS = "in_progress", _("In progress")
    RESOLVED = "resolved", _("Handled")
    CLOSED = "closed", _("Completed")
    REJECTED = "rejected", _("Rejected")


OPEN_STATUSES = (Status.SUBMITTED, Status.ASSIGNED, Status.IN_PROGRESS)


class Channel(models.TextChoices):
    WEB = "web", _("Website")
    APP = "app", _("Mobile app")
    OPEN311 = "open311", _("Open311 client")
    HOTLINE = "hotline", _("Hotline")


class RatingValue(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied")
    ACCEPTABLE = "acceptable", _("Acceptable")
    NOT_SATISFIED = "not_satisfied", _("Not satisfied")


class CategoryGroup(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    name_en = models.CharField(_("English name"), max_length=120, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("category group")
        verbose_name_plural = _("category groups")
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    """A field (lĩnh vực) of feedback; published to Open311 clients as a service."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    group = models.ForeignKey(
        CategoryGroup, verbose_name=_("group"), on_delete=models.PROTECT, related_name="categories"
    )
    name = models.CharField(_("name"), max_length=120)
    name_en = models.CharField(_("English name"), max_length=120, blank=True)
    description = models.TextField(_("description"), blank=True)
    keywords = models.CharField(_("keywords"), max_length=255, blank=True)
    default_severity = models.CharField(
        _("default severity"), max_length=10, choices=Severity.choices, default=Severity.NORMAL
    )
    is_public = models.BooleanField(
        _("public"), default=True, help_text=_("Reports of a private category are never published.")
    )
    photo_required = models.BooleanField(_("photo required to submit"), default=False)
    evidence_required = models.BooleanField(_("evidence photo required to resolve"), default=True)
    # Time limits; empty means the city-wide default (DESIGN §2).
    accept_hours = models.PositiveSmallIntegerField(_("hours to accept"), null=True, blank=True)
    urgent_resolve_hours = models.PositiveSmallIntegerField(
        _("hours to resolve (urgent)"), null=True, blank=True
    )
    normal_resolve_days = models.PositiveSmallIntegerField(
        _("working days to resolve (normal)"), null=True, blank=True
    )
    complex_resolve_days = models.PositiveSmallIntegerField(
        _("working days to resolve (complex)"), null=True, blank=True
    )
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Question(models.Model):
    """An extra question of a category (an Open311 attribute)."""

    class Datatype(models.TextChoices):
        STRING = "string", _("Short text")
        TEXT = "text", _("Long text")
        NUMBER = "number", _("Number")
        DATETIME = "datetime", _("Date")
        SINGLE = "singlevaluelist", _("Single choice")
        MULTI = "multivaluelist", _("Multiple choice")

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="questions")
    code = models.SlugField(_("code"), max_length=40)
    label = models.CharField(_("question"), max_length=255)
    label_en = models.CharField(_("English question"), max_length=255, blank=True)
    help_text = models.CharField(_("help text"), max_length=255, blank=True)
    datatype = models.CharField(_("type"), max_length=20, choices=Datatype.choices)
    required = models.BooleanField(_("required"), default=False)
    # [{"key": "...", "name": "...", "name_en": "..."}] for the choice types.
    choices = models.JSONField(_("choices"), default=list, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["category", "code"], name="unique_question_code"),
        ]

    def __str__(self) -> str:
        return self.label


class RoutingRule(models.Model):
    """Category × area → agency. The most specific active rule wins: category and ward,
    then category anywhere, then ward for any category; with none, the ward's People's
    Committee; two rules of the same rank naming different agencies send the report to the
    hub's triage queue."""

    category = models.ForeignKey(
        Category, verbose_name=_("category"), null=True, blank=True, on_delete=models.CASCADE
    )
    unit = models.ForeignKey(
        AdministrativeUnit,
        verbose_name=_("ward/commune"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        limit_choices_to={"level": "ward", "valid_until__isnull": True},
    )
    agency = models.ForeignKey(Agency, verbose_name=_("agency"), on_delete=models.CASCADE)
    is_active = models.BooleanField(_("active"), default=True)
    note = models.CharField(_("note"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(category__isnull=False) | models.Q(unit__isnull=False),
                name="routing_rule_names_category_or_unit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category or '*'} × {self.unit or '*'} → {self.agency}"


class RejectionReason(models.Model):
    """Templates the hub picks from when it rejects a report (free text may follow)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    text = models.CharField(_("text"), max_length=255)
    text_en = models.CharField(_("English text"), max_length=255, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("rejection reason")
        verbose_name_plural = _("rejection reasons")

    def __str__(self) -> str:
        return self.text


class Report(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.FIELD)
    category = models.ForeignKey(Category, verbose_name=_("category"), on_delete=models.PROTECT)
    title = models.CharField(_("title"), max_length=150)
    description = models.TextField(_("description"), max_length=4000)
    answers = models.JSONField(_("answers"), default=dict, blank=True)
    lat = models.FloatField(_("latitude"))
    lon = models.FloatField(_("longitude"))
    address = models.CharField(_("address"), max_length=255, blank=True)
    ward = models.ForeignKey(
        AdministrativeUnit, verbose_name=_("ward/commune"), on_delete=models.PROTECT
    )
    h3_cell = models.CharField(max_length=16, db_index=True)

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reports"
    )
    share_contact = models.BooleanField(
        _("share my contact details with the agency"), default=False
    )
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WEB)
    # A phone that retries the same submission sends the same key: one report.
    client_key = models.CharField(max_length=64, blank=True)

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SUBMITTED)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.NORMAL)
    agency = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="reports"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_reports",
    )
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates"
    )

    submitted_at = models.DateTimeField()
    assigned_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    accept_due_at = models.DateTimeField(null=True, blank=True)
    resolve_due_at = models.DateTimeField(null=True, blank=True)
    # Last escalation sent for the current deadline, so the scan does not repeat itself.
    escalation_level = models.PositiveSmallIntegerField(default=0)

    result_text = models.TextField(_("result"), blank=True, max_length=4000)
    rating = models.CharField(max_length=16, choices=RatingValue.choices, blank=True)
    rating_comment = models.TextField(blank=True, max_length=1000)
    rated_at = models.DateTimeField(null=True, blank=True)
    review_pending = models.BooleanField(default=False)
    info_requested = models.BooleanField(default=False)
    is_published = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        constraints = [
            models.UniqueConstraint(
                fields=["reporter", "client_key"],
                condition=~models.Q(client_key=""),
                name="unique_client_key_per_reporter",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "accept_due_at"], name="report_accept_due"),
            models.Index(fields=["status", "resolve_due_at"], name="report_resolve_due"),
            models.Index(fields=["category", "h3_cell", "status"], name="report_nearby"),
            *LIST_INDEXES,
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    def due_at(self) -> datetime.datetime | None:
        """The deadline that is running now, if any."""
        if self.status == Status.ASSIGNED:
            return self.accept_due_at
        if self.status == Status.IN_PROGRESS:
            return self.resolve_due_at
        return None

    def is_overdue(self, now: datetime.datetime) -> bool:
        due = self.due_at()
        return due is not None and now > due

    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


def running_deadline_before(moment: datetime.datetime, *, inclusive: bool = False) -> models.Q:
    """Reports whose running deadline (``Report.due_at``: the accept one while assigned, the
    resolve one after acceptance) falls before ``moment`` — the same fact as a query."""
    lookup = "lte" if inclusive else "lt"
    return models.Q(status=Status.ASSIGNED, **{f"accept_due_at__{lookup}": moment}) | models.Q(
        status=Status.IN_PROGRESS, **{f"resolve_due_at__{lookup}": moment}
    )


def _photo_path(instance: ReportPhoto, filename: str) -> str:
    return f"reports/{instance.report.public_id}/{filename}"


class ReportPhoto(models.Model):
    class Role(models.TextChoices):
        REPORT = "report", _("Photo of the problem")
        EVIDENCE = "evidence", _("Evidence of the result")
        INFO = "info", _("Additional information")

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="photos")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.REPORT)
    image = models.FileField(upload_to=_photo_path)
    thumbnail = models.FileField(upload_to=_photo_path)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    # Hidden by the hub (a face, a licence plate): kept for audit, never shown publicly.
    is_hidden = models.BooleanField(default=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.report_id} {self.role} {self.sha256[:8]}"


class EventKind(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    ROUTED = "routed", _("Forwarded to the agency")
    TRIAGE = "triage", _("Waiting for the hub's triage")
    CLASSIFIED = "classified", _("Classified")
    ACCEPTED = "accepted", _("Accepted")
    OFFICER_ASSIGNED = "officer_assigned", _("Officer assigned")
    INFO_REQUESTED = "info_requested", _("More information requested")
    INFO_PROVIDED = "info_provided", _("More information provided")
    RESOLVED = "resolved", _("Result posted")
    TRANSFERRED = "transferred", _("Transferred to another agency")
    RETURNED = "returned", _("Returned to the hub")
    EXTENSION_REQUESTED = "extension_requested", _("Extension requested")
    EXTENSION_APPROVED = "extension_approved", _("Extension approved")
    EXTENSION_REFUSED = "extension_refused", _("Extension refused")
    MERGED = "merged", _("Merged into another report")
    REJECTED = "rejected", _("Rejected")
    RATED = "rated", _("Rated")
    REOPENED = "reopened", _("Reopened")
    REVIEW_CLOSED = "review_closed", _("Review closed")
    CLOSED = "closed", _("Completed")
    ESCALATED = "escalated", _("Deadline reminder")
    COMMENT = "comment", _("Internal note")
    REDACTED = "redacted", _("Text or photos redacted")
    PUBLISHED = "published", _("Published")
    UNPUBLISHED = "unpublished", _("Hidden from the public")


class ReportEvent(models.Model):
    """Append-only: one row per action, never updated or deleted."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=24, choices=EventKind.choices)
    from_status = models.CharField(max_length=12, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=Status.choices, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The agency the report was with when the event happened (statistics per agency).
    agency = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True, max_length=4000)
    data = models.JSONField(default=dict, blank=True)
    is_public = models.BooleanField(default=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["report", "created_at"], name="event_report_time")]

    def __str__(self) -> str:
        return f"{self.report_id} {self.kind}"


class ResponseTemplate(models.Model):
    """Wording an agency reuses in its answers (no agency: offered to every agency)."""

    agency = models.ForeignKey(
        Agency, verbose_name=_("agency"), null=True, blank=True, on_delete=models.CASCADE
    )
    title = models.CharField(_("title"), max_length=120)
    text = models.TextField(_("text"), max_length=4000)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("response template")
        verbose_name_plural = _("response templates")
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class Follow(models.Model):
    """A resident who follows a report ("me too") hears of its status changes."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="follows")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["report", "user"], name="unique_follow"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} follows {self.report_id}"
