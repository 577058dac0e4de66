"""The periodic jobs of DESIGN §3 and the loop that enqueues them.

The scheduler only enqueues; the task workers do the work. Several scheduler processes
may run (one per machine, for availability): each job's time slot is claimed in the shared
cache with ``cache.add``, which succeeds for one process only, so a slot is enqueued once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import cache

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: int
    enqueue: Callable[[], object]


def default_jobs() -> tuple[Job, ...]:
    from ihanoi.api.tasks import purge_login_codes
    from ihanoi.feedback.tasks import close_unrated_reports, escalate_deadlines
    from ihanoi.notifications.tasks import deliver_pending
    from ihanoi.oversight.tasks import rollup

    return (
        # Picks up deliveries whose enqueue after commit was lost (a worker died, say).
        Job("deliver-notifications", 60, lambda: deliver_pending.enqueue()),
        Job("escalate-deadlines", 300, lambda: escalate_deadlines.enqueue()),
        Job("close-unrated-reports", 3600, lambda: close_unrated_reports.enqueue()),
        Job("purge-login-codes", 3600, lambda: purge_login_codes.enqueue()),
        # The statistics lag the events by at most about a minute (docs/oversight.md).
        Job("oversight-rollup", 60, lambda: rollup.enqueue()),
    )


def run_due_jobs(jobs: tuple[Job, ...], *, now: float | None = None) -> list[str]:
    """Enqueue every job whose current slot no scheduler has claimed yet."""
    now = time.time() if now is None else now
    enqueued = []
    for job in jobs:
        slot = int(now // job.every_seconds)
        if cache.add(f"ihanoi:scheduler:{job.name}:{slot}", 1, timeout=job.every_seconds * 2):
            job.enqueue()
            enqueued.append(job.name)
            logger.info("scheduler enqueued %s", job.name)
    return enqueued
