"""Administrative units (province, district, ward/commune) with their history.

Since 2025-07-01 Hanoi has two levels: the city and 126 wards/communes. The 30 districts
and their wards before that date are kept (``valid_until`` set) together with the official
conversion, so that an old address or an old report maps onto today's unit. Official codes
are reused across eras (new ward 00004 "Ba Đình" took the code of old ward 00004 "Trúc
Bạch"), so a code is unique only together with its level and the date it came into force.
"""

from __future__ import annotations

import datetime

from django.db import models
from django.utils.translation import gettext_lazy as _

REFORM_2025 = datetime.date(2025, 7, 1)


class AdministrativeUnit(models.Model):
    class Level(models.TextChoices):
        PROVINCE = "province", _("Province/city")
        DISTRICT = "district", _("District")
        WARD = "ward", _("Ward/commune")

    class BoundarySource(models.TextChoices):
        NONE = "", _("No boundary")
        OFFICIAL = "official", _("Official boundary")
        APPROXIMATE = "approximate", _("Approximate boundary")

    code = models.CharField(_("code"), max_length=10, db_index=True)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    name = models.CharField(_("full name"), max_length=120)
    short_name = models.CharField(_("name"), max_length=100)
    # Latin-letter form without tone marks, for search typed without diacritics ("hoan kiem").
    name_ascii = models.CharField(max_length=120, db_index=True)
    unit_type = models.CharField(_("unit type"), max_length=20)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    valid_from = models.DateField(_("in force from"), null=True, blank=True)
    valid_until = models.DateField(_("in force until"), null=True, blank=True)
    centre_lat = models.FloatField(_("centre latitude"), null=True, blank=True)
    centre_lon = models.FloatField(_("centre longitude"), null=True, blank=True)
    area_km2 = models.FloatField(_("area (km²)"), null=True, blank=True)
    boundary = models.JSONField(_("boundary (GeoJSON)"), null=True, blank=True)
    boundary_source = models.CharField(
        _("boundary source"),
        max_length=12,
        choices=BoundarySource.choices,
        default=BoundarySource.NONE,
        blank=True,
    )
    # Bumped on every boundary write. Each process caches its point→ward index and compares
    # the sum of these (with count and max id) to notice boundaries changed by another
    # process; a counter, unlike a timestamp, cannot be fooled by clocks that disagree.
    boundary_revision = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("administrative unit")
        verbose_name_plural = _("administrative unit")
        ordering = ["level", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["level", "code", "valid_from"], name="unique_unit_code_per_era"
            ),
            # NULLs are distinct in a unique index: units with no known start date (those
            # before 2025) need their own rule, or two concurrent loads could duplicate them.
            models.UniqueConstraint(
                fields=["level", "code"],
                condition=models.Q(valid_from__isnull=True),
                name="unique_unit_code_undated",
            ),
        ]
        indexes = [models.Index(fields=["level", "valid_until"], name="unit_level_current")]

    def __str__(self) -> str:
        return self.name

    def is_current(self, on: datetime.date | None = None) -> bool:
        on = on or datetime.date.today()
        started = self.valid_from is None or self.valid_from <= on
        return started and (self.valid_until is None or on < self.valid_until)


class UnitSuccession(models.Model):
    """One row of the official old→new conversion: part or all of ``old`` became ``new``."""

    old = models.ForeignKey(AdministrativeUnit, on_delete=models.CASCADE, related_name="successors")
    new = models.ForeignKey(
        AdministrativeUnit, on_delete=models.CASCADE, related_name="predecessors"
    )
    effective_date = models.DateField(default=REFORM_2025)
    # The old unit was split across several new ones; only part of it went to ``new``.
    is_partial = models.BooleanField(default=False)
    # Where a split unit's old address cannot be placed more precisely, it maps here.
    is_default = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("unit succession")
        verbose_name_plural = _("unit succession")
        constraints = [
            models.UniqueConstraint(fields=["old", "new"], name="unique_succession"),
        ]

    def __str__(self) -> str:
        return f"{self.old} → {self.new}"
