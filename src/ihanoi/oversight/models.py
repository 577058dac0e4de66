"""Oversight roll-ups: what the statistics pages read instead of the reports and events.

Three layers, all derived from ``feedback.ReportEvent`` by ``services.rollup_run`` (see
docs/oversight.md for the definition of every number):

- ``Fact``: one row per countable thing an event decided (an agency received an item, an
  accept deadline was met or missed, a result was rated...). The drill-down lists read it;
  every counter below is a sum of facts, so every number can show the items behind it.
- ``DailyStat``: counters per local day × agency × category × ward × severity, with
  duration histograms for the medians; the filtered views read it.
- ``AgencyDay`` and ``AgencyMonth``: the same counters per local day (calendar month) ×
  agency only; the unfiltered dashboard reads them (a month is ~150 rows, whatever the
  number of reports; other periods add the days outside whole months).

``RollupState`` is the watermark: the last event id folded into the tables.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ihanoi.agencies.models import Agency
from ihanoi.feedback.models import Category, Report, ReportEvent, Severity
from ihanoi.places.models import AdministrativeUnit


class RollupState(models.Model):
    """A single row (pk=1): how far the roll-ups have read the event table."""

    last_event_id = models.BigIntegerField(default=0)
    # Event ids below the watermark that were missing when it passed them: a transaction
    # that had taken its id but not committed yet. [[id, first seen (ISO)], ...]; rechecked
    # on every run and forgotten after ``GAP_TIMEOUT`` (a rolled-back insert leaves a hole).
    pending_gaps = models.JSONField(default=list, blank=True)
    events_processed = models.BigIntegerField(default=0)
    last_run_at = models.DateTimeField(null=True, blank=True)
    # When the newest event folded in happened: the page shows the roll-ups' lag with it.
    last_event_at = models.DateTimeField(null=True, blank=True)
    rebuilt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("roll-up state")
        verbose_name_plural = _("roll-up state")

    def __str__(self) -> str:
        return f"events ≤ {self.last_event_id}"


class FactKind(models.TextChoices):
    SUBMIT = "submit", _("Submitted")
    RECEIVE = "receive", _("Received by the agency")
    ACCEPT = "accept", _("Accept deadline decided")
    RESOLVE = "resolve", _("Resolve deadline decided")
    TRANSFER_OUT = "transfer_out", _("Transferred to another agency")
    RETURN = "return", _("Returned to the hub")
    REJECT = "reject", _("Rejected")
    MERGE = "merge", _("Merged as a duplicate")
    EXTENSION = "extension", _("Extension approved")
    RATING = "rating", _("Rating decided")
    REOPEN = "reopen", _("Reopened")


class RatingOutcome(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied")
    ACCEPTABLE = "acceptable", _("Acceptable")
    NOT_SATISFIED = "not_satisfied", _("Not satisfied")
    UNRATED = "unrated", _("Not rated in time")


class Fact(models.Model):
    """What one event decided for one agency, on the local day of the event."""

    # Roll-up tables are derived data, written in bulk by one writer under a lock: their
    # foreign keys are not enforced by the database (db_constraint=False), which makes a
    # rebuild several times faster; deleting a report still cascades through the ORM.
    event = models.ForeignKey(
        ReportEvent, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    report = models.ForeignKey(
        Report, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    kind = models.CharField(max_length=12, choices=FactKind.choices)
    at = models.DateTimeField()
    day = models.DateField()  # local (Asia/Ho_Chi_Minh) date of ``at``
    # The agency it counts for; none for what happens at the hub's queue (submission,
    # rejection, a merge before routing).
    agency = models.ForeignKey(
        Agency,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,  # (agency, kind, day) serves it
    )
    # The report's classification when the event happened (a later reclassification does
    # not move what was already counted).
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    ward = models.ForeignKey(
        AdministrativeUnit,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    severity = models.CharField(max_length=10, choices=Severity.choices)
    # ACCEPT / RESOLVE: met the deadline in force; done = accepted/resolved (False: the item
    # left the agency after its deadline without it).
    on_time = models.BooleanField(null=True, blank=True)
    done = models.BooleanField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    # RECEIVE: arrived by a transfer from another agency (not by routing).
    via_transfer = models.BooleanField(default=False)
    rating = models.CharField(max_length=16, choices=RatingOutcome.choices, blank=True)
    # ACCEPT / RESOLVE when done: the time it took (working time on the city's calendar,
    # and calendar time), in seconds.
    work_seconds = models.BigIntegerField(null=True, blank=True)
    calendar_seconds = models.BigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("fact")
        verbose_name_plural = _("facts")
        constraints = [
            # One fact of a kind per event: a second run over the same event cannot add one.
            models.UniqueConstraint(fields=["event", "kind"], name="oversight_fact_once"),
        ]
        indexes = [
            models.Index(fields=["agency", "kind", "day"], name="oversight_fact_agency"),
            models.Index(fields=["kind", "day"], name="oversight_fact_kind_day"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.report_id} {self.day}"


class Counters(models.Model):
    """The counters and duration histograms shared by both roll-up tables.

    Histograms map a bucket index to a count (``metrics.bucket_of``): bucket 0 holds
    durations under a second, bucket b ≥ 1 those in [1.02^(b-1), 1.02^b) seconds, so a
    median read from them is within ±1% of the exact one."""

    submitted = models.PositiveIntegerField(default=0)
    received = models.PositiveIntegerField(default=0)
    received_by_transfer = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    accept_decided = models.PositiveIntegerField(default=0)
    accept_on_time = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    resolve_decided = models.PositiveIntegerField(default=0)
    resolve_on_time = models.PositiveIntegerField(default=0)
    transferred_out = models.PositiveIntegerField(default=0)
    returned = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    merged = models.PositiveIntegerField(default=0)
    extensions = models.PositiveIntegerField(default=0)
    rated = models.PositiveIntegerField(default=0)
    satisfied = models.PositiveIntegerField(default=0)
    acceptable = models.PositiveIntegerField(default=0)
    not_satisfied = models.PositiveIntegerField(default=0)
    closed_unrated = models.PositiveIntegerField(default=0)
    reopened = models.PositiveIntegerField(default=0)
    accept_work = models.JSONField(default=dict, blank=True)
    accept_calendar = models.JSONField(default=dict, blank=True)
    resolve_work = models.JSONField(default=dict, blank=True)
    resolve_calendar = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True


class DailyStat(Counters):
    day = models.DateField()
    agency = models.ForeignKey(
        Agency,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    ward = models.ForeignKey(
        AdministrativeUnit,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    severity = models.CharField(max_length=10, choices=Severity.choices)

    class Meta:
        verbose_name = _("daily statistic")
        verbose_name_plural = _("daily statistics")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "agency", "category", "ward", "severity"],
                condition=models.Q(agency__isnull=False),
                name="oversight_dailystat_key",
            ),
            models.UniqueConstraint(
                fields=["day", "category", "ward", "severity"],
                condition=models.Q(agency__isnull=True),
                name="oversight_dailystat_key_hub",
            ),
        ]
        indexes = [
            models.Index(fields=["day", "agency"], name="oversight_dailystat_day"),
            models.Index(fields=["category", "day"], name="oversight_dailystat_cat"),
            models.Index(fields=["ward", "day"], name="oversight_dailystat_ward"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.agency_id} {self.category_id} {self.ward_id} {self.severity}"


class AgencyDay(Counters):
    day = models.DateField()
    agency = models.ForeignKey(
        Agency,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )

    class Meta:
        verbose_name = _("agency day")
        verbose_name_plural = _("agency days")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "agency"],
                condition=models.Q(agency__isnull=False),
                name="oversight_agencyday_key",
            ),
            models.UniqueConstraint(
                fields=["day"],
                condition=models.Q(agency__isnull=True),
                name="oversight_agencyday_key_hub",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.agency_id}"


class AgencyMonth(Counters):
    """The same counters per calendar month × agency: a month's dashboard reads one row per
    agency, and merges one histogram per agency instead of thirty."""

    month = models.DateField()  # the first day of the month
    agency = models.ForeignKey(
        Agency,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )

    class Meta:
        verbose_name = _("agency month")
        verbose_name_plural = _("agency months")
        constraints = [
            models.UniqueConstraint(
                fields=["month", "agency"],
                condition=models.Q(agency__isnull=False),
                name="oversight_agencymonth_key",
            ),
            models.UniqueConstraint(
                fields=["month"],
                condition=models.Q(agency__isnull=True),
                name="oversight_agencymonth_key_hub",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.agency_id}"


class CellDay(models.Model):
    """Reports submitted per local day, H3 cell (resolution ``CELL_RESOLUTION``) and
    category: the hexagon map."""

    day = models.DateField()
    cell = models.CharField(max_length=16)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    submitted = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "cell", "category"], name="oversight_cellday_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.cell} {self.submitted}"


class ResidentFirstReport(models.Model):
    """The ward of a resident's first report: accounts carry no ward, so adoption by ward
    counts a resident where they first reported (docs/oversight.md, Adoption)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,  # derived data, like the roll-ups (see Fact)
    )
    ward = models.ForeignKey(
        AdministrativeUnit, on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    first_report_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.user_id} {self.ward_id}"


class WardPopulation(models.Model):
    """A ward's population, entered by an administrator, for the adoption share."""

    ward = models.OneToOneField(
        AdministrativeUnit,
        verbose_name=_("ward/commune"),
        on_delete=models.CASCADE,
        related_name="+",
        limit_choices_to={"level": "ward", "valid_until__isnull": True},
    )
    population = models.PositiveIntegerField(_("population"))
    year = models.PositiveSmallIntegerField(_("year of the figure"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("ward population")
        verbose_name_plural = _("ward populations")

    def __str__(self) -> str:
        return f"{self.ward} {self.population}"


def _export_path(instance: ExportJob, filename: str) -> str:
    return f"oversight/exports/{instance.token}/{filename}"


class ExportJob(models.Model):
    """A long export (item lists, monthly PDF) prepared by the task worker."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting")
        RUNNING = "running", _("Preparing")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")

    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=20)
    fmt = models.CharField(_("format"), max_length=8)
    params = models.JSONField(default=dict, blank=True)
    title = models.CharField(_("title"), max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    file = models.FileField(upload_to=_export_path, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind}.{self.fmt} ({self.status})"
