"""``ihanoi deliver-notifications``: one sweep of the notification outbox.

The scheduler runs it every minute or so: it sends what is due, retries what failed earlier
and takes over deliveries whose sender died, whether or not a task was ever enqueued.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ihanoi.notifications.delivery import DEFAULT_LIMIT, deliveries_run


class Command(BaseCommand):
    help = "Send due notification deliveries (e-mail, SMS) once, retrying failed ones."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--limit",
            type=int,
            default=DEFAULT_LIMIT,
            help=f"Most deliveries to attempt in this sweep (default {DEFAULT_LIMIT}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        limit = options["limit"]
        if limit < 1:
            raise CommandError("--limit must be at least 1.")
        stats = deliveries_run(limit=limit)
        self.stdout.write(
            f"Deliveries: {stats.sent} sent, {stats.retrying} to retry, {stats.failed} failed, "
            f"{stats.skipped} skipped, {stats.lost} taken by another sender."
        )
