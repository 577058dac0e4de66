"""`ihanoi demo_setup` loads Hanoi and one account per role; it never runs in production."""

import io

import pytest
from django.core.management import CommandError, call_command

from ihanoi.accounts.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from ihanoi.accounts.models import ROLES_REQUIRING_MFA, Role, User
from ihanoi.accounts.permissions import mfa_enabled
from ihanoi.agencies.models import Agency, Membership
from ihanoi.places.models import AdministrativeUnit

pytestmark = pytest.mark.django_db


def test_demo_setup_loads_places_agencies_and_one_account_per_role():
    out = io.StringIO()
    call_command("demo_setup", stdout=out)

    current_wards = AdministrativeUnit.objects.filter(
        level=AdministrativeUnit.Level.WARD, valid_until__isnull=True
    )
    assert current_wards.count() == 126
    assert Agency.objects.filter(kind=Agency.Kind.WARD_COMMITTEE).count() == 126
    assert Agency.objects.filter(kind=Agency.Kind.HUB).count() == 1
    assert {u.role for u in User.objects.all()} == set(Role)

    for account in DEMO_ACCOUNTS:
        user = (
            User.objects.get(phone=account.phone)
            if account.phone
            else User.objects.get(email=account.email)
        )
        assert mfa_enabled(user) is (account.role in ROLES_REQUIRING_MFA)
        if account.email:
            assert user.check_password(DEMO_PASSWORD)
            assert account.email in out.getvalue()
        else:
            assert not user.has_usable_password()
    officer = User.objects.get(role=Role.AGENCY_OFFICER)
    assert Membership.objects.get(user=officer).agency.code == "ubnd-00070"
    lead = User.objects.get(role=Role.AGENCY_LEAD)
    assert Membership.objects.get(user=lead).is_lead_contact


def test_demo_setup_twice_changes_nothing():
    call_command("demo_setup", stdout=io.StringIO())
    counts = (User.objects.count(), Membership.objects.count(), Agency.objects.count())
    call_command("demo_setup", stdout=io.StringIO())
    assert counts == (User.objects.count(), Membership.objects.count(), Agency.objects.count())


def test_demo_commands_refuse_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError):
        call_command("demo_setup", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("demo_totp", stdout=io.StringIO())


def test_demo_totp_prints_a_code_the_hub_demo_account_accepts(client):
    call_command("demo_setup", stdout=io.StringIO())
    out = io.StringIO()
    call_command("demo_totp", stdout=out)
    code = out.getvalue().strip()
    assert len(code) == 6 and code.isdigit()
    client.post("/accounts/login/", {"login": "hub@demo.ihanoi.vn", "password": DEMO_PASSWORD})
    client.post("/accounts/2fa/authenticate/", {"code": code})
    assert client.get("/staff/").status_code == 200
