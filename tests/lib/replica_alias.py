"""A ``replica`` connection added after the test databases exist, for the router tests (a
mirror of the test database) and the streaming-replica check (the real replica server)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

from ihanoi.lib.dbrouter import REPLICA


def mirror_of_default(**changes: Any) -> dict[str, Any]:
    """The test database's settings as a second alias (``TEST MIRROR``), with ``changes``
    (HOST, PORT...) applied: the same database name, possibly on another server."""
    settings_dict = copy.deepcopy(connections[DEFAULT_DB_ALIAS].settings_dict)
    settings_dict.update(changes)
    settings_dict["TEST"] = {**settings_dict.get("TEST", {}), "MIRROR": DEFAULT_DB_ALIAS}
    settings_dict["TEST"]["NAME"] = None
    return settings_dict


def _drop_connection() -> None:
    if hasattr(connections._connections, REPLICA):
        connections[REPLICA].close()
        del connections[REPLICA]


@contextmanager
def replica_alias(settings_dict: dict[str, Any] | None) -> Iterator[None]:
    """``DATABASES["replica"]`` is ``settings_dict`` inside (None: no replica alias)."""
    databases = connections.settings  # the same dict as settings.DATABASES
    previous = databases.get(REPLICA)
    _drop_connection()
    if settings_dict is None:
        databases.pop(REPLICA, None)
    else:
        databases[REPLICA] = settings_dict
    try:
        yield
    finally:
        _drop_connection()
        if previous is None:
            databases.pop(REPLICA, None)
        else:
            databases[REPLICA] = previous
