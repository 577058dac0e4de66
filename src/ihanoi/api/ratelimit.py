"""Fixed-window counters in Django's cache, shared by every web process (the cache is the
database table or Redis, never process memory in production)."""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.core.cache import cache


@dataclass(frozen=True)
class Limit:
    scope: str
    count: int
    seconds: int


class RateLimited(Exception):
    """Too many attempts; ``retry_after`` seconds until the window ends."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = max(1, retry_after)


def _key(limit: Limit, subject: str, window: int) -> str:
    # Hashed: the subject is a phone number or an address, which need not sit in the cache.
    digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
    return f"ihanoi:api:rl:{limit.scope}:{window}:{digest}"


def hit(limit: Limit, subject: str, *, now: float | None = None) -> None:
    """Count one attempt of ``subject``; raise RateLimited once the window's count is spent."""
    now = time.time() if now is None else now
    window = int(now // limit.seconds)
    key = _key(limit, subject, window)
    # add() then incr(): both atomic in every backend, so concurrent processes count right.
    cache.add(key, 0, timeout=limit.seconds + 1)
    try:
        used = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, timeout=limit.seconds + 1)
        used = 1
    if used > limit.count:
        raise RateLimited(math.ceil((window + 1) * limit.seconds - now))


def spent(limit: Limit, subject: str, *, now: float | None = None) -> None:
    """Raise RateLimited if ``subject`` has no attempt left, without counting one."""
    now = time.time() if now is None else now
    window = int(now // limit.seconds)
    used = cache.get(_key(limit, subject, window), 0)
    if used >= limit.count:
        raise RateLimited(math.ceil((window + 1) * limit.seconds - now))
