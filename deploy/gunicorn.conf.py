"""gunicorn settings of one iHaNoi web instance (`gunicorn -c deploy/gunicorn.conf.py`).

deploy/stack.py starts every instance with this file and sets the variables below; a
systemd unit or a container can do the same. Every value has a default that works alone:

    IHANOI_BIND            address:port to listen on                  127.0.0.1:8000
    IHANOI_INSTANCE        this instance's name (the X-Instance header)     (none)
    GUNICORN_WORKER_CLASS  sync | gthread                                   sync
    GUNICORN_WORKERS       worker processes                                 2
    GUNICORN_THREADS       threads per worker (gthread)                     1
    GUNICORN_TIMEOUT       seconds before a silent worker is killed         30
    GUNICORN_MAX_REQUESTS  recycle a worker after this many requests        5000 (0: never)
    IHANOI_LOG_DIR         access log file <dir>/<instance>-access.log      (stdout)
    IHANOI_RUN_DIR         pid file and control socket                      (none)

Why sync workers, two per instance, on a two-core machine (docs/performance.md has the
measurements): nginx sits in front and buffers whole requests and responses, so a worker
never waits on a slow phone; what is left is CPU-bound Python with short database waits,
which processes overlap better than threads (one GIL per process). Two instances of two
workers give four processes on two cores, enough to cover the database waits without
thrashing the caches.

Each worker opens its own psycopg pool after the fork (nothing touches the database before),
so no connection is ever shared between processes.
"""

from __future__ import annotations

import os
import re


def _int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise SystemExit(f"{name} must be at least {minimum}, not {value}")
    return value


_instance = os.environ.get("IHANOI_INSTANCE", "").strip()
if _instance and not re.fullmatch(r"[A-Za-z0-9._-]{1,40}", _instance):
    raise SystemExit(f"IHANOI_INSTANCE={_instance!r}: letters, digits, '.', '_', '-' only")
_log_dir = os.environ.get("IHANOI_LOG_DIR", "").strip()
_run_dir = os.environ.get("IHANOI_RUN_DIR", "").strip()
_label = _instance or "ihanoi"

# The WSGI callable: Django's application, which adds X-Instance when IHANOI_INSTANCE is set.
wsgi_app = "ihanoi.web.instance:application"
bind = [os.environ.get("IHANOI_BIND", "127.0.0.1:8000")]
proc_name = f"ihanoi-{_label}"

worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync").strip() or "sync"
if worker_class not in ("sync", "gthread"):
    raise SystemExit(f"GUNICORN_WORKER_CLASS={worker_class!r}: sync or gthread")
workers = _int("GUNICORN_WORKERS", 2, minimum=1)
threads = _int("GUNICORN_THREADS", 1, minimum=1)
# Connections nginx keeps open to a gthread worker between requests (sync workers close).
keepalive = 5

# A request that takes longer is a bug or a stuck database: the master kills the worker
# (its request gets a 502 from nginx) and starts a new one.
timeout = _int("GUNICORN_TIMEOUT", 30, minimum=5)
graceful_timeout = 20
# Recycle workers now and then, staggered, so that a slow leak never grows without end.
max_requests = _int("GUNICORN_MAX_REQUESTS", 5000)
max_requests_jitter = max_requests // 10
# Django and the ward index load in each worker after the fork: a preloaded master would
# open nothing but would copy little (reference counts touch every page anyway), and a
# worker that starts from scratch never inherits a half-open connection.
preload_app = False

# Only nginx on this machine talks to the instances; trust its X-Forwarded-* headers.
forwarded_allow_ips = "127.0.0.1,::1"
# The heartbeat file on tmpfs: a worker blocked on a slow disk is not taken for dead.
_shm = "/dev/shm"  # noqa: S108 - gunicorn's own heartbeat files, not shared data
worker_tmp_dir = _shm if os.path.isdir(_shm) else None

# gunicorn's control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl), which
# several instances would fight over: one per instance, or none.
if _run_dir:
    pidfile = os.path.join(_run_dir, f"{_label}.gunicorn.pid")
    control_socket = os.path.join(_run_dir, f"{_label}.ctl")
else:
    control_socket_disable = True

accesslog = os.path.join(_log_dir, f"{_label}-access.log") if _log_dir else "-"
errorlog = "-"  # stderr: the launcher sends it to <dir>/<instance>.log
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# Client address (from nginx), request, status, bytes, duration in ms, user agent.
access_log_format = '%({x-real-ip}i)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
