"""The sender: each delivery is claimed by one sender, sent once, retried with backoff while
a gateway is down, given up after MAX_ATTEMPTS, and taken over when its sender died."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from ihanoi.accounts.services import user_delete_account
from ihanoi.notifications.delivery import (
    MAX_ATTEMPTS,
    deliveries_run,
    delivery_claim,
    lease,
    retry_delay,
)
from ihanoi.notifications.models import Delivery
from ihanoi.notifications.services import deliveries_retry
from tests.notifications.conftest import emails_sent_to, sms_sent_to
from tests.notifications.gateways import FailingOnceSMSBackend

pytestmark = pytest.mark.django_db

MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def gateway_fails_once(settings):
    settings.SMS_BACKEND = "tests.notifications.gateways.FailingOnceSMSBackend"
    FailingOnceSMSBackend.failures_left = 1


@pytest.fixture
def gateway_down(settings):
    settings.SMS_BACKEND = "tests.notifications.gateways.DownSMSBackend"


def sms_delivery() -> Delivery:
    return Delivery.objects.select_related("notification").get(channel="sms")


def test_a_sweep_sends_each_delivery_once(resident, make_notification, mailoutbox, settings):
    settings.IHANOI_SITE_URL = "https://ihanoi.example.vn/"
    make_notification(title="Your report was received", link="/feedback/abc/")
    now = timezone.now()

    first = deliveries_run(now=now)
    second = deliveries_run(now=now + 10 * MINUTE)

    assert (first.sent, second.sent, second.claimed) == (2, 0, 0)
    [email] = emails_sent_to(resident.email)
    assert email.subject == "Your report was received"
    assert email.body.endswith("\n\nhttps://ihanoi.example.vn/feedback/abc/")
    assert sms_sent_to(resident.phone) == [
        "iHaNoi: Your report was received https://ihanoi.example.vn/feedback/abc/"
    ]
    for delivery in Delivery.objects.all():
        assert (delivery.status, delivery.attempts) == ("sent", 1)
        assert delivery.sent_at == now
        assert delivery.claimed_until is None


def test_without_a_site_address_messages_carry_no_link(
    resident, make_notification, mailoutbox, settings
):
    settings.IHANOI_SITE_URL = ""
    make_notification(title="Received", body="Thanks.", link="/feedback/abc/")

    deliveries_run()

    assert mailoutbox[0].body == "Thanks."
    assert sms_sent_to(resident.phone) == ["iHaNoi: Received"]


def test_a_gateway_that_fails_once_delivers_exactly_one_message_on_the_retry(
    resident, make_notification, gateway_fails_once
):
    make_notification()
    now = timezone.now()

    first = deliveries_run(now=now)

    delivery = sms_delivery()
    assert (first.sent, first.retrying) == (1, 1)  # the e-mail went, the SMS did not
    assert sms_sent_to(resident.phone) == []
    assert delivery.status == "pending"
    assert delivery.attempts == 1
    assert delivery.next_attempt_at == now + MINUTE  # backoff
    assert "GatewayDown: 503 Service Unavailable" in delivery.last_error

    # Not before its time…
    assert deliveries_run(now=now + MINUTE - datetime.timedelta(seconds=1)).claimed == 0
    # …then once.
    assert deliveries_run(now=now + MINUTE).sent == 1
    assert deliveries_run(now=now + 60 * MINUTE).claimed == 0

    delivery.refresh_from_db()
    assert len(sms_sent_to(resident.phone)) == 1
    assert (delivery.status, delivery.attempts) == ("sent", 2)


def test_backoff_doubles_and_stops_at_an_hour():
    assert [retry_delay(n) / MINUTE for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]


def test_after_the_last_attempt_the_delivery_has_failed(make_notification, gateway_down):
    make_notification(channels=["sms"])
    now = timezone.now()

    for _attempt in range(MAX_ATTEMPTS):
        stats = deliveries_run(now=now)
        assert stats.claimed == 1
        now = sms_delivery().next_attempt_at

    delivery = sms_delivery()
    assert (delivery.status, delivery.attempts) == ("failed", MAX_ATTEMPTS)
    assert "connection refused" in delivery.last_error
    assert deliveries_run(now=now + 24 * 60 * MINUTE).claimed == 0


def test_a_delivery_whose_sender_died_is_taken_over_after_its_lease(resident, make_notification):
    make_notification(channels=["sms"])
    now = timezone.now()
    # A sender claims the row and dies before sending.
    assert delivery_claim(delivery=sms_delivery(), now=now)

    assert deliveries_run(now=now + lease() - MINUTE).claimed == 0  # still its claim
    assert sms_sent_to(resident.phone) == []

    assert deliveries_run(now=now + lease() + MINUTE).sent == 1
    delivery = sms_delivery()
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    assert len(sms_sent_to(resident.phone)) == 1


def test_a_sender_that_died_on_the_last_attempt_leaves_a_failed_delivery(make_notification):
    make_notification(channels=["sms"])
    now = timezone.now()
    Delivery.objects.update(attempts=MAX_ATTEMPTS - 1)
    assert delivery_claim(delivery=sms_delivery(), now=now)

    stats = deliveries_run(now=now + lease() + MINUTE)

    assert (stats.failed, stats.sent) == (1, 0)
    assert sms_delivery().status == "failed"
    assert "claim expired" in sms_delivery().last_error


def test_two_senders_cannot_claim_the_same_delivery(make_notification):
    make_notification(channels=["sms"])
    now = timezone.now()
    # Both read the row before either claims it.
    seen_by_first, seen_by_second = sms_delivery(), sms_delivery()

    assert delivery_claim(delivery=seen_by_first, now=now) is True
    assert delivery_claim(delivery=seen_by_second, now=now) is False
    # Nor can the second take it over by reading it again while the lease runs.
    assert delivery_claim(delivery=sms_delivery(), now=now + MINUTE) is False

    delivery = sms_delivery()
    assert (delivery.status, delivery.attempts) == ("sending", 1)
    assert delivery.claimed_until == now + lease()


def test_a_sender_that_overran_its_lease_does_not_overwrite_its_successor(make_notification):
    from ihanoi.notifications.delivery import _finish

    make_notification(channels=["sms"])
    now = timezone.now()
    slow = sms_delivery()
    assert delivery_claim(delivery=slow, now=now)
    successor = sms_delivery()
    assert delivery_claim(delivery=successor, now=now + lease() + MINUTE)

    assert _finish(slow, status=Delivery.Status.SENT, sent_at=now) is False

    assert (sms_delivery().status, sms_delivery().attempts) == ("sending", 2)


def test_deleting_the_account_erases_its_notifications_so_nothing_is_sent(
    resident, make_notification, mailoutbox
):
    make_notification()
    phone = resident.phone
    user_delete_account(user=resident)

    stats = deliveries_run()

    assert stats.seen == 0
    assert not Delivery.objects.exists()
    assert mailoutbox == []
    assert sms_sent_to(phone) == []


def test_retry_now_gives_failed_deliveries_a_fresh_start(
    resident, make_notification, gateway_down, settings, django_capture_on_commit_callbacks
):
    make_notification()
    now = timezone.now()
    Delivery.objects.filter(channel="sms").update(status="failed", attempts=MAX_ATTEMPTS)
    deliveries_run(now=now)  # the e-mail goes; the failed SMS stays failed
    settings.SMS_BACKEND = "ihanoi.accounts.sms.LocMemSMSBackend"

    with django_capture_on_commit_callbacks(execute=True):
        count = deliveries_retry(deliveries=Delivery.objects.all())

    assert count == 1  # the sent e-mail is left alone
    delivery = sms_delivery()
    assert (delivery.status, delivery.attempts) == ("sent", 1)  # the enqueued task sent it
    assert len(sms_sent_to(resident.phone)) == 1


def test_a_sweep_takes_at_most_its_limit(make_user, make_notification):
    for _ in range(3):
        make_notification(recipient=make_user(), channels=["email"])

    first = deliveries_run(limit=2)
    second = deliveries_run(limit=2)

    assert (first.sent, first.seen, second.sent) == (2, 2, 1)


def test_the_command_runs_one_sweep(resident, make_notification, capsys):
    make_notification()

    call_command("deliver_notifications")

    assert "2 sent" in capsys.readouterr().out
    assert len(sms_sent_to(resident.phone)) == 1


def test_the_command_refuses_a_limit_below_one():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("deliver_notifications", "--limit", "0")


def test_the_lease_is_a_setting(make_notification, settings):
    settings.IHANOI_DELIVERY_LEASE_SECONDS = 20
    make_notification(channels=["sms"])
    now = timezone.now()
    assert delivery_claim(delivery=sms_delivery(), now=now)
    assert sms_delivery().claimed_until == now + datetime.timedelta(seconds=20)
    # Taken over 20 s later, not after the default five minutes.
    assert deliveries_run(now=now + datetime.timedelta(seconds=21)).sent == 1


def test_every_attempt_at_a_delivery_carries_the_same_key(
    resident, make_user, make_notification, settings, monkeypatch
):
    from ihanoi.accounts.sms import LocMemSMSBackend
    from ihanoi.notifications import delivery as sender

    settings.IHANOI_SITE_URL = "https://ihanoi.example.vn"
    make_notification(channels=["sms", "email"])
    now = timezone.now()

    # The sender dies after the gateway took each message, before recording it as sent.
    class Died(BaseException):
        pass

    def die(*_args, **_kwargs):
        raise Died

    with monkeypatch.context() as patch:
        patch.setattr(sender, "_finish", die)
        with pytest.raises(Died):
            deliveries_run(now=now)
    # After the lease another sender sends it again, with the same key.
    deliveries_run(now=now + lease() + MINUTE)
    deliveries_run(now=now + 2 * (lease() + MINUTE))

    sms = Delivery.objects.get(channel="sms")
    keys = [m.idempotency_key for m in LocMemSMSBackend.outbox if m.to == resident.phone]
    assert keys == [f"ihanoi-delivery-{sms.pk}"] * 2
    emails = emails_sent_to(resident.email)
    email_delivery = Delivery.objects.get(channel="email")
    assert [e.extra_headers["Message-ID"] for e in emails] == [
        f"<ihanoi-delivery-{email_delivery.pk}@ihanoi.example.vn>"
    ] * len(emails)
    assert len(emails) >= 1
    # Another delivery, another key.
    other = make_user()
    make_notification(recipient=other, channels=["sms"], dedupe_key="report-event:other")
    deliveries_run(now=now + 30 * MINUTE)
    other_keys = [m.idempotency_key for m in LocMemSMSBackend.outbox if m.to == other.phone]
    assert len(other_keys) == 1 and other_keys[0] not in keys
