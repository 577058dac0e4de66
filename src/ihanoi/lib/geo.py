"""Point → ward lookup and approximate ward cells, on GeoJSON and shapely alone.

Pure: imports no models, so the index can be built from database rows, from a file (the
benchmark) or from test data alike. Coordinates are WGS 84; GeoJSON order is
``[longitude, latitude]`` while every function here takes ``lat, lon`` like a phone does.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import shapely
from django.utils.translation import gettext as _
from shapely import affinity
from shapely.errors import ShapelyError
from shapely.geometry import MultiPoint, MultiPolygon, Point, Polygon, box, shape

Area: TypeAlias = Polygon | MultiPolygon

# A plain decimal number as people and phones type it; rejects "nan", "inf", "1_0" and hex
# that float() would accept.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


class InvalidCoordinates(ValueError):
    """Latitude/longitude that is not a finite number in range; the message is for people."""


class InvalidGeometry(ValueError):
    """A GeoJSON geometry that cannot serve as a ward boundary; the message says why."""


@dataclass(frozen=True, slots=True)
class WardRecord:
    unit_id: int
    code: str
    name: str
    geometry: Mapping[str, Any]
    approximate: bool = False


@dataclass(frozen=True, slots=True)
class WardHit:
    unit_id: int
    code: str
    name: str
    approximate: bool


def _coordinate(value: object, *, latitude: bool) -> float:
    # Messages are translated only on the error path: locate() is hot.
    limit = 90 if latitude else 180
    number: float
    if type(value) is float or type(value) is int:  # the common case, checked cheaply
        number = float(value)
    elif isinstance(value, bool):
        # bool is an int subclass; True as a latitude is a bug upstream, not 1.0.
        number = math.nan
    elif isinstance(value, int | float | np.floating | np.integer):
        number = float(value)
    elif isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        number = float(value.strip())
    else:
        raise InvalidCoordinates(
            _("The %(name)s must be a number, not “%(value)s”.")
            % {"name": _axis_name(latitude), "value": str(value)[:40]}
        )
    if not math.isfinite(number):
        raise InvalidCoordinates(
            _("The %(name)s must be a finite number.") % {"name": _axis_name(latitude)}
        )
    if not -limit <= number <= limit:
        raise InvalidCoordinates(
            _("The %(name)s must be between -%(limit)s and %(limit)s, not %(value)s.")
            % {"name": _axis_name(latitude), "limit": limit, "value": str(value)[:40]}
        )
    return number


def _axis_name(latitude: bool) -> str:
    return _("latitude") if latitude else _("longitude")


def validate_coordinates(lat: object, lon: object) -> tuple[float, float]:
    """``(lat, lon)`` as floats; numbers or numeric strings, finite and in range.

    Raises :class:`InvalidCoordinates` with a message fit to show to whoever typed them.
    """
    return _coordinate(lat, latitude=True), _coordinate(lon, latitude=False)


def area_from_geojson(geometry: object) -> Area:
    """A valid, non-empty Polygon/MultiPolygon from a GeoJSON geometry object.

    Raises :class:`InvalidGeometry` saying what is wrong (type, malformed coordinates,
    empty, self-intersecting, outside longitude/latitude range).
    """
    if not isinstance(geometry, Mapping):
        raise InvalidGeometry(_("the geometry is missing or is not a GeoJSON object"))
    kind = geometry.get("type")
    if kind not in ("Polygon", "MultiPolygon"):
        raise InvalidGeometry(
            _("the geometry type must be Polygon or MultiPolygon, not “%(kind)s”")
            % {"kind": str(kind)[:40]}
        )
    try:
        with np.errstate(invalid="ignore"):  # NaN coordinates are reported below instead
            area = shape(geometry)
    except (ShapelyError, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise InvalidGeometry(
            _("the coordinates are malformed (%(reason)s)") % {"reason": str(exc)[:100]}
        ) from exc
    if not isinstance(area, Polygon | MultiPolygon) or area.is_empty:
        raise InvalidGeometry(_("the geometry is empty"))
    if not np.isfinite(shapely.get_coordinates(area)).all():
        raise InvalidGeometry(_("the coordinates must be finite numbers"))
    min_x, min_y, max_x, max_y = area.bounds
    if not (-180 <= min_x <= max_x <= 180 and -90 <= min_y <= max_y <= 90):
        raise InvalidGeometry(
            _("the coordinates are outside longitude/latitude range (GeoJSON order is [lon, lat])")
        )
    if not area.is_valid:
        raise InvalidGeometry(
            _("the geometry is not valid (%(reason)s)") % {"reason": shapely.is_valid_reason(area)}
        )
    return area


class WardIndex:
    """Point → ward over prepared polygons in an STRtree.

    A point on a boundary shared by two wards (or in a sliver where imported polygons
    overlap) goes to the first ward in a fixed order: official boundaries before approximate
    ones, then the lower code, then the lower unit id. So the same point always gets the
    same answer, whichever process or build order.
    """

    def __init__(self, records: Iterable[WardRecord], *, skip_invalid: bool = False) -> None:
        ordered = sorted(records, key=lambda r: (r.approximate, r.code, r.unit_id))
        kept: list[WardRecord] = []
        areas: list[Area] = []
        self.skipped: list[tuple[str, str]] = []
        for record in ordered:
            try:
                area = area_from_geojson(record.geometry)
            except InvalidGeometry as exc:
                if not skip_invalid:
                    raise InvalidGeometry(f"{record.code}: {exc}") from exc
                self.skipped.append((record.code, str(exc)))
                continue
            shapely.prepare(area)
            kept.append(record)
            areas.append(area)
        self._records = kept
        # A list for the per-point loops (indexing a numpy object array is slower).
        self._areas = areas
        self._tree = shapely.STRtree(areas)

    def __len__(self) -> int:
        return len(self._records)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(min_lon, min_lat, max_lon, max_lat)`` of all wards."""
        min_x, min_y, max_x, max_y = shapely.total_bounds(np.array(self._areas, dtype=object))
        return float(min_x), float(min_y), float(max_x), float(max_y)

    def _hit(self, position: int) -> WardHit:
        record = self._records[position]
        return WardHit(record.unit_id, record.code, record.name, record.approximate)

    def locate(self, lat: object, lon: object) -> WardHit | None:
        """The ward containing the point (its boundary included), or None when outside all.

        Raises :class:`InvalidCoordinates` for anything but finite in-range numbers.
        """
        lat_f, lon_f = validate_coordinates(lat, lon)
        point = Point(lon_f, lat_f)
        # Tree positions follow the tie-break order, so the lowest covering one wins.
        for position in sorted(self._tree.query(point).tolist()):
            if self._areas[position].covers(point):
                return self._hit(position)
        return None

    def locate_linear(self, lat: object, lon: object) -> WardHit | None:
        """Same answer as :meth:`locate` by testing every prepared polygon (the benchmark's
        baseline)."""
        lat_f, lon_f = validate_coordinates(lat, lon)
        point = Point(lon_f, lat_f)
        for position, area in enumerate(self._areas):
            if area.covers(point):
                return self._hit(position)
        return None


