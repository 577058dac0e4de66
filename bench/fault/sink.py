"""Recording SMS and e-mail backends for the fault test: the "provider" end of the outbox.

Every send is one JSON line appended to the file named by ``IHANOI_FAULT_SINK``, written with
a single ``write()`` on a descriptor opened with ``O_APPEND``: a process killed right after
the call has still "handed the message to the provider", and a killed process cannot leave
half a line. The file lives outside the application's database and survives every fault the
test injects (process kills, database restarts).

The backends' interfaces carry no delivery id (``SMSMessage`` has ``to``, ``body`` and
``idempotency_key``; an e-mail has subject, body, recipients and headers), so the record
takes it from the sender's stack: the nearest frame with a ``delivery`` local that is a
``notifications.Delivery`` (the sender's ``_attempt``). Beside it goes the key a provider
deduplicates on, as the provider receives it: ``SMSMessage.idempotency_key`` for an SMS
(empty if the application passed none), the ``Message-ID`` of the rendered e-mail for an
e-mail (the application's, ``<ihanoi-delivery-<id>@<site host>>``, or else the one Django
makes up, different on every attempt), with where it came from (``key_source``: ``app``,
``generated`` or ``none``). The text is recorded too, so that the checker can confirm that
each record really is the message of the delivery it names.

Point the application at them with
``SMS_BACKEND=bench.fault.sink.RecordingSMSBackend`` and
``EMAIL_BACKEND=bench.fault.sink.RecordingEmailBackend`` (the project root on PYTHONPATH).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

SINK_ENV = "IHANOI_FAULT_SINK"
# Probability that the sending process is SIGKILLed right after a send was recorded: the
# sender dies between the provider accepting a message and the outbox row being marked.
CRASH_AFTER_SEND_ENV = "IHANOI_FAULT_CRASH_AFTER_SEND"
# The same for a gunicorn worker after a submission committed (``bench/fault/wsgi.py``).
CRASH_AFTER_COMMIT_ENV = "IHANOI_FAULT_CRASH_AFTER_COMMIT"
# Probability that the "provider" refuses a message (an exception instead of a record): the
# sender's retry with backoff (1 min, 2, 4 …) must still get it through.
PROVIDER_ERRORS_ENV = "IHANOI_FAULT_PROVIDER_ERRORS"
# Where the processes note the faults they inject on themselves (JSON lines).
EVENTS_ENV = "IHANOI_FAULT_EVENTS"
# A file whose existence turns those in-process faults off (the load phase is over).
FAULTS_OFF_ENV = "IHANOI_FAULT_OFF"
# A file whose existence makes the "provider" slow (``SLOW_PROVIDER_SECONDS`` per message):
# the ``task-horse`` fault turns it on so that a work-horse is caught while it waits on the
# provider, whatever the seed, instead of hoping one is alive at the moment it looks (a fast
# send lasts a few ms).
SLOW_PROVIDER_ENV = "IHANOI_FAULT_SLOW_PROVIDER"
SLOW_PROVIDER_SECONDS = 0.5
_STACK_DEPTH = 40


def _sink_path() -> str:
    path = os.environ.get(SINK_ENV, "")
    if not path:
        raise RuntimeError(f"{SINK_ENV} is not set: the recording backends need a file.")
    return path


def _sending_delivery() -> tuple[int | None, int | None]:
    """(id, attempt) of the ``Delivery`` being sent by a frame up the stack, if any."""
    from ihanoi.notifications.models import Delivery

    frame: FrameType | None = sys._getframe(1)
    for _level in range(_STACK_DEPTH):
        if frame is None:
            break
        candidate = frame.f_locals.get("delivery")
        if isinstance(candidate, Delivery):
            return candidate.pk, candidate.attempts
        frame = frame.f_back
    return None, None


def _flag(env: str) -> bool:
    """Whether the file named by ``env`` exists (an unset variable: no)."""
    path = os.environ.get(env, "")
    return bool(path) and os.path.exists(path)


def append_line(path: str, record: dict[str, Any]) -> None:
    """One JSON line, one ``write()`` on an ``O_APPEND`` descriptor: atomic for our sizes."""
    line = (json.dumps(record, ensure_ascii=False) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def crash_now(probability_env: str, kind: str, **details: Any) -> None:
    """SIGKILL this process with the probability named by ``probability_env``, noting it in
    the events file first."""
    probability = float(os.environ.get(probability_env, "0") or 0)
    if probability <= 0 or random.random() >= probability:
        return
    if _flag(FAULTS_OFF_ENV):
        return
    events = os.environ.get(EVENTS_ENV, "")
    if events:
        append_line(events, {"kind": kind, "t": time.time(), "killed": [os.getpid()], **details})
    os.kill(os.getpid(), signal.SIGKILL)


class ProviderRefused(Exception):
    """The recording provider's stand-in for a gateway error (HTTP 503, SMTP 4xx)."""


