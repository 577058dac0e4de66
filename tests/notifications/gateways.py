"""SMS gateways that misbehave, for the retry tests (``settings.SMS_BACKEND`` points here)."""

from __future__ import annotations

from typing import ClassVar

from ihanoi.accounts.sms import LocMemSMSBackend, SMSMessage


class GatewayDown(Exception):
    pass


class FailingOnceSMSBackend:
    """Refuses the first message, then delivers to the LocMem outbox."""

    failures_left: ClassVar[int] = 1

    def send(self, message: SMSMessage) -> None:
        if FailingOnceSMSBackend.failures_left > 0:
            FailingOnceSMSBackend.failures_left -= 1
            raise GatewayDown("503 Service Unavailable")
        LocMemSMSBackend().send(message)


class DownSMSBackend:
    def send(self, message: SMSMessage) -> None:
        raise GatewayDown("connection refused")
