from __future__ import annotations

import re

from ihanoi.accounts.sms import LocMemSMSBackend


def last_code_sent_to(phone_e164: str) -> str:
    for message in reversed(LocMemSMSBackend.outbox):
        if message.to == phone_e164:
            match = re.search(r"\b(\d{6})\b", message.body)
            if match:
                return match.group(1)
    raise AssertionError(f"no code was sent to {phone_e164}: {LocMemSMSBackend.outbox}")


def sms_count() -> int:
    return len(LocMemSMSBackend.outbox)
