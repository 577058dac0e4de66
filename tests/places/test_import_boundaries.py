"""``ihanoi import-boundaries FILE``: official polygons, all-or-nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from ihanoi.places.models import AdministrativeUnit
from ihanoi.places.selectors import current_wards
from ihanoi.places.services import LoadResult
from tests.conftest import shared_data_file

from .conftest import WARDS_2025
from .test_geo_index import square

pytestmark = pytest.mark.django_db

Source = AdministrativeUnit.BoundarySource


@pytest.fixture(autouse=True)
def _hanoi(hanoi_module: LoadResult) -> None:
    pass


def boundaries() -> list[tuple[Any, ...]]:
    return list(
        AdministrativeUnit.objects.order_by("id").values_list(
            "id", "boundary_source", "boundary_revision", "boundary"
        )
    )


def run_import(path: Path) -> str:
    out = StringIO()
    call_command("import_boundaries", str(path), stdout=out)
    return out.getvalue().strip()


def feature(code: Any, geometry: Any = None, **properties: Any) -> dict[str, Any]:
    props = {"code": code, **properties} if code is not None else properties
    return {"type": "Feature", "properties": props, "geometry": geometry or square(105.8, 21.0)}


def collection(*features: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def test_the_real_file_imports_all_126_wards_and_again_changes_nothing() -> None:
    path = shared_data_file(WARDS_2025)
    assert run_import(path) == "Imported 126 official ward boundaries (0 already up to date)."
    wards = current_wards()
    assert set(wards.values_list("boundary_source", flat=True)) == {Source.OFFICIAL}
    hoan_kiem = wards.get(code="00070")
    assert hoan_kiem.boundary is not None and hoan_kiem.boundary["type"] == "MultiPolygon"
    before = boundaries()
    assert run_import(path) == "Imported 0 official ward boundaries (126 already up to date)."
    assert boundaries() == before


def test_a_partial_file_updates_only_its_wards(tmp_path: Path) -> None:
    path = tmp_path / "one.geojson"
    path.write_text(json.dumps(collection(feature("00070", name="Hoàn Kiếm"))), "utf-8")
    assert run_import(path).startswith("Imported 1 official ward boundaries")
    sources = dict(current_wards().values_list("code", "boundary_source"))
    assert sources.pop("00070") == Source.OFFICIAL
    assert set(sources.values()) == {Source.APPROXIMATE}


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.geojson"
    path.write_text(json.dumps(collection(feature("00070"))), encoding="utf-8-sig")
    assert run_import(path).startswith("Imported 1 ")


BAD_FILES: dict[str, tuple[Callable[[], Any], str]] = {
    "not a FeatureCollection": (
        lambda: feature("00070"),
        "not a GeoJSON FeatureCollection",
    ),
    "a list": (lambda: [feature("00070")], "not a GeoJSON FeatureCollection"),
    "features not a list": (
        lambda: {"type": "FeatureCollection", "features": {"a": 1}},
        "no list of features",
    ),
    "no features": (lambda: collection(), "has no features"),
    "feature without code": (
        lambda: collection(feature("00070"), feature(None, name="Ba Đình")),
        "Feature 2 has no “code” property",
    ),
    "feature that is not an object": (
        lambda: collection(feature("00070"), "oops"),
        "Feature 2 has no “code” property",
    ),
    "blank code": (lambda: collection(feature("  ")), "Feature 1 has no “code” property"),
    "numeric code": (lambda: collection(feature(70)), "the code must be text such as"),
    "unknown code": (
        lambda: collection(feature("00070"), feature("99999")),
        "Feature 2: code 99999 is not a ward or commune in force today",
    ),
    "code that is not digits": (
        lambda: collection(feature("00070"), feature("HK\u0000")),
        "Feature 2: “HK\u0000” is not a ward code (5 digits)",
    ),
    "old ward code": (
        lambda: collection(feature("00061")),
        "code 00061 is not a ward or commune in force today",
    ),
    "duplicate code": (
        lambda: collection(feature("00070"), feature("00004"), feature("00070")),
        "Feature 3 repeats code 00070 (already in feature 1)",
    ),
    "self-intersecting polygon": (
        lambda: collection(
            feature(
                "00070",
                {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
            )
        ),
        "Feature 1 (code 00070): the geometry is not valid",
    ),
    "empty geometry": (
        lambda: collection(feature("00070", {"type": "MultiPolygon", "coordinates": []})),
        "the geometry is empty",
    ),
    "no geometry": (
        lambda: collection({"type": "Feature", "properties": {"code": "00070"}, "geometry": None}),
        "the geometry is missing",
    ),
    "point geometry": (
        lambda: collection(feature("00070", {"type": "Point", "coordinates": [105.85, 21.03]})),
        "must be Polygon or MultiPolygon, not “Point”",
    ),
    "malformed coordinates": (
        lambda: collection(feature("00070", {"type": "Polygon", "coordinates": [[[0, 0]]]})),
        "the coordinates are malformed",
    ),
    "latitude and longitude swapped": (
        lambda: collection(
            feature(
                "00070",
                {"type": "Polygon", "coordinates": [[[21, 105], [21, 106], [22, 106], [21, 105]]]},
            )
        ),
        "outside longitude/latitude range",
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_file_is_refused_with_a_clear_message_and_nothing_changes(
    case: str, tmp_path: Path
) -> None:
    make, words = BAD_FILES[case]
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps(make(), ensure_ascii=False), "utf-8")
    before = boundaries()
    with pytest.raises(CommandError, match=re.escape(words)) as caught:
        run_import(path)
    assert str(caught.value).startswith(f"Nothing was imported from {path}:")
    assert boundaries() == before


def test_one_bad_feature_among_the_real_126_stops_them_all(
    tmp_path: Path, real_wards: dict[str, Any]
) -> None:
    features = list(real_wards["features"])
    features[5] = {**features[5], "geometry": None}
    features.append(features[0])
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps(collection(*features)), "utf-8")
    before = boundaries()
    with pytest.raises(CommandError) as caught:
        run_import(path)
    problems = str(caught.value).splitlines()[1:]
    assert problems == [
        f"  - Feature 6 (code {features[5]['properties']['code']}): the geometry is missing or "
        "is not a GeoJSON object.",
        "  - Feature 127 repeats code 00004 (already in feature 1).",
    ]
    assert boundaries() == before


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b'{"type": "FeatureCollection", "features": [', "is not valid JSON (line 1"),
        (b"", "is not valid JSON"),
        (b"\xff\xfe{}", "is not UTF-8 text"),
        (b"<kml></kml>", "is not valid JSON"),
    ],
)
def test_a_file_that_is_not_json_is_refused(content: bytes, words: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.geojson"
    path.write_bytes(content)
    before = boundaries()
    with pytest.raises(CommandError, match=re.escape(words)):
        run_import(path)
    assert boundaries() == before


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"Cannot read .*missing\.geojson"):
        run_import(tmp_path / "missing.geojson")


def test_all_problems_are_listed_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bad.geojson"
    bad = collection(feature(None), feature("99999"), feature("00070", {"type": "Point"}))
    path.write_text(json.dumps(bad), "utf-8")
    with pytest.raises(CommandError) as caught:
        run_import(path)
    lines = str(caught.value).splitlines()[1:]
    assert [line.split()[2].rstrip(":") for line in lines] == ["1", "2", "3"]
