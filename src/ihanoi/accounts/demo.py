"""Demo accounts, one per role, for `make demo`. Never created in production."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from ihanoi.accounts.models import Role, User
from ihanoi.agencies.seed import HUB

DEMO_DOMAIN = "demo.ihanoi.vn"
DEMO_PASSWORD = "ihanoi-demo-2026"  # noqa: S105 - demo only, refused in production
# A fixed TOTP secret so that the printed sign-ins keep working across demo restarts;
# `ihanoi demo-totp EMAIL` prints the current code for it.
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPIHANOIDEMO234567"  # noqa: S105


@dataclass(frozen=True)
class DemoAccount:
    role: Role
    full_name: str
    email: str | None = None
    phone: str | None = None
    agency_code: str | None = None
    agency_role: str | None = None


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount(Role.RESIDENT, "Nguyễn Văn An", phone="+84912000001"),
    DemoAccount(
        Role.HUB_OPERATOR,
        "Trần Thị Bình",
        email=f"hub@{DEMO_DOMAIN}",
        agency_code=HUB.code,
        agency_role="officer",
    ),
    DemoAccount(
        Role.AGENCY_OFFICER,
        "Lê Văn Cường",
        email=f"officer@{DEMO_DOMAIN}",
        agency_code="ubnd-00070",
        agency_role="officer",
    ),
    DemoAccount(
        Role.AGENCY_LEAD,
        "Phạm Thị Dung",
        email=f"lead@{DEMO_DOMAIN}",
        agency_code="ubnd-00070",
        agency_role="lead",
    ),
    DemoAccount(Role.OVERSIGHT, "Hoàng Văn Em", email=f"oversight@{DEMO_DOMAIN}"),
    DemoAccount(Role.ADMINISTRATOR, "Vũ Thị Giang", email=f"admin@{DEMO_DOMAIN}"),
)


def is_demo_user(user: User) -> bool:
    return bool(user.email and user.email.endswith("@" + DEMO_DOMAIN)) or user.phone in {
        a.phone for a in DEMO_ACCOUNTS if a.phone
    }


@transaction.atomic
def demo_accounts_create() -> list[User]:
    """Create or refresh the demo accounts. Idempotent."""
    if settings.PRODUCTION:
        raise RuntimeError("Demo accounts are never created in production.")
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP

    from ihanoi.accounts.models import ROLES_REQUIRING_MFA
    from ihanoi.agencies.models import Agency, Membership
    from ihanoi.agencies.services import membership_add

    users = []
    for account in DEMO_ACCOUNTS:
        lookup = {"email": account.email} if account.email else {"phone": account.phone}
        user, _created = User.objects.update_or_create(
            **lookup,
            defaults={
                "full_name": account.full_name,
                "role": account.role,
                "phone_verified": bool(account.phone),
                "is_active": True,
                "is_staff": account.role == Role.ADMINISTRATOR,
                "is_superuser": account.role == Role.ADMINISTRATOR,
            },
        )
        if account.email:
            user.set_password(DEMO_PASSWORD)
        else:
            user.set_unusable_password()
        user.save()
        if (
            account.role in ROLES_REQUIRING_MFA
            and not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
        ):
            TOTP.activate(user, DEMO_TOTP_SECRET)
        if account.agency_code and account.agency_role:
            agency = Agency.objects.filter(code=account.agency_code).first()
            already = agency is not None and Membership.objects.filter(user=user, agency=agency)
            if agency is not None and not already:
                membership_add(
                    user=user,
                    agency=agency,
                    role=account.agency_role,
                    is_lead_contact=account.agency_role == Membership.Role.LEAD,
                )
        users.append(user)
    return users


def demo_totp_code() -> str:
    from allauth.mfa.totp.internal.auth import (
        format_hotp_value,
        hotp_value,
        yield_hotp_counters_from_time,
    )

    counters = list(yield_hotp_counters_from_time())
    current = counters[len(counters) // 2]
    return format_hotp_value(hotp_value(DEMO_TOTP_SECRET, current))
