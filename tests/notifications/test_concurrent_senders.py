"""Several senders at once on a real server: every delivery goes out exactly once. (SQLite's
test database lives in shared memory, where concurrent writers fail instead of waiting; its
claims are covered by the simulated race in test_delivery.py.)"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from ihanoi.accounts.models import User
from ihanoi.accounts.sms import LocMemSMSBackend
from ihanoi.notifications.delivery import DeliveryStats, deliveries_run
from ihanoi.notifications.models import Delivery
from ihanoi.notifications.services import notify_many

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs a database with concurrent writers"
    ),
]

SENDERS = 4
RESIDENTS = 60


def test_concurrent_senders_send_every_delivery_exactly_once(settings):
    # The senders below do the work, not the task that notify_many() enqueues.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    residents = [
        User.objects.create_user(phone=f"+8491300{n:04d}", phone_verified=True)
        for n in range(RESIDENTS)
    ]
    notify_many(
        recipients=residents,
        kind="report.status",
        title="Your report was handled",
        body="",
        link="",
        dedupe_key="report-event:9",
        channels=["sms"],
    )
    start = threading.Barrier(SENDERS)
    results: list[DeliveryStats] = []
    errors: list[BaseException] = []

    def sender() -> None:
        try:
            start.wait()
            results.append(deliveries_run(limit=RESIDENTS))
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(stats.sent for stats in results) == RESIDENTS
    sent_to = [message.to for message in LocMemSMSBackend.outbox]
    assert sorted(sent_to) == sorted(user.phone for user in residents)
    assert set(Delivery.objects.values_list("status", "attempts")) == {("sent", 1)}
