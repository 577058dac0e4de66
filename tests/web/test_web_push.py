"""Web Push: a browser subscribes, the sender encrypts for it and signs with VAPID.

No test reaches the internet: the push service is a fake transport mounted on the sender's
HTTP session (the HTTP boundary); it decrypts what it receives with the browser's keys and
checks the VAPID signature, as a real push service and browser would.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field

import http_ece
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.urls import reverse
from py_vapid import Vapid02
from requests.adapters import BaseAdapter

from ihanoi.accounts.models import User
from ihanoi.web import push

pytestmark = pytest.mark.django_db

PUSH_HOST = "push.example.net"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Browser:
    """A browser's side of a subscription: its key pair and auth secret (RFC 8291)."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth_secret: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        raw = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(raw)

    @property
    def auth(self) -> str:
        return b64url(self.auth_secret)

    def as_json(self) -> dict:
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}

    def read(self, body: bytes) -> dict:
        clear = http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth_secret, version="aes128gcm"
        )
        return json.loads(clear)


class FakePushService(BaseAdapter):
    """Answers the sender's POSTs as a push service would; records them."""

    def __init__(self, status_for: dict[str, int] | None = None) -> None:
        super().__init__()
        self.status_for = status_for or {}
        self.received: list[requests.PreparedRequest] = []

    def send(self, request, **kwargs):  # type: ignore[override]
        self.received.append(request)
        response = requests.Response()
        response.status_code = self.status_for.get(request.url, 201)
        response.reason = "Created" if response.status_code == 201 else "Error"
        response._content = b""
        response.request = request
        response.url = request.url
        return response

    def close(self) -> None:
        pass


@pytest.fixture
def vapid(settings):
    public, private = push.generate_vapid_keys()
    settings.VAPID_PUBLIC_KEY = public
    settings.VAPID_PRIVATE_KEY = private
    settings.VAPID_SUBJECT = "mailto:ops@ihanoi.example.vn"
    settings.IHANOI_WEBPUSH_HOSTS = [PUSH_HOST]
    return public


@pytest.fixture
def push_service(monkeypatch):
    service = FakePushService()

    def session() -> requests.Session:
        s = requests.Session()
        s.mount("https://", service)
        s.mount("http://", service)
        return s

    monkeypatch.setattr(push, "push_session", session)
    return service


@pytest.fixture
def resident():
    return User.objects.create_user(phone="+84912000201", phone_verified=True)


def subscribe(client, browser: Browser):
    return client.post(
        reverse("web:push_subscribe"),
        json.dumps(browser.as_json()),
        content_type="application/json",
    )


def subscribed_browser(client, user, name: str = "a") -> Browser:
    client.force_login(user)
    browser = Browser(endpoint=f"https://{PUSH_HOST}/send/{name}")
    assert subscribe(client, browser).status_code == 201
    return browser


# --- Subscribing -------------------------------------------------------------------------


def test_a_signed_in_resident_subscribes_this_browser(client, vapid, resident):
    browser = subscribed_browser(client, resident)
    (row,) = resident.push_subscriptions.all()
    assert (row.endpoint, row.p256dh, row.auth) == (browser.endpoint, browser.p256dh, browser.auth)


def test_subscribing_again_from_the_same_browser_keeps_one_row_and_moves_it(
    client, vapid, resident
):
    browser = subscribed_browser(client, resident)
    other = User.objects.create_user(phone="+84912000202", phone_verified=True)
    client.force_login(other)
    assert subscribe(client, browser).status_code == 201
    assert resident.push_subscriptions.count() == 0
    assert other.push_subscriptions.count() == 1


def test_subscribing_needs_a_signed_in_person(client, vapid):
    response = subscribe(client, Browser(endpoint=f"https://{PUSH_HOST}/x"))
    assert response.status_code == 403


def test_subscribing_is_refused_when_web_push_is_not_configured(client, resident):
    client.force_login(resident)
    response = subscribe(client, Browser(endpoint=f"https://{PUSH_HOST}/x"))
    assert response.status_code == 409


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        json.dumps({"endpoint": f"https://{PUSH_HOST}/x"}),
        json.dumps({"endpoint": f"https://{PUSH_HOST}/x", "keys": "nope"}),
        json.dumps({"endpoint": f"https://{PUSH_HOST}/x", "keys": {"p256dh": "x", "auth": "y"}}),
    ],
)
def test_malformed_subscriptions_are_refused_and_nothing_is_stored(client, vapid, resident, body):
    client.force_login(resident)
    response = client.post(reverse("web:push_subscribe"), body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]
    assert resident.push_subscriptions.count() == 0


@pytest.mark.parametrize(
    "endpoint",
    [
        f"http://{PUSH_HOST}/plain-http",
        "https://10.0.0.5/inside-the-city-network",
        "https://internal.example.vn/admin",
        f"https://{PUSH_HOST}.evil.example/x",
    ],
)
def test_endpoints_outside_the_known_push_services_are_refused(client, vapid, resident, endpoint):
    client.force_login(resident)
    response = subscribe(client, Browser(endpoint=endpoint))
    assert response.status_code == 400
    assert resident.push_subscriptions.count() == 0


