"""The pool's check before a loan (ihanoi.lib.pgpool), against a real PostgreSQL: a healthy
idle connection is lent without a round trip, one whose backend was terminated (as in a
server restart) is dropped and replaced before anybody gets it."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from ihanoi.lib import pgpool as dbpool

URL = "postgres://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def server() -> str:
    try:
        psycopg.connect(URL, connect_timeout=2).close()
    except psycopg.OperationalError:
        if os.environ.get("DATABASE_URL", "").startswith("postgres"):  # CI's PostgreSQL run
            raise
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    return URL


@pytest.fixture
def pool(server: str) -> Iterator[ConnectionPool]:
    pool = ConnectionPool(
        server, min_size=1, max_size=1, check=dbpool.check_connection, open=True, timeout=10
    )
    pool.wait(timeout=10)
    yield pool
    pool.close()


@pytest.fixture
def full_checks(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Counts psycopg's full check (the empty query) while still running it."""
    calls: list[object] = []
    full = ConnectionPool.check_connection

    def counted(conn: object) -> None:
        calls.append(conn)
        full(conn)  # type: ignore[arg-type]

    monkeypatch.setattr(dbpool.ConnectionPool, "check_connection", staticmethod(counted))
    return calls


def _backend_pid(pool: ConnectionPool) -> int:
    with pool.connection() as conn:
        return conn.info.backend_pid


def test_a_healthy_idle_connection_is_lent_without_a_query(pool, full_checks):
    first = _backend_pid(pool)
    for _ in range(5):
        assert _backend_pid(pool) == first  # the same connection, lent again
    assert full_checks == []


def test_a_connection_whose_server_went_away_is_replaced_before_the_loan(pool, full_checks):
    victim = _backend_pid(pool)
    with psycopg.connect(URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [victim])
        # The backend is gone once the server no longer lists it.
        deadline = time.monotonic() + 10
        while admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [victim]
        ).fetchone() != (0,):
            assert time.monotonic() < deadline, "the backend did not exit"
            time.sleep(0.05)

    with pool.connection() as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        assert conn.info.backend_pid != victim
    assert len(full_checks) == 1  # the dead one got the full check, which failed


def test_a_closed_connection_fails_the_check(server):
    conn = psycopg.connect(server, autocommit=True)
    conn.close()
    with pytest.raises(psycopg.Error):
        dbpool.check_connection(conn)
