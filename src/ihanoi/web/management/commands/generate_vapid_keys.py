"""Print a fresh VAPID key pair for Web Push, as environment lines."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ihanoi.web.push import generate_vapid_keys


class Command(BaseCommand):
    help = "Print a new VAPID key pair (VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY) for Web Push."

    def handle(self, *args: Any, **options: Any) -> None:
        public, private = generate_vapid_keys()
        self.stdout.write(f"VAPID_PUBLIC_KEY={public}")
        self.stdout.write(f"VAPID_PRIVATE_KEY={private}")
        self.stdout.write("VAPID_SUBJECT=mailto:ihanoi@example.vn")
