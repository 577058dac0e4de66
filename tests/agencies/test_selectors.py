from __future__ import annotations

import pytest

from ihanoi.accounts.models import Role
from ihanoi.agencies.models import Agency, Membership
from ihanoi.agencies.selectors import (
    agencies_serving,
    agency_for_ward_committee,
    agency_leads,
    clean_query,
    directory_search,
    hub_agency,
    lead_contacts,
    memberships_of,
)
from ihanoi.agencies.services import agencies_reindex, agencies_seed, agency_save
from tests.agencies.conftest import make_agency

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(hanoi_units):
    agencies_seed()
    return hanoi_units


def codes(agencies) -> list[str]:
    return [agency.code for agency in agencies]


# --- who serves a place ---------------------------------------------------------------------


def test_agency_for_ward_committee_finds_the_wards_committee(seeded):
    assert agency_for_ward_committee(seeded["hoan_kiem"]).code == "ubnd-00070"
    # Same code, other era: the old ward has no committee.
    assert agency_for_ward_committee(seeded["old_truc_bach"]) is None


def test_agency_for_ward_committee_ignores_an_inactive_committee(seeded):
    Agency.objects.filter(code="ubnd-00070").update(is_active=False)

    assert agency_for_ward_committee(seeded["hoan_kiem"]) is None


def test_agencies_serving_a_ward_are_the_whole_city_ones_plus_its_own(seeded):
    water = Agency.objects.get(code="nuoc-sach-ha-noi")
    water.served_units.add(seeded["hoan_kiem"])

    serving = codes(agencies_serving(seeded["hoan_kiem"]))

    assert "ubnd-00070" in serving and "nuoc-sach-ha-noi" in serving
    assert "ttpvhcc" in serving and "so-xay-dung" in serving and "evn-hanoi" in serving
    assert "ubnd-00004" not in serving  # another ward's committee
    assert "urenco" not in serving  # serves part of the city, not assigned here
    assert len(serving) == len(set(serving))
    assert serving[0] == "ttpvhcc"  # directory order: the hub first


def test_agencies_serving_an_old_ward_include_those_serving_its_district(seeded):
    district_committee = make_agency(
        "ubnd-quan-ba-dinh", "Ủy ban nhân dân Quận Ba Đình", kind=Agency.Kind.WARD_COMMITTEE
    )
    district_committee.served_units.add(seeded["old_district"])

    assert "ubnd-quan-ba-dinh" in codes(agencies_serving(seeded["old_dien_bien"]))


def test_agencies_serving_leave_out_inactive_agencies(seeded):
    Agency.objects.filter(code="so-y-te").update(is_active=False)

    assert "so-y-te" not in codes(agencies_serving(seeded["ba_dinh"]))


def test_hub_agency_is_the_seeded_hub(seeded):
    assert hub_agency().code == "ttpvhcc"


# --- directory search ----------------------------------------------------------------------


def test_search_without_diacritics_finds_the_ward_committee(seeded):
    assert codes(directory_search("uy ban hoan kiem")) == ["ubnd-00070"]


@pytest.mark.parametrize(
    "query", ["Ủy ban Hoàn Kiếm", "UỶ BAN HOÀN KIẾM", "hoàn kiếm", "HOAN   KIEM", "ubnd-00070"]
)
def test_search_ignores_case_tone_marks_and_their_placement(seeded, query):
    assert "ubnd-00070" in codes(directory_search(query))


def test_search_keeps_d_with_stroke_as_d(seeded):
    assert codes(directory_search("dien luc")) == ["evn-hanoi"]
    assert codes(directory_search("Điện lực")) == ["evn-hanoi"]


def test_search_in_english_and_by_short_name(seeded):
    assert codes(directory_search("department of construction")) == ["so-xay-dung"]
    assert codes(directory_search("urenco")) == ["urenco"]


def test_search_needs_every_word(seeded):
    assert directory_search("hoan kiem nội bài").count() == 0


def test_kind_filter_limits_the_results(seeded):
    departments = directory_search("", Agency.Kind.DEPARTMENT)
    assert departments.count() == 15
    assert {a.kind for a in departments} == {Agency.Kind.DEPARTMENT}
    assert codes(directory_search("ba dinh", Agency.Kind.WARD_COMMITTEE)) == ["ubnd-00004"]


