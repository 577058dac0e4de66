"""The pool's check before a loan (ihanoi.lib.pgpool), against a real PostgreSQL: a healthy
connection lent again soon is lent without a round trip; one whose backend was terminated
(as in a server restart), one idle for long and one never checked get the full check."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from ihanoi.lib import pgpool


def _server_url() -> str:
    """The server of DATABASE_URL when it is PostgreSQL (its maintenance database), else
    the local one."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return urlsplit(url)._replace(path="/postgres", query="").geturl()
    return "postgres://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def server() -> str:
    url = _server_url()
    try:
        psycopg.connect(url, connect_timeout=2).close()
    except psycopg.OperationalError:
        if os.environ.get("DATABASE_URL", "").startswith("postgres"):  # CI's PostgreSQL run
            raise
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    return url


@pytest.fixture
def pool(server: str) -> Iterator[ConnectionPool]:
    pool = ConnectionPool(
        server, min_size=1, max_size=1, check=pgpool.check_connection, open=True, timeout=10
    )
    pool.wait(timeout=10)
    yield pool
    pool.close()


@pytest.fixture
def full_checks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The backend pids of the connections given psycopg's full check (the empty query),
    which still runs."""
    calls: list[int] = []
    full = ConnectionPool.check_connection

    def counted(conn: psycopg.Connection) -> None:
        calls.append(conn.info.backend_pid)
        full(conn)

    monkeypatch.setattr(pgpool.ConnectionPool, "check_connection", staticmethod(counted))
    return calls


def _backend_pid(pool: ConnectionPool) -> int:
    with pool.connection() as conn:
        return conn.info.backend_pid


def test_a_connection_lent_again_soon_gets_no_query(pool, full_checks):
    first = _backend_pid(pool)
    assert full_checks == [first]  # never checked before: the full check
    for _ in range(5):
        assert _backend_pid(pool) == first  # the same connection, lent again
    assert full_checks == [first]


def test_a_connection_idle_for_long_gets_the_full_check(pool, full_checks, monkeypatch):
    first = _backend_pid(pool)
    monkeypatch.setattr(pgpool, "IDLE_SECONDS", 0.05)
    time.sleep(0.1)
    assert _backend_pid(pool) == first  # alive: checked, then lent
    assert full_checks == [first, first]


def test_a_connection_whose_server_went_away_is_replaced_before_the_loan(server, pool, full_checks):
    victim = _backend_pid(pool)
    with psycopg.connect(server, autocommit=True) as admin:
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
    assert full_checks.count(victim) == 2  # its first loan, then now (its socket read ready)


def test_a_closed_connection_fails_the_check(server):
    conn = psycopg.connect(server, autocommit=True)
    conn.close()
    with pytest.raises(psycopg.Error):
        pgpool.check_connection(conn)
