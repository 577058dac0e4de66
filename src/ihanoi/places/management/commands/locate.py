"""``ihanoi locate LAT LON``: which current ward a point lies in.

Prints ``CODE NAME`` (e.g. ``00070 Phường Hoàn Kiếm``) and exits 0. A point outside every
ward is an answer too: a message saying so, exit 0, so scripts tell it from a failure by
the output, not by the status. Invalid coordinates exit 2 (like other argument errors);
no boundaries loaded at all exits 1. A negative value works as is (``locate -- 21 -181``
also does).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ihanoi.lib.geo import InvalidCoordinates, validate_coordinates
from ihanoi.places.selectors import has_boundaries, locate_ward_hit


class Command(BaseCommand):
    help = "Print the current ward (code and name) containing the point LAT LON."

    def add_arguments(self, parser: CommandParser) -> None:
        # Strings, validated below: argparse's own float() would accept "nan" and "inf".
        parser.add_argument("lat", help="latitude, e.g. 21.0287")
        parser.add_argument("lon", help="longitude, e.g. 105.8523")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            # Checked before the database is touched: a typo needs no migrated database.
            lat, lon = validate_coordinates(options["lat"], options["lon"])
        except InvalidCoordinates as exc:
            raise CommandError(str(exc), returncode=2) from exc
        hit = locate_ward_hit(lat, lon)
        if hit is None:
            if not has_boundaries():
                raise CommandError(
                    "No ward boundaries are loaded: run `ihanoi load-places` "
                    "(approximate) or `ihanoi import-boundaries FILE` (official)."
                )
            self.stdout.write(f"{lat}, {lon} is outside the city's wards.")
            return
        self.stdout.write(f"{hit.code} {hit.name}")
        if hit.approximate:
            # On stderr so that the answer line stays "CODE NAME" for scripts.
            self.stderr.write("(approximate boundary: no official polygon imported)")
