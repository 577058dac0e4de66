from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connections, transaction

from ihanoi.agencies import seed
from ihanoi.agencies.models import Agency
from ihanoi.agencies.services import agencies_seed
from ihanoi.cli import main as ihanoi_main
from ihanoi.places.models import AdministrativeUnit
from tests.agencies.conftest import make_agency, make_unit

pytestmark = pytest.mark.django_db

CITY_AGENCY_COUNT = len(seed.CITY_AGENCIES)


def committees() -> list[Agency]:
    return list(Agency.objects.filter(kind=Agency.Kind.WARD_COMMITTEE).order_by("code"))


def test_seed_creates_one_committee_per_current_ward_and_none_for_old_wards(hanoi_units):
    result = agencies_seed()

    assert [c.code for c in committees()] == ["ubnd-00004", "ubnd-00070", "ubnd-00454"]
    assert result.ward_committees == 3
    for committee in committees():
        (ward,) = committee.served_units.all()
        assert ward.valid_until is None  # never the old ward 00004 "Trúc Bạch"
        assert committee.code == f"ubnd-{ward.code}"
        assert not committee.serves_whole_city
    old = [hanoi_units["old_truc_bach"], hanoi_units["old_dien_bien"]]
    assert not Agency.objects.filter(served_units__in=old).exists()


def test_committee_names_follow_the_ward_in_vietnamese_and_english(hanoi_units):
    agencies_seed()

    hoan_kiem = Agency.objects.get(code="ubnd-00070")
    assert hoan_kiem.name == "Ủy ban nhân dân Phường Hoàn Kiếm"
    assert hoan_kiem.name_en == "People's Committee of Hoan Kiem Ward"
    assert hoan_kiem.short_name == "UBND Phường Hoàn Kiếm"
    assert hoan_kiem.kind == Agency.Kind.WARD_COMMITTEE
    noi_bai = Agency.objects.get(code="ubnd-00454")
    assert noi_bai.name == "Ủy ban nhân dân Xã Nội Bài"
    assert noi_bai.name_en == "People's Committee of Noi Bai Commune"
    assert Agency.objects.get(code="ubnd-00004").name_en == "People's Committee of Ba Dinh Ward"


def test_seed_is_idempotent(hanoi_units):
    first = agencies_seed()
    rows = list(Agency.objects.order_by("code").values())
    links = Agency.served_units.through.objects.count()

    second = agencies_seed()

    assert first.created == CITY_AGENCY_COUNT + 3
    assert (second.created, second.updated) == (0, 0)
    assert second.unchanged == first.created
    assert list(Agency.objects.order_by("code").values()) == rows
    assert Agency.served_units.through.objects.count() == links


def test_rerun_restores_seeded_names_but_keeps_contact_details_an_administrator_entered(
    hanoi_units,
):
    agencies_seed()
    Agency.objects.filter(code="so-xay-dung").update(
        name="Sở Xây dựng (cũ)", address="Địa chỉ do quản trị viên sửa", phone="024 0000 0000"
    )
    Agency.objects.filter(code="ttpvhcc").update(phone="", website="")

    result = agencies_seed()

    construction = Agency.objects.get(code="so-xay-dung")
    assert construction.name == "Sở Xây dựng"
    assert construction.address == "Địa chỉ do quản trị viên sửa"
    assert construction.phone == "024 0000 0000"
    hub = Agency.objects.get(code="ttpvhcc")
    assert (hub.phone, hub.website) == (seed.HUB.phone, seed.HUB.website)
    assert result.updated == 2


def test_seed_never_deletes_and_reports_committees_whose_ward_is_gone(hanoi_units):
    agencies_seed()
    own = make_agency("ban-quan-ly-pho-co", "Ban quản lý Phố cổ")
    ward = hanoi_units["noi_bai"]
    ward.valid_until = datetime.date(2030, 1, 1)
    ward.save()

    result = agencies_seed(on=datetime.date(2030, 6, 1))

    assert Agency.objects.filter(pk=own.pk).exists()
    assert Agency.objects.filter(code="ubnd-00454").exists()
    assert result.ward_committees == 2
    assert result.stale_committees == 1


def test_a_ward_added_later_gets_its_committee_on_the_next_run(hanoi_units):
    agencies_seed()
    make_unit("00077", "Phường Cửa Nam", parent=hanoi_units["province"])

    result = agencies_seed()

    assert result.created == 1
    assert Agency.objects.get(code="ubnd-00077").name == "Ủy ban nhân dân Phường Cửa Nam"


def test_a_committee_that_lost_its_ward_link_gets_it_back(hanoi_units):
    agencies_seed()
    committee = Agency.objects.get(code="ubnd-00070")
    committee.served_units.clear()

    result = agencies_seed()

    assert list(committee.served_units.all()) == [hanoi_units["hoan_kiem"]]
    assert result.updated == 1


