"""Page weight: what a phone downloads on its first visit to the home page and the report form.

    .venv/bin/python bench/bench_pageweight.py [--json]

Starts the site in this process on a scratch SQLite database with the demo's reference data
(places, agencies, categories) and production-like static files (collectstatic with hashed,
gzip-compressed copies served by WhiteNoise), then opens each page in a fresh Chromium
profile (Debian's /usr/bin/chromium through Playwright, a 390×844 phone screen) and counts
every response until the network is idle: bytes on the wire (headers + encoded body) and
requests. The page's own requests and the service worker's (its install precaches the app
shell) are reported apart; "first load" is the page's own. HTML is sent uncompressed, as the
application serves it: a reverse proxy that compresses HTML makes it lighter still.

Budget (issue 6): the home page's first load under 100 KB.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOME_BUDGET_BYTES = 100 * 1024


@dataclass
class Load:
    page: str
    signed_in: bool
    requests: int = 0
    bytes: int = 0
    worker_requests: int = 0
    worker_bytes: int = 0
    by_type: dict[str, int] = field(default_factory=dict)


def _prepare(scratch: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{scratch / 'bench.sqlite3'}"
    os.environ["IHANOI_VAR_DIR"] = str(scratch)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ihanoi.settings")
    import django

    django.setup()
    from django.test.utils import override_settings

    override_settings(
        DEBUG=False,
        STATIC_ROOT=scratch / "static",
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
        },
        WHITENOISE_USE_FINDERS=False,
        WHITENOISE_AUTOREFRESH=False,
        SMS_BACKEND="ihanoi.accounts.sms.LocMemSMSBackend",
        TASKS={"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}},
    ).enable()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    for command in ("load_places", "seed_agencies", "seed_feedback"):
        call_command(command, stdout=open(os.devnull, "w"))  # noqa: SIM115


def _serve() -> tuple[str, object]:
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet)
    server.set_app(WSGIHandler())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://localhost:{server.server_port}", server


def _session_cookie(base_url: str) -> dict[str, str]:
    from django.conf import settings
    from django.test import Client

    from ihanoi.accounts.models import User

    user, _ = User.objects.get_or_create(phone="+84912999001", defaults={"phone_verified": True})
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    return {"name": cookie.key, "value": cookie.value, "url": base_url}


def _measure(browser: object, base_url: str, path: str, cookie: dict[str, str] | None) -> Load:
    context = browser.new_context(  # type: ignore[attr-defined]
        base_url=base_url,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        service_workers="allow",
    )
    if cookie:
        context.add_cookies([cookie])
    load = Load(page=path, signed_in=bool(cookie))
    finished: list[object] = []
    context.on("requestfinished", lambda request: finished.append(request))
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.on("console", lambda m: print("console:", m.text, file=sys.stderr))
    page.goto(path, wait_until="load")
    page.evaluate(
        "Promise.race([navigator.serviceWorker.ready, new Promise(r => setTimeout(r, 10000))])"
    )
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(500)
    for request in finished:
        sizes = request.sizes()  # type: ignore[attr-defined]
        size = sizes["responseHeadersSize"] + sizes["responseBodySize"]
        if request.service_worker is not None:  # type: ignore[attr-defined]
            load.worker_requests += 1
            load.worker_bytes += size
        else:
            load.requests += 1
            load.bytes += size
            kind = request.resource_type  # type: ignore[attr-defined]
            load.by_type[kind] = load.by_type.get(kind, 0) + size
    context.close()
    return load


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install -y chromium", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT / "src"))
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="ihanoi-pageweight-") as scratch:
        _prepare(Path(scratch))
        base_url, server = _serve()
        cookie = _session_cookie(base_url)
        os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            loads = [
                _measure(browser, base_url, "/", None),
                _measure(browser, base_url, "/", cookie),
                _measure(browser, base_url, "/feedback/new/", cookie),
            ]
            browser.close()
        server.shutdown()  # type: ignore[attr-defined]
    if args.json:
        print(json.dumps([asdict(load) for load in loads], indent=2))
    else:
        print(f"{'page':<16} {'signed in':<10} {'requests':>8} {'KB':>8}   service worker")
        for load in loads:
            print(
                f"{load.page:<16} {'yes' if load.signed_in else 'no':<10} {load.requests:>8} "
                f"{load.bytes / 1024:>8.1f}   {load.worker_requests} requests, "
                f"{load.worker_bytes / 1024:.1f} KB"
            )
            detail = ", ".join(f"{k} {v / 1024:.1f}" for k, v in sorted(load.by_type.items()))
            print(f"{'':<16} {'':<10} {'':>8} {'':>8}   page KB by type: {detail}")
    over = [load for load in loads if load.page == "/" and load.bytes > HOME_BUDGET_BYTES]
    if over:
        print(f"over budget: the home page's first load exceeds {HOME_BUDGET_BYTES} bytes")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
