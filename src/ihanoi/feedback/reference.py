"""What a submission reads besides the report itself, as one snapshot per process.

Every submission needs the category (with its questions), the ward's row, the routing rules
and the ward's People's Committee: five reads of tables that change a few times a year,
against a report table that takes thousands of rows a day. ``reference()`` answers them
from memory.

Each process keeps its own copy and nothing else depends on it (DESIGN §3, "Scale-out": no
in-memory state that must be shared). Freshness:

- A write through the models (admin, services) clears this process's snapshot at once and,
  when its transaction commits, clears it again (a thread may have rebuilt it from the rows
  before the commit) and changes a version token in the shared cache (Redis in production,
  the database table in the demo). Every process compares the token with its snapshot's at
  each use: a change is seen by the next submission everywhere. The token changes on commit,
  not before, so that no process can rebuild from the old rows under the new token. A token
  missing from the cache (evicted) is replaced by a fresh one, never read as "unchanged".
- Services that write agencies or units in bulk (``bulk_create``/``bulk_update`` send no
  model signals: the agencies' seed, the units import) send
  ``ihanoi.lib.signals.bulk_reference_write``, which does the same.
- A snapshot is kept at most ``MAX_AGE_SECONDS``: any other write that bypasses the models
  (``QuerySet.update``, SQL by hand) is seen within that time.
- A snapshot read inside a transaction is used once and not kept: it may hold rows of that
  transaction, which can still roll back.
- A new day rebuilds it (a boundary reform comes into force at midnight).

The objects are shared by every request of the process: callers read them and attach them to
new rows, never change them.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction
from django.db.models import Model, Prefetch
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone

from ihanoi.agencies.models import Agency
from ihanoi.lib.cachetoken import ensure_token
from ihanoi.lib.signals import bulk_reference_write
from ihanoi.lib.transactions import on_commit_once
from ihanoi.places.models import AdministrativeUnit
from ihanoi.places.selectors import current_wards

from .models import Category, CategoryGroup, Question, RoutingRule

logger = logging.getLogger(__name__)

VERSION_KEY = "ihanoi:feedback:reference-version"
MAX_AGE_SECONDS = 60.0


@dataclass(frozen=True)
class Reference:
    day: datetime.date
    version: str | None
    built_at: float
    categories: dict[str, Category]  # active ones by code, group and questions loaded
    wards: dict[int, AdministrativeUnit]  # current wards by id, without their boundary
    rules: tuple[RoutingRule, ...]  # active rules of active agencies, agency loaded
    committees: dict[int, Agency]  # ward id → its active People's Committee (lowest id)

    def category(self, code: str) -> Category | None:
        return self.categories.get(code)

    def questions(self, category: Category) -> list[Question]:
        return list(category.questions.all())  # prefetched

    def ward(self, pk: int) -> AdministrativeUnit | None:
        return self.wards.get(pk)


def _build(version: str | None, day: datetime.date, now: float) -> Reference:
    questions = Prefetch("questions", queryset=Question.objects.order_by("position", "id"))
    categories = {
        category.code: category
        for category in Category.objects.filter(is_active=True)
        .select_related("group")
        .prefetch_related(questions)
    }
    wards = {ward.pk: ward for ward in current_wards(on=day).defer("boundary")}
    rules = tuple(
        RoutingRule.objects.filter(is_active=True, agency__is_active=True)
        .select_related("agency")
        .order_by("pk")
    )
    committees: dict[int, Agency] = {}
    served = (
        Agency.served_units.through.objects.filter(
            agency__kind=Agency.Kind.WARD_COMMITTEE, agency__is_active=True
        )
        .select_related("agency")
        .order_by("agency_id")
    )
    for link in served:
        committees.setdefault(link.administrativeunit_id, link.agency)
    return Reference(
        day=day,
        version=version,
        built_at=now,
        categories=categories,
        wards=wards,
        rules=rules,
        committees=committees,
    )


_kept: Reference | None = None
_lock = threading.Lock()
_clock: Callable[[], float] = time.monotonic


def _version() -> str | None:
    try:
        return ensure_token(cache, VERSION_KEY, cache.get(VERSION_KEY), _new_token)
    except Exception:  # the cache is down: the age limit still bounds staleness
        logger.warning("reference version unreadable; relying on the age limit", exc_info=True)
        return None


def _new_token() -> str:
    return uuid.uuid4().hex


def _current(kept: Reference | None, version: str | None, day: datetime.date, now: float) -> bool:
    return (
        kept is not None
        and kept.version == version
        and kept.day == day
        and 0 <= now - kept.built_at < MAX_AGE_SECONDS
    )


def reference() -> Reference:
    """This process's snapshot, rebuilt when it is stale (see the module's note)."""
    global _kept
    now = _clock()
    day = timezone.localdate()
    version = _version()
    kept = _kept
    if _current(kept, version, day, now):
        assert kept is not None
        return kept
    if transaction.get_connection().in_atomic_block:
        return _build(version, day, now)
    with _lock:
        kept, now = _kept, _clock()  # the wait may have been long enough to matter
        if _current(kept, version, day, now):  # another thread has just built it
            assert kept is not None
            return kept
        fresh = _build(version, day, now)
        _kept = fresh
        return fresh


def reference_clear() -> None:
    """Forget this process's snapshot (a model write does; tests do between tests)."""
    global _kept
    with _lock:
        _kept = None


def _bump() -> None:
    try:
        cache.set(VERSION_KEY, _new_token(), None)
    except Exception:
        logger.warning(
            "reference version not changed; other processes see the change within %s s",
            MAX_AGE_SECONDS,
            exc_info=True,
        )


def _committed() -> None:
    reference_clear()
    _bump()


def reference_changed(using: str = "default") -> None:
    """Say that reference rows change in the current transaction (for writes that send no
    model signals): this process forgets its snapshot now and again on commit, and every
    process sees a new version token on commit."""
    reference_clear()
    on_commit_once(_committed, using=using)


def _changed(sender: type[Model], **kwargs: object) -> None:
    using = kwargs.get("using")
    reference_changed(using if isinstance(using, str) else "default")


WATCHED: tuple[type[Model], ...] = (
    Category,
    CategoryGroup,
    Question,
    RoutingRule,
    Agency,
    AdministrativeUnit,
)


def connect_signals() -> None:
    for model in WATCHED:
        post_save.connect(_changed, sender=model, dispatch_uid=f"reference-save-{model.__name__}")
        post_delete.connect(
            _changed, sender=model, dispatch_uid=f"reference-delete-{model.__name__}"
        )
    m2m_changed.connect(
        _changed, sender=Agency.served_units.through, dispatch_uid="reference-served-units"
    )
    bulk_reference_write.connect(_changed, dispatch_uid="reference-bulk-write")
