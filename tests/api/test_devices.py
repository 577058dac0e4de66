"""The devices signed in to an account: listed and signed out from the app and from the
profile's devices page; nobody touches another person's devices."""

from __future__ import annotations

from django.urls import reverse

from ihanoi.api.models import DeviceToken, PushSubscription
from ihanoi.api.services import device_token_issue
from tests.api.conftest import ApiClient, assert_error
from tests.api.test_push import subscription


def test_the_app_lists_this_accounts_devices_and_marks_the_current_one(world, api_as):
    phone = api_as(world.resident)
    api_as(world.resident)
    api_as(world.other_resident)
    devices = phone.get("/me/devices").json()
    assert len(devices) == 2
    assert [d["current"] for d in devices].count(True) == 1
    assert {d["name"] for d in devices} == {"Test phone"}
    assert all("token" not in d and "token_hash" not in d for d in devices)


def test_the_app_signs_a_lost_phone_out(world, api_as):
    phone = api_as(world.resident)
    lost = api_as(world.resident)
    lost_id = next(d["id"] for d in lost.get("/me/devices").json() if d["current"])
    assert phone.delete(f"/me/devices/{lost_id}").status_code == 204
    assert_error(lost.get("/me"), 401, "unauthorized")
    assert len(phone.get("/me/devices").json()) == 1
    # Gone is gone: a second sign-out of it is a 404.
    assert_error(phone.delete(f"/me/devices/{lost_id}"), 404, "not_found")


def test_another_persons_device_is_a_404_and_stays_signed_in(world, api_as):
    mine = api_as(world.resident)
    theirs = api_as(world.other_resident)
    their_id = theirs.get("/me/devices").json()[0]["id"]
    assert_error(mine.delete(f"/me/devices/{their_id}"), 404, "not_found")
    assert theirs.get("/me").status_code == 200


def test_a_device_id_that_is_not_a_number_or_too_big_is_refused(world, resident_api):
    assert_error(resident_api.delete("/me/devices/abc"), 400, "invalid")
    assert_error(resident_api.delete(f"/me/devices/{2**80}"), 400, "invalid")
    assert_error(resident_api.delete("/me/devices/0"), 400, "invalid")


def test_signing_a_device_out_deletes_its_push_subscription(world, resident_api):
    assert resident_api.post("/push-subscriptions", subscription()).status_code == 201
    resident_api.delete("/auth/token")
    assert not PushSubscription.objects.exists()


# --- The profile's page -----------------------------------------------------------------------


def test_the_devices_page_lists_and_signs_out_devices(world, client):
    device, token = device_token_issue(user=world.resident, name="Điện thoại của Dân")
    device_token_issue(user=world.other_resident, name="Someone else's phone")
    client.force_login(world.resident)
    page = client.get(reverse("api:devices"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Điện thoại của Dân" in text and "Someone else" not in text
    assert device.prefix in text and token not in text

    response = client.post(reverse("api:device_revoke", args=[device.pk]))
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.revoked_at is not None
    api = ApiClient(client, token=token)
    assert_error(api.get("/me"), 401, "unauthorized")
    assert "No device is signed in" in client.get(reverse("api:devices")).content.decode()


def test_the_devices_page_cannot_sign_out_another_persons_device(world, client):
    theirs, _token = device_token_issue(user=world.other_resident, name="Theirs")
    client.force_login(world.resident)
    assert client.post(reverse("api:device_revoke", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_sign_out_every_device_from_the_page(world, client):
    for name in ("A", "B"):
        device_token_issue(user=world.resident, name=name)
    other, _token = device_token_issue(user=world.other_resident, name="C")
    client.force_login(world.resident)
    assert client.post(reverse("api:devices_revoke_all")).status_code == 302
    assert not DeviceToken.objects.filter(user=world.resident, revoked_at__isnull=True).exists()
    other.refresh_from_db()
    assert other.revoked_at is None


def test_the_devices_page_needs_a_signed_in_person_and_post_to_revoke(world, client):
    device, _token = device_token_issue(user=world.resident, name="A")
    assert client.get(reverse("api:devices")).status_code == 302
    assert client.post(reverse("api:device_revoke", args=[device.pk])).status_code == 302
    client.force_login(world.resident)
    assert client.get(reverse("api:device_revoke", args=[device.pk])).status_code == 405
    device.refresh_from_db()
    assert device.revoked_at is None
