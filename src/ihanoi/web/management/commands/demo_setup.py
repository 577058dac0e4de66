"""Load Hanoi's reference data and the demo accounts, then print how to sign in."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from ihanoi.accounts.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, demo_accounts_create
from ihanoi.accounts.models import ROLES_REQUIRING_MFA
from ihanoi.lib.phone import format_vn_phone


class Command(BaseCommand):
    help = "Load places and agencies and create one demo account per role (not in production)."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("demo_setup refuses to run with IHANOI_PRODUCTION=1.")
        call_command("load_places", stdout=self.stdout)
        call_command("seed_agencies", stdout=self.stdout)
        call_command("seed_feedback", stdout=self.stdout)
        demo_accounts_create()
        self.stdout.write(
            self.style.SUCCESS("\nDemo sign-ins (http://127.0.0.1:8000/accounts/login/):")
        )
        for account in DEMO_ACCOUNTS:
            role = str(account.role.label)
            if account.phone:
                self.stdout.write(
                    f"  {role:<26} phone {format_vn_phone(account.phone)}; "
                    "the code is printed in this terminal ([SMS to ...])"
                )
            else:
                mfa = (
                    "; then the code from `ihanoi demo-totp`"
                    if account.role in ROLES_REQUIRING_MFA
                    else ""
                )
                self.stdout.write(f"  {role:<26} {account.email} / {DEMO_PASSWORD}{mfa}")
