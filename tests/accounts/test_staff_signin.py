"""Staff sign in with e-mail + password; hub, oversight and administrators also need TOTP.
Residents never reach staff pages or the admin."""

import pytest
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.urls import reverse

from ihanoi.accounts.models import Role, User
from ihanoi.accounts.services import staff_user_create

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery 42"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def _current_totp() -> str:
    counters = list(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(SECRET, counters[len(counters) // 2]))


def _staff(role: Role, email: str = "staff@example.vn", totp: bool = False) -> User:
    user = staff_user_create(email=email, password=PASSWORD, role=role)
    if totp:
        TOTP.activate(user, SECRET)
    return user


def _password_login(client, email="staff@example.vn", password=PASSWORD):
    return client.post(reverse("account_login"), {"login": email, "password": password})


def _signed_in(client) -> bool:
    return bool(client.session.get("_auth_user_id"))


def test_officer_signs_in_with_password_and_reaches_the_workspace(client):
    _staff(Role.AGENCY_OFFICER)
    response = _password_login(client)
    assert response.status_code == 302
    assert _signed_in(client)
    assert client.get(reverse("web:staff_home")).status_code == 200


def test_wrong_password_is_refused_with_a_message(client):
    _staff(Role.AGENCY_OFFICER)
    response = _password_login(client, password="wrong password 42")
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not _signed_in(client)


@pytest.mark.parametrize("login", ["", "not-an-email", "a" * 300 + "@x.vn"])
def test_malformed_login_gets_a_form_error(client, login):
    _staff(Role.AGENCY_OFFICER)
    response = _password_login(client, email=login)
    assert response.status_code == 200
    assert response.context["form"].errors["login"]
    assert not _signed_in(client)


def test_repeated_wrong_passwords_lock_the_account_out_for_a_while(client):
    _staff(Role.AGENCY_OFFICER)
    for _ in range(5):
        _password_login(client, password="wrong password 42")
    response = _password_login(client)  # right password, but too many failures
    assert response.status_code == 200
    assert not _signed_in(client)


@pytest.mark.parametrize("role", [Role.HUB_OPERATOR, Role.OVERSIGHT, Role.ADMINISTRATOR])
def test_roles_that_need_totp_are_sent_to_set_it_up_before_anything_else(client, role):
    _staff(role)
    _password_login(client)
    response = client.get(reverse("web:home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")
    assert client.get(reverse("web:staff_home")).status_code == 302


def test_with_totp_the_password_alone_does_not_sign_in(client):
    _staff(Role.HUB_OPERATOR, totp=True)
    response = _password_login(client)
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    assert not _signed_in(client)


def test_password_then_totp_signs_in(client):
    _staff(Role.HUB_OPERATOR, totp=True)
    _password_login(client)
    response = client.post(reverse("mfa_authenticate"), {"code": _current_totp()})
    assert response.status_code == 302
    assert _signed_in(client)
    assert client.get(reverse("web:staff_home")).status_code == 200


def test_wrong_totp_does_not_sign_in(client):
    _staff(Role.HUB_OPERATOR, totp=True)
    _password_login(client)
    wrong = f"{(int(_current_totp()) + 1) % 1000000:06d}"
    response = client.post(reverse("mfa_authenticate"), {"code": wrong})
    assert response.status_code == 200
    assert not _signed_in(client)


def test_administrator_with_totp_reaches_the_admin(client):
    _staff(Role.ADMINISTRATOR, totp=True)
    _password_login(client)
    client.post(reverse("mfa_authenticate"), {"code": _current_totp()})
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 200


def test_admin_login_page_hands_over_to_the_site_sign_in(client):
    response = client.get(reverse("admin:login"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.fixture
def signed_in_resident(client):
    resident = User.objects.create_user(phone="+84912000009", phone_verified=True)
    client.force_login(resident)
    return resident


def test_resident_gets_403_on_the_staff_workspace(client, signed_in_resident):
    assert client.get(reverse("web:staff_home")).status_code == 403


def test_resident_cannot_use_the_admin(client, signed_in_resident):
    response = client.get(reverse("admin:index"))
    assert response.status_code in (302, 403)
    assert client.get(reverse("admin:accounts_user_changelist")).status_code in (302, 403)
    assert client.get(reverse("admin:login")).status_code == 403


def test_officer_without_admin_role_cannot_use_the_admin(client):
    user = _staff(Role.AGENCY_OFFICER)
    user.is_staff = True  # even with the Django flag set by mistake
    user.save()
    client.force_login(user)
    assert client.get(reverse("admin:accounts_user_changelist")).status_code in (302, 403)


def test_anonymous_visitor_is_sent_to_sign_in_from_the_workspace(client):
    response = client.get(reverse("web:staff_home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