# --- Approximate cells ------------------------------------------------------------------------
# Distances matter for Voronoi cells and discs, and a degree of longitude is shorter than a
# degree of latitude (by cos 21° ≈ 0.93 in Hanoi); an equirectangular projection around the
# data's mean latitude is accurate to well under 1% across a city.
_KM_PER_DEGREE_LAT = 110.574


def _km_per_degree_lon(lat: float) -> float:
    return 111.320 * math.cos(math.radians(lat))


@dataclass(frozen=True, slots=True)
class _Projection:
    kx: float
    ky: float = _KM_PER_DEGREE_LAT

    @classmethod
    def around(cls, latitudes: Sequence[float]) -> _Projection:
        return cls(_km_per_degree_lon(sum(latitudes) / len(latitudes)))

    def to_km(self, geometry: Any) -> Any:
        return affinity.scale(geometry, self.kx, self.ky, origin=(0, 0))

    def to_degrees(self, geometry: Any) -> Any:
        return affinity.scale(geometry, 1 / self.kx, 1 / self.ky, origin=(0, 0))


def _without_holes(area: Any) -> Area:
    polygons = [Polygon(p.exterior) for p in shapely.get_parts(area) if isinstance(p, Polygon)]
    return shapely.union_all(polygons)


def _polygonal(geometry: Any) -> Area | None:
    """Only the polygon parts (an intersection may add stray lines or points), or None."""
    polygons = [p for p in shapely.get_parts(geometry) if isinstance(p, Polygon) and not p.is_empty]
    if not polygons:
        return None
    return polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)


