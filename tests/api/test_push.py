"""Web Push subscriptions: stored with their keys (sending is for a sender to come)."""

from __future__ import annotations

import base64

import pytest

from ihanoi.api.models import PushSubscription
from tests.api.conftest import assert_error

ENDPOINT = "https://fcm.googleapis.com/fcm/send/abc123"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def subscription(**overrides):
    body = {
        "endpoint": ENDPOINT,
        "expirationTime": None,
        "keys": {"p256dh": _b64(b"\x04" + b"k" * 64), "auth": _b64(b"a" * 16)},
    }
    body.update(overrides)
    return body


def test_a_subscription_is_stored_for_the_device(world, resident_api):
    response = resident_api.post("/push-subscriptions", subscription())
    assert response.status_code == 201, response.content
    stored = PushSubscription.objects.get()
    assert stored.user == world.resident and stored.device is not None
    assert response.json()["endpoint"] == ENDPOINT


def test_registering_again_updates_the_keys_and_the_owner(world, resident_api, api_as):
    resident_api.post("/push-subscriptions", subscription())
    other = api_as(world.other_resident)
    keys = {"p256dh": _b64(b"\x04" + b"z" * 64), "auth": _b64(b"b" * 16)}
    assert other.post("/push-subscriptions", subscription(keys=keys)).status_code == 201
    stored = PushSubscription.objects.get()
    assert stored.user == world.other_resident and stored.auth == keys["auth"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"endpoint": "http://fcm.googleapis.com/fcm/send/x"}, "endpoint"),
        ({"endpoint": "https://push.example.com/x"}, "endpoint"),  # not a browser's service
        ({"endpoint": "https://10.0.0.1/internal"}, "endpoint"),
        ({"endpoint": "not a url"}, "endpoint"),
        ({"endpoint": "https://" + "a" * 1000}, "endpoint"),
        ({"keys": {"p256dh": "!!!", "auth": _b64(b"a" * 16)}}, "p256dh"),
        ({"keys": {"p256dh": _b64(b"\x04" + b"k" * 10), "auth": _b64(b"a" * 16)}}, "p256dh"),
        ({"keys": {"p256dh": _b64(b"\x04" + b"k" * 64), "auth": _b64(b"a" * 3)}}, "auth"),
        ({"keys": {"p256dh": _b64(b"\x04" + b"k" * 64)}}, "keys.auth"),
        ({"keys": None}, "keys.p256dh"),
    ],
)
def test_a_bad_subscription_is_a_400_and_stores_nothing(world, resident_api, overrides, field):
    error = assert_error(
        resident_api.post("/push-subscriptions", subscription(**overrides)), 400, "invalid"
    )
    assert field in error["fields"], error
    assert not PushSubscription.objects.exists()


def test_a_subscription_is_deleted_by_its_owner_only(world, resident_api, api_as):
    resident_api.post("/push-subscriptions", subscription())
    other = api_as(world.other_resident)
    path = "/push-subscriptions?endpoint=" + ENDPOINT
    assert_error(other.delete(path), 404, "not_found")
    assert resident_api.delete(path).status_code == 204
    assert not PushSubscription.objects.exists()
    assert_error(resident_api.delete(path), 404, "not_found")
    assert_error(resident_api.delete("/push-subscriptions"), 400, "invalid")


def test_the_server_key_is_public_and_says_whether_push_is_on(db, anonymous, settings):
    assert anonymous.get("/push-subscriptions/server-key").json() == {
        "enabled": False,
        "public_key": "",
    }
    settings.VAPID_PUBLIC_KEY = _b64(b"\x04" + b"v" * 64)
    settings.VAPID_PRIVATE_KEY = _b64(b"p" * 32)
    body = anonymous.get("/push-subscriptions/server-key").json()
    assert body == {"enabled": True, "public_key": settings.VAPID_PUBLIC_KEY}


def test_push_needs_a_token(world, anonymous):
    assert_error(anonymous.post("/push-subscriptions", subscription()), 401, "unauthorized")
