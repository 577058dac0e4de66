"""Create a staff account from the command line (the first administrator, say)."""

from __future__ import annotations

import getpass
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError

from ihanoi.accounts.models import Role
from ihanoi.accounts.services import staff_user_create


class Command(BaseCommand):
    help = "Create a staff account (e-mail + password); TOTP is set up at first sign-in."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument(
            "--role", required=True, choices=[r.value for r in Role if r != Role.RESIDENT]
        )
        parser.add_argument("--name", default="")
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="Read the password from standard input instead of prompting.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["password_stdin"]:
            import sys

            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass("Password: ")
        try:
            validate_password(password)
            user = staff_user_create(
                email=options["email"],
                password=password,
                role=Role(options["role"]),
                full_name=options["name"],
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        except IntegrityError as exc:
            raise CommandError(
                f"An account with e-mail {options['email']} already exists."
            ) from exc
        self.stdout.write(f"Created {user.email} ({user.get_role_display()}).")
