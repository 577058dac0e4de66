"""A resident registers with a phone number and the code the SMS gateway delivers."""

import pytest
from django.urls import reverse

from ihanoi.accounts.models import Role, User
from tests.accounts.helpers import last_code_sent_to, sms_count

pytestmark = pytest.mark.django_db

PHONE = "+84912345678"


def _register(client, phone="0912 345 678", name="Nguyễn Thị Hà"):
    return client.post(reverse("account_signup"), {"phone": phone, "full_name": name})


def test_registration_sends_a_six_digit_code_and_the_code_signs_the_resident_in(client):
    response = _register(client)
    assert response.status_code == 302
    assert response["Location"] == reverse("account_verify_phone")
    code = last_code_sent_to(PHONE)

    response = client.post(reverse("account_verify_phone"), {"code": code})
    assert response.status_code == 302

    user = User.objects.get(phone=PHONE)
    assert user.phone_verified
    assert user.role == Role.RESIDENT
    assert user.full_name == "Nguyễn Thị Hà"
    assert not user.has_usable_password()
    assert client.get(reverse("accounts:profile")).status_code == 200


def test_wrong_verification_code_does_not_verify(client):
    _register(client)
    code = last_code_sent_to(PHONE)
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    response = client.post(reverse("account_verify_phone"), {"code": wrong})
    assert response.status_code == 200
    assert User.objects.get(phone=PHONE).phone_verified is False
    assert client.get(reverse("accounts:profile")).status_code == 302


@pytest.mark.parametrize("phone", ["12345", "abc", "+1 202 555 0143", "", "0" * 200])
def test_malformed_phone_is_refused_with_a_message_and_nothing_is_stored(client, phone):
    response = _register(client, phone=phone)
    assert response.status_code == 200
    assert response.context["form"].errors["phone"]
    assert User.objects.count() == 0
    assert sms_count() == 0


@pytest.mark.vietnamese
def test_registration_error_is_in_vietnamese_by_default(client):
    response = _register(client, phone="12345")
    assert "Số điện thoại không hợp lệ" in response.content.decode()


def test_an_already_registered_number_gets_no_second_account(client):
    User.objects.create_user(phone=PHONE, phone_verified=True)
    response = _register(client)
    # Enumeration prevention: the page looks the same, the owner is told by SMS instead.
    assert response.status_code == 302
    assert User.objects.filter(phone=PHONE).count() == 1
    assert sms_count() == 1


def test_name_longer_than_the_limit_is_refused(client):
    response = _register(client, name="A" * 151)
    assert response.status_code == 200
    assert "full_name" in response.context["form"].errors
    assert User.objects.count() == 0


def test_registration_without_a_phone_number_is_refused(client):
    response = client.post(reverse("account_signup"), {"phone": "", "full_name": "Không Số"})
    assert response.status_code == 200
    assert response.context["form"].errors["phone"]
    assert User.objects.count() == 0
