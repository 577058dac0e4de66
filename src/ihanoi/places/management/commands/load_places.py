"""``ihanoi load-places``: the configured city's units from the vietnamadminunits package."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ihanoi.places.services import places_load
from ihanoi.places.source import SourceError


class Command(BaseCommand):
    help = (
        "Load the city's administrative units (IHANOI_PROVINCE_CODE) and the 2025 old→new "
        "conversion from the vietnamadminunits package, and give wards without an official "
        "boundary an approximate one. Safe to run again."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = places_load(province_code=settings.IHANOI_PROVINCE_CODE)
        except SourceError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{result.province_name} ({result.province_code}): {result.districts} districts "
            f"and {result.old_wards} wards before 2025-07-01, {result.current_wards} current "
            f"wards, {result.successions} old→new links."
        )
        self.stdout.write(
            f"Units: {result.units_created} created, {result.units_updated} updated. "
            f"Links: {result.successions_created} created, {result.successions_updated} "
            f"updated, {result.successions_removed} removed. Approximate boundaries written: "
            f"{result.approximate_boundaries}."
        )
