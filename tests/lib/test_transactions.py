"""``on_commit_once``: one call per commit however many asked, none after a rollback, and a
fresh registration when the savepoint that held the first one rolls back."""

from __future__ import annotations

import pytest
from django.db import transaction

from ihanoi.lib.transactions import on_commit_once

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def calls() -> list[str]:
    return []


def test_many_asks_in_one_transaction_run_once_after_the_commit(calls: list[str]) -> None:
    def note() -> None:
        calls.append("ran")

    with transaction.atomic():
        for _ in range(3):
            on_commit_once(note)
        assert calls == []
    assert calls == ["ran"]
    on_commit_once(note)  # outside a transaction: at once
    assert calls == ["ran", "ran"]


def test_nothing_runs_after_a_rollback(calls: list[str]) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        on_commit_once(lambda: calls.append("ran"))
        raise RuntimeError
    assert calls == []


def test_a_savepoint_rolled_back_drops_its_call_and_a_later_ask_counts(calls: list[str]) -> None:
    def note() -> None:
        calls.append("ran")

    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            on_commit_once(note)
            raise RuntimeError
        on_commit_once(note)
    assert calls == ["ran"]
