import pytest
from django.core.management import call_command
from django.urls import reverse

from ihanoi.accounts.models import Role, User
from ihanoi.places.models import AdministrativeUnit

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    from allauth.mfa.totp.internal.auth import TOTP

    admin = User.objects.create_superuser(email="admin@example.vn", password="x" * 12)
    TOTP.activate(admin, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    client.force_login(admin)
    return client


def test_administrator_browses_units_and_their_successors_read_only(admin_client):
    call_command("load_places", verbosity=0)
    old = AdministrativeUnit.objects.filter(level="ward", valid_until__isnull=False).first()
    assert (
        admin_client.get(
            reverse("admin:places_administrativeunit_changelist") + "?q=hoan+kiem"
        ).status_code
        == 200
    )
    page = admin_client.get(reverse("admin:places_administrativeunit_change", args=[old.pk]))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    response = admin_client.post(
        reverse("admin:places_administrativeunit_change", args=[old.pk]), {"name": "Renamed"}
    )
    assert response.status_code == 403
    old.refresh_from_db()
    assert old.name != "Renamed"
    assert admin_client.get(reverse("admin:places_unitsuccession_changelist")).status_code == 200


def test_officer_cannot_browse_units_in_the_admin(client):
    officer = User.objects.create_user(
        email="o@example.vn", password="x" * 12, role=Role.AGENCY_OFFICER
    )
    client.force_login(officer)
    response = client.get(reverse("admin:places_administrativeunit_changelist"))
    assert response.status_code in (302, 403)
