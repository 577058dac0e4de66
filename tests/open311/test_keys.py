"""API keys: made by the command or the admin (shown once, stored hashed), listed,
revoked; each key's rate limit."""

from __future__ import annotations

import datetime
import hashlib
import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from ihanoi.accounts.models import User
from ihanoi.feedback.models import Report
from ihanoi.open311 import selectors, services, throttle
from ihanoi.open311.models import ApiKey

from .conftest import BASE, errors_in, json_of, request_form

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("open311_key", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_creates_lists_and_revokes_keys():
    raw, note = run("create", "FixMyStreet Hà Nội", "--requests-per-minute", "30")
    raw = raw.strip()
    api_key = ApiKey.objects.get()
    assert api_key.name == "FixMyStreet Hà Nội"
    assert api_key.requests_per_minute == 30
    assert raw.startswith(api_key.prefix + "_")
    assert api_key.prefix in note
    # Only the hash is kept.
    secret = raw.split("_", 1)[1]
    assert api_key.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(ApiKey.objects.values().get())
    assert selectors.api_key_find(raw) == api_key

    listing, _ = run("list")
    assert api_key.prefix in listing and "active" in listing and secret not in listing
    run("revoke", api_key.prefix)
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    assert "revoked" in run("list")[0]


def test_the_command_refuses_bad_input():
    with pytest.raises(CommandError):
        run("create", "   ")
    with pytest.raises(CommandError):
        run("revoke", "nosuch")


@pytest.fixture
def admin_client(client):
    from allauth.mfa.totp.internal.auth import TOTP

    admin = User.objects.create_superuser(email="admin@example.vn", password="x" * 12)
    TOTP.activate(admin, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    client.force_login(admin)
    return client


def test_the_admin_creates_a_key_and_shows_it_once(admin_client):
    response = admin_client.post(
        reverse("admin:open311_apikey_add"), {"name": "Hue-S", "requests_per_minute": "60"}
    )
    assert response.status_code == 200
    raw = re.search(r'<code id="raw-key"[^>]*>([^<]+)</code>', response.content.decode()).group(1)
    api_key = ApiKey.objects.get()
    assert selectors.api_key_find(raw) == api_key
    # The list and the change page never show it again.
    listing = admin_client.get(reverse("admin:open311_apikey_changelist")).content.decode()
    change = admin_client.get(reverse("admin:open311_apikey_change", args=[api_key.pk]))
    assert api_key.prefix in listing
    assert raw not in listing and raw not in change.content.decode()


def test_the_admin_renames_and_revokes_but_never_deletes(admin_client):
    api_key, raw = services.api_key_create(name="Old name")
    admin_client.post(
        reverse("admin:open311_apikey_change", args=[api_key.pk]),
        {"name": "New name", "requests_per_minute": "10"},
    )
    api_key.refresh_from_db()
    assert (api_key.name, api_key.requests_per_minute) == ("New name", 10)
    assert selectors.api_key_find(raw) == api_key  # the secret did not change
    admin_client.post(
        reverse("admin:open311_apikey_changelist"),
        {"action": "revoke", "_selected_action": [api_key.pk]},
    )
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    assert admin_client.get(
        reverse("admin:open311_apikey_delete", args=[api_key.pk])
    ).status_code in (
        302,
        403,
    )
    assert ApiKey.objects.exists()


def test_a_revocation_keeps_its_first_date():
    api_key, _raw = services.api_key_create(name="C")
    first = timezone.now() - datetime.timedelta(days=1)
    services.api_key_revoke(api_key=api_key, now=first)
    services.api_key_revoke(api_key=api_key)
    api_key.refresh_from_db()
    assert api_key.revoked_at == first


def test_the_rate_limit_refuses_calls_past_the_limit_with_429(client, world):
    _busy, raw = services.api_key_create(name="Busy", requests_per_minute=2)
    _calm, other_raw = services.api_key_create(name="Calm", requests_per_minute=2)
    form = {"api_key": raw, **request_form()}
    assert client.post(f"{BASE}/requests.json", form).status_code == 200
    assert client.get(f"{BASE}/services.json?api_key={raw}").status_code == 200
    refused = client.post(f"{BASE}/requests.xml", form)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) in range(1, 61)
    (error,) = errors_in(refused)
    assert error["code"] == 429
    assert Report.objects.count() == 1
    # Another key has its own count; calls without a key are not counted.
    assert client.get(f"{BASE}/services.json?api_key={other_raw}").status_code == 200
    assert client.get(f"{BASE}/services.json").status_code == 200


def test_the_count_starts_again_each_minute():
    api_key, _raw = services.api_key_create(name="C", requests_per_minute=1)
    minute = timezone.now().replace(second=0, microsecond=0)
    assert throttle.api_key_hit(api_key, now=minute).allowed
    assert not throttle.api_key_hit(api_key, now=minute + datetime.timedelta(seconds=59)).allowed
    assert throttle.api_key_hit(api_key, now=minute + datetime.timedelta(seconds=60)).allowed


def test_a_key_given_to_a_read_must_be_valid(client, world):
    response = client.get(f"{BASE}/services.json?api_key=bad_key")
    assert response.status_code == 403
    assert json_of(response)[0]["code"] == 403
