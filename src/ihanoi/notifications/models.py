"""Notifications as a transactional outbox.

A ``Notification`` is the message itself and, at the same time, the resident's in-app inbox
entry. Each outside channel the recipient can receive gets a ``Delivery`` row: the work item
of the background sender (``ihanoi.notifications.delivery``). Both are written in the
transaction of the change they announce, so a rolled-back change announces nothing and a
committed one cannot lose its messages.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    PUSH = "push", _("Web Push")


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("recipient"),
        # The unique event key and the inbox index both start with the recipient.
        db_index=False,
    )
    # What happened, for filters and statistics ("report.status", "report.merged", …).
    kind = models.CharField(_("kind"), max_length=50)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), blank=True)
    # Relative ("/feedback/123/"): the same row serves the site, e-mail and SMS, which add
    # the site's address themselves.
    link = models.CharField(_("link"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    # The business event (e.g. "report.status:<event id>"); unique per recipient, so that a
    # retried caller and the several recipients of one event never collide.
    dedupe_key = models.CharField(_("deduplication key"), max_length=200)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "dedupe_key"], name="notification_unique_event"
            ),
        ]
        indexes = [
            # The inbox page, the unread badge and "mark all as read".
            models.Index(fields=["recipient", "read_at", "created_at"], name="notification_inbox"),
            # A person's whole list, newest first (the inbox page and the API), as a seek.
            models.Index(fields=["recipient", "-created_at", "-id"], name="notification_list"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_unread(self) -> bool:
        return self.read_at is None


class Delivery(models.Model):
    """One message to send on one channel; the row is the sender's state machine:

    ``pending`` → (claimed) ``sending`` → ``sent``; a failed attempt goes back to ``pending``
    with a later ``next_attempt_at``, the last allowed one to ``failed``; a recipient who can
    no longer be reached on the channel makes it ``skipped``.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    notification = models.ForeignKey(
        Notification,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("notification"),
        # The one-per-channel constraint's index starts with the notification.
        db_index=False,
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    # Counted when a sender claims the row, so that a message that kills its worker still
    # runs out of attempts; also the claim's fencing token (see delivery.delivery_claim).
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    # While a sender works on the row; after this moment another sender may take it over.
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "channel"], name="delivery_one_per_channel"
            ),
        ]
        indexes = [
            # The sender's query: due pending rows in order, and expired claims.
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()}: {self.notification_id} ({self.status})"
