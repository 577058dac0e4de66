"""The check psycopg's pool runs before it lends a connection, mostly without a round trip.

Django gives the pool ``ConnectionPool.check_connection`` when ``CONN_HEALTH_CHECKS`` is on:
an empty query before every loan, so one more round trip on every request and task, and a
wake-up of the server's backend each time.

An idle connection in the pool has nothing to read. A server that restarts, stops or
terminates the backend sends its last message and closes the socket, which then reads as
ready (the message, or end of file). So a connection lent again soon after its last loan
whose socket has nothing to read is lent as it is; every other one gets psycopg's full
check, which fails on a dead connection: the pool then drops it and lends another. Those
are:

- a connection with something to read, or whose descriptor is gone;
- a connection not lent for ``IDLE_SECONDS`` or never lent by this check. What closes a
  connection without a word can only be found by sending something: a database host that
  rebooted, an address that moved to another machine, a firewall or load balancer that
  dropped an idle flow and answers the next packet with a reset. Those strike connections
  that sat unused; a busy process lends its connections again within seconds.

Anything else readable on an idle connection (a NOTIFY, a TLS record) merely costs the full
check. A connection that dies between the check and its use fails its query, as with any
check.

With ``DATABASE_POOL=1`` settings.py names this package as the database ENGINE: Django's
PostgreSQL backend (``base.py``) whose pool uses this check instead of psycopg's. Django
builds the pool itself and passes ``check`` on its own, so the check cannot come through
the pool's OPTIONS.
"""

from __future__ import annotations

import select
import time
import weakref
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

# Longer than the gap between two loans of a connection in a working process, shorter than
# the idle timeouts of firewalls and load balancers (minutes).
IDLE_SECONDS = 30.0

_last_lent: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()


def _readable(conn: Any) -> bool:
    """Whether the connection's socket has something to read (or is gone)."""
    try:
        poller = select.poll()  # not select(): it refuses descriptors above 1023
        poller.register(conn.fileno(), select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError, psycopg.Error):  # a closed descriptor or connection
        return True


def check_connection(conn: Any) -> None:
    """psycopg_pool's ``check`` callback: return to lend ``conn``, raise to have it dropped."""
    now = time.monotonic()
    last = _last_lent.get(conn)
    if last is None or now - last > IDLE_SECONDS or _readable(conn):
        ConnectionPool.check_connection(conn)
    _last_lent[conn] = now
