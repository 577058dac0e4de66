"""Sign-in state of the mobile app: one-time codes, per-device bearer tokens, push endpoints.

The app signs in with a phone number and a code sent by SMS (``LoginCode``) and receives a
bearer token for that one device (``DeviceToken``). Neither secret is stored: the code as an
HMAC keyed by the site's secret (six digits are guessable offline from a plain hash), the
token as its SHA-256 (256 random bits need no slow hash). The token's ``prefix`` is stored in
clear and indexed, so that a request finds its row without scanning, and the person sees it
in the list of devices.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class LoginCode(models.Model):
    phone = models.CharField(_("phone number"), max_length=16)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("expires at"))
    # Wrong codes typed for this one; at the limit the code is dead (a new one is needed).
    attempts = models.PositiveSmallIntegerField(_("wrong attempts"), default=0)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("sign-in code")
        verbose_name_plural = _("sign-in codes")
        indexes = [
            # Verification reads the newest code of a number; the clean-up, the old ones.
            models.Index(fields=["phone", "-created_at"], name="login_code_latest"),
            models.Index(fields=["expires_at"], name="login_code_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.phone} {self.created_at:%Y-%m-%d %H:%M}"


class DeviceToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="device_tokens",
        verbose_name=_("user"),
    )
    name = models.CharField(_("device"), max_length=100)
    prefix = models.CharField(_("token prefix"), max_length=16, unique=True)
    token_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("signed in at"))
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("signed out at"), null=True, blank=True)

    class Meta:
        verbose_name = _("app sign-in")
        verbose_name_plural = _("app sign-ins")
        indexes = [
            models.Index(fields=["user", "revoked_at"], name="device_token_of_user"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class PushSubscription(models.Model):
    """A Web Push endpoint (the browser's ``PushSubscription``) of a signed-in device.

    Stored for a sender to come; nothing sends push messages yet. Revoking the device's
    token deletes its subscriptions: a phone that signed out must stop hearing news."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="push_subscriptions",
        verbose_name=_("user"),
    )
    device = models.ForeignKey(
        DeviceToken,
        on_delete=models.CASCADE,
        related_name="push_subscriptions",
        null=True,
        blank=True,
        verbose_name=_("device"),
    )
    # An endpoint identifies one browser installation; it belongs to whoever registered it
    # last (a shared phone changes hands).
    endpoint = models.URLField(_("endpoint"), max_length=1000, unique=True)
    p256dh = models.CharField(_("public key (p256dh)"), max_length=100)
    auth = models.CharField(_("authentication secret"), max_length=50)
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("push subscription")
        verbose_name_plural = _("push subscriptions")

    def __str__(self) -> str:
        return self.endpoint[:60]
