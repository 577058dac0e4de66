"""Point → ward through the database: selectors, the per-process index, ``ihanoi locate``."""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F

from ihanoi.lib.geo import InvalidCoordinates, WardIndex
from ihanoi.places import selectors
from ihanoi.places.models import AdministrativeUnit
from ihanoi.places.selectors import current_wards, locate_ward, locate_ward_hit, ward_index
from ihanoi.places.services import LoadResult, boundaries_import

from .test_geo_index import OUTSIDE_POINTS, square

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def locate_output(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("locate", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue().strip()


def test_every_centre_point_lands_in_its_own_ward_with_approximate_boundaries(
    hanoi: LoadResult,
) -> None:
    misplaced = []
    for ward in current_wards():
        hit = locate_ward_hit(ward.centre_lat, ward.centre_lon)
        if hit is None or hit.unit_id != ward.pk or not hit.approximate:
            misplaced.append((ward.code, hit))
    assert misplaced == []


def test_approximate_boundaries_mark_their_answers_and_keep_outside_points_out(
    hanoi: LoadResult,
) -> None:
    out, err = locate_output("21.0287", "105.8523")
    assert out.split()[0].isdigit() and len(out.split()[0]) == 5
    assert "approximate" in err
    for lat, lon in OUTSIDE_POINTS:
        assert locate_ward(lat, lon) is None


def test_approximate_boundaries_agree_with_official_ones_for_most_of_the_city(
    hanoi: LoadResult, real_index: WardIndex
) -> None:
    """Measured: the approximate cell matches the official polygon for 78.8% of 5,000
    random points in Hanoi (seed 2025) and leaves 0.5% outside. A regression check on the
    approximation, not a promise: pages and the locate output say it is approximate."""
    rng = random.Random(2025)
    min_lon, min_lat, max_lon, max_lat = real_index.bounds
    agree = outside = total = 0
    while total < 5000:
        lat, lon = rng.uniform(min_lat, max_lat), rng.uniform(min_lon, max_lon)
        official = real_index.locate(lat, lon)
        if official is None:
            continue
        total += 1
        approximate = locate_ward_hit(lat, lon)
        if approximate is None:
            outside += 1
        elif approximate.code == official.code:
            agree += 1
    assert agree / total == pytest.approx(0.788, abs=0.005)
    assert outside / total < 0.01


@pytest.mark.parametrize(
    ("lat", "lon", "words"),
    [
        (math.nan, 105.8, "finite"),
        (91, 105.8, "between -90 and 90"),
        ("abc", 105.8, "must be a number"),
        (21.0, -181, "between -180 and 180"),
    ],
)
def test_invalid_coordinates_are_a_clear_error(
    django_assert_num_queries: Any, lat: object, lon: object, words: str
) -> None:
    # Refused before the index is built or the database asked.
    with django_assert_num_queries(0), pytest.raises(InvalidCoordinates, match=words):
        locate_ward(lat, lon)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["nan", "105.8"], "latitude must be a number"),
        (["91", "105.8"], "latitude must be between -90 and 90, not 91"),
        (["-91", "105.8"], "latitude must be between -90 and 90, not -91"),
        (["abc", "105.8"], "latitude must be a number"),
        (["21.0", "-181"], "longitude must be between -180 and 180, not -181"),
        (["21.0", "-181.5"], "longitude must be between -180 and 180"),
        (["--", "21.0", "-200"], "longitude must be between -180 and 180"),
    ],
)
def test_locate_command_rejects_invalid_coordinates_with_exit_status_2(
    args: list[str], words: str
) -> None:
    with pytest.raises(CommandError, match=words) as caught:
        locate_output(*args)
    assert caught.value.returncode == 2


def test_locate_command_says_when_no_boundaries_are_loaded(db: None) -> None:
    with pytest.raises(CommandError, match="No ward boundaries are loaded") as caught:
        locate_output("21.0287", "105.8523")
    assert caught.value.returncode == 1


def test_ihanoi_cli_reports_invalid_coordinates_without_a_traceback(tmp_path: Path) -> None:
    ihanoi = Path(sys.executable).with_name("ihanoi")
    if not ihanoi.exists():
        pytest.skip("the ihanoi console script is not installed in this environment")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}"}
    done = subprocess.run(  # noqa: S603 - our own console script
        [str(ihanoi), "locate", "-91", "105"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    # The command speaks the default language (Vietnamese); the message names the value.
    assert done.returncode == 2
    assert "CommandError" in done.stderr and "-91" in done.stderr
    assert "Traceback" not in done.stderr


# --- the per-process index --------------------------------------------------------------------


def test_index_is_reused_within_the_check_interval(
    hanoi: LoadResult, django_assert_num_queries: Any
) -> None:
    first = ward_index()
    with django_assert_num_queries(0):
        assert ward_index() is first
        locate_ward_hit(21.0287, 105.8523)


def test_index_notices_boundaries_imported_in_this_process(
    hanoi: LoadResult, real_wards: dict[str, Any]
) -> None:
    before = locate_ward_hit(21.0287, 105.8523)
    assert before is not None and before.approximate
    boundaries_import(collection=real_wards)
    after = locate_ward_hit(21.0287, 105.8523)
    assert after is not None and not after.approximate
    assert after.code == "00070"


def test_index_notices_boundaries_changed_by_another_process(
    hanoi: LoadResult, monkeypatch: pytest.MonkeyPatch, django_assert_num_queries: Any
) -> None:
    now = [1000.0]
    monkeypatch.setattr(selectors, "_clock", lambda: now[0])
    far_away = (10.5, 100.5)  # in the Gulf of Thailand
    assert locate_ward_hit(*far_away) is None
    first = ward_index()

    # Another process moves ward 00070 there: it writes rows and bumps the revision, but it
    # cannot clear this process's memory.
    AdministrativeUnit.objects.filter(code="00070", valid_until__isnull=True).update(
        boundary=square(100, 10), boundary_revision=F("boundary_revision") + 1
    )
    now[0] += selectors.INDEX_CHECK_SECONDS / 2
    assert locate_ward_hit(*far_away) is None  # not checked yet: within the interval

    now[0] += selectors.INDEX_CHECK_SECONDS
    hit = locate_ward_hit(*far_away)
    assert hit is not None and hit.code == "00070"
    assert ward_index() is not first

    # Unchanged boundaries: one cheap query after the interval, no rebuild.
    rebuilt = ward_index()
    now[0] += selectors.INDEX_CHECK_SECONDS * 2
    with django_assert_num_queries(1):
        assert ward_index() is rebuilt


def test_index_notices_a_ward_gaining_or_losing_its_boundary(
    hanoi: LoadResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(selectors, "_clock", lambda: now[0])
    assert locate_ward_hit(21.0287, 105.8523) is not None
    current_wards().update(boundary=None, boundary_source="")
    now[0] += selectors.INDEX_CHECK_SECONDS * 2
    assert locate_ward_hit(21.0287, 105.8523) is None
