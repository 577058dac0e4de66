"""Pluggable SMS delivery. ``SMS_BACKEND`` picks one; a gateway is a dotted path to a
class with the same ``send`` method."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import ClassVar, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SMSMessage:
    to: str
    body: str
    # The same for every attempt at the same message: a gateway passes it to the provider's
    # deduplication field, so that a resend after a crash is not delivered twice.
    idempotency_key: str = ""


class SMSBackend(Protocol):
    def send(self, message: SMSMessage) -> None: ...


class ConsoleSMSBackend:
    """Development: print the message where the operator of the demo sees it."""

    def send(self, message: SMSMessage) -> None:
        sys.stdout.write(f"[SMS to {message.to}] {message.body}\n")
        sys.stdout.flush()


class LocMemSMSBackend:
    """Tests: keep messages in ``LocMemSMSBackend.outbox``."""

    outbox: ClassVar[list[SMSMessage]] = []

    def send(self, message: SMSMessage) -> None:
        self.outbox.append(message)


def deliver_sms_now(*, to: str, body: str, idempotency_key: str = "") -> None:
    backend: SMSBackend = import_string(settings.SMS_BACKEND)()
    backend.send(SMSMessage(to=to, body=body, idempotency_key=idempotency_key))
    logger.info("sms sent to %s***", to[:-3])


def send_sms(*, to: str, body: str) -> None:
    """Queue an SMS for the background worker."""
    from ihanoi.accounts.tasks import deliver_sms

    deliver_sms.enqueue(to=to, body=body)
