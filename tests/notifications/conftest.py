from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail

from ihanoi.accounts.models import User
from ihanoi.accounts.sms import LocMemSMSBackend
from ihanoi.notifications.models import Notification
from ihanoi.notifications.services import notify


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    counter = iter(range(1, 10_000))

    def make(*, email: bool = True, phone: bool = True, **extra: Any) -> User:
        number = next(counter)
        return User.objects.create_user(
            email=f"resident{number}@example.vn" if email else None,
            phone=f"+849120{number:05d}" if phone else None,
            phone_verified=phone,
            **extra,
        )

    return make


@pytest.fixture
def resident(make_user: Callable[..., User]) -> User:
    return make_user()


@pytest.fixture
def make_notification(resident: User) -> Callable[..., Notification]:
    counter = iter(range(1, 10_000))

    def make(recipient: User | None = None, **changes: Any) -> Notification:
        number = next(counter)
        fields: dict[str, Any] = {
            "recipient": recipient or resident,
            "kind": "report.status",
            "title": f"Your report {number} was received",
            "body": "The hub will forward it to the agency responsible.",
            "link": f"/feedback/{number}/",
            "dedupe_key": f"report-event:{number}",
            **changes,
        }
        notification = notify(**fields)
        assert notification is not None
        return notification

    return make


def sms_sent_to(phone: str) -> list[str]:
    return [message.body for message in LocMemSMSBackend.outbox if message.to == phone]


def emails_sent_to(address: str) -> list[mail.EmailMessage]:
    return [message for message in mail.outbox if address in message.to]
