"""``ihanoi open311-key create NAME`` (prints the key once), ``list``, ``revoke PREFIX``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ihanoi.open311 import selectors, services
from ihanoi.open311.models import DEFAULT_REQUESTS_PER_MINUTE, ApiKey


class Command(BaseCommand):
    help = "Create, list and revoke Open311 API keys."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Create a key and print it (shown once).")
        create.add_argument("name")
        create.add_argument("--requests-per-minute", type=int, default=DEFAULT_REQUESTS_PER_MINUTE)
        actions.add_parser("list", help="List the keys (never their values).")
        revoke = actions.add_parser("revoke", help="Revoke the key with this prefix.")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            try:
                api_key, raw = services.api_key_create(
                    name=options["name"], requests_per_minute=options["requests_per_minute"]
                )
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc
            self.stderr.write(f"Created key {api_key.prefix} for {api_key.name}; store it now:")
            self.stdout.write(raw)
        elif action == "list":
            for api_key in selectors.api_keys():
                state = f"revoked {api_key.revoked_at:%Y-%m-%d}" if api_key.revoked_at else "active"
                self.stdout.write(
                    f"{api_key.prefix}\t{state}\t{api_key.requests_per_minute}/min\t{api_key.name}"
                )
        else:
            found = ApiKey.objects.filter(prefix=options["prefix"]).first()
            if found is None:
                raise CommandError(f"No key has the prefix {options['prefix']}.")
            services.api_key_revoke(api_key=found)
            self.stdout.write(f"Revoked {found.prefix} ({found.name}).")
