"""Operators see the outbox read-only and can put failed deliveries back in the queue."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ihanoi.accounts.models import Role, User
from ihanoi.notifications.delivery import MAX_ATTEMPTS
from ihanoi.notifications.models import Delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    from allauth.mfa.totp.internal.auth import TOTP

    admin = User.objects.create_superuser(email="admin@example.vn", password="x" * 12)
    TOTP.activate(admin, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    client.force_login(admin)
    return client


@pytest.mark.parametrize(
    "query", ["", "?status__exact=failed", "?channel__exact=sms&status__exact=pending"]
)
def test_the_delivery_list_filters_by_status_and_channel(admin_client, make_notification, query):
    make_notification()

    response = admin_client.get(reverse("admin:notifications_delivery_changelist") + query)

    assert response.status_code == 200


def test_notifications_are_listed_and_shown_read_only(admin_client, make_notification):
    notification = make_notification(title="Your report was received")

    listing = admin_client.get(reverse("admin:notifications_notification_changelist"))
    detail = admin_client.get(
        reverse("admin:notifications_notification_change", args=[notification.pk])
    )

    assert "Your report was received" in listing.content.decode()
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()
    assert admin_client.get(reverse("admin:notifications_delivery_add")).status_code == 403


def test_retry_now_requeues_only_failed_deliveries(
    admin_client, make_notification, django_capture_on_commit_callbacks
):
    make_notification()
    Delivery.objects.filter(channel="sms").update(status="failed", attempts=MAX_ATTEMPTS)
    Delivery.objects.filter(channel="email").update(status="sent", attempts=1)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:notifications_delivery_changelist"),
            {
                "action": "retry_now",
                "_selected_action": list(Delivery.objects.values_list("pk", flat=True)),
            },
            follow=True,
        )

    page = response.content.decode()
    assert "1 delivery will be retried now." in page
    assert "1 selected delivery had not failed and was left alone." in page
    sms, email = Delivery.objects.get(channel="sms"), Delivery.objects.get(channel="email")
    assert (sms.status, sms.attempts) == ("sent", 1)  # retried at once by the task
    assert (email.status, email.attempts) == ("sent", 1)


def test_an_administrator_who_may_only_view_deliveries_cannot_retry(client, make_notification):
    from allauth.mfa.totp.internal.auth import TOTP
    from django.contrib.auth.models import Permission

    operator = User.objects.create_user(
        email="operator@example.vn", password="x" * 12, role=Role.ADMINISTRATOR, is_staff=True
    )
    TOTP.activate(operator, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    operator.user_permissions.add(Permission.objects.get(codename="view_delivery"))
    client.force_login(operator)
    make_notification()
    Delivery.objects.update(status="failed")

    listing = client.get(reverse("admin:notifications_delivery_changelist"))
    assert listing.status_code == 200
    assert "retry_now" not in listing.content.decode()

    client.post(
        reverse("admin:notifications_delivery_changelist"),
        {
            "action": "retry_now",
            "_selected_action": list(Delivery.objects.values_list("pk", flat=True)),
        },
    )
    assert set(Delivery.objects.values_list("status", flat=True)) == {"failed"}
