"""Writes: load a province's units, derive approximate boundaries, import official ones."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from ihanoi.lib.geo import (
    InvalidGeometry,
    area_from_geojson,
    city_extent,
    to_geojson,
    voronoi_cells,
)
from ihanoi.lib.signals import bulk_reference_write
from ihanoi.lib.text import fold, nfc

from . import selectors
from .models import REFORM_2025, AdministrativeUnit, UnitSuccession
from .source import ProvinceSource, SourceUnit, read_province

Level = AdministrativeUnit.Level
Source = AdministrativeUnit.BoundarySource

# Fields that the package decides; anything else on a unit (boundaries) is left alone.
_SOURCE_FIELDS = (
    "name",
    "short_name",
    "name_ascii",
    "unit_type",
    "parent_id",
    "valid_until",
    "centre_lat",
    "centre_lon",
    "area_km2",
)


@dataclass(frozen=True)
class LoadResult:
    province_code: str
    province_name: str
    districts: int
    old_wards: int
    current_wards: int
    successions: int
    units_created: int
    units_updated: int
    successions_created: int
    successions_updated: int
    successions_removed: int
    approximate_boundaries: int

    @property
    def changed(self) -> bool:
        return any(
            (
                self.units_created,
                self.units_updated,
                self.successions_created,
                self.successions_updated,
                self.successions_removed,
                self.approximate_boundaries,
            )
        )


@dataclass
class _Counter:
    created: int = 0
    updated: int = 0


def _boundaries_changed() -> None:
    # This process sees the change at once; others notice through the index's stamp. The
    # on-commit clear drops an index another thread built from pre-commit rows meanwhile.
    selectors.ward_index_clear()
    transaction.on_commit(selectors.ward_index_clear)


def _sync_units(
    *,
    level: str,
    units: Iterable[SourceUnit],
    valid_from: datetime.date | None,
    valid_until: datetime.date | None,
    parents: Mapping[str, AdministrativeUnit],
    counter: _Counter,
) -> dict[str, AdministrativeUnit]:
    """Create or update one era's units of one level, matched on (level, code, valid_from)."""
    wanted = {unit.code: unit for unit in units}
    existing = {
        unit.code: unit
        for unit in AdministrativeUnit.objects.filter(
            level=level, code__in=list(wanted), valid_from=valid_from
        ).order_by("id")
    }
    to_create: list[AdministrativeUnit] = []
    to_update: list[AdministrativeUnit] = []
    for code, source in wanted.items():
        parent = parents.get(source.parent_code) if source.parent_code else None
        values: dict[str, Any] = {
            "name": source.name,
            "short_name": source.short_name,
            "name_ascii": fold(source.name),
            "unit_type": source.unit_type,
            "parent_id": parent.pk if parent else None,
            "valid_until": valid_until,
            "centre_lat": source.lat,
            "centre_lon": source.lon,
            "area_km2": source.area_km2,
        }
        unit = existing.get(code)
        if unit is None:
            to_create.append(
                AdministrativeUnit(level=level, code=code, valid_from=valid_from, **values)
            )
        elif any(getattr(unit, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(unit, name, value)
            to_update.append(unit)
    # Needs a backend that returns ids from bulk inserts (PostgreSQL, SQLite ≥ 3.35).
    AdministrativeUnit.objects.bulk_create(to_create)
    AdministrativeUnit.objects.bulk_update(to_update, list(_SOURCE_FIELDS))
    if to_create or to_update:
        # Bulk writes send no model signals: say so to what keeps units in memory.
        bulk_reference_write.send(sender=AdministrativeUnit, using="default")
    counter.created += len(to_create)
    counter.updated += len(to_update)
    existing.update({unit.code: unit for unit in to_create})
    return existing


def _sync_successions(
    *,
    source: ProvinceSource,
    old_wards: Mapping[str, AdministrativeUnit],
    current_wards: Mapping[str, AdministrativeUnit],
) -> tuple[int, int, int]:
    wanted = {
        (old_wards[link.old_code].pk, current_wards[link.new_code].pk): link
        for link in source.links
        if link.old_code in old_wards and link.new_code in current_wards
    }
    existing = {
        (row.old_id, row.new_id): row
        for row in UnitSuccession.objects.filter(old__in=list(old_wards.values()))
    }
    to_create = [
        UnitSuccession(
            old_id=old_id,
            new_id=new_id,
            effective_date=REFORM_2025,
            is_partial=link.is_partial,
            is_default=link.is_default,
        )
        for (old_id, new_id), link in wanted.items()
        if (old_id, new_id) not in existing
    ]
    to_update = []
    for key, row in existing.items():
        link = wanted.get(key)
        if link and (row.is_partial, row.is_default, row.effective_date) != (
            link.is_partial,
            link.is_default,
            REFORM_2025,
        ):
            row.is_partial, row.is_default = link.is_partial, link.is_default
            row.effective_date = REFORM_2025
            to_update.append(row)
    # A pair the package no longer lists was a mistake it corrected.
    stale = [row.pk for key, row in existing.items() if key not in wanted]
    UnitSuccession.objects.bulk_create(to_create)
    UnitSuccession.objects.bulk_update(to_update, ["is_partial", "is_default", "effective_date"])
    UnitSuccession.objects.filter(pk__in=stale).delete()
    return len(to_create), len(to_update), len(stale)


def places_load(*, province_code: str) -> LoadResult:
    """Load a province's units from the ``vietnamadminunits`` package.

    Creates or updates the province, its districts and wards before 2025-07-01
    (``valid_until`` = 2025-07-01), today's wards (``valid_from`` = 2025-07-01, parent = the
    province) and the old→new conversion, then gives wards without an official boundary an
    approximate one (:func:`places_derive_approximate_boundaries`). One transaction;
    running it again changes nothing. Raises :class:`ihanoi.places.source.SourceError`
    when the package cannot be read or does not know the province.
    """
    source = read_province(province_code)
    counter = _Counter()
    with transaction.atomic():
        province = _sync_units(
            level=Level.PROVINCE,
            units=[source.province],
            valid_from=None,
            valid_until=None,
            parents={},
            counter=counter,
        )
        districts = _sync_units(
            level=Level.DISTRICT,
            units=source.districts,
            valid_from=None,
            valid_until=REFORM_2025,
            parents=province,
            counter=counter,
        )
        old_wards = _sync_units(
            level=Level.WARD,
            units=source.old_wards,
            valid_from=None,
            valid_until=REFORM_2025,
            parents=districts,
            counter=counter,
        )
        current_wards = _sync_units(
            level=Level.WARD,
            units=source.current_wards,
            valid_from=REFORM_2025,
            valid_until=None,
            parents=province,
            counter=counter,
        )
        created, updated, removed = _sync_successions(
            source=source, old_wards=old_wards, current_wards=current_wards
        )
        approximate = _derive_approximate(source=source, wards=list(current_wards.values()))
    return LoadResult(
        province_code=province_code,
        province_name=source.province.name,
        districts=len(districts),
        old_wards=len(old_wards),
        current_wards=len(current_wards),
        successions=len(source.links),
        units_created=counter.created,
        units_updated=counter.updated,
        successions_created=created,
        successions_updated=updated,
        successions_removed=removed,
        approximate_boundaries=approximate,
    )


def _derive_approximate(*, source: ProvinceSource, wards: list[AdministrativeUnit]) -> int:
    """Voronoi cells of the wards' centre points, clipped to an extent made of each ward's
    equal-area disc and the old wards' bounding boxes (see :func:`ihanoi.lib.geo.city_extent`).

    Measured for Hanoi against the official polygons: the approximate cell is right for
    78.8% of random points in the city and 0.5% fall outside every cell; every ward's own
    centre point is in its cell (tests/places/test_locate.py).
    Good enough to route a demo's reports, not to settle who is responsible; pages say so.
    """
    with_centre = [w for w in wards if w.centre_lat is not None and w.centre_lon is not None]
    if not with_centre:
        return 0
    centres: dict[str, tuple[float, float]] = {}
    for w in with_centre:
        assert w.centre_lat is not None and w.centre_lon is not None
        centres[w.code] = (w.centre_lat, w.centre_lon)
    extent = city_extent(
        discs=[(*centres[w.code], w.area_km2 or 0.0) for w in with_centre],
        boxes=source.old_ward_boxes.values(),
    )
    cells = voronoi_cells(centres, extent)
    written = 0
    for ward in with_centre:
        cell = cells.get(ward.code)
        if cell is None or ward.boundary_source == Source.OFFICIAL:
            continue
        geometry = to_geojson(cell)
        if ward.boundary == geometry and ward.boundary_source == Source.APPROXIMATE:
            continue
        # Re-checked in the UPDATE: an official import may have landed since the read.
        written += (
            AdministrativeUnit.objects.filter(pk=ward.pk)
            .exclude(boundary_source=Source.OFFICIAL)
            .update(
                boundary=geometry,
                boundary_source=Source.APPROXIMATE,
                boundary_revision=F("boundary_revision") + 1,
            )
        )
    if written:
        _boundaries_changed()
    return written


def places_derive_approximate_boundaries(*, province_code: str) -> int:
    """Give the province's current wards that lack an official boundary an approximate one;
    returns how many were written (0 when nothing changed). Official ones are never
    touched."""
    source = read_province(province_code)
    with transaction.atomic():
        wards = list(
            selectors.current_wards()
            .filter(parent__level=Level.PROVINCE, parent__code=province_code)
            .select_for_update()
        )
        return _derive_approximate(source=source, wards=wards)


# --- Official boundaries ----------------------------------------------------------------------


class BoundaryImportError(Exception):
    """The file cannot be imported; ``problems`` lists every reason found (nothing written)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class BoundaryImportResult:
    imported: int
    unchanged: int


_MAX_PROBLEMS = 20
# Official codes are digits (5 for wards); a wider pattern would let junk reach the database.
_CODE = re.compile(r"[0-9]{1,10}")


def _validated_boundaries(collection: object) -> dict[str, dict[str, Any]]:
    """``code → GeoJSON geometry`` for every feature, or BoundaryImportError with all the
    problems (the first :data:`_MAX_PROBLEMS` of them, in file order)."""
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise BoundaryImportError([_("The file is not a GeoJSON FeatureCollection.")])
    features = collection.get("features")
    if not isinstance(features, list):
        raise BoundaryImportError([_("The FeatureCollection has no list of features.")])
    if not features:
        raise BoundaryImportError([_("The FeatureCollection has no features.")])

    problems: list[tuple[int, str]] = []
    geometries: dict[str, dict[str, Any]] = {}
    positions: dict[str, int] = {}
    for number, feature in enumerate(features, start=1):
        properties = feature.get("properties") if isinstance(feature, dict) else None
        code = properties.get("code") if isinstance(properties, dict) else None
        if code is None or (isinstance(code, str) and not code.strip()):
            message = _("Feature %(number)s has no “code” property (the 5-digit ward code).")
            problems.append((number, message % {"number": number}))
            continue
        if not isinstance(code, str):
            # A number loses the leading zeros that are part of the code.
            message = _("Feature %(number)s: the code must be text such as “00070”, not %(code)s.")
            problems.append((number, message % {"number": number, "code": str(code)[:20]}))
            continue
        code = nfc(code.strip())
        if not _CODE.fullmatch(code):
            message = _("Feature %(number)s: “%(code)s” is not a ward code (5 digits).")
            problems.append((number, message % {"number": number, "code": code[:20]}))
            continue
        if code in positions:
            message = _("Feature %(number)s repeats code %(code)s (already in feature %(first)s).")
            problems.append(
                (number, message % {"number": number, "code": code, "first": positions[code]})
            )
            continue
        positions[code] = number
        geometry = feature.get("geometry")
        try:
            area_from_geojson(geometry)
        except InvalidGeometry as exc:
            message = _("Feature %(number)s (code %(code)s): %(reason)s.")
            problems.append((number, message % {"number": number, "code": code, "reason": exc}))
            continue
        # Stored as given (only type and coordinates), at the file's own precision.
        assert isinstance(geometry, dict)
        geometries[code] = {"type": geometry["type"], "coordinates": geometry["coordinates"]}

    known = set(
        selectors.current_wards().filter(code__in=list(positions)).values_list("code", flat=True)
    )
    for code, number in positions.items():
        if code not in known:
            message = _(
                "Feature %(number)s: code %(code)s is not a ward or commune in force today."
            )
            problems.append((number, message % {"number": number, "code": code}))
    if problems:
        problems.sort(key=lambda problem: problem[0])
        shown = [message for _number, message in problems[:_MAX_PROBLEMS]]
        if len(problems) > _MAX_PROBLEMS:
            more = _("… and %(count)s more problems.")
            shown.append(more % {"count": len(problems) - _MAX_PROBLEMS})
        raise BoundaryImportError(shown)
    return geometries


def boundaries_import(*, collection: object) -> BoundaryImportResult:
    """Official boundaries for current wards from a parsed GeoJSON FeatureCollection.

    Each feature carries the 5-digit ward code in ``properties.code`` and a Polygon or
    MultiPolygon. Everything is checked before anything is written; any problem raises
    :class:`BoundaryImportError` listing all of them, and nothing changes. Wards not in the
    file keep what they had.
    """
    geometries = _validated_boundaries(collection)
    imported = unchanged = 0
    with transaction.atomic():
        wards = selectors.current_wards().filter(code__in=list(geometries)).select_for_update()
        for ward in wards:
            geometry = geometries[ward.code]
            if ward.boundary == geometry and ward.boundary_source == Source.OFFICIAL:
                unchanged += 1
                continue
            AdministrativeUnit.objects.filter(pk=ward.pk).update(
                boundary=geometry,
                boundary_source=Source.OFFICIAL,
                boundary_revision=F("boundary_revision") + 1,
            )
            imported += 1
        if imported:
            _boundaries_changed()
    return BoundaryImportResult(imported=imported, unchanged=unchanged)
