"""Point → ward with the real official polygons imported (loaded once for this module)."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO

import pytest
from django.core.management import call_command

from ihanoi.places import selectors
from ihanoi.places.selectors import locate_ward
from ihanoi.places.services import LoadResult

from .test_geo_index import KNOWN_POINTS, OUTSIDE_POINTS

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _official(hanoi_official_module: LoadResult) -> None:
    pass


@pytest.fixture(scope="module", autouse=True)
def _module_ward_index() -> Iterator[None]:
    selectors.ward_index_clear()
    yield
    selectors.ward_index_clear()


@pytest.fixture
def _fresh_ward_index() -> None:
    """Overrides the per-test reset: these tests only read, so the index built by the first
    one serves the module."""


def locate_output(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("locate", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue().strip()


def test_known_points_land_in_their_wards() -> None:
    for lat, lon, code, name in KNOWN_POINTS:
        ward = locate_ward(lat, lon)
        assert ward is not None and (ward.code, ward.name) == (code, name)
        assert ward.is_current()


def test_locate_command_prints_code_and_name_of_known_points() -> None:
    for lat, lon, code, name in KNOWN_POINTS:
        assert locate_output(str(lat), str(lon)) == (f"{code} {name}", "")


def test_points_outside_the_city_are_outside() -> None:
    for lat, lon in OUTSIDE_POINTS:
        assert locate_ward(lat, lon) is None
        out, err = locate_output(str(lat), str(lon))
        assert out == f"{float(lat)}, {float(lon)} is outside the city's wards."
        assert err == ""


def test_locate_command_takes_negative_coordinates_of_other_hemispheres() -> None:
    assert locate_output("-33.87", "-70.5")[0] == "-33.87, -70.5 is outside the city's wards."
