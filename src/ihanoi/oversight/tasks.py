"""Background work of the oversight app, run by the task worker.

``rollup`` is enqueued by the scheduler every minute (job name "oversight-rollup"): the
statistics lag the events by at most that interval plus one run.
"""

from __future__ import annotations

import dataclasses

from django_tasks import task

from ihanoi.lib.dbrouter import reads_from_replica

from . import services


@task()
def rollup() -> dict[str, int]:
    return dataclasses.asdict(services.rollup_run())


@task()
@reads_from_replica
def run_export(job_id: int) -> str:
    return services.export_job_run(job_id=job_id).status
