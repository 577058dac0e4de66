"""A short shared cache of what the public list and the public map show.

The public list's first pages and the map's points are the same for every visitor (public
data of public reports, DESIGN §2 "Privacy"), yet each request used to read and render them
again: most of a public page's cost. They are kept in the ``public`` cache (settings.CACHES:
Redis in production, a table of its own in the demo, so that their eviction never takes rate
limits or used TOTP codes with it) for ``TTL_SECONDS``, per language and page, next to a
version token. Freshness:

- A report's update or deletion that touches what the pages show or select on
  (``SHOWN_FIELDS``; a save without ``update_fields`` counts), and any write of a category,
  a category group or, in bulk, the wards (``bulk_reference_write``), change the token when
  the transaction commits, once per transaction: whatever takes a report off the public pages
  (unpublishing, a rejection or a merge, a category made private) or changes what they show
  of it (its status, a redacted title) is seen by the next request everywhere. Every report
  write goes through ``Report.save()`` (DESIGN §4: services own writes), which sends the
  signal.
- A new report does not change the token: it appears within ``TTL_SECONDS``. Submissions are
  the busiest write, and a list a few seconds behind on additions is what a visitor of a
  city-wide list expects; nothing private can appear through it.
- A page rendered inside a transaction is served but not kept: it may show rows that roll
  back (requests run outside one; tests run inside one, and so see no cache unless they
  commit).
- With a read replica, a page whose reading started in the first
  ``DATABASE_REPLICA_PIN_SECONDS`` after a change may not hold that change yet, so it is
  served but not kept (the same bound the router gives a browser after its own write).
- The views cache only addresses from a small set (the list's first page per category, the
  map): a page further down the list, or an address with anything else in it, is rendered
  without the cache, so that nobody can fill the cache with made-up addresses. The cache
  being down only costs the rendering.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save
from django.utils.connection import ConnectionProxy

from ihanoi.lib.cachetoken import ensure_token
from ihanoi.lib.dbrouter import reading_from_replica
from ihanoi.lib.signals import bulk_reference_write
from ihanoi.lib.transactions import on_commit_once

from .models import Category, CategoryGroup, Report

logger = logging.getLogger(__name__)

VERSION_KEY = "ihanoi:feedback:public-version"
KEY_PREFIX = "ihanoi:feedback:public:"
TTL_SECONDS = 10

# Report columns the public pages show or select on (feedback/selectors.py ROW_FIELDS,
# public_rule; the map's columns).
SHOWN_FIELDS = frozenset(
    {
        "title",
        "status",
        "category",
        "category_id",
        "ward",
        "ward_id",
        "is_published",
        "submitted_at",
        "lat",
        "lon",
        "public_id",
    }
)

cache: Any = ConnectionProxy(caches, "public")  # this thread's backend of the alias

_bypassed: ContextVar[bool] = ContextVar("ihanoi_public_cache_bypassed", default=False)


@contextmanager
def bypassed() -> Iterator[None]:
    """Render the public pages afresh inside, neither reading nor writing the cache (the
    load test's baseline captures the queries of a page built from the database)."""
    token = _bypassed.set(True)
    try:
        yield
    finally:
        _bypassed.reset(token)


def _new_token() -> str:
    # The time of the change travels with the token, for the replica rule above.
    return f"{time.time():.3f}:{uuid.uuid4().hex}"


def _changed_at(token: str) -> float:
    try:
        return float(token.partition(":")[0])
    except ValueError:
        return 0.0


def cached(name: str, parts: Sequence[str], build: Callable[[], Any]) -> Any:
    """``build()``'s value for this page, from the cache while it is current.

    ``parts`` name the page (language, address); the value must pickle."""
    if _bypassed.get():
        return build()
    key = KEY_PREFIX + name + ":" + ":".join(parts)
    try:
        found = cache.get_many([VERSION_KEY, key])
        version = ensure_token(cache, VERSION_KEY, found.get(VERSION_KEY), _new_token)
    except Exception:
        logger.warning("public cache unreadable; rendering without it", exc_info=True)
        return build()
    entry = found.get(key)
    if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == version:
        return entry[1]
    from_replica = reading_from_replica()
    started = time.time()  # before the reading: the replica's data is at least this old
    value = build()
    if version is None or transaction.get_connection().in_atomic_block:
        return value
    if from_replica and started - _changed_at(version) < settings.DATABASE_REPLICA_PIN_SECONDS:
        return value
    try:
        cache.set(key, (version, value), TTL_SECONDS)
    except Exception:
        logger.warning("public cache not written", exc_info=True)
    return value


def _bump() -> None:
    try:
        cache.set(VERSION_KEY, _new_token(), None)
    except Exception:
        logger.warning(
            "public pages' version not changed; they catch up within %s s",
            TTL_SECONDS,
            exc_info=True,
        )


def public_changed(using: str = "default") -> None:
    """Say that what the public pages show changes in the current transaction: every
    process renders them afresh once it commits (one new token however many changes)."""
    on_commit_once(_bump, using=using)


def _report_saved(
    sender: type[Model],
    *,
    created: bool = False,
    update_fields: frozenset[str] | None = None,
    **kwargs: Any,
) -> None:
    if created:
        return  # a new report appears within TTL_SECONDS (see the module's note)
    if update_fields is not None and SHOWN_FIELDS.isdisjoint(update_fields):
        return  # e.g. the escalation level: nothing the public pages show
    _changed(sender, **kwargs)


def _changed(sender: type[Model], **kwargs: Any) -> None:
    using = kwargs.get("using")
    public_changed(using if isinstance(using, str) else "default")


def connect_signals() -> None:
    post_save.connect(_report_saved, sender=Report, dispatch_uid="public-cache-report-save")
    post_delete.connect(_changed, sender=Report, dispatch_uid="public-cache-report-delete")
    for model in (Category, CategoryGroup):
        name = model.__name__
        post_save.connect(_changed, sender=model, dispatch_uid=f"public-cache-save-{name}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"public-cache-delete-{name}")
    # The wards' names are on the list; the units import writes them in bulk.
    bulk_reference_write.connect(_changed, dispatch_uid="public-cache-bulk-write")
