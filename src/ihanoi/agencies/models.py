"""Agencies that receive feedback: the hub, city departments, ward/commune People's
Committees, utility companies, police. Staff belong to agencies through memberships."""

from __future__ import annotations

import re

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ihanoi.places.models import AdministrativeUnit


class Agency(models.Model):
    class Kind(models.TextChoices):
        HUB = "hub", _("Receiving hub")
        DEPARTMENT = "department", _("City department")
        WARD_COMMITTEE = "ward_committee", _("Ward/commune People's Committee")
        UTILITY = "utility", _("Utility company")
        POLICE = "police", _("Police")
        OTHER = "other", _("Other")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    short_name = models.CharField(_("short name"), max_length=60, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent agency"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    address = models.CharField(_("address"), max_length=255, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    website = models.URLField(_("website"), blank=True)
    hours = models.CharField(_("office hours"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # The area it serves: one ward for a People's Committee; several, or the whole city
    # (``serves_whole_city``), for departments and utilities.
    serves_whole_city = models.BooleanField(_("serves the whole city"), default=False)
    served_units = models.ManyToManyField(
        AdministrativeUnit,
        verbose_name=_("area served"),
        blank=True,
        related_name="serving_agencies",
    )
    # Folded names (no tone marks, lower case) for search typed without diacritics. Written
    # by the services that write names (``agency_save``, ``agencies_seed``), never by save().
    search_key = models.CharField(max_length=600, blank=True, editable=False)

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agency")
        ordering = ["kind", "name"]
        indexes = [models.Index(fields=["kind", "is_active"], name="agency_kind_active")]
        constraints = [
            # Routing falls back to "the hub's triage queue": there must be only one.
            models.UniqueConstraint(
                fields=["kind"],
                condition=models.Q(kind="hub"),
                name="agency_single_hub",
                violation_error_message=_("There is already a receiving hub."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def phone_tel_uri(self) -> str:
        """``tel:`` link for the number at the start of ``phone`` ("024 1022" → "tel:0241022");
        empty when the field does not start with a dialable number."""
        match = _DIALABLE.match(self.phone.strip())
        if not match:
            return ""
        digits = re.sub(r"[^\d+]", "", match.group(0))
        return f"tel:{digits}" if len(digits.lstrip("+")) >= 3 else ""


# A leading run of digits with the separators people write between them.
_DIALABLE = re.compile(r"\+?\d[\d .\-]*")


class Membership(models.Model):
    """A staff member's place in an agency. Leads get escalations and approve extensions."""

    class Role(models.TextChoices):
        OFFICER = "officer", _("Agency officer")
        LEAD = "lead", _("Lead")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)
    # A designated lead contact is the one named on escalations and in the directory.
    is_lead_contact = models.BooleanField(_("lead contact"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("agency membership")
        verbose_name_plural = _("agency membership")
        constraints = [
            models.UniqueConstraint(fields=["user", "agency"], name="unique_membership"),
            # Escalations name one person; the services keep it so, the database makes sure.
            models.UniqueConstraint(
                fields=["agency"],
                condition=models.Q(is_lead_contact=True),
                name="one_lead_contact_per_agency",
                violation_error_message=_("This agency already has a lead contact."),
            ),
            models.CheckConstraint(
                condition=models.Q(is_lead_contact=False) | models.Q(role="lead"),
                name="lead_contact_is_lead",
                violation_error_message=_("Only a lead can be the lead contact."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.agency} ({self.role})"
