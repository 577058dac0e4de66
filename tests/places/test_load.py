"""Loading Hanoi's units and the 2025 conversion from the vietnamadminunits package."""

from __future__ import annotations

import csv
import datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from ihanoi.places.models import REFORM_2025, AdministrativeUnit, UnitSuccession
from ihanoi.places.selectors import current_unit_for_old_code, current_wards, unit_successors
from ihanoi.places.services import LoadResult, boundaries_import, places_load
from ihanoi.places.source import SourceError
from tests.conftest import shared_data_file

Level = AdministrativeUnit.Level
Source = AdministrativeUnit.BoundarySource

pytestmark = pytest.mark.django_db


def snapshot() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    units = list(AdministrativeUnit.objects.order_by("id").values_list())
    links = list(UnitSuccession.objects.order_by("id").values_list())
    return units, links


def test_load_creates_the_city_its_30_districts_526_old_and_126_current_wards(
    hanoi: LoadResult,
) -> None:
    assert (hanoi.districts, hanoi.old_wards, hanoi.current_wards) == (30, 526, 126)
    assert hanoi.units_created == 1 + 30 + 526 + 126
    province = AdministrativeUnit.objects.get(level=Level.PROVINCE, code="01")
    assert (province.name, province.short_name, province.unit_type) == (
        "Thành phố Hà Nội",
        "Hà Nội",
        "Thành phố",
    )
    assert province.valid_until is None

    districts = AdministrativeUnit.objects.filter(level=Level.DISTRICT)
    assert districts.count() == 30
    assert set(districts.values_list("valid_until", flat=True)) == {REFORM_2025}
    assert set(districts.values_list("parent", flat=True)) == {province.pk}

    old = AdministrativeUnit.objects.filter(level=Level.WARD, valid_until=REFORM_2025)
    assert old.count() == 526
    assert not old.filter(parent__level=Level.PROVINCE).exists()
    hang_bac = old.get(code="00061")
    assert (hang_bac.name, hang_bac.parent.name) == ("Phường Hàng Bạc", "Quận Hoàn Kiếm")

    current = current_wards()
    assert current.count() == 126
    assert set(current.values_list("valid_from", flat=True)) == {REFORM_2025}
    assert set(current.values_list("parent", flat=True)) == {province.pk}
    hoan_kiem = current.get(code="00070")
    assert (hoan_kiem.name, hoan_kiem.unit_type, hoan_kiem.area_km2) == (
        "Phường Hoàn Kiếm",
        "Phường",
        1.91,
    )
    assert hoan_kiem.centre_lat == pytest.approx(21.032)
    assert hoan_kiem.centre_lon == pytest.approx(105.85)


def test_wards_in_force_before_the_reform_are_not_current(hanoi: LoadResult) -> None:
    assert current_wards(on=datetime.date(2025, 6, 30)).count() == 526
    assert current_wards(on=REFORM_2025).count() == 126


def test_codes_reused_across_eras_are_two_units(hanoi: LoadResult) -> None:
    # 00004 was Phường Trúc Bạch and is now Phường Ba Đình.
    units = AdministrativeUnit.objects.filter(level=Level.WARD, code="00004").order_by("id")
    assert [(u.name, u.valid_from, u.valid_until) for u in units] == [
        ("Phường Trúc Bạch", None, REFORM_2025),
        ("Phường Ba Đình", REFORM_2025, None),
    ]


def test_loading_twice_changes_nothing_and_duplicates_nothing(hanoi: LoadResult) -> None:
    before = snapshot()
    again = places_load(province_code="01")
    assert not again.changed
    assert (again.units_created, again.units_updated, again.approximate_boundaries) == (0, 0, 0)
    assert (again.successions_created, again.successions_updated) == (0, 0)
    assert again.successions_removed == 0
    assert snapshot() == before


def test_loading_again_repairs_edited_rows_without_touching_boundaries(hanoi: LoadResult) -> None:
    ward = current_wards().get(code="00070")
    boundary = ward.boundary
    AdministrativeUnit.objects.filter(pk=ward.pk).update(name="Wrong", name_ascii="wrong")
    UnitSuccession.objects.filter(new=ward).update(is_default=False)
    result = places_load(province_code="01")
    ward.refresh_from_db()
    assert (ward.name, ward.name_ascii) == ("Phường Hoàn Kiếm", "phuong hoan kiem")
    assert ward.boundary == boundary
    assert result.units_updated == 1
    assert result.successions_updated > 0
    assert result.approximate_boundaries == 0


