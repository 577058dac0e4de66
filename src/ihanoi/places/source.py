"""Read a province's administrative units from the ``vietnamadminunits`` package (MIT).

The package ships its data as files: ``data/dataset.db`` (SQLite; table ``admin_units`` holds
the units in force since 2025-07-01, ``admin_units_legacy`` those before) and
``data/converter_2025.json`` (the old→new conversion, keyed by the package's name keys such
as ``thanhphohanoi_quanhoankiem_phuonghangbac``). They are read where the package is
installed, at run time, never copied into this repository. This module only reads and
returns plain values; :mod:`ihanoi.places.services` writes them.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from ihanoi.lib.text import nfc

PACKAGE = "vietnamadminunits"


class SourceError(Exception):
    """The package is missing, unreadable, or does not know the province."""


@dataclass(frozen=True, slots=True)
class SourceUnit:
    code: str
    name: str
    short_name: str
    unit_type: str
    lat: float | None
    lon: float | None
    area_km2: float | None = None
    parent_code: str | None = None


@dataclass(frozen=True, slots=True)
class SourceLink:
    """Old ward ``old_code`` became (part of) current ward ``new_code``."""

    old_code: str
    new_code: str
    is_partial: bool
    is_default: bool


@dataclass(frozen=True)
class ProvinceSource:
    province: SourceUnit
    districts: list[SourceUnit]
    old_wards: list[SourceUnit]
    current_wards: list[SourceUnit]
    links: list[SourceLink]
    # Geocoder bounding boxes (south, west, north, east) of the old wards, by code.
    old_ward_boxes: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)


def _unit_type(full_name: str, short_name: str) -> str:
    """Type from the names: ("Thành phố Hà Nội", "Hà Nội") → "Thành phố"; the package has no
    province type column."""
    if full_name.endswith(short_name):
        return full_name[: -len(short_name)].strip()
    return ""


def _short_name(full_name: str, unit_type: str, package_short: str) -> str:
    """Name without the type: "Thị trấn Yên Viên" → "Yên Viên".

    The package's short names add "(Thị trấn)" where two units share a name; the full name
    and the type already tell them apart.
    """
    if unit_type and full_name.startswith(unit_type + " "):
        return full_name[len(unit_type) :].strip()
    return package_short


def _parse_box(text: str | None) -> tuple[float, float, float, float] | None:
    # "21.040199,105.842293 – 21.053464,105.855959": south,west – north,east.
    if not text:
        return None
    try:
        low, high = text.replace("–", "-").split(" - ")
        south, west = (float(v) for v in low.split(","))
        north, east = (float(v) for v in high.split(","))
    except ValueError:
        return None
    if south < north and west < east:
        return south, west, north, east
    return None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def read_province(province_code: str) -> ProvinceSource:
    """Everything the package knows about one province (official code, e.g. "01")."""
    try:
        data = resources.files(PACKAGE).joinpath("data")
        with resources.as_file(data.joinpath("dataset.db")) as db_path:
            uri = db_path.resolve().as_uri() + "?mode=ro"
            with closing(sqlite3.connect(uri, uri=True)) as db:
                db.row_factory = sqlite3.Row
                current = db.execute(
                    "SELECT * FROM admin_units WHERE provinceCode = ? ORDER BY wardCode",
                    (province_code,),
                ).fetchall()
                if not current:
                    raise SourceError(f"{PACKAGE} has no province with code {province_code!r}")
                province_key = current[0]["provinceKey"]
                converter = json.loads(data.joinpath("converter_2025.json").read_text("utf-8"))
                old_province_keys = converter["DICT_PROVINCE"].get(province_key, [province_key])
                marks = ",".join("?" * len(old_province_keys))
                legacy = db.execute(
                    f"SELECT * FROM admin_units_legacy WHERE provinceKey IN ({marks})"  # noqa: S608 - only placeholders
                    " ORDER BY districtCode, wardCode",
                    old_province_keys,
                ).fetchall()
    except (ImportError, OSError, sqlite3.Error, KeyError, json.JSONDecodeError) as exc:
        raise SourceError(f"cannot read the {PACKAGE} data files: {exc}") from exc

    first = current[0]
    province = SourceUnit(
        code=province_code,
        name=nfc(first["province"]),
        short_name=nfc(first["provinceShort"]),
        unit_type=_unit_type(nfc(first["province"]), nfc(first["provinceShort"])),
        lat=_float(first["provinceLat"]),
        lon=_float(first["provinceLon"]),
    )
    current_wards = [
        SourceUnit(
            code=row["wardCode"],
            name=nfc(row["ward"]),
            short_name=_short_name(nfc(row["ward"]), nfc(row["wardType"]), nfc(row["wardShort"])),
            unit_type=nfc(row["wardType"]),
            lat=_float(row["wardLat"]),
            lon=_float(row["wardLon"]),
            area_km2=_float(row["wardAreaKm2"]),
            parent_code=province_code,
        )
        for row in current
    ]
    districts: dict[str, SourceUnit] = {}
    old_wards: list[SourceUnit] = []
    old_code_by_key: dict[str, str] = {}
    boxes: dict[str, tuple[float, float, float, float]] = {}
    for row in legacy:
        districts.setdefault(
            row["districtCode"],
            SourceUnit(
                code=row["districtCode"],
                name=nfc(row["district"]),
                short_name=_short_name(
                    nfc(row["district"]), nfc(row["districtType"]), nfc(row["districtShort"])
                ),
                unit_type=nfc(row["districtType"]),
                lat=_float(row["districtLat"]),
                lon=_float(row["districtLon"]),
                parent_code=province_code,
            ),
        )
        old_wards.append(
            SourceUnit(
                code=row["wardCode"],
                name=nfc(row["ward"]),
                short_name=_short_name(
                    nfc(row["ward"]), nfc(row["wardType"]), nfc(row["wardShort"])
                ),
                unit_type=nfc(row["wardType"]),
                lat=_float(row["wardLat"]),
                lon=_float(row["wardLon"]),
                parent_code=row["districtCode"],
            )
        )
        old_code_by_key[f"{row['provinceKey']}_{row['districtKey']}_{row['wardKey']}"] = row[
            "wardCode"
        ]
        if (ward_box := _parse_box(row["wardBounds"])) is not None:
            boxes[row["wardCode"]] = ward_box

    new_code_by_key = {row["wardKey"]: row["wardCode"] for row in current}
    links = _links(converter, province_key, old_code_by_key, new_code_by_key)
    return ProvinceSource(
        province=province,
        districts=list(districts.values()),
        old_wards=old_wards,
        current_wards=current_wards,
        links=links,
        old_ward_boxes=boxes,
    )


def _links(
    converter: dict[str, Any],
    province_key: str,
    old_code_by_key: dict[str, str],
    new_code_by_key: dict[str, str],
) -> list[SourceLink]:
    """The conversion as code pairs.

    ``DICT_PROVINCE_WARD_NO_DIVIDED[province][new ward key]`` lists the old wards that went
    whole into that new ward; ``DICT_PROVINCE_WARD_DIVIDED[province][old ward key]`` lists the
    new wards sharing a split old ward, one of them flagged ``isDefaultNewWard``.
    Keys the package cannot resolve to a code are skipped (none for Hanoi in 1.0.4).
    """
    links: dict[tuple[str, str], SourceLink] = {}
    whole = converter["DICT_PROVINCE_WARD_NO_DIVIDED"].get(province_key, {})
    for new_key, old_keys in whole.items():
        new_code = new_code_by_key.get(new_key)
        for old_key in old_keys:
            old_code = old_code_by_key.get(old_key)
            if new_code and old_code:
                links[old_code, new_code] = SourceLink(old_code, new_code, False, True)
    divided = converter["DICT_PROVINCE_WARD_DIVIDED"].get(province_key, {})
    for old_key, parts in divided.items():
        old_code = old_code_by_key.get(old_key)
        for part in parts:
            new_code = new_code_by_key.get(part["newWardKey"])
            if new_code and old_code:
                links[old_code, new_code] = SourceLink(
                    old_code, new_code, True, bool(part["isDefaultNewWard"])
                )
    return sorted(links.values(), key=lambda link: (link.old_code, link.new_code))
