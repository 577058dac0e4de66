"""The scheduler enqueues each periodic job once per slot, whatever the number of
scheduler processes, and the worker runs the jobs."""

import pytest
from django.core.management import call_command

from ihanoi.web.scheduler import Job, default_jobs, run_due_jobs


def test_each_slot_of_a_job_is_enqueued_once_even_by_two_schedulers():
    calls = []
    jobs = (Job("probe", 60, lambda: calls.append(1)),)
    assert run_due_jobs(jobs, now=1000.0) == ["probe"]
    assert run_due_jobs(jobs, now=1010.0) == []  # same slot, e.g. a second scheduler
    assert run_due_jobs(jobs, now=1090.0) == ["probe"]  # next slot
    assert len(calls) == 2


@pytest.mark.django_db
def test_one_round_enqueues_the_city_jobs_and_they_run(settings, capsys):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    call_command("scheduler", "--once")
    out = capsys.readouterr().out
    for job in default_jobs():
        assert f"enqueued {job.name}" in out
