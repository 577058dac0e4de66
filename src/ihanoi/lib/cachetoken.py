"""Version tokens in the shared cache: how every process learns that data it keeps for a
while (the submissions' reference snapshot, the public pages) changed elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.cache.backends.base import BaseCache


def ensure_token(cache: BaseCache, key: str, found: Any, fresh: Callable[[], str]) -> str | None:
    """The token read from the cache (``found``) or, when it is missing (never set, or
    evicted: a culled database cache, Redis under memory pressure), a fresh one put there —
    never "unchanged", so that nothing kept under an older token passes for current. None if
    the cache keeps nothing. Cache errors are the caller's."""
    if isinstance(found, str):
        return found
    cache.add(key, fresh(), None)
    value = cache.get(key)  # another process may have put its own first
    return value if isinstance(value, str) else None
