"""Periodic clean-up of the app's sign-in state, run by the task worker when the scheduler
enqueues it (``web.scheduler.default_jobs``)."""

from __future__ import annotations

from django_tasks import task

from . import services


@task()
def purge_login_codes() -> int:
    return services.login_codes_purge()
