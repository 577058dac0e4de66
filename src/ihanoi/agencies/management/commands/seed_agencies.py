"""``ihanoi seed-agencies``: create or update Hanoi's agencies (safe to run again)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ihanoi.agencies.services import agencies_seed


class Command(BaseCommand):
    help = (
        "Create or update the receiving hub, the city departments, the police, the main "
        "utilities and one People's Committee per current ward. Never deletes."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = agencies_seed()
        self.stdout.write(
            f"Agencies: {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged ({result.total} in the seed)."
        )
        self.stdout.write(f"Ward/commune People's Committees: {result.ward_committees}.")
        if not result.ward_committees:
            self.stdout.write(
                self.style.WARNING(
                    "No current wards in the database: load the places first, then run "
                    "this again to create the People's Committees."
                )
            )
        if result.stale_committees:
            self.stdout.write(
                self.style.WARNING(
                    f"{result.stale_committees} People's Committee(s) serve no current ward; "
                    "they were left as they are."
                )
            )
        if result.hub_kept:
            self.stdout.write(
                self.style.WARNING(
                    f"A receiving hub already exists as '{result.hub_kept}'; it was kept "
                    "and the seeded hub was not created."
                )
            )
