"""Operators see the app's sign-ins read-only (no secret shown) and can sign devices out."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ihanoi.accounts.models import User
from ihanoi.api.models import DeviceToken, LoginCode
from ihanoi.api.services import device_token_issue, login_code_request
from tests.api.conftest import ApiClient, assert_error


@pytest.fixture
def admin_client(client):
    from allauth.mfa.totp.internal.auth import TOTP

    admin = User.objects.create_superuser(email="admin@example.vn", password="x" * 12)
    TOTP.activate(admin, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    client.force_login(admin)
    return client


def test_sign_ins_and_codes_are_listed_without_their_secrets(world, admin_client):
    device, token = device_token_issue(user=world.resident, name="Lan's phone")
    login_code_request(phone="0912000101", client_ip="127.0.0.1")
    code = LoginCode.objects.get()
    for name, pk in (("devicetoken", device.pk), ("logincode", code.pk)):
        listing = admin_client.get(reverse(f"admin:api_{name}_changelist"))
        assert listing.status_code == 200
        detail = admin_client.get(reverse(f"admin:api_{name}_change", args=[pk]))
        assert detail.status_code == 200
        text = detail.content.decode()
        assert device.token_hash not in text and code.code_hash not in text
        assert token not in text
        assert 'name="_save"' not in text
    assert admin_client.get(reverse("admin:api_devicetoken_add")).status_code == 403
    assert admin_client.get(reverse("admin:api_pushsubscription_changelist")).status_code == 200


def test_an_operator_signs_a_stolen_phone_out(world, admin_client):
    device, token = device_token_issue(user=world.resident, name="Stolen")
    kept, _token = device_token_issue(user=world.resident, name="Kept")
    response = admin_client.post(
        reverse("admin:api_devicetoken_changelist"),
        {"action": "sign_out", "_selected_action": [device.pk]},
    )
    assert response.status_code == 302
    assert DeviceToken.objects.get(pk=device.pk).revoked_at is not None
    assert DeviceToken.objects.get(pk=kept.pk).revoked_at is None
    assert_error(ApiClient(admin_client, token=token).get("/me"), 401, "unauthorized")
