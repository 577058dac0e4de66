"""lib/geo.py without a database: coordinates, geometry checks, the index, Voronoi cells."""

from __future__ import annotations

import math
from typing import Any

import pytest
from shapely.geometry import Point, shape

from ihanoi.lib.geo import (
    InvalidCoordinates,
    InvalidGeometry,
    WardIndex,
    WardRecord,
    area_from_geojson,
    city_extent,
    to_geojson,
    validate_coordinates,
    voronoi_cells,
)
from ihanoi.places.source import read_province

KNOWN_POINTS = [
    # (lat, lon, code, fullName) from ../shared/data/README.md
    (21.0287, 105.8523, "00070", "Phường Hoàn Kiếm"),
    (21.0368, 105.8347, "00004", "Phường Ba Đình"),
    (21.2187, 105.8042, "00433", "Xã Nội Bài"),
    (21.0243, 105.8576, "00082", "Phường Cửa Nam"),
]
OUTSIDE_POINTS = [(10.77, 106.70), (20.0, 107.5), (0.0, 0.0)]


def square(x0: float, y0: float, size: float = 1.0) -> dict[str, Any]:
    """GeoJSON Polygon of a square with its lower-left corner at lon x0, lat y0."""
    ring = [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


# --- coordinates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lat", "lon", "expected"),
    [
        (21.0287, 105.8523, (21.0287, 105.8523)),
        ("21.0287", " 105.8523 ", (21.0287, 105.8523)),
        (-90, 180, (-90.0, 180.0)),
        ("-33.5", "-70", (-33.5, -70.0)),
        ("1e1", "2E1", (10.0, 20.0)),
    ],
)
def test_valid_coordinates_come_back_as_floats(lat: object, lon: object, expected: tuple) -> None:
    assert validate_coordinates(lat, lon) == expected


@pytest.mark.parametrize(
    ("lat", "lon", "words"),
    [
        (math.nan, 105.0, "finite"),
        (21.0, math.inf, "finite"),
        (91, 105.0, "between -90 and 90"),
        (-90.0001, 105.0, "between -90 and 90"),
        (21.0, -181, "between -180 and 180"),
        ("abc", 105.0, "must be a number"),
        (21.0, "", "must be a number"),
        ("nan", "105", "must be a number"),
        ("inf", "105", "must be a number"),
        ("1_0", "105", "must be a number"),
        ("0x10", "105", "must be a number"),
        (None, 105.0, "must be a number"),
        (True, 105.0, "finite"),
        ([21.0], 105.0, "must be a number"),
    ],
)
def test_invalid_coordinates_raise_a_clear_message(lat: object, lon: object, words: str) -> None:
    with pytest.raises(InvalidCoordinates, match=words):
        validate_coordinates(lat, lon)


def test_the_message_names_the_coordinate_at_fault() -> None:
    with pytest.raises(InvalidCoordinates, match="latitude"):
        validate_coordinates(91, 0)
    with pytest.raises(InvalidCoordinates, match="longitude"):
        validate_coordinates(0, 181)


# --- geometry ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("geometry", "words"),
    [
        (None, "missing"),
        ("POLYGON((0 0,1 0,1 1,0 0))", "missing"),
        ({"type": "Point", "coordinates": [105, 21]}, "Polygon or MultiPolygon"),
        ({"coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}, "Polygon or MultiPolygon"),
        ({"type": "Polygon"}, "malformed"),
        ({"type": "Polygon", "coordinates": "abc"}, "malformed"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}, "malformed"),
        ({"type": "Polygon", "coordinates": []}, "empty"),
        ({"type": "MultiPolygon", "coordinates": []}, "empty"),
        # A bow tie crosses itself.
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}, "valid"),
        # Latitude first: 105 is no latitude.
        (
            {"type": "Polygon", "coordinates": [[[21, 105], [22, 105], [22, 106], [21, 105]]]},
            "range",
        ),
        ({"type": "Polygon", "coordinates": [[[0, 0], [math.nan, 0], [1, 1], [0, 0]]]}, "finite"),
    ],
)
def test_geometry_that_cannot_be_a_boundary_is_refused(geometry: object, words: str) -> None:
    with pytest.raises(InvalidGeometry, match=words):
        area_from_geojson(geometry)


def test_polygon_and_multipolygon_are_accepted() -> None:
    assert area_from_geojson(square(105, 21)).area == pytest.approx(1.0)
    multi = {
        "type": "MultiPolygon",
        "coordinates": [square(105, 21)["coordinates"], square(107, 21)["coordinates"]],
    }
    assert area_from_geojson(multi).area == pytest.approx(2.0)


# --- the index on toy wards -------------------------------------------------------------------


def toy_index(*records: WardRecord) -> WardIndex:
    return WardIndex(records)


def test_point_inside_a_ward_finds_it_and_outside_finds_none() -> None:
    index = toy_index(
        WardRecord(1, "00001", "West", square(105, 21)),
        WardRecord(2, "00002", "East", square(106, 21)),
    )
    hit = index.locate(21.5, 105.5)
    assert hit is not None
    assert (hit.unit_id, hit.code, hit.name, hit.approximate) == (1, "00001", "West", False)
    assert index.locate(21.5, 106.5).code == "00002"  # type: ignore[union-attr]
    assert index.locate(23.0, 105.5) is None
    assert len(index) == 2


