"""Requests per minute per API key, counted in Django's cache.

The cache is shared by every web process (the database cache by default, Redis in
production), so the limit holds however many processes serve the API. A fixed window per
minute is enough here: the limit protects the city's system from a runaway client; it is
not a billing meter.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.cache import cache
from django.utils import timezone

from .models import ApiKey

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until the next window


def api_key_hit(api_key: ApiKey, *, now: datetime.datetime | None = None) -> Verdict:
    """Count one call made with ``api_key``; refuse it past the key's limit."""
    stamp = int((now or timezone.now()).timestamp())
    window = stamp // WINDOW_SECONDS
    counter = f"open311:rate:{api_key.pk}:{window}"
    cache.add(counter, 0, timeout=WINDOW_SECONDS * 2)
    try:
        count = cache.incr(counter)
    except ValueError:  # expired between add and incr
        cache.set(counter, 1, timeout=WINDOW_SECONDS * 2)
        count = 1
    retry_after = WINDOW_SECONDS - stamp % WINDOW_SECONDS
    return Verdict(allowed=count <= api_key.requests_per_minute, retry_after=retry_after)