def test_wards_not_yet_in_force_get_no_committee(hanoi_units):
    make_unit("09999", "Phường Tương Lai", valid_from=datetime.date(2999, 1, 1))

    agencies_seed()

    assert not Agency.objects.filter(code="ubnd-09999").exists()


def test_seed_without_wards_still_creates_the_city_agencies(db):
    result = agencies_seed()

    assert result.created == CITY_AGENCY_COUNT
    assert result.ward_committees == 0
    assert not committees()


def test_hub_exists_is_unique_and_serves_the_whole_city(hanoi_units):
    agencies_seed()
    agencies_seed()

    (hub,) = Agency.objects.filter(kind=Agency.Kind.HUB)
    assert hub.code == "ttpvhcc"
    assert hub.serves_whole_city and hub.is_active
    assert hub.phone == "024 1022"


def test_the_database_refuses_a_second_hub(hanoi_units):
    agencies_seed()

    with pytest.raises(IntegrityError), transaction.atomic():
        make_agency("hub-2", "Second hub", kind=Agency.Kind.HUB)


def test_a_hub_an_administrator_made_under_another_code_is_kept(db):
    make_agency("trung-tam", "Trung tâm tiếp nhận", kind=Agency.Kind.HUB)

    result = agencies_seed()

    assert result.hub_kept == "trung-tam"
    assert list(Agency.objects.filter(kind=Agency.Kind.HUB).values_list("code", flat=True)) == [
        "trung-tam"
    ]


def test_departments_police_and_utilities_are_seeded_with_their_kinds(db):
    agencies_seed()

    departments = Agency.objects.filter(kind=Agency.Kind.DEPARTMENT)
    assert departments.count() == 15
    assert all(d.serves_whole_city for d in departments)
    names = set(departments.values_list("name", flat=True))
    assert {
        "Sở Xây dựng",
        "Sở Nông nghiệp và Môi trường",
        "Sở Nội vụ",
        "Sở Tài chính",
        "Sở Khoa học và Công nghệ",
        "Sở Văn hóa và Thể thao",
        "Sở Du lịch",
        "Sở Dân tộc và Tôn giáo",
    } <= names
    merged_away = {"Sở Giao thông vận tải", "Sở Kế hoạch và Đầu tư", "Sở Tài nguyên và Môi trường"}
    assert not names & merged_away
    assert Agency.objects.get(kind=Agency.Kind.POLICE).name == "Công an thành phố Hà Nội"
    utilities = set(Agency.objects.filter(kind=Agency.Kind.UTILITY).values_list("code", flat=True))
    assert {"evn-hanoi", "nuoc-sach-ha-noi", "urenco"} <= utilities
    assert Agency.objects.get(code="evn-hanoi").serves_whole_city
    assert not Agency.objects.get(code="nuoc-sach-ha-noi").serves_whole_city


def test_seed_codes_are_unique_slugs_and_names_fit_their_columns():
    codes = [spec.code for spec in seed.CITY_AGENCIES]
    assert len(codes) == len(set(codes))
    for spec in seed.CITY_AGENCIES:
        assert spec.code == spec.code.lower() and " " not in spec.code and len(spec.code) <= 40
        assert spec.name and spec.name_en and 0 < len(spec.short_name) <= 60
        assert spec.kind in Agency.Kind.values


def test_seeded_agencies_have_search_keys(hanoi_units):
    agencies_seed()

    assert not Agency.objects.filter(search_key="").exists()
    assert "uy ban nhan dan phuong hoan kiem" in Agency.objects.get(code="ubnd-00070").search_key


def test_seed_agencies_command_prints_counts(hanoi_units):
    out = StringIO()

    call_command("seed_agencies", stdout=out)

    assert f"{CITY_AGENCY_COUNT + 3} created" in out.getvalue()
    assert "People's Committees: 3" in out.getvalue()


def test_seed_agencies_command_warns_when_no_wards_are_loaded(db):
    out = StringIO()

    call_command("seed_agencies", stdout=out)

    assert "No current wards" in out.getvalue()


def test_ihanoi_seed_agencies_runs_the_command(hanoi_units, capsys, monkeypatch):
    # A command run from the command line closes its connections when done; here that would
    # close the test's transaction (PostgreSQL notices, SQLite in memory does not).
    monkeypatch.setattr(connections, "close_all", lambda: None)

    assert ihanoi_main(["ihanoi", "seed-agencies"]) == 0

    assert "created" in capsys.readouterr().out
    assert AdministrativeUnit.objects.count() == 7
    assert Agency.objects.filter(kind=Agency.Kind.WARD_COMMITTEE).count() == 3
