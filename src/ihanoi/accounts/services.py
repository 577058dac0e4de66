"""Writes on accounts."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from ihanoi.accounts.models import Role, User
from ihanoi.lib.phone import normalise_vn_phone
from ihanoi.lib.text import nfc


@transaction.atomic
def user_update_profile(*, user: User, full_name: str, email: str | None) -> User:
    user.full_name = nfc(full_name).strip()
    user.email = (email or "").strip().lower() or None
    user.save(update_fields=["full_name", "email"])
    return user


@transaction.atomic
def staff_user_create(
    *, email: str, password: str, role: Role, full_name: str = "", phone: str | None = None
) -> User:
    """A staff account (e-mail + password; TOTP where the role needs it)."""
    if role == Role.RESIDENT:
        raise ValueError("Residents register themselves with their phone number.")
    email = email.strip().lower()
    validate_email(email)
    user_model = get_user_model()
    user = user_model.objects.create_user(
        email=email,
        password=password,
        phone=normalise_vn_phone(phone) if phone else None,
        full_name=nfc(full_name),
        role=role,
        is_staff=role == Role.ADMINISTRATOR,
        is_superuser=role == Role.ADMINISTRATOR,
    )
    assert isinstance(user, User)
    return user


@transaction.atomic
def user_delete_account(*, user: User) -> None:
    """Delete an account the way the personal-data rules ask: remove what identifies the
    person, keep the row so that their reports stay (anonymised), end every session."""
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator

    from ihanoi.api.services import device_tokens_revoke_all
    from ihanoi.notifications.services import notifications_erase

    EmailAddress.objects.filter(user=user).delete()
    Authenticator.objects.filter(user=user).delete()
    notifications_erase(user=user)
    device_tokens_revoke_all(user=user)  # the app's devices and their push endpoints
    user.memberships.all().delete()
    user.phone = None
    user.phone_verified = False
    user.email = None
    user.full_name = ""
    user.is_active = False
    user.is_staff = False
    user.is_superuser = False
    user.set_unusable_password()
    user.anonymised_at = timezone.now()
    user.save()
    user.groups.clear()
    user.user_permissions.clear()
    # Other sessions end by themselves: Django refuses an inactive user, and the session
    # hash no longer matches after set_unusable_password(); no scan of the session table.
