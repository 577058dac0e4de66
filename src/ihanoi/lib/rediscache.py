"""Django's Redis cache, with one Redis client per connection pool instead of one per call.

``django.core.cache.backends.redis.RedisCacheClient.get_client`` builds a new ``redis.Redis``
for every cache operation; building one (its table of response callbacks) costs more than
the operation's round trip (docs/performance.md, "The shared cache"). A client is only a
handle on its pool, so one per pool is kept. Everything else stays as Django makes it: a
backend per thread (``caches``), its pools created lazily, the pool chosen per operation
(the first server for writes, any for reads); redis-py resets a pool that finds itself in a
forked child.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}  # id(pool) → its client; the pools live as long

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        django_client: Any = self  # its private helpers are not in django-stubs
        pool = django_client._get_connection_pool(write)  # chooses the server, as Django does
        client = self._clients.get(id(pool))
        if client is None:
            client = django_client._client(connection_pool=pool)
            self._clients[id(pool)] = client
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
