"""The ward choropleth: ward boundaries simplified to a few hundred points each (a light
SVG), cached per boundary revision."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.core.cache import cache
from shapely.geometry import shape

from ihanoi.places.models import AdministrativeUnit

from . import charts

# ~100 m at Hanoi's latitude: borders stay recognisable at page size.
TOLERANCE_DEGREES = 0.001
CACHE_SECONDS = 24 * 3600

Ring = list[tuple[float, float]]


def _rings(boundary: dict[str, Any]) -> list[Ring]:
    try:
        geometry = shape(boundary).simplify(TOLERANCE_DEGREES, preserve_topology=True)
    except (ValueError, TypeError, AttributeError, KeyError):
        return []
    polygons = getattr(geometry, "geoms", [geometry])
    rings: list[Ring] = []
    for polygon in polygons:
        exterior = getattr(polygon, "exterior", None)
        if exterior is not None:
            rings.append([(round(x, 5), round(y, 5)) for x, y in exterior.coords])
    return rings


def ward_rings(ward: AdministrativeUnit) -> list[Ring]:
    if not ward.boundary:
        return []
    key = f"oversight:ward-rings:{ward.pk}:{ward.boundary_revision}"
    rings = cache.get(key)
    if rings is None:
        rings = _rings(ward.boundary)
        cache.set(key, rings, CACHE_SECONDS)
    return list(rings)


def ward_choropleth(
    values: Sequence[tuple[AdministrativeUnit, float | None]],
    *,
    title: str,
    link: Callable[[AdministrativeUnit], str],
) -> str:
    shapes = []
    for ward, value in values:
        rings = ward_rings(ward)
        if rings:
            shapes.append((ward.name, rings, value, link(ward)))
    return charts.choropleth(shapes, title=title) if shapes else ""
