"""Django's PostgreSQL backend, whose connection pool checks a connection before a loan by
its socket (``ihanoi.lib.pgpool.check_connection``) rather than always with an empty query."""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql import base
from psycopg_pool import ConnectionPool

from ihanoi.lib.pgpool import check_connection


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self) -> Any:
        pool = super().pool
        # Django gives the pool psycopg's check when CONN_HEALTH_CHECKS is on (settings.py
        # keeps it on); swapped once, before the pool lends anything: Django opens it later.
        # psycopg-pool is pinned below 3.4 for this attribute; without it Django's check
        # stays (tests/test_settings.py reads it).
        if pool is not None and getattr(pool, "_check", None) is ConnectionPool.check_connection:
            pool._check = check_connection
        return pool
