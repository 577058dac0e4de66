"""``gunicorn bench.fault.wsgi:application``: the site's WSGI application with one fault of
the fault test built in, used only when ``IHANOI_FAULT_CRASH_AFTER_COMMIT`` is above 0.

With that probability, a report submission that the application answered with 201 (the
report and its outbox rows are committed) kills its gunicorn worker with SIGKILL before a
byte of the answer is written: the phone never hears that its draft arrived and retries it
with the same ``client_key``. Random kills rarely land in that window; this one always does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from bench.fault.sink import CRASH_AFTER_COMMIT_ENV, crash_now
from ihanoi.wsgi import application as site_application

SUBMIT_PATH = "/api/v1/reports"


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    answered: list[str] = []

    def noting_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        answered.append(status)
        return start_response(status, headers, exc_info)

    result = site_application(environ, noting_start_response)
    # gunicorn writes nothing before the body is iterated: dying here loses the whole answer.
    if (
        environ.get("REQUEST_METHOD") == "POST"
        and environ.get("PATH_INFO") == SUBMIT_PATH
        and answered
        and answered[0].startswith("201")
    ):
        crash_now(CRASH_AFTER_COMMIT_ENV, "crash-after-commit")
    return result