def test_a_succession_the_package_does_not_list_is_removed(hanoi: LoadResult) -> None:
    old = AdministrativeUnit.objects.get(level=Level.WARD, valid_until=REFORM_2025, code="00061")
    stray = current_wards().get(code="00004")
    UnitSuccession.objects.create(old=old, new=stray)
    result = places_load(province_code="01")
    assert result.successions_removed == 1
    assert not UnitSuccession.objects.filter(old=old, new=stray).exists()


def test_unknown_province_code_is_a_clear_error(db: None) -> None:
    with pytest.raises(SourceError, match="no province with code '99'"):
        places_load(province_code="99")
    assert not AdministrativeUnit.objects.exists()


def test_successions_mark_split_wards_and_their_default_new_ward(hanoi: LoadResult) -> None:
    assert UnitSuccession.objects.count() == 794
    assert set(UnitSuccession.objects.values_list("effective_date", flat=True)) == {REFORM_2025}
    # Phường Tràng Tiền (00079) was split between Cửa Nam (00082, the default) and Hoàn Kiếm.
    trang_tien = AdministrativeUnit.objects.get(valid_until=REFORM_2025, code="00079")
    links = [(s.new.code, s.is_partial, s.is_default) for s in unit_successors(trang_tien)]
    assert links == [("00082", True, True), ("00070", True, False)]
    # Phường Hàng Bạc (00061) went whole into Hoàn Kiếm.
    hang_bac = AdministrativeUnit.objects.get(valid_until=REFORM_2025, code="00061")
    links = [(s.new.code, s.is_partial, s.is_default) for s in unit_successors(hang_bac)]
    assert links == [("00070", False, True)]
    # Every old ward has successors and exactly one default; only split ones are partial.
    for old in AdministrativeUnit.objects.filter(valid_until=REFORM_2025, level=Level.WARD):
        rows = list(old.successors.all())
        assert rows, old.code
        assert sum(r.is_default for r in rows) == 1, old.code
        assert {r.is_partial for r in rows} == {len(rows) > 1}, old.code


def test_old_ward_code_maps_to_todays_unit(hanoi: LoadResult) -> None:
    # Phường Hàng Bạc, Quận Hoàn Kiếm → Phường Hoàn Kiếm.
    unit = current_unit_for_old_code("00061")
    assert unit is not None and (unit.code, unit.name) == ("00070", "Phường Hoàn Kiếm")
    assert current_unit_for_old_code("00061", district_code="002") == unit
    assert current_unit_for_old_code("00061", district_code="001") is None
    # A split ward maps to its default new ward; 00004 as an old code is Trúc Bạch → Ba Đình.
    trang_tien = current_unit_for_old_code("00079")
    default = UnitSuccession.objects.get(
        old__code="00079", old__valid_until=REFORM_2025, is_default=True
    )
    assert trang_tien == default.new
    assert current_unit_for_old_code("00004").code == "00004"  # type: ignore[union-attr]
    assert current_unit_for_old_code("99999") is None


def test_package_conversion_agrees_with_the_official_table(hanoi: LoadResult) -> None:
    """Measured with vietnamadminunits 1.0.4: 793 of the 795 rows of the official old→new
    table (hanoi_ward_old_to_new_2025.csv) are in the package. The package lacks
    Xã Cổ Bi (00553) → Xã Thuận An (00562) and Xã Văn Khê (09013) → Xã Ô Diên (09817), and
    has one pair the table does not: Xã Đặng Xá (00556) → Xã Thuận An (00562). Which old
    wards were split agrees for all 526."""
    path = shared_data_file("hanoi/admin-codes/hanoi_ward_old_to_new_2025.csv")
    with path.open(encoding="utf-8") as handle:
        official_rows = list(csv.DictReader(handle))
    official = {(r["old_ward_code"], r["new_ward_code"]) for r in official_rows}
    loaded = set(UnitSuccession.objects.values_list("old__code", "new__code"))
    assert len(official_rows) == 795
    assert len(official & loaded) == 793
    assert official - loaded == {("00553", "00562"), ("09013", "09817")}
    assert loaded - official == {("00556", "00562")}

    official_split = {r["old_ward_code"] for r in official_rows if r["is_partly_merged"] == "True"}
    loaded_split = set(
        UnitSuccession.objects.filter(is_partial=True).values_list("old__code", flat=True)
    )
    assert len(official_split) == 199
    assert loaded_split == official_split