def test_point_on_a_shared_boundary_goes_to_the_lower_code_whatever_the_order() -> None:
    west = WardRecord(7, "00020", "West", square(105, 21))
    east = WardRecord(3, "00010", "East", square(106, 21))
    on_edge = (21.5, 106.0)
    assert toy_index(west, east).locate(*on_edge).code == "00010"  # type: ignore[union-attr]
    assert toy_index(east, west).locate(*on_edge).code == "00010"  # type: ignore[union-attr]
    assert toy_index(east, west).locate_linear(*on_edge).code == "00010"  # type: ignore[union-attr]


def test_official_boundary_wins_over_an_overlapping_approximate_one() -> None:
    official = WardRecord(1, "00090", "Official", square(105, 21))
    approximate = WardRecord(2, "00001", "Approx", square(105.5, 21), approximate=True)
    index = toy_index(approximate, official)
    assert index.locate(21.5, 105.75).code == "00090"  # type: ignore[union-attr]
    hit = index.locate(21.5, 106.25)
    assert hit is not None and hit.approximate


def test_locate_validates_its_coordinates() -> None:
    index = toy_index(WardRecord(1, "00001", "West", square(105, 21)))
    for lat, lon in [(math.nan, 105), (91, 105), ("abc", 105), (21, -181)]:
        with pytest.raises(InvalidCoordinates):
            index.locate(lat, lon)


def test_a_record_with_bad_geometry_is_refused_or_skipped_on_request() -> None:
    good = WardRecord(1, "00001", "Good", square(105, 21))
    bad = WardRecord(2, "00002", "Bad", {"type": "Point", "coordinates": [105, 21]})
    with pytest.raises(InvalidGeometry, match="00002"):
        WardIndex([good, bad])
    index = WardIndex([good, bad], skip_invalid=True)
    assert len(index) == 1
    assert [code for code, _reason in index.skipped] == ["00002"]


def test_an_empty_index_finds_nothing() -> None:
    assert WardIndex([]).locate(21.0, 105.8) is None


# --- the index on the real polygons -----------------------------------------------------------


@pytest.mark.parametrize(("lat", "lon", "code", "name"), KNOWN_POINTS)
def test_known_points_land_in_their_wards(
    real_index: WardIndex, lat: float, lon: float, code: str, name: str
) -> None:
    hit = real_index.locate(lat, lon)
    assert hit is not None
    assert (hit.code, hit.name) == (code, name)


@pytest.mark.parametrize(("lat", "lon"), OUTSIDE_POINTS)
def test_points_outside_hanoi_are_outside(real_index: WardIndex, lat: float, lon: float) -> None:
    assert real_index.locate(lat, lon) is None


def test_every_package_centre_point_lies_in_its_own_real_polygon(real_index: WardIndex) -> None:
    wards = read_province("01").current_wards
    assert len(wards) == 126
    misplaced = []
    for ward in wards:
        hit = real_index.locate(ward.lat, ward.lon)
        if hit is None or hit.code != ward.code:
            misplaced.append((ward.code, hit and hit.code))
    assert misplaced == []


def test_tree_and_linear_scan_agree_on_random_points(real_index: WardIndex) -> None:
    import random

    rng = random.Random(2025)
    min_lon, min_lat, max_lon, max_lat = real_index.bounds
    for _ in range(2000):
        lat, lon = rng.uniform(min_lat, max_lat), rng.uniform(min_lon, max_lon)
        assert real_index.locate(lat, lon) == real_index.locate_linear(lat, lon)


# --- approximate cells ------------------------------------------------------------------------


def test_voronoi_cells_split_the_extent_between_sites() -> None:
    extent = area_from_geojson(square(105, 21))
    cells = voronoi_cells({"00001": (21.5, 105.25), "00002": (21.5, 105.75)}, extent)
    assert set(cells) == {"00001", "00002"}
    assert cells["00001"].covers(Point(105.25, 21.5))
    assert cells["00002"].covers(Point(105.75, 21.5))
    assert cells["00001"].union(cells["00002"]).area == pytest.approx(1.0, rel=1e-4)
    assert cells["00001"].intersection(cells["00002"]).area == pytest.approx(0.0, abs=1e-9)


def test_voronoi_cells_are_deterministic_and_json_stable() -> None:
    extent = area_from_geojson(square(105, 21))
    sites = {"00001": (21.2, 105.2), "00002": (21.7, 105.6), "00003": (21.4, 105.9)}
    first = {code: to_geojson(cell) for code, cell in voronoi_cells(sites, extent).items()}
    again = {code: to_geojson(cell) for code, cell in voronoi_cells(sites, extent).items()}
    assert first == again
    for geometry in first.values():
        assert shape(geometry).is_valid


def test_sites_at_the_same_place_share_one_cell_given_to_the_lower_code() -> None:
    extent = area_from_geojson(square(105, 21))
    cells = voronoi_cells({"00002": (21.5, 105.5), "00001": (21.5, 105.5)}, extent)
    assert list(cells) == ["00001"]


def test_city_extent_joins_discs_and_boxes_and_fills_holes() -> None:
    # Four 1 km² discs in a ring around an empty middle, plus a box off to the east.
    discs = [(21.0, 105.8, 1.0), (21.0, 105.82, 1.0), (21.02, 105.8, 1.0), (21.02, 105.82, 1.0)]
    extent = city_extent(discs=discs, boxes=[(21.0, 105.9, 21.01, 105.91)])
    assert extent.covers(Point(105.8, 21.0))
    assert extent.covers(Point(105.905, 21.005))
    assert not extent.covers(Point(105.86, 21.0))
    # A disc has the ward's area (√(1/π) ≈ 0.56 km radius): 0.5 km away is in, 0.7 km is not.
    assert extent.covers(Point(105.8, 21.0 - 0.5 / 110.574))
    assert not extent.covers(Point(105.8, 21.0 - 0.7 / 110.574))
