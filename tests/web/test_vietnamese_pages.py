"""The default language is Vietnamese, including the pages django-allauth draws and the SMS
texts; these tests read the compiled catalogues."""

import pytest
from django.urls import reverse

from ihanoi.accounts.models import User
from ihanoi.accounts.sms import LocMemSMSBackend

pytestmark = [pytest.mark.django_db, pytest.mark.vietnamese]


def test_home_and_sign_in_pages_are_in_vietnamese(client):
    home = client.get(reverse("web:home")).content.decode()
    assert "Danh bạ" in home or "danh bạ" in home
    login = client.get(reverse("account_login")).content.decode()
    assert "Đăng nhập" in login
    assert "Sign in" not in login


def test_allauth_pages_use_our_vietnamese_catalogue(client):
    signup = client.get(reverse("account_signup")).content.decode()
    assert "Đăng ký" in signup
    client.post(reverse("account_signup"), {"phone": "0912 345 670"})
    verify = client.get(reverse("account_verify_phone")).content.decode()
    assert "Nhập mã xác thực số điện thoại" in verify


def test_sign_in_code_sms_is_vietnamese_without_tone_marks():
    from django.test import Client

    User.objects.create_user(phone="+84912345671", phone_verified=True)
    Client().post(reverse("account_request_login_code"), {"phone": "0912345671"})
    (message,) = LocMemSMSBackend.outbox
    assert message.body.startswith("Ma xac thuc iHaNoi")
    assert message.body.isascii(), "an SMS in GSM-7 letters fits one segment"


def test_approximate_boundary_note_is_in_vietnamese(client):
    from django.core.management import call_command

    call_command("load_places", verbosity=0)
    page = client.get(reverse("places:detail", args=["00070"])).content.decode()
    assert 'class="notice notice-approximate"' in page
    assert "gần đúng" in page
