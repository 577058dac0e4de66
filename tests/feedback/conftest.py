"""A small city for the feedback tests: two neighbouring wards with square boundaries, their
People's Committees, the hub, the seeded categories, and one person per role."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from ihanoi.accounts.models import Role, User
from ihanoi.agencies.models import Agency, Membership
from ihanoi.agencies.services import agencies_seed
from ihanoi.feedback.catalogue import feedback_seed
from ihanoi.feedback.photos import PreparedPhoto, prepare_uploads
from ihanoi.places.models import REFORM_2025, AdministrativeUnit

HOAN_KIEM_LAKE = (21.0287, 105.8523)
CUA_NAM = (21.0243, 105.8456)


def _square(lon0: float, lat0: float, lon1: float, lat1: float) -> dict:
    return {
        "type": "Polygon",
        "coordinates": [[[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]],
    }


@dataclass
class World:
    hoan_kiem: AdministrativeUnit
    cua_nam: AdministrativeUnit
    hub: Agency
    hk_committee: Agency
    cn_committee: Agency
    resident: User
    other_resident: User
    hub_operator: User
    hk_officer: User
    hk_lead: User
    cn_officer: User
    oversight: User


def _staff(email: str, role: Role) -> User:
    return User.objects.create_user(email=email, password="x" * 12, role=role)


def jpeg_bytes(colour: str = "red", size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG")
    return buffer.getvalue()


def upload(name: str = "photo.jpg", data: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(
        name, jpeg_bytes() if data is None else data, content_type="image/jpeg"
    )


def prepared_photo() -> PreparedPhoto:
    return prepare_uploads([upload()])[0]


@pytest.fixture
def world(db) -> World:
    province = AdministrativeUnit.objects.create(
        code="01",
        level="province",
        name="Thành phố Hà Nội",
        short_name="Hà Nội",
        name_ascii="thanh pho ha noi",
        unit_type="thành phố",
    )

    def ward(code: str, name: str, box: dict) -> AdministrativeUnit:
        return AdministrativeUnit.objects.create(
            code=code,
            level="ward",
            name=f"Phường {name}",
            short_name=name,
            name_ascii=f"phuong {name}".lower(),
            unit_type="phường",
            parent=province,
            valid_from=REFORM_2025,
            boundary=box,
            boundary_source="official",
        )

    # Hoàn Kiếm: east of 105.85; Cửa Nam: west of it (simplified squares).
    hoan_kiem = ward("00070", "Hoàn Kiếm", _square(105.85, 21.01, 105.87, 21.04))
    cua_nam = ward("00082", "Cửa Nam", _square(105.83, 21.01, 105.85, 21.04))
    agencies_seed()
    feedback_seed()
    hub = Agency.objects.get(kind=Agency.Kind.HUB)
    hk_committee = Agency.objects.get(code="ubnd-00070")
    cn_committee = Agency.objects.get(code="ubnd-00082")
    world = World(
        hoan_kiem=hoan_kiem,
        cua_nam=cua_nam,
        hub=hub,
        hk_committee=hk_committee,
        cn_committee=cn_committee,
        resident=User.objects.create_user(
            phone="+84912000101", phone_verified=True, full_name="Nguyễn Văn Dân"
        ),
        other_resident=User.objects.create_user(phone="+84912000102", phone_verified=True),
        hub_operator=_staff("hub@example.vn", Role.HUB_OPERATOR),
        hk_officer=_staff("hk-officer@example.vn", Role.AGENCY_OFFICER),
        hk_lead=_staff("hk-lead@example.vn", Role.AGENCY_LEAD),
        cn_officer=_staff("cn-officer@example.vn", Role.AGENCY_OFFICER),
        oversight=_staff("oversight@example.vn", Role.OVERSIGHT),
    )
    from allauth.mfa.totp.internal.auth import TOTP

    for person in (world.hub_operator, world.oversight):
        TOTP.activate(person, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    Membership.objects.create(user=world.hub_operator, agency=hub, role="officer")
    Membership.objects.create(user=world.hk_officer, agency=hk_committee, role="officer")
    Membership.objects.create(user=world.hk_lead, agency=hk_committee, role="lead")
    Membership.objects.create(user=world.cn_officer, agency=cn_committee, role="officer")
    return world


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
