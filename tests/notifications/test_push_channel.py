"""Web Push is a channel of the outbox: a resident with a subscribed browser gets a push
delivery, sent through ihanoi.web.push, retried when no browser took it."""

import pytest
from django.utils import timezone

from ihanoi.api.services import push_subscription_register
from ihanoi.notifications.delivery import deliveries_run
from ihanoi.notifications.models import Delivery
from ihanoi.notifications.services import notify

pytestmark = pytest.mark.django_db


@pytest.fixture
def pushes(monkeypatch):
    sent = []

    def fake_send(user, title, body, url):
        sent.append((user.pk, title, url))

    monkeypatch.setattr("ihanoi.web.push.send_web_push", fake_send)
    return sent


def _subscribe(user):
    push_subscription_register(
        user=user,
        device=None,
        endpoint="https://fcm.googleapis.com/fcm/send/abc",
        p256dh="BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
        auth="tBHItJI5svbpez7KI4CCXg",
    )


def test_a_subscribed_resident_gets_one_push_delivery_that_is_sent(resident, pushes):
    _subscribe(resident)
    notify(
        recipient=resident,
        kind="report.routed",
        title="Rác",
        body="Đã chuyển.",
        link="/feedback/x/",
        dedupe_key="e1",
    )
    assert Delivery.objects.filter(channel="push").count() == 1
    deliveries_run()
    assert pushes == [(resident.pk, "Rác", "/feedback/x/")]
    assert Delivery.objects.get(channel="push").status == "sent"


def test_without_a_subscription_there_is_no_push_delivery(resident, pushes):
    notify(recipient=resident, kind="k", title="t", body="b", link="/", dedupe_key="e2")
    assert not Delivery.objects.filter(channel="push").exists()


def test_a_push_no_browser_took_is_retried_later(resident, monkeypatch):
    from ihanoi.web.push import WebPushUnavailable

    def down(*args):
        raise WebPushUnavailable("push service down")

    monkeypatch.setattr("ihanoi.web.push.send_web_push", down)
    _subscribe(resident)
    notify(recipient=resident, kind="k", title="t", body="b", link="/", dedupe_key="e3")
    deliveries_run(now=timezone.now())
    delivery = Delivery.objects.get(channel="push")
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.next_attempt_at > timezone.now()
