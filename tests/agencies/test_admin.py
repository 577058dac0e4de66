from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from django.urls import reverse

from ihanoi.accounts.models import Role
from ihanoi.agencies.models import Agency, Membership
from ihanoi.agencies.selectors import directory_search
from ihanoi.agencies.services import agencies_seed

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, make_user, hanoi_units):
    administrator = make_user(Role.ADMINISTRATOR, is_staff=True, is_superuser=True)
    # The admin site is closed to administrators without TOTP.
    Authenticator.objects.create(user=administrator, type=Authenticator.Type.TOTP, data={})
    client.force_login(administrator)
    agencies_seed()
    return client


def agency_form(agency: Agency, **changes: object) -> dict[str, object]:
    served = list(agency.served_units.all()) if agency.pk else []
    data: dict[str, object] = {
        "code": agency.code,
        "name": agency.name,
        "name_en": agency.name_en,
        "short_name": agency.short_name,
        "kind": agency.kind,
        "parent": "",
        "address": agency.address,
        "phone": agency.phone,
        "email": agency.email,
        "website": agency.website,
        "hours": agency.hours,
        "serves_whole_city": "on" if agency.serves_whole_city else "",
        "served_units": ",".join(str(unit.pk) for unit in served),
        "is_active": "on",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def test_admin_pages_load(admin_client):
    agency = Agency.objects.get(code="ubnd-00070")
    for url in [
        reverse("admin:agencies_agency_changelist"),
        reverse("admin:agencies_agency_changelist") + "?q=hoan+kiem",
        reverse("admin:agencies_agency_changelist") + "?kind__exact=department&is_active__exact=1",
        reverse("admin:agencies_agency_change", args=[agency.pk]),
        reverse("admin:agencies_agency_add"),
        reverse("admin:agencies_membership_changelist"),
        reverse("admin:agencies_membership_add"),
    ]:
        assert admin_client.get(url).status_code == 200, url


def test_admin_search_without_diacritics(admin_client):
    response = admin_client.get(reverse("admin:agencies_agency_changelist"), {"q": "hoan kiem"})

    assert "Ủy ban nhân dân Phường Hoàn Kiếm" in response.content.decode()


def test_renaming_in_the_admin_updates_the_search_key(admin_client):
    agency = Agency.objects.get(code="so-du-lich")
    url = reverse("admin:agencies_agency_change", args=[agency.pk])

    response = admin_client.post(url, agency_form(agency, name="Sở Du lịch và Lữ hành"))

    assert response.status_code == 302
    assert [a.code for a in directory_search("lu hanh")] == ["so-du-lich"]


def test_the_admin_refuses_a_second_hub_with_a_form_error(admin_client):
    response = admin_client.post(
        reverse("admin:agencies_agency_add"),
        agency_form(Agency(code="hub-2", name="Hub 2", kind=Agency.Kind.HUB)),
    )

    assert response.status_code == 200
    assert "There is already a receiving hub." in response.content.decode()
    assert Agency.objects.filter(kind=Agency.Kind.HUB).count() == 1


def test_the_admin_checks_memberships_with_the_service_rules(admin_client, make_user):
    resident = make_user(Role.RESIDENT)
    agency = Agency.objects.get(code="ubnd-00070")

    response = admin_client.post(
        reverse("admin:agencies_membership_add"),
        {"user": resident.pk, "agency": agency.pk, "role": "officer"},
    )

    assert response.status_code == 200
    assert "Only agency staff and hub operators" in response.content.decode()
    assert not Membership.objects.exists()


def test_the_admin_adds_a_valid_membership(admin_client, make_user):
    lead = make_user(Role.AGENCY_LEAD)
    agency = Agency.objects.get(code="ubnd-00070")

    response = admin_client.post(
        reverse("admin:agencies_membership_add"),
        {"user": lead.pk, "agency": agency.pk, "role": "lead", "is_lead_contact": "on"},
    )

    assert response.status_code == 302
    assert Membership.objects.get().is_lead_contact


def test_the_inline_refuses_two_lead_contacts_in_one_submission(admin_client, make_user):
    agency = Agency.objects.get(code="ubnd-00070")
    first, second = make_user(Role.AGENCY_LEAD), make_user(Role.AGENCY_LEAD)
    data = agency_form(agency)
    data["memberships-TOTAL_FORMS"] = "2"
    for index, user in enumerate([first, second]):
        data[f"memberships-{index}-user"] = str(user.pk)
        data[f"memberships-{index}-role"] = "lead"
        data[f"memberships-{index}-is_lead_contact"] = "on"

    response = admin_client.post(reverse("admin:agencies_agency_change", args=[agency.pk]), data)

    assert response.status_code == 200
    assert "at most one lead contact" in response.content.decode()
    assert not Membership.objects.exists()
