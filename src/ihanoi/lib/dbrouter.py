"""Reads of dashboards, exports and public lists from a read replica; everything else from
the primary (``default``).

A Django router chooses a database per model, but whether a read may be stale depends on
the page, not on the table: the same ``Report`` rows feed the oversight dashboard (a replica
a second behind is fine; its numbers lag the events by a roll-up interval anyway) and the
officer's own item page (which must show the action just taken). So the choice is made per
unit of work: inside ``replica_reads()`` (or a view or task decorated with
``@reads_from_replica``) reads go to the ``replica`` alias; everywhere else they go to
``default``. Without a ``replica`` alias in ``DATABASES`` (no ``DATABASE_REPLICA_URL``) all of
this is a no-op.

Inside a replica context, reads still go to ``default`` when

- the model is in ``PRIMARY_APPS``/``PRIMARY_MODELS``: who may see what (agency
  memberships), sign-in state and credentials (sessions, allauth, MFA, the JSON API's codes
  and device tokens, Open311 API keys), the cache table (rate-limit counters are
  read-modify-write), the task queue, and the export jobs that a page or the export task
  has just written and reads back;
- the ``default`` connection is inside ``transaction.atomic()``: a read inside a transaction
  is part of it (read-modify-write, or reading back what it wrote);
- the request may write (any method but GET, HEAD, OPTIONS), or the browser wrote something
  a moment ago: ``PinPrimaryAfterWriteMiddleware`` sets the ``ihanoi_primary`` cookie for
  ``DATABASE_REPLICA_PIN_SECONDS`` after each such request, so the page after a form shows
  what the form did even when the replica is behind.

Writes always go to ``default``; migrations run only there (the replica copies them).

The alias is a normal Django connection, so raw SQL must take its cursor from
``connections[queryset.db]``, not from ``django.db.connection`` (which is ``default``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import Any, TypeVar, cast

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponseBase

REPLICA = "replica"
PIN_COOKIE = "ihanoi_primary"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Read from default even inside a replica context (see the module's docstring).
PRIMARY_APPS = frozenset({"sessions", "account", "mfa", "django_cache", "django_tasks_database"})
PRIMARY_MODELS = frozenset(
    {
        "agencies.membership",
        "api.devicetoken",
        "api.logincode",
        "open311.apikey",
        "oversight.exportjob",
    }
)

# True inside replica_reads(), False inside primary_reads(); the innermost one wins.
_replica_reads: ContextVar[bool] = ContextVar("ihanoi_replica_reads", default=False)

F = TypeVar("F", bound=Callable[..., Any])


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def reading_from_replica() -> bool:
    """Whether reads in this context go to the replica (configured and asked for)."""
    return _replica_reads.get() and replica_configured()


@contextmanager
def replica_reads() -> Iterator[None]:
    """Reads inside go to the replica (when there is one); writes still go to default."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


@contextmanager
def primary_reads() -> Iterator[None]:
    """Reads inside go to default, also inside an enclosing ``replica_reads()``."""
    token = _replica_reads.set(False)
    try:
        yield
    finally:
        _replica_reads.reset(token)


def _wants_primary(args: tuple[Any, ...]) -> bool:
    """A view's request that may write, or that follows a write of the same browser."""
    request = args[0] if args else None
    if not isinstance(request, HttpRequest):
        return False
    return request.method not in SAFE_METHODS or PIN_COOKIE in request.COOKIES


def reads_from_replica(func: F) -> F:
    """Run a read-only view or task with its reads on the replica.

    Put it below the permission decorators (``@staff_required``) so that the signed-in user
    and their role are read from default. A view that also accepts POST keeps its reads on
    default for the POST."""

    if inspect.iscoroutinefunction(func):

        @wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            with primary_reads() if _wants_primary(args) else replica_reads():
                return await func(*args, **kwargs)

        return cast(F, async_wrapper)

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with primary_reads() if _wants_primary(args) else replica_reads():
            return func(*args, **kwargs)

    return cast(F, wrapper)


def _primary_only(model: Any) -> bool:
    meta = model._meta
    return meta.app_label in PRIMARY_APPS or f"{meta.app_label}.{meta.model_name}" in PRIMARY_MODELS


class ReplicaRouter:
    """``DATABASE_ROUTERS`` entry; settings add it together with the ``replica`` alias."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        if (
            reading_from_replica()
            and not _primary_only(model)
            and not connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return REPLICA
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # The replica holds the same rows: an object read there may point at one read here.
        known = {None, DEFAULT_DB_ALIAS, REPLICA}
        if obj1._state.db in known and obj2._state.db in known:
            return True
        return None

    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool:
        return db == DEFAULT_DB_ALIAS


class PinPrimaryAfterWriteMiddleware:
    """After a request that may have written, the same browser reads from default for
    ``DATABASE_REPLICA_PIN_SECONDS``: longer than the replica normally lags, so the page
    after a form shows its result. Only set when a replica is configured."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        seconds = int(getattr(settings, "DATABASE_REPLICA_PIN_SECONDS", 0))
        if request.method not in SAFE_METHODS and seconds > 0 and replica_configured():
            response.set_cookie(
                PIN_COOKIE,
                "1",
                max_age=seconds,
                httponly=True,
                samesite="Lax",
                secure=bool(settings.SESSION_COOKIE_SECURE),
            )
        return response