def test_unsubscribing_removes_only_ones_own_subscription(client, vapid, resident):
    browser = subscribed_browser(client, resident)
    other = User.objects.create_user(phone="+84912000203", phone_verified=True)
    client.force_login(other)
    url = reverse("web:push_unsubscribe")
    body = json.dumps({"endpoint": browser.endpoint})
    assert client.post(url, body, content_type="application/json").json()["removed"] is False
    assert resident.push_subscriptions.count() == 1
    client.force_login(resident)
    assert client.post(url, body, content_type="application/json").json()["removed"] is True
    assert resident.push_subscriptions.count() == 0


def test_subscribe_and_unsubscribe_refuse_get(client, vapid, resident):
    client.force_login(resident)
    assert client.get(reverse("web:push_subscribe")).status_code == 405
    assert client.get(reverse("web:push_unsubscribe")).status_code == 405


# --- Sending -----------------------------------------------------------------------------


def test_the_message_reaches_every_browser_encrypted_for_it_and_signed(
    client, vapid, resident, push_service
):
    phone = subscribed_browser(client, resident, "phone")
    laptop = subscribed_browser(client, resident, "laptop")
    outcome = push.send_web_push(resident, "Phản ánh #12", "Đã tiếp nhận", "/feedback/r/abc/")
    assert outcome.sent == 2
    assert [r.url for r in push_service.received] == [phone.endpoint, laptop.endpoint]
    for browser, request in zip((phone, laptop), push_service.received, strict=True):
        assert request.headers["Content-Encoding"] == "aes128gcm"
        assert int(request.headers["TTL"]) == push.TTL_SECONDS
        assert browser.read(request.body) == {
            "title": "Phản ánh #12",
            "body": "Đã tiếp nhận",
            "url": "/feedback/r/abc/",
        }
        authorization = request.headers["Authorization"]
        assert Vapid02.verify(authorization)
        assert f"k={vapid}" in authorization


def test_nothing_is_sent_without_vapid_keys(client, vapid, resident, push_service, settings):
    subscribed_browser(client, resident)
    settings.VAPID_PRIVATE_KEY = ""
    assert push.send_web_push(resident, "t", "b", "/") == push.PushOutcome()
    assert push_service.received == []


def test_a_person_without_subscriptions_costs_no_request(vapid, resident, push_service):
    assert push.send_web_push(resident, "t", "b", "/").sent == 0
    assert push_service.received == []


@pytest.mark.parametrize("status", [404, 410])
def test_a_subscription_the_push_service_says_is_gone_is_deleted(
    client, vapid, resident, push_service, status
):
    gone = subscribed_browser(client, resident, "gone")
    kept = subscribed_browser(client, resident, "kept")
    push_service.status_for[gone.endpoint] = status
    outcome = push.send_web_push(resident, "t", "b", "/")
    assert (outcome.sent, outcome.gone) == (1, 1)
    assert [s.endpoint for s in resident.push_subscriptions.all()] == [kept.endpoint]


def test_when_no_browser_takes_it_the_caller_is_told_to_retry(
    client, vapid, resident, push_service
):
    browser = subscribed_browser(client, resident)
    push_service.status_for[browser.endpoint] = 503
    with pytest.raises(push.WebPushUnavailable):
        push.send_web_push(resident, "t", "b", "/")
    assert resident.push_subscriptions.count() == 1


def test_a_network_failure_is_a_temporary_failure(client, vapid, resident, monkeypatch):
    subscribed_browser(client, resident)

    class Down(FakePushService):
        def send(self, request, **kwargs):  # type: ignore[override]
            raise requests.ConnectionError("push service unreachable")

    def session() -> requests.Session:
        s = requests.Session()
        s.mount("https://", Down())
        return s

    monkeypatch.setattr(push, "push_session", session)
    with pytest.raises(push.WebPushUnavailable):
        push.send_web_push(resident, "t", "b", "/")


def test_a_subscription_on_a_host_no_longer_allowed_is_never_contacted(
    client, vapid, resident, push_service, settings
):
    subscribed_browser(client, resident)
    settings.IHANOI_WEBPUSH_HOSTS = ["fcm.googleapis.com"]
    outcome = push.send_web_push(resident, "t", "b", "/")
    assert (outcome.sent, outcome.refused) == (0, 1)
    assert push_service.received == []


def test_the_payload_keeps_to_site_paths_and_a_short_body():
    payload = json.loads(push.push_payload(title="T", body="x" * 5000, url="https://evil.example/"))
    assert payload["url"] == "/"
    assert len(payload["body"]) == push.BODY_MAX_CHARS
    assert json.loads(push.push_payload(title="T", body="b", url="//evil.example/"))["url"] == "/"


def test_generated_vapid_keys_sign_what_the_public_key_verifies():
    public, private = push.generate_vapid_keys()
    assert len(base64.urlsafe_b64decode(public + "==")) == 65
    signer = Vapid02.from_string(private)
    headers = signer.sign({"sub": "mailto:ops@ihanoi.example.vn", "aud": "https://x.example"})
    assert f"k={public}" in headers["Authorization"]
    assert Vapid02.verify(headers["Authorization"])


def test_the_key_command_prints_environment_lines():
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("generate_vapid_keys", stdout=out)
    lines = dict(line.split("=", 1) for line in out.getvalue().splitlines())
    assert set(lines) == {"VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY", "VAPID_SUBJECT"}


def test_pages_carry_the_public_key_for_signed_in_people_only(client, vapid, resident):
    assert vapid not in client.get("/").content.decode()
    client.force_login(resident)
    assert f'data-vapid="{vapid}"' in client.get("/").content.decode()
