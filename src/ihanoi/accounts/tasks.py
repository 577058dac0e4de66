"""SMS leaves through the task queue: the web request only records the message, the worker
delivers it (and retries a gateway that is down) outside the request."""

from __future__ import annotations

from django_tasks import task

from ihanoi.accounts.sms import deliver_sms_now


@task()
def deliver_sms(*, to: str, body: str) -> None:
    deliver_sms_now(to=to, body=body)
