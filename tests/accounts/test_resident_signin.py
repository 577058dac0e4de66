"""Residents sign in with a one-time code sent by SMS: wrong, expired, reused codes and too
many attempts or requests never sign anyone in."""

import time as real_time
from types import SimpleNamespace

import pytest
from django.test import Client
from django.urls import reverse

from ihanoi.accounts.models import User
from ihanoi.accounts.sms import LocMemSMSBackend
from tests.accounts.helpers import last_code_sent_to, sms_count

pytestmark = pytest.mark.django_db

PHONE = "+84987654321"


@pytest.fixture
def resident():
    return User.objects.create_user(phone=PHONE, phone_verified=True, full_name="Trần Văn B")


def _request_code(client, phone="0987 654 321"):
    return client.post(reverse("account_request_login_code"), {"phone": phone})


def _confirm(client, code):
    return client.post(reverse("account_confirm_login_code"), {"code": code})


def _signed_in_as(client) -> int | None:
    user_id = client.session.get("_auth_user_id")
    return int(user_id) if user_id else None


def _other_code(code: str) -> str:
    return f"{(int(code) + 1) % 1000000:06d}"


def test_right_code_signs_the_resident_in(client, resident):
    response = _request_code(client)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_confirm_login_code"))
    response = _confirm(client, last_code_sent_to(PHONE))
    assert response.status_code == 302
    assert _signed_in_as(client) == resident.pk


def test_wrong_code_does_not_sign_in(client, resident):
    _request_code(client)
    response = _confirm(client, _other_code(last_code_sent_to(PHONE)))
    assert response.status_code == 200
    assert response.context["form"].errors
    assert _signed_in_as(client) is None


def test_expired_code_does_not_sign_in(client, resident, settings, monkeypatch):
    from allauth.account.internal.flows import code_verification

    _request_code(client)
    code = last_code_sent_to(PHONE)
    later = real_time.time() + settings.ACCOUNT_LOGIN_BY_CODE_TIMEOUT + 1
    monkeypatch.setattr(code_verification, "time", SimpleNamespace(time=lambda: later))
    _confirm(client, code)
    assert _signed_in_as(client) is None


def test_a_used_code_cannot_be_used_again(client, resident):
    _request_code(client)
    code = last_code_sent_to(PHONE)
    _confirm(client, code)
    assert _signed_in_as(client) == resident.pk
    client.post(reverse("account_logout"))
    assert _signed_in_as(client) is None

    response = _confirm(client, code)
    assert _signed_in_as(client) is None
    assert response.status_code in (302, 200)


def test_three_wrong_codes_end_the_attempt_even_the_right_code_then_fails(client, resident):
    _request_code(client)
    code = last_code_sent_to(PHONE)
    for _ in range(3):
        _confirm(client, _other_code(code))
    _confirm(client, code)
    assert _signed_in_as(client) is None


def test_too_many_code_requests_for_one_number_are_refused(resident):
    # Each request from a fresh session (a script, or a resident reinstalling the app).
    for _ in range(3):
        assert _request_code(Client()).status_code == 302
    assert sms_count() == 3
    response = _request_code(Client())
    assert response.status_code == 200
    assert response.context["form"].errors
    assert sms_count() == 3


def test_asking_again_in_the_same_session_sends_no_second_sms(client, resident):
    for _ in range(4):
        assert _request_code(client).status_code == 302
    assert sms_count() == 1


@pytest.mark.parametrize("phone", ["", "12", "not a phone", "+44 20 7946 0958", "9" * 100])
def test_malformed_number_gets_a_form_error_and_no_sms(client, resident, phone):
    response = _request_code(client, phone=phone)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert sms_count() == 0


def test_unknown_number_is_told_by_sms_and_not_signed_in(client):
    response = _request_code(client, phone="0911 111 111")
    # The page does not reveal whether the number has an account.
    assert response.status_code == 302
    assert "no iHaNoi account" in " ".join(m.body for m in LocMemSMSBackend.outbox)
    assert _signed_in_as(client) is None


def test_residents_have_no_password_so_password_sign_in_fails(client, resident):
    response = client.post(reverse("account_login"), {"login": PHONE, "password": "anything-1"})
    assert response.status_code == 200
    assert _signed_in_as(client) is None


def test_deactivated_resident_gets_no_code(client, resident):
    resident.is_active = False
    resident.save()
    _request_code(client)
    with pytest.raises(AssertionError, match="no code was sent"):
        last_code_sent_to(PHONE)
    assert _signed_in_as(client) is None
