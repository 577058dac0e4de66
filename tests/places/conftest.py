"""Fixtures for the places tests: the real Hanoi data, read once per session."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from ihanoi.lib.geo import WardIndex, WardRecord
from ihanoi.places.models import AdministrativeUnit, UnitSuccession
from ihanoi.places.services import LoadResult, boundaries_import, places_load
from tests.conftest import shared_data_file

WARDS_2025 = "hanoi/wards-2025.geojson"
Level = AdministrativeUnit.Level


@pytest.fixture(scope="session")
def real_wards() -> dict[str, Any]:
    """The 126 official polygons of 2025 (FeatureCollection), parsed once."""
    return json.loads(shared_data_file(WARDS_2025).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def real_index(real_wards: dict[str, Any]) -> WardIndex:
    """WardIndex over the real polygons, unit id = position in the file; built once a module."""
    return WardIndex(
        WardRecord(position, f["properties"]["code"], f["properties"]["fullName"], f["geometry"])
        for position, f in enumerate(real_wards["features"])
    )


@pytest.fixture
def hanoi(db: None) -> LoadResult:
    """Hanoi's units loaded from the package, with approximate boundaries."""
    return places_load(province_code="01")


@pytest.fixture
def hanoi_official(hanoi: LoadResult, real_wards: dict[str, Any]) -> LoadResult:
    """Hanoi loaded, then the real official polygons imported."""
    boundaries_import(collection=real_wards)
    return hanoi


def _remove_places() -> None:
    UnitSuccession.objects.all().delete()
    # Children before parents: parent links are PROTECT.
    for level in (Level.WARD, Level.DISTRICT, Level.PROVINCE):
        AdministrativeUnit.objects.filter(level=level).delete()


@pytest.fixture(scope="module")
def hanoi_module(django_db_setup: None, django_db_blocker: Any) -> Iterator[LoadResult]:
    """Hanoi loaded once for a module whose tests all read it (each test still runs in its
    own rolled-back transaction, so a test may write). Removed when the module ends."""
    with django_db_blocker.unblock():
        result = places_load(province_code="01")
    try:
        yield result
    finally:
        with django_db_blocker.unblock():
            _remove_places()


@pytest.fixture(scope="module")
def hanoi_official_module(
    hanoi_module: LoadResult, real_wards: dict[str, Any], django_db_blocker: Any
) -> LoadResult:
    """:func:`hanoi_module` with the real official polygons imported, once per module."""
    with django_db_blocker.unblock():
        boundaries_import(collection=real_wards)
    return hanoi_module
