"""Open311 clients, what they created and the media addresses they sent.

An API key is shown once, when it is made: only its SHA-256 is stored (the secret part is
random and long, so a fast hash is enough; nothing can be guessed from it). The prefix,
stored in clear, finds the row without scanning every hash.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ihanoi.feedback.models import Report, ReportEvent

DEFAULT_REQUESTS_PER_MINUTE = 120


class ApiKey(models.Model):
    name = models.CharField(_("client name"), max_length=120)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    requests_per_minute = models.PositiveIntegerField(
        _("requests per minute"),
        default=DEFAULT_REQUESTS_PER_MINUTE,
        help_text=_("Calls made with this key beyond this number in one minute are refused."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    # The account that stands for the client when a request names no resident: it cannot
    # sign in and is told nothing (inactive). Made on first use.
    client_user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("Open311 API key")
        verbose_name_plural = _("Open311 API keys")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    def is_active(self, now: datetime.datetime | None = None) -> bool:
        return self.revoked_at is None or self.revoked_at > (now or timezone.now())


class Open311Request(models.Model):
    """A report that came through the API: which client sent it, and its token."""

    report = models.OneToOneField(Report, on_delete=models.CASCADE, related_name="open311")
    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, related_name="requests")
    token = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("Open311 request")
        verbose_name_plural = _("Open311 requests")

    def __str__(self) -> str:
        return f"{self.report_id} via {self.api_key_id}"


class Open311Update(models.Model):
    """A timeline event posted by a client (servicerequestupdates); ``client_update_id`` is
    the client's own id, so that a retried post records the update once."""

    event = models.OneToOneField(
        ReportEvent, on_delete=models.CASCADE, related_name="open311_update"
    )
    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, related_name="updates")
    client_update_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["api_key", "client_update_id"],
                condition=~models.Q(client_update_id=""),
                name="unique_open311_client_update",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} via {self.api_key_id}"


class ExternalMedia(models.Model):
    """A ``media_url`` a client sent: stored and returned as given, never fetched."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="external_media")
    # Set for media sent with an update rather than with the request itself.
    event = models.ForeignKey(
        ReportEvent, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    url = models.URLField(max_length=500)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.url
