"""Fixtures for the agencies tests. Wards are made here, not by the places loader, so that
these tests say exactly which units exist."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest

from ihanoi.accounts.models import Role, User
from ihanoi.agencies.models import Agency
from ihanoi.agencies.services import agency_search_key
from ihanoi.lib.text import fold
from ihanoi.places.models import REFORM_2025, AdministrativeUnit

Level = AdministrativeUnit.Level


def make_unit(
    code: str,
    name: str,
    *,
    level: str = Level.WARD,
    unit_type: str = "phường",
    valid_from: datetime.date | None = REFORM_2025,
    valid_until: datetime.date | None = None,
    parent: AdministrativeUnit | None = None,
) -> AdministrativeUnit:
    short_name = name.split(" ", 1)[1] if " " in name else name
    return AdministrativeUnit.objects.create(
        code=code,
        level=level,
        name=name,
        short_name=short_name,
        name_ascii=fold(name),
        unit_type=unit_type,
        valid_from=valid_from,
        valid_until=valid_until,
        parent=parent,
    )


def make_agency(code: str, name: str, kind: str = Agency.Kind.OTHER, **fields: Any) -> Agency:
    agency = Agency(code=code, name=name, kind=kind, **fields)
    agency.search_key = agency_search_key(agency)
    agency.save()
    return agency


@pytest.fixture
def hanoi_units(db: None) -> dict[str, AdministrativeUnit]:
    """Three current units (two wards, one commune) and, from before 2025-07-01, a district
    with two wards, one of which had the code that new "Ba Đình" reuses."""
    province = make_unit(
        "01", "Thành phố Hà Nội", level=Level.PROVINCE, unit_type="thành phố", valid_from=None
    )
    old_district = make_unit(
        "001",
        "Quận Ba Đình",
        level=Level.DISTRICT,
        unit_type="quận",
        valid_from=None,
        valid_until=REFORM_2025,
        parent=province,
    )
    return {
        "province": province,
        "hoan_kiem": make_unit("00070", "Phường Hoàn Kiếm", parent=province),
        "ba_dinh": make_unit("00004", "Phường Ba Đình", parent=province),
        "noi_bai": make_unit("00454", "Xã Nội Bài", unit_type="xã", parent=province),
        "old_district": old_district,
        "old_truc_bach": make_unit(
            "00004",
            "Phường Trúc Bạch",
            valid_from=None,
            valid_until=REFORM_2025,
            parent=old_district,
        ),
        "old_dien_bien": make_unit(
            "00010",
            "Phường Điện Biên",
            valid_from=None,
            valid_until=REFORM_2025,
            parent=old_district,
        ),
    }


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    counter = iter(range(1, 10_000))

    def make(role: str = Role.AGENCY_OFFICER, **extra: Any) -> User:
        return User.objects.create_user(
            email=f"staff{next(counter)}@example.vn",
            password="pw-for-tests-only",
            role=role,
            **extra,
        )

    return make