def city_extent(
    *,
    discs: Iterable[tuple[float, float, float]],
    boxes: Iterable[tuple[float, float, float, float]] = (),
) -> Area:
    """An honest stand-in for a city's outline when no official one is at hand.

    ``discs`` are ``(lat, lon, area_km2)`` of each ward's centre point: each gives a disc of
    the ward's own area (radius √(area/π)). ``boxes`` are ``(south, west, north, east)``
    bounding boxes of smaller units (the geocoder's boxes of the pre-2025 wards). The extent
    is the union of both with holes filled, so a gap between round discs inside the city is
    never "outside".

    Measured for Hanoi against the official outline (data/hanoi/province-2025.geojson, in
    tests only): the extent covers 99.5% of the city and 91% of it lies inside the city.
    Discs alone cover 90% of it; the convex hull of all old and new centre points covers
    95.5%, with a quarter of the hull outside the city.
    """
    disc_list = list(discs)
    box_list = list(boxes)
    latitudes = [lat for lat, _lon, _a in disc_list] + [(s + n) / 2 for s, _w, n, _e in box_list]
    if not latitudes:
        raise ValueError("city_extent needs at least one disc or box")
    projection = _Projection.around(latitudes)
    # Built in arrays: a city has hundreds of units and this runs on every load.
    disc_array = np.array(disc_list, dtype=float).reshape(-1, 3)
    radii = np.sqrt(np.clip(disc_array[:, 2], 0.0, None) / math.pi)
    keep = radii > 0
    centres = shapely.points(
        disc_array[keep, 1] * projection.kx, disc_array[keep, 0] * projection.ky
    )
    box_array = np.array(box_list, dtype=float).reshape(-1, 4)
    south, west, north, east = box_array.T
    box_array = box_array[(south < north) & (west < east)]
    parts = np.concatenate(
        [
            shapely.buffer(centres, radii[keep], quad_segs=16),
            shapely.box(
                box_array[:, 1] * projection.kx,
                box_array[:, 0] * projection.ky,
                box_array[:, 3] * projection.kx,
                box_array[:, 2] * projection.ky,
            ),
        ]
    )
    return projection.to_degrees(_without_holes(shapely.union_all(parts)))


def voronoi_cells(
    sites: Mapping[str, tuple[float, float]], extent: Area, *, precision: float = 1e-6
) -> dict[str, Area]:
    """Voronoi cell of each site (``code → (lat, lon)``), clipped to ``extent``.

    Distances are measured in kilometres (see the projection above), not in degrees.
    Vertices are snapped to ``precision`` degrees (1e-6° ≈ 0.1 m) so that stored GeoJSON
    stays small and recomputing gives identical output. Sites at the same position share
    one cell, which goes to the lowest code; the others get none. A site outside
    ``extent`` gets none either.
    """
    by_position: dict[tuple[float, float], str] = {}
    for code in sorted(sites):
        by_position.setdefault(sites[code], code)
    if not by_position:
        return {}
    projection = _Projection.around([lat for lat, _lon in by_position])
    extent_km = projection.to_km(extent)
    points_km = {
        code: projection.to_km(Point(lon, lat)) for (lat, lon), code in by_position.items()
    }
    if len(points_km) == 1:
        raw_cells = {next(iter(points_km)): extent_km}
    else:
        frame = box(*extent_km.bounds).union(MultiPoint(list(points_km.values())).envelope)
        diagram = shapely.voronoi_polygons(
            MultiPoint(list(points_km.values())), extend_to=frame.buffer(10)
        )
        cells = list(shapely.get_parts(diagram))
        tree = shapely.STRtree(cells)
        raw_cells = {}
        for code, point in points_km.items():
            # Match by containment rather than rely on output order (``ordered=`` needs
            # shapely ≥ 2.1); each site lies in exactly one cell.
            for position in sorted(tree.query(point, predicate="within").tolist()):
                raw_cells[code] = cells[position]
                break
    result: dict[str, Area] = {}
    for code, cell in raw_cells.items():
        clipped = _polygonal(cell.intersection(extent_km))
        if clipped is None:
            continue
        snapped = _polygonal(shapely.set_precision(projection.to_degrees(clipped), precision))
        if snapped is not None:
            result[code] = snapped
    return result


def to_geojson(area: Area) -> dict[str, Any]:
    """GeoJSON geometry as plain dicts and lists (what a JSON column stores and returns)."""
    return dict(json.loads(shapely.to_geojson(area)))
