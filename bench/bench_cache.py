"""The shared cache: Django's Redis backend against ours (one client per pool), same Redis.

    .venv/bin/python bench/bench_cache.py [--redis-url URL] [--ops N] [--rounds R]

Django's ``RedisCacheClient`` builds a ``redis.Redis`` for every operation; ours
(``ihanoi.lib.rediscache``) keeps one per connection pool. Both run the operations a request
makes — a GET, a GET of two keys (``get_many``, as the public pages do), an ``add`` (rate
limits, the scheduler's slots) — in the same process against the same Redis, alternating
round by round. Prints the best round of each, per operation, and the ratio; the absolute
times include the round trip to Redis and hold for this machine only.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

DEFAULT_URL = "redis://127.0.0.1:6379/9"


def per_op(op: Callable[[], Any], count: int) -> float:
    """Microseconds per call, by the wall clock (the round trip is part of the cost)."""
    started = time.perf_counter()
    for _ in range(count):
        op()
    return (time.perf_counter() - started) / count * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", DEFAULT_URL))
    parser.add_argument("--ops", type=int, default=5000, help="calls per operation per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    if args.ops < 1 or args.rounds < 1:
        parser.error("--ops and --rounds must be at least 1")

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ihanoi.settings")
    import django

    django.setup()
    import redis
    from django.core.cache.backends.redis import RedisCache as DjangoRedisCache

    from ihanoi.lib.rediscache import RedisCache

    try:
        redis.Redis.from_url(args.redis_url, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as exc:
        print(f"cannot reach Redis at {args.redis_url}: {exc}", file=sys.stderr)
        return 2
    prefix = f"bench-cache-{uuid.uuid4().hex}"
    backends = {
        "Django's RedisCache": DjangoRedisCache(args.redis_url, {"KEY_PREFIX": prefix}),
        "ihanoi.lib.rediscache": RedisCache(args.redis_url, {"KEY_PREFIX": prefix}),
    }
    first = next(iter(backends.values()))
    first.set("a", "x" * 200, 300)
    first.set("b", {"version": uuid.uuid4().hex}, 300)

    def operations(cache: Any) -> dict[str, Callable[[], Any]]:
        return {
            "get": lambda: cache.get("a"),
            "get_many (2 keys)": lambda: cache.get_many(["a", "b"]),
            "add (exists)": lambda: cache.add("a", 1, 300),
        }

    best: dict[tuple[str, str], float] = {}
    for _round in range(args.rounds):
        for name, cache in backends.items():
            for op_name, op in operations(cache).items():
                took = per_op(op, args.ops)
                best[name, op_name] = min(best.get((name, op_name), took), took)
    first.delete_many(["a", "b"])  # clear() would empty the whole Redis database

    print(f"command: {' '.join(sys.argv)}")
    versions = f"python {platform.python_version()}, redis-py {redis.__version__}"
    print(f"{versions}, nproc {os.cpu_count()}")
    print(f"{args.ops} calls per operation per round, {args.rounds} rounds; best round, µs/call")
    names = list(backends)
    print(f"{'operation':<20} {names[0]:>22} {names[1]:>22} {'ratio':>7}")
    for op_name in operations(first):
        django_us, ours_us = best[names[0], op_name], best[names[1], op_name]
        print(f"{op_name:<20} {django_us:>22.1f} {ours_us:>22.1f} {django_us / ours_us:>6.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
