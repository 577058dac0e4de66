"""Periodic work on reports, run by the task worker when the scheduler enqueues it."""

from __future__ import annotations

from django_tasks import task

from . import services


@task()
def escalate_deadlines() -> int:
    return services.reports_escalate()


@task()
def close_unrated_reports() -> int:
    return services.reports_close_unrated()
