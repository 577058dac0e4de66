from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from ihanoi.accounts.models import Role
from ihanoi.agencies.models import Agency, Membership
from ihanoi.agencies.services import agencies_seed
from ihanoi.agencies.views import PAGE_SIZE
from tests.agencies.conftest import make_agency, make_unit

pytestmark = pytest.mark.django_db

LIST_URL = reverse("agencies:list")


def detail_url(code: str) -> str:
    return reverse("agencies:detail", args=[code])


@pytest.fixture
def seeded(hanoi_units):
    agencies_seed()
    return hanoi_units


@pytest.fixture
def many_wards(seeded):
    """Enough committees for several pages."""
    for number in range(60):
        make_unit(f"1{number:04d}", f"Phường Thử {number:02d}", parent=seeded["province"])
    agencies_seed()
    return seeded


# --- list ----------------------------------------------------------------------------------


def test_directory_lists_agencies_with_links_and_phone_numbers(client, seeded):
    response = client.get(LIST_URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Trung tâm Phục vụ hành chính công thành phố Hà Nội" in html
    assert f'href="{detail_url("so-xay-dung")}"' in html
    assert 'href="tel:0241022"' in html


def test_directory_search_without_diacritics(client, seeded):
    response = client.get(LIST_URL, {"q": "uy ban hoan kiem"})

    assert response.status_code == 200
    assert [a.code for a in response.context["page_obj"]] == ["ubnd-00070"]
    assert "Ủy ban nhân dân Phường Hoàn Kiếm" in response.content.decode()


def test_directory_filter_by_kind(client, seeded):
    response = client.get(LIST_URL, {"kind": "police"})

    assert [a.code for a in response.context["page_obj"]] == ["cong-an-thanh-pho"]


def test_directory_says_so_when_nothing_matches(client, seeded):
    response = client.get(LIST_URL, {"q": "khong co co quan nay"})

    assert response.status_code == 200
    assert "khong co co quan nay" in response.content.decode()
    assert not response.context["page_obj"].object_list


def test_an_unknown_kind_is_a_clear_400(client, seeded):
    response = client.get(LIST_URL, {"kind": "castle"})

    assert response.status_code == 400
    assert response.context["form"].errors["kind"]
    assert "castle" in response.content.decode()  # Django names the bad choice


def test_a_1000_character_query_is_a_clear_400(client, seeded):
    response = client.get(LIST_URL, {"q": "a" * 1000})

    assert response.status_code == 400
    assert response.context["form"].errors["q"]


@pytest.mark.parametrize("query", ["\x00", "'; DROP TABLE agencies_agency; --", "%_%", "🚧"])
def test_odd_queries_never_break_the_page(client, seeded, query):
    response = client.get(LIST_URL, {"q": query})

    assert response.status_code in {200, 400}
    assert Agency.objects.filter(code="ttpvhcc").exists()


def test_page_that_is_not_a_number_shows_the_first_page(client, many_wards):
    response = client.get(LIST_URL, {"page": "abc"})

    assert response.status_code == 200
    assert response.context["page_obj"].number == 1


def test_page_past_the_end_shows_the_last_page(client, many_wards):
    response = client.get(LIST_URL, {"page": "99999"})

    page_obj = response.context["page_obj"]
    assert response.status_code == 200
    assert page_obj.number == page_obj.paginator.num_pages > 1


def test_pages_keep_the_search_and_the_filter(client, many_wards):
    response = client.get(LIST_URL, {"q": "phuong", "kind": "ward_committee"})

    page_obj = response.context["page_obj"]
    assert len(page_obj) == PAGE_SIZE
    assert "?q=phuong&amp;kind=ward_committee&amp;page=2" in response.content.decode()


def test_directory_list_runs_a_fixed_number_of_queries(
    client, many_wards, django_assert_max_num_queries
):
    # Count and page: no query per agency, however many there are on the page.
    with django_assert_max_num_queries(2):
        response = client.get(LIST_URL, {"kind": "ward_committee"})

    assert len(response.context["page_obj"]) == PAGE_SIZE


def test_directory_leaves_out_inactive_agencies(client, seeded):
    Agency.objects.filter(code="so-du-lich").update(is_active=False)

    response = client.get(LIST_URL, {"q": "du lich"})

    assert not response.context["page_obj"].object_list


# --- detail --------------------------------------------------------------------------------


def test_detail_shows_contact_details_area_and_parent(client, seeded):
    parent = Agency.objects.get(code="so-xay-dung")
    make_agency(
        "phong-quan-ly",
        "Phòng Quản lý đô thị",
        address="1 Tràng Tiền, Hà Nội",
        phone="024 3825 1234",
        email="phong@example.vn",
        hours="Thứ Hai - Thứ Sáu, 8:00-17:00",
        parent=parent,
    ).served_units.add(seeded["hoan_kiem"], seeded["ba_dinh"])

    response = client.get(detail_url("phong-quan-ly"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "1 Tràng Tiền, Hà Nội" in html
    assert 'href="tel:02438251234"' in html
    assert 'href="mailto:phong@example.vn"' in html
    assert "Thứ Hai - Thứ Sáu, 8:00-17:00" in html
    assert "Phường Ba Đình, Phường Hoàn Kiếm" in html
    assert f'href="{detail_url("so-xay-dung")}"' in html


def test_detail_of_a_whole_city_agency_says_so(client, seeded):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(detail_url("so-xay-dung"))

    html = response.content.decode()
    assert "The whole city" in html
    assert "<h1>Department of Construction</h1>" in html


@pytest.mark.vietnamese
def test_detail_in_vietnamese_puts_the_vietnamese_name_first(client, seeded):
    response = client.get(detail_url("so-xay-dung"))

    html = response.content.decode()
    assert "<h1>Sở Xây dựng</h1>" in html
    assert "Toàn thành phố" in html or "toàn thành phố" in html


def test_detail_of_a_ward_committee_names_its_ward(client, seeded):
    response = client.get(detail_url("ubnd-00070"))

    assert "Phường Hoàn Kiếm" in response.content.decode()


def test_detail_never_shows_staff(client, seeded, make_user):
    lead = make_user(Role.AGENCY_LEAD, full_name="Nguyễn Văn Bí Mật")
    Membership.objects.create(
        user=lead, agency=Agency.objects.get(code="ubnd-00070"), role="lead", is_lead_contact=True
    )

    html = client.get(detail_url("ubnd-00070")).content.decode()

    assert "Nguyễn Văn Bí Mật" not in html
    assert lead.email not in html


def test_detail_runs_a_fixed_number_of_queries(client, seeded, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        assert client.get(detail_url("ubnd-00070")).status_code == 200


@pytest.mark.parametrize("code", ["khong-ton-tai", "UBND-00070", "a" * 300])
def test_unknown_agency_is_404(client, seeded, code):
    assert client.get(f"{LIST_URL}{code}/").status_code == 404


def test_inactive_agency_is_404(client, seeded):
    Agency.objects.filter(code="so-du-lich").update(is_active=False)

    assert client.get(detail_url("so-du-lich")).status_code == 404


def test_phone_link_is_made_from_the_leading_number_only():
    assert Agency(phone="024 1022 (nhánh 8)").phone_tel_uri() == "tel:0241022"
    assert Agency(phone="+84 24 3825 1234").phone_tel_uri() == "tel:+842438251234"
    assert Agency(phone="1900.1288").phone_tel_uri() == "tel:19001288"
    assert Agency(phone="113").phone_tel_uri() == "tel:113"
    assert Agency(phone="liên hệ qua iHaNoi").phone_tel_uri() == ""
    assert Agency(phone="").phone_tel_uri() == ""
