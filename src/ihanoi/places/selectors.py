"""Reads: current units, the old→new conversion, and point → ward.

The point → ward index lives in each process's memory (building it takes ~0.1 s for
Hanoi's 126 official polygons; a lookup then takes microseconds). Several web and worker
processes each hold one, so each must notice when another process imports boundaries:
at most every :data:`INDEX_CHECK_SECONDS` a process asks the database for a cheap stamp
(count, highest id and sum of ``boundary_revision`` of the current wards with a boundary,
and today's date) and rebuilds when it differs. The process that writes boundaries drops
its own copy at once (see :func:`ward_index_clear`).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Count, Max, Q, QuerySet, Sum
from django.utils import timezone

from ihanoi.lib.geo import WardHit, WardIndex, WardRecord, validate_coordinates
from ihanoi.lib.text import fold

from .models import AdministrativeUnit, UnitSuccession

logger = logging.getLogger(__name__)

# How stale another process's boundary import may look here, at worst.
INDEX_CHECK_SECONDS = 5.0

Level = AdministrativeUnit.Level
Source = AdministrativeUnit.BoundarySource


def _in_force(on: datetime.date) -> Q:
    return (Q(valid_from__isnull=True) | Q(valid_from__lte=on)) & (
        Q(valid_until__isnull=True) | Q(valid_until__gt=on)
    )


def current_wards(*, on: datetime.date | None = None) -> QuerySet[AdministrativeUnit]:
    """Wards and communes in force on ``on`` (today in the city's time zone by default)."""
    on = on or timezone.localdate()
    return AdministrativeUnit.objects.filter(_in_force(on), level=Level.WARD)


def current_ward_by_code(code: str) -> AdministrativeUnit | None:
    return current_wards().filter(code=code).select_related("parent").first()


def ward_search(query: str = "") -> QuerySet[AdministrativeUnit]:
    """Current wards whose name (typed with or without tone marks) or code contains
    ``query``; "hoan kiem" finds "Phường Hoàn Kiếm"."""
    wards = current_wards().order_by("code")
    key = fold(query)
    if not key:
        return wards
    return wards.filter(Q(name_ascii__contains=key) | Q(code__startswith=key))


def unit_predecessors(unit: AdministrativeUnit) -> QuerySet[UnitSuccession]:
    """The rows saying which old units became (part of) ``unit``, old units' districts
    loaded."""
    return (
        UnitSuccession.objects.filter(new=unit)
        .select_related("old", "old__parent")
        .order_by("old__parent__code", "old__code")
    )


def unit_successors(old_unit: AdministrativeUnit) -> QuerySet[UnitSuccession]:
    """The rows saying which of today's units ``old_unit`` became (``.new``), the default one
    (for a split unit) first."""
    return (
        UnitSuccession.objects.filter(old=old_unit)
        .select_related("new")
        .order_by("-is_default", "new__code")
    )


def current_unit_for_old_code(
    code: str, *, district_code: str | None = None
) -> AdministrativeUnit | None:
    """Today's unit for a ward code in force before 2025-07-01.

    A split old ward maps to its default new ward (where the official conversion places an
    address that cannot be placed more precisely); ``None`` when the code is unknown.
    Codes are reused across eras (00004 was Trúc Bạch, is now Ba Đình), so the code is
    looked up among units no longer in force; ``district_code`` narrows it if needed.
    """
    today = timezone.localdate()
    old_units = AdministrativeUnit.objects.filter(
        level=Level.WARD, code=code, valid_until__isnull=False, valid_until__lte=today
    )
    if district_code:
        old_units = old_units.filter(parent__code=district_code)
    succession = (
        UnitSuccession.objects.filter(old__in=old_units, new__in=current_wards())
        .select_related("new")
        .order_by("-is_default", "new__code")
        .first()
    )
    return succession.new if succession else None


# --- Point → ward -----------------------------------------------------------------------------


@dataclass
class _CachedIndex:
    index: WardIndex
    stamp: tuple[object, ...]
    checked_at: float


_cached: _CachedIndex | None = None
_lock = threading.Lock()
_clock: Callable[[], float] = time.monotonic


def _with_boundary() -> QuerySet[AdministrativeUnit]:
    return current_wards().filter(boundary__isnull=False).exclude(boundary_source=Source.NONE)


def _boundary_stamp() -> tuple[object, ...]:
    # Any boundary write bumps a revision, adding or removing a unit changes the count or
    # the highest id, and a new day can bring a reform into force.
    stamp = _with_boundary().aggregate(
        count=Count("id"), last_id=Max("id"), revisions=Sum("boundary_revision")
    )
    return (timezone.localdate(), stamp["count"], stamp["last_id"], stamp["revisions"])


def _build_index() -> WardIndex:
    rows = _with_boundary().values_list("id", "code", "name", "boundary", "boundary_source")
    index = WardIndex(
        (
            WardRecord(pk, code, name, boundary, approximate=source == Source.APPROXIMATE)
            for pk, code, name, boundary, source in rows
            if boundary is not None
        ),
        skip_invalid=True,
    )
    for code, reason in index.skipped:
        logger.warning("ward %s left out of the point index: %s", code, reason)
    return index


def ward_index() -> WardIndex:
    """This process's point → ward index over the current wards, rebuilt when boundaries
    changed (checked at most every :data:`INDEX_CHECK_SECONDS`)."""
    global _cached
    now = _clock()
    cached = _cached
    if cached is not None and now - cached.checked_at < INDEX_CHECK_SECONDS:
        return cached.index
    with _lock:
        cached = _cached
        if cached is not None and now - cached.checked_at < INDEX_CHECK_SECONDS:
            return cached.index
        stamp = _boundary_stamp()
        if cached is not None and cached.stamp == stamp:
            cached.checked_at = now
            return cached.index
        # A build may race a write; a stamp taken before reading the rows is at worst older
        # than them, so the next check rebuilds rather than keeping a stale index.
        index = _build_index()
        _cached = _CachedIndex(index=index, stamp=stamp, checked_at=now)
        return index


def ward_index_clear() -> None:
    """Forget this process's index (after writing boundaries, and between tests)."""
    global _cached
    with _lock:
        _cached = None


def locate_ward_hit(lat: object, lon: object) -> WardHit | None:
    """Which current ward the point lies in, from the index (no database row fetched).

    Raises :class:`ihanoi.lib.geo.InvalidCoordinates` for bad coordinates, before the
    database is asked anything.
    """
    lat_f, lon_f = validate_coordinates(lat, lon)
    return ward_index().locate(lat_f, lon_f)


def locate_ward(lat: object, lon: object) -> AdministrativeUnit | None:
    """The current ward containing the point, or None outside every known boundary.

    Raises :class:`ihanoi.lib.geo.InvalidCoordinates` for bad coordinates.
    """
    hit = locate_ward_hit(lat, lon)
    if hit is None:
        return None
    # Without its boundary: a ward's GeoJSON weighs tens of kB and the index has the shape.
    return AdministrativeUnit.objects.defer("boundary").filter(pk=hit.unit_id).first()


def has_boundaries() -> bool:
    return _with_boundary().exists()


# --- Ward shapes for maps ---------------------------------------------------------------------

# ~30 m of simplification and 5 decimals (~1 m): the whole city's wards weigh ~240 kB
# (a fraction of that gzipped) instead of 3 MB, enough to place a pin on a phone.
MAP_SIMPLIFY_DEGREES = 0.0003
_map_cache: tuple[tuple[object, ...], bytes] | None = None


def wards_geojson() -> tuple[bytes, str]:
    """The current wards as a light FeatureCollection for maps, and a version tag (ETag).
    Rebuilt in this process when the boundaries change."""
    global _map_cache
    stamp = _boundary_stamp()
    cached = _map_cache
    if cached is None or cached[0] != stamp:
        body = _build_wards_geojson()
        _map_cache = cached = (stamp, body)
    tag = hashlib.sha256(repr(cached[0]).encode()).hexdigest()[:16]
    return cached[1], tag


def _build_wards_geojson() -> bytes:
    from shapely.geometry import mapping, shape

    features = []
    rows = (
        _with_boundary().order_by("code").values_list("code", "name", "boundary", "boundary_source")
    )
    for code, name, boundary, source in rows:
        try:
            geometry = shape(boundary).simplify(MAP_SIMPLIFY_DEGREES, preserve_topology=True)
        except (ValueError, TypeError, AttributeError, KeyError):
            continue
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "code": code,
                    "name": name,
                    "approximate": source == Source.APPROXIMATE,
                },
                "geometry": _rounded(mapping(geometry)),
            }
        )
    collection = {"type": "FeatureCollection", "features": features}
    return json.dumps(collection, ensure_ascii=False, separators=(",", ":")).encode()


def _rounded(value: object) -> object:
    if isinstance(value, float):
        return round(value, 5)
    if isinstance(value, (list, tuple)):
        return [_rounded(item) for item in value]
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    return value