def _refuse_now() -> bool:
    probability = float(os.environ.get(PROVIDER_ERRORS_ENV, "0") or 0)
    if probability <= 0 or random.random() >= probability:
        return False
    return not _flag(FAULTS_OFF_ENV)


def record_send(
    *, channel: str, to: str, text: str, key: str = "", key_source: str = "none"
) -> dict[str, Any]:
    """Append one send to the sink file; returns the record.

    ``key`` is the idempotency key the provider receives with the message (empty: none), and
    ``key_source`` says whether the application set it (``app``), the mail library made one
    up (``generated``) or there is none (``none``)."""
    delivery_id, attempt = _sending_delivery()
    if _flag(SLOW_PROVIDER_ENV) and not _flag(FAULTS_OFF_ENV):
        time.sleep(SLOW_PROVIDER_SECONDS)  # a slow gateway: the sender waits, nothing recorded yet
    if _refuse_now():
        events = os.environ.get(EVENTS_ENV, "")
        if events:
            append_line(
                events, {"kind": "provider-error", "t": time.time(), "delivery": delivery_id}
            )
        raise ProviderRefused(f"the provider refused delivery {delivery_id} (fault test)")
    record = {
        "t": time.time(),
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "channel": channel,
        "delivery": delivery_id,
        "attempt": attempt,
        # What a deduplicating provider keys on (see docs/faults.md).
        "key": key or None,
        "key_source": key_source if key else "none",
        "to": to,
        "text": text,
    }
    append_line(_sink_path(), record)
    crash_now(CRASH_AFTER_SEND_ENV, "crash-after-send", delivery=delivery_id)
    return record


def read_sink(path: str | Path) -> Iterator[dict[str, Any]]:
    """The records of a sink file, in the order they were written."""
    try:
        handle = open(path, encoding="utf-8")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return
    with handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


class RecordingSMSBackend:
    """``SMS_BACKEND``: records instead of sending."""

    def send(self, message: Any) -> None:
        key = str(getattr(message, "idempotency_key", "") or "")
        record_send(channel="sms", to=message.to, text=message.body, key=key, key_source="app")


class RecordingEmailBackend(BaseEmailBackend):
    """``EMAIL_BACKEND``: records instead of sending (one record per recipient)."""

    def __init__(self, fail_silently: bool = False, **kwargs: Any) -> None:
        # ``timeout`` and the SMTP settings mean nothing here.
        super().__init__(fail_silently=fail_silently)

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        sent = 0
        for message in email_messages:
            text = f"{message.subject}\n\n{message.body}"
            # The Message-ID as it goes on the wire: the application's header if it set one,
            # else the one Django makes up for this rendering.
            key = str(message.message()["Message-ID"] or "")
            from_app = any(name.lower() == "message-id" for name in message.extra_headers or {})
            for address in message.recipients():
                record_send(
                    channel="email",
                    to=address,
                    text=text,
                    key=key,
                    key_source="app" if from_app else "generated",
                )
            sent += 1
        return sent
