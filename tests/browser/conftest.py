"""Browser tests: Playwright drives Debian's Chromium (/usr/bin/chromium) against the live
test server (pytest-django's ``live_server``: same process, so the LocMem SMS outbox and the
test settings apply).

Chromium comes from Debian's package, never from a browser download (which cannot work on
the project's machines): when it is missing, the setup installs it with apt-get (as root);
when that is impossible the tests skip with a message, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.feedback.conftest import World, jpeg_bytes, world  # noqa: F401 - fixtures

CHROMIUM = Path(os.environ.get("IHANOI_CHROMIUM", "/usr/bin/chromium"))
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
PHONE = {"width": 390, "height": 844}
# What Chromium needs on the project's machines (a closed network, root, no screen).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The live server and Playwright's event loop share the main thread's greenlet; the ORM
# calls the tests make between browser steps are synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _file_backed_sqlite_test_database() -> None:
    """The live server answers each request in its own thread. An in-memory SQLite test
    database can only be shared by handing every thread one connection, and concurrent
    requests (a page, its service worker, a background send) then interleave their
    transactions on it. A file lets each thread have its own connection, as in production.
    Set here, when the browser tests are collected, before the test database is created."""
    from django.conf import settings
    from django.db import connections

    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.sqlite3":
        return
    name = str(Path(tempfile.gettempdir()) / f"ihanoi-test-{os.getpid()}.sqlite3")
    database.setdefault("TEST", {})["NAME"] = name
    connections["default"].settings_dict.setdefault("TEST", {})["NAME"] = name


_file_backed_sqlite_test_database()


def _under_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _install_chromium() -> str:
    """apt-get install chromium when we may; returns what went wrong, or ''."""
    if not shutil.which("apt-get"):
        return "apt-get is not available"
    if os.geteuid() != 0:
        return "installing it needs root (apt-get install -y chromium)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode != 0:
            return f"{' '.join(command)} failed: {result.stderr.strip()[-500:]}"
    return "" if CHROMIUM.exists() else "apt-get installed no /usr/bin/chromium"


def _chromium_or_skip() -> None:
    if CHROMIUM.exists():
        return
    problem = _install_chromium()
    if not problem:
        return
    message = f"Chromium is missing at {CHROMIUM} and could not be installed: {problem}"
    if _under_ci():
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[object]:
    _chromium_or_skip()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:  # pragma: no cover - the dev extra installs it
        if _under_ci():
            pytest.fail(f"playwright is not installed: {error}")
        pytest.skip(f"playwright is not installed: {error}")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def chromium(playwright_driver) -> Iterator[object]:
    browser = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


CONTEXT_OPTIONS = {
    "viewport": PHONE,
    "device_scale_factor": 1,
    "is_mobile": True,
    "has_touch": True,
    "locale": "en-GB",
    "service_workers": "allow",
}


@pytest.fixture
def profile_context(playwright_driver, live_server, settings, tmp_path):
    """A browser with a real (not incognito) profile on disk: what installability needs."""
    settings.MEDIA_ROOT = tmp_path / "media"
    ctx = playwright_driver.chromium.launch_persistent_context(
        str(tmp_path / "profile"),
        executable_path=str(CHROMIUM),
        headless=True,
        args=CHROMIUM_ARGS,
        base_url=live_server.url,
        **CONTEXT_OPTIONS,
    )
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def context(chromium, live_server, settings, tmp_path):
    """A fresh phone-sized browser profile pointed at the live server."""
    settings.MEDIA_ROOT = tmp_path / "media"
    ctx = chromium.new_context(base_url=live_server.url, **CONTEXT_OPTIONS)
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: (errors.append(str(error)), print("pageerror:", error)))
    page.on("console", lambda m: print("console:", m.type, m.text))  # shown on failure
    yield page
    assert not errors, f"JavaScript errors on the page: {errors}"


def wait_until(condition, *, timeout: float = 15.0, step: float = 0.1) -> None:
    """Poll ``condition`` (a page evaluation, a database query) until it holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout} s: {condition}")
        time.sleep(step)


def screenshot(page, name: str, *, full_page: bool = False) -> Path:
    """A phone-size picture of the screen, for people to look at (var/screenshots/)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def axe_violations(page, name: str) -> list[dict]:
    """axe-core (shipped inside axe-playwright-python) on the page as it is now; returns the
    serious and critical violations (WCAG 2.2 A and AA rules)."""
    from axe_playwright_python.base import AXE_SCRIPT

    page.evaluate(AXE_SCRIPT)
    results = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}, "
        "resultTypes: ['violations']})",
        AXE_TAGS,
    )
    bad = [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]
    for violation in bad:
        violation["page"] = name
    return bad


def describe(violations: list[dict]) -> str:
    return "\n".join(
        f"{v['page']}: {v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(" ".join(n["target"]) for n in v["nodes"][:5])
        for v in violations
    )


def photo_file(tmp: Path, name: str = "pothole.jpg", colour: str = "green") -> Path:
    path = tmp / name
    path.write_bytes(jpeg_bytes(colour, (640, 480)))
    return path


def sign_in(context, live_server, user) -> None:
    """Put a signed-in session of ``user`` into the browser (the journey test signs in
    through the pages; the others need not repeat it)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


@pytest.fixture
def scratch(tmp_path) -> Path:
    return Path(tempfile.mkdtemp(dir=tmp_path))