def test_an_unknown_kind_matches_nothing(seeded):
    assert directory_search("", "castle").count() == 0


def test_empty_search_lists_active_agencies_hub_first(seeded):
    Agency.objects.filter(code="so-du-lich").update(is_active=False)

    found = codes(directory_search(""))

    assert found[0] == "ttpvhcc"
    assert "so-du-lich" not in found
    assert len(found) == Agency.objects.filter(is_active=True).count()


def test_punctuation_and_like_wildcards_only_separate_words(seeded):
    everything = directory_search("").count()
    assert directory_search("%").count() == everything
    assert directory_search("_ %").count() == everything
    assert codes(directory_search("hoan%kiem")) == ["ubnd-00070"]


def test_a_word_matches_the_start_of_a_word_not_its_middle(seeded):
    # "hanh" is inside "thành" of many names; only "Phục vụ hành chính" starts a word with it.
    assert codes(directory_search("hanh chinh")) == ["ttpvhcc"]
    assert codes(directory_search("00070")) == ["ubnd-00070"]


def test_a_huge_query_with_control_characters_is_cut_not_an_error(seeded):
    # NUL would be refused by PostgreSQL; here it is a word break.
    assert codes(directory_search("hoan\x00kiem " * 300)) == ["ubnd-00070"]
    assert clean_query("a\x00b\tc") == ["a", "b", "c"]
    assert len(clean_query("tu " * 1000)) == 8


def test_agency_save_keeps_the_search_key_in_step_with_the_name(seeded):
    agency = Agency.objects.get(code="so-du-lich")
    agency.name = "Sở Du lịch và Lữ hành"

    agency_save(agency=agency)

    assert codes(directory_search("lu hanh")) == ["so-du-lich"]


def test_agencies_reindex_rebuilds_stale_keys(seeded):
    Agency.objects.filter(code="so-y-te").update(search_key="")

    assert agencies_reindex() == 1
    assert codes(directory_search("so y te")) == ["so-y-te"]


# --- leads and memberships -----------------------------------------------------------------


@pytest.fixture
def ward(seeded):
    return Agency.objects.get(code="ubnd-00070")


def test_agency_leads_are_the_active_lead_members(ward, make_user):
    lead = make_user(Role.AGENCY_LEAD)
    gone = make_user(Role.AGENCY_LEAD, is_active=False)
    officer = make_user(Role.AGENCY_OFFICER)
    for user, role in [(lead, "lead"), (gone, "lead"), (officer, "officer")]:
        Membership.objects.create(user=user, agency=ward, role=role)

    assert list(agency_leads(ward)) == [lead]


def test_lead_contacts_are_the_designated_one_or_else_every_lead(ward, make_user):
    first, second = make_user(Role.AGENCY_LEAD), make_user(Role.AGENCY_LEAD)
    Membership.objects.create(user=first, agency=ward, role="lead")
    designated = Membership.objects.create(user=second, agency=ward, role="lead")

    assert list(lead_contacts(ward)) == [first, second]

    designated.is_lead_contact = True
    designated.save()

    assert list(lead_contacts(ward)) == [second]


def test_lead_contact_of_another_agency_is_not_this_agencys_contact(ward, make_user):
    other = Agency.objects.get(code="ubnd-00004")
    both, plain = make_user(Role.AGENCY_LEAD), make_user(Role.AGENCY_LEAD)
    Membership.objects.create(user=both, agency=ward, role="lead")
    Membership.objects.create(user=both, agency=other, role="lead", is_lead_contact=True)
    Membership.objects.create(user=plain, agency=ward, role="lead")

    # No contact designated here: every lead of this agency, not "whoever is a contact".
    assert list(lead_contacts(ward)) == [both, plain]


def test_memberships_of_lists_the_users_agencies(ward, make_user, django_assert_num_queries):
    officer = make_user()
    Membership.objects.create(user=officer, agency=ward, role="officer")
    Membership.objects.create(
        user=officer, agency=Agency.objects.get(code="ubnd-00004"), role="officer"
    )

    with django_assert_num_queries(1):
        names = [m.agency.name for m in memberships_of(officer)]

    assert names == ["Ủy ban nhân dân Phường Ba Đình", "Ủy ban nhân dân Phường Hoàn Kiếm"]
