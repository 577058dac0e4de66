"""The check psycopg's pool runs before it lends a connection, without a round trip.

Django gives the pool ``ConnectionPool.check_connection`` when ``CONN_HEALTH_CHECKS`` is on:
an empty query before every loan, so one more round trip on every request and task. On a
short request (a submission makes a dozen) that is a tenth of the time spent waiting on the
database, and it costs the server a wake-up each time.

An idle connection in the pool has nothing to read. A server that restarts, stops or
terminates the backend sends its last message and closes the socket, which then reads as
ready (the message, or end of file). So a connection whose socket has nothing to read is
lent as it is, and only one that has something (or whose descriptor is gone) gets psycopg's
full check, which fails on a dead connection: the pool then drops it and lends another.

What this does not see, the full check would not see in time either: a server machine that
vanished without closing its sockets. The query then waits for TCP to give up, as the empty
query would have. Anything else readable on an idle connection (a NOTIFY, a TLS record)
merely costs the full check.

With ``DATABASE_POOL=1`` settings.py names this package as the database ENGINE: Django's
PostgreSQL backend (``base.py``) whose pool uses this check instead of psycopg's. Django
builds the pool itself and passes ``check`` on its own, so the check cannot come through
the pool's OPTIONS.
"""

from __future__ import annotations

import select
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool


def check_connection(conn: Any) -> None:
    """psycopg_pool's ``check`` callback: return to lend ``conn``, raise to have it dropped."""
    try:
        readable = bool(select.select([conn.fileno()], [], [], 0)[0])
    except (OSError, ValueError, psycopg.Error):  # a closed descriptor or connection
        readable = True
    if readable:
        ConnectionPool.check_connection(conn)
