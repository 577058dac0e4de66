"""Print the current TOTP code of the demo accounts (development only)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ihanoi.accounts.demo import demo_totp_code


class Command(BaseCommand):
    help = "Print the current authenticator code shared by the demo staff accounts."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("demo_totp refuses to run with IHANOI_PRODUCTION=1.")
        self.stdout.write(demo_totp_code())
