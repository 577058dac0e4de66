"""``ihanoi import-boundaries FILE``: official ward polygons from a GeoJSON file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ihanoi.places.services import BoundaryImportError, boundaries_import


class Command(BaseCommand):
    help = (
        "Import official boundaries of current wards from a GeoJSON FeatureCollection whose "
        "features carry the 5-digit ward code in properties.code (Polygon or MultiPolygon). "
        "The whole file is checked first; on any problem nothing is imported."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="GeoJSON FeatureCollection")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            # utf-8-sig: files saved by some desktop GIS tools start with a byte-order mark.
            collection = json.loads(path.read_text(encoding="utf-8-sig"))
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}") from exc
        except UnicodeDecodeError as exc:
            raise CommandError(f"{path} is not UTF-8 text: {exc.reason}.") from exc
        except json.JSONDecodeError as exc:
            raise CommandError(
                f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})."
            ) from exc
        try:
            result = boundaries_import(collection=collection)
        except BoundaryImportError as exc:
            lines = "\n".join(f"  - {problem}" for problem in exc.problems)
            raise CommandError(f"Nothing was imported from {path}:\n{lines}") from exc
        self.stdout.write(
            f"Imported {result.imported} official ward boundaries "
            f"({result.unchanged} already up to date)."
        )
