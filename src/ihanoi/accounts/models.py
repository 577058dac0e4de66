"""The user model: residents are known by a Vietnamese phone number, staff by e-mail.

Roles decide what a person may do; an agency officer's or lead's agency is recorded by
``agencies.Membership``. Deleting an account anonymises the row (reports stay attached to
an anonymous author), it does not remove it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    RESIDENT = "resident", _("Resident")
    HUB_OPERATOR = "hub_operator", _("Hub operator")
    AGENCY_OFFICER = "agency_officer", _("Agency officer")
    AGENCY_LEAD = "agency_lead", _("Agency lead")
    OVERSIGHT = "oversight", _("Oversight")
    ADMINISTRATOR = "administrator", _("Administrator")


# Roles that must sign in with a second factor (TOTP).
ROLES_REQUIRING_MFA = frozenset({Role.HUB_OPERATOR, Role.OVERSIGHT, Role.ADMINISTRATOR})
STAFF_ROLES = frozenset(set(Role) - {Role.RESIDENT})


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(
        self,
        *,
        phone: str | None = None,
        email: str | None = None,
        password: str | None = None,
        **extra: Any,
    ) -> User:
        if not phone and not email:
            raise ValueError("A user needs a phone number or an e-mail address.")
        user = self.model(phone=phone or None, email=self.normalize_email(email) or None, **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.update(is_staff=True, is_superuser=True, role=Role.ADMINISTRATOR)
        return self.create_user(email=email, password=password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    phone = models.CharField(
        _("phone number"),
        max_length=16,
        unique=True,
        null=True,
        blank=True,
        help_text=_("International E.164 form, e.g. +84912345678."),
    )
    phone_verified = models.BooleanField(_("phone number verified"), default=False)
    email = models.EmailField(_("e-mail"), unique=True, null=True, blank=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.RESIDENT)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(
        _("admin site access"),
        default=False,
        help_text=_("May sign in to the Django admin site."),
    )
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    anonymised_at = models.DateTimeField(_("anonymised at"), null=True, blank=True)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("user")
        indexes = [
            models.Index(fields=["role"], name="user_role"),
            # Oversight's adoption figures count accounts by week at millions of rows.
            models.Index(fields=["date_joined"], name="user_date_joined"),
        ]

    def __str__(self) -> str:
        if self.anonymised_at:
            return str(_("Deleted user"))
        return self.full_name or self.email or self.phone or f"#{self.pk}"

    @property
    def is_resident(self) -> bool:
        return self.role == Role.RESIDENT

    @property
    def is_staff_member(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def requires_mfa(self) -> bool:
        return self.role in ROLES_REQUIRING_MFA
