"""Transaction helpers that several apps share."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction


def on_commit_once(
    func: Callable[[], None], *, using: str = "default", robust: bool = False
) -> None:
    """``transaction.on_commit(func)``, unless the current transaction already has ``func``
    waiting: one call per commit, however many changes asked for it. Outside a transaction
    ``func`` runs at once, as with ``on_commit``.

    A callback registered inside a savepoint that rolls back is dropped with it; a later call
    then registers it again."""
    connection = transaction.get_connection(using)
    if connection.in_atomic_block and any(
        waiting is func for _savepoints, waiting, _robust in connection.run_on_commit
    ):
        return
    transaction.on_commit(func, using=using, robust=robust)
