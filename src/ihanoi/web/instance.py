"""The WSGI application that names the instance which served each response.

With several web instances behind a load balancer, ``X-Instance: <name>`` on every response
shows from outside how the work is shared (deploy/scaleout_check.py counts it). The name
comes from ``IHANOI_INSTANCE`` (deploy/stack.py sets app1, app2, …; a real deployment may use
the host name); without it this is Django's application unchanged. gunicorn serves
``ihanoi.web.instance:application`` (deploy/gunicorn.conf.py).

A WSGI wrapper rather than a Django middleware: it needs no settings, it also marks the
responses that never reach Django's middleware chain, and it costs one list append.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from types import TracebackType
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from ihanoi.wsgi import application as django_application

HEADER = "X-Instance"
_NAME = re.compile(r"[A-Za-z0-9._-]{1,40}")

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None]


def instance_name(environ: dict[str, str] | None = None) -> str:
    """This process's instance name, or "" when none (or an unusable one) is set."""
    raw = (os.environ if environ is None else environ).get("IHANOI_INSTANCE", "").strip()
    return raw if _NAME.fullmatch(raw) else ""


def with_instance_header(app: WSGIApplication, name: str) -> WSGIApplication:
    """``app`` with ``X-Instance: name`` added to every response it starts."""

    def named(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        def start(
            status: str,
            headers: list[tuple[str, str]],
            exc_info: _ExcInfo | None = None,
        ) -> object:
            headers.append((HEADER, name))
            return start_response(status, headers, exc_info)

        return app(environ, start)  # type: ignore[arg-type]

    return named


def _application() -> WSGIApplication:
    name = instance_name()
    return with_instance_header(django_application, name) if name else django_application


application = _application()
