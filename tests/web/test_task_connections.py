"""Task workers drop a database connection the server closed (a PostgreSQL restart) before
the next task, as Django does around web requests, and leave a caller's transaction alone."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django_tasks.signals import task_finished, task_started

from ihanoi.web.apps import _fresh_connections

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_check_runs_when_any_task_starts_and_finishes() -> None:
    def uids(signal: object) -> set[object]:
        return {key[0] for key, *_rest in signal.receivers}  # type: ignore[attr-defined]

    assert "ihanoi.tasks.started" in uids(task_started)
    assert "ihanoi.tasks.finished" in uids(task_finished)


def test_an_obsolete_connection_is_dropped_before_the_next_task(monkeypatch) -> None:
    closed = []
    connection.ensure_connection()
    # SQLite's in-memory test database is never really closed: record the call instead.
    monkeypatch.setattr(connection, "close", lambda: closed.append(True))
    # What close_if_unusable_or_obsolete() acts on after the server went away; a connection
    # past its age (as CONN_MAX_AGE would make it) stands for it here.
    connection.close_at = 0
    _fresh_connections()
    assert closed == [True]
    connection.close_at = None
    _fresh_connections()
    assert closed == [True]  # a healthy connection is kept


def test_a_task_run_inside_a_transaction_keeps_its_connection(monkeypatch) -> None:
    closed = []
    with transaction.atomic():
        connection.ensure_connection()
        monkeypatch.setattr(connection, "close", lambda: closed.append(True))
        connection.close_at = 0
        _fresh_connections()
        assert closed == []
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    connection.close_at = None