def test_load_places_command_prints_counts(db: None) -> None:
    out = StringIO()
    call_command("load_places", stdout=out)
    text = out.getvalue()
    assert "Thành phố Hà Nội (01)" in text
    assert "30 districts and 526 wards before 2025-07-01, 126 current wards" in text
    assert "Approximate boundaries written: 126" in text
    out = StringIO()
    call_command("load_places", stdout=out)
    assert "Units: 0 created, 0 updated" in out.getvalue()


def test_load_places_command_reports_an_unknown_province(db: None, settings: Any) -> None:
    from django.core.management import CommandError

    settings.IHANOI_PROVINCE_CODE = "99"
    with pytest.raises(CommandError, match="no province with code '99'"):
        call_command("load_places", stdout=StringIO())


# --- approximate boundaries -------------------------------------------------------------------


def test_load_gives_every_current_ward_an_approximate_boundary(hanoi: LoadResult) -> None:
    assert hanoi.approximate_boundaries == 126
    wards = current_wards()
    assert set(wards.values_list("boundary_source", flat=True)) == {Source.APPROXIMATE}
    assert not wards.filter(boundary__isnull=True).exists()
    old = AdministrativeUnit.objects.filter(valid_until=REFORM_2025)
    assert not old.exclude(boundary_source=Source.NONE).exists()


def test_official_boundaries_are_never_overwritten_by_approximate_ones(
    hanoi: LoadResult, real_wards: dict[str, Any]
) -> None:
    one = {
        "type": "FeatureCollection",
        "features": [f for f in real_wards["features"] if f["properties"]["code"] == "00070"],
    }
    boundaries_import(collection=one)
    hoan_kiem = current_wards().get(code="00070")
    official = hoan_kiem.boundary
    assert hoan_kiem.boundary_source == Source.OFFICIAL

    from ihanoi.places.services import places_derive_approximate_boundaries

    # Unchanged approximate cells are not rewritten either.
    assert places_derive_approximate_boundaries(province_code="01") == 0
    again = places_load(province_code="01")
    assert again.approximate_boundaries == 0
    hoan_kiem.refresh_from_db()
    assert (hoan_kiem.boundary_source, hoan_kiem.boundary) == (Source.OFFICIAL, official)
    assert current_wards().filter(boundary_source=Source.APPROXIMATE).count() == 125


def test_deriving_restores_an_approximate_boundary_that_was_lost(hanoi: LoadResult) -> None:
    from ihanoi.places.services import places_derive_approximate_boundaries

    ward = current_wards().get(code="00070")
    cell = ward.boundary
    AdministrativeUnit.objects.filter(pk=ward.pk).update(boundary=None, boundary_source="")
    assert places_derive_approximate_boundaries(province_code="01") == 1
    ward.refresh_from_db()
    assert (ward.boundary_source, ward.boundary) == (Source.APPROXIMATE, cell)


def test_a_failure_during_the_load_leaves_nothing_behind(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ihanoi.places import services

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    # The last step fails: the units and links written before it must be rolled back.
    monkeypatch.setattr(services, "voronoi_cells", broken)
    with pytest.raises(RuntimeError, match="boom"):
        places_load(province_code="01")
    assert not AdministrativeUnit.objects.exists()
    assert not UnitSuccession.objects.exists()


@pytest.mark.django_db
def test_an_undated_unit_cannot_be_stored_twice():
    from django.db import IntegrityError, transaction

    from ihanoi.places.models import AdministrativeUnit

    fields = dict(
        level="district",
        code="001",
        name="Quận Ba Đình",
        short_name="Ba Đình",
        name_ascii="quan ba dinh",
        unit_type="quận",
    )
    AdministrativeUnit.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        AdministrativeUnit.objects.create(**fields)
