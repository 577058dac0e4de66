"""Codes leave through the task queue: with the database backend nothing is sent during the
request; the real worker process delivers it."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from ihanoi.accounts.models import User
from ihanoi.accounts.sms import LocMemSMSBackend
from tests.accounts.helpers import last_code_sent_to

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_worker_delivers_a_queued_sign_in_code(client, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    from django_tasks_db.models import DBTaskResult

    User.objects.create_user(phone="+84912000003", phone_verified=True)
    client.post(reverse("account_request_login_code"), {"phone": "0912000003"})
    assert LocMemSMSBackend.outbox == []
    assert DBTaskResult.objects.count() == 1

    call_command("db_worker", "--batch", "--no-startup-delay", "--queue-name", "*", verbosity=0)

    assert last_code_sent_to("+84912000003")
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
