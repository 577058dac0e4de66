"""The delivery task. ``notify`` enqueues it after a commit unless one is already waiting; it
sweeps every due delivery, not just the new ones, so a lost or duplicated enqueue costs
nothing."""

from __future__ import annotations

import dataclasses
import logging

from django.core.cache import cache
from django_tasks import task

from ihanoi.notifications.delivery import DEFAULT_LIMIT, deliveries_run, next_attempt_at
from ihanoi.notifications.services import DELIVERY_QUEUED_KEY

logger = logging.getLogger(__name__)


@task()
def deliver_pending(limit: int = DEFAULT_LIMIT) -> dict[str, int]:
    # Started: what is committed from now on needs a task of its own (see the key's note).
    cache.delete(DELIVERY_QUEUED_KEY)
    stats = deliveries_run(limit=limit)
    if stats.seen >= limit:
        # A full batch: more may be waiting; a fresh task lets other work in between.
        deliver_pending.enqueue(limit=limit)
    elif stats.retrying:
        _schedule_retry(limit)
    return dataclasses.asdict(stats)


def _schedule_retry(limit: int) -> None:
    """Come back when the earliest retry is due, where the queue can wait (the database
    backend can; others rely on the scheduler's ``ihanoi deliver-notifications``)."""
    if not deliver_pending.get_backend().supports_defer:
        return
    due = next_attempt_at()
    if due is not None:
        deliver_pending.using(run_after=due).enqueue(limit=limit)
