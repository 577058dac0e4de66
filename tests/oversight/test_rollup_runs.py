"""The ways the roll-ups are run: the scheduler's task, the management command (and its
rebuild), and the watermark that keeps a re-run from counting twice."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from ihanoi.oversight.models import AgencyDay, Fact, RollupState
from ihanoi.oversight.tasks import rollup
from tests.oversight.conftest import at, submit


def test_the_task_folds_new_events_and_moves_the_watermark(world, photo):
    submit(world, at("2026-03-02", "09:00"), photo=photo)
    result = rollup.enqueue()
    assert result.return_value["events"] == 2  # submitted, routed
    state = RollupState.objects.get()
    assert state.last_event_id == max(Fact.objects.values_list("event_id", flat=True))
    assert rollup.enqueue().return_value["events"] == 0
    assert Fact.objects.count() == 2  # SUBMIT, RECEIVE


def test_the_command_runs_and_rebuilds(world, photo):
    submit(world, at("2026-03-02", "09:00"), photo=photo)
    out = io.StringIO()
    call_command("oversight_rollup", stdout=out)
    assert "2 events" in out.getvalue()
    before = list(AgencyDay.objects.values_list("day", "agency_id", "received"))
    call_command("oversight_rollup", "--rebuild", stdout=io.StringIO())
    assert list(AgencyDay.objects.values_list("day", "agency_id", "received")) == before


@pytest.mark.parametrize("args", [["--batch", "0"], ["--max-batches", "-1"]])
def test_the_command_refuses_nonsense(world, args):
    with pytest.raises(CommandError):
        call_command("oversight_rollup", *args, stdout=io.StringIO())
