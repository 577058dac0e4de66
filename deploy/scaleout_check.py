#!/usr/bin/env python3
"""Scale-out check: two web instances behind nginx share the work and keep no local state.

    .venv/bin/python deploy/scaleout_check.py [--keep] [--instances 2]   (make scaleout-check)

It starts deploy/stack.py with two gunicorn instances behind nginx, on its own PostgreSQL
database ``ihanoi_load_scaleout`` (dropped before and after), its own Redis database
(``redis://127.0.0.1:6379/6``, emptied before and after), its own var directory
(``var/scaleout``, removed after unless ``--keep``) and ports 18050-18053, with
``--no-restart`` (a process that dies is a failure). Then, over HTTP and HTTPS through nginx
only, it shows with the ``X-Instance`` header of each response (ihanoi.web.instance):

1. load sharing: requests through nginx reach every instance;
2. a shared rate limit (cache in Redis): the app's code sign-in allows three codes per number
   in ten minutes; the three allowed requests are served by different instances and the
   fourth is refused (429) although its instance counted fewer than three itself;
3. tasks run by the worker: the SMS tasks enqueued by the instances are run by the RQ worker
   (its log shows each "[SMS to …]"); the code read there is exchanged for a device token;
4. the token works on every instance (database);
5. an upload (a report with a photo, JSON API, multipart) made through one instance is read
   back through the other; the same ``client_key`` sent to the other instance returns the
   same report (no duplicate); the photo and its thumbnail are served by nginx from the
   shared media directory, re-encoded without metadata;
6. a session signed in on one instance works on the other: a hub operator signs in over
   HTTPS (password, then TOTP: allauth keeps the half-finished sign-in in the session)
   and opens the staff inbox on every instance, where the new report is listed; the same
   TOTP code replayed in a second sign-in is refused (the used-code mark is in the cache);
7. the scheduler's periodic jobs are enqueued and run by the worker;
8. nginx serves collected static files, hashed names with a one-year immutable cache.

Exit status 0 when everything holds; 1 with the failed step and what was seen; 2 when the
stack could not start.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import secrets
import shutil
import sys
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stack  # deploy/stack.py

ROOT = stack.ROOT
DATABASE = "ihanoi_load_scaleout"
SERVER_URL = "postgres://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/6"
HTTP_PORT, HTTPS_PORT, APP_PORT = 18050, 18051, 18052
POINT = (21.0287, 105.8523)  # Hoàn Kiếm
STAFF_PASSWORD = "scale-out check " + "x" * 8  # a throwaway account
TOTP_SECRET = "JBSWY3DPEHPK3PXPSCALEOUTCHECK234"  # noqa: S105 - a throwaway account
TIMEOUT = 20.0


class CheckFailed(Exception):
    pass


def need(condition: object, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


class Report:
    """Prints each step and what it showed."""

    def __init__(self) -> None:
        self.steps = 0

    @contextlib.contextmanager
    def step(self, title: str) -> Iterator[list[str]]:
        self.steps += 1
        notes: list[str] = []
        print(f"{self.steps}. {title}", flush=True)
        try:
            yield notes
        except CheckFailed as exc:
            for note in notes:
                print(f"     {note}")
            print(f"   FAILED: {exc}", flush=True)
            raise
        for note in notes:
            print(f"     {note}")
        print("   ok", flush=True)


def instance_of(response: requests.Response) -> str:
    return response.headers.get("X-Instance", "")


def spread(counter: Counter[str]) -> str:
    return ", ".join(f"{name or 'nginx'} ×{count}" for name, count in sorted(counter.items()))


class Client:
    """Requests through nginx, remembering which instance served each."""

    def __init__(self, base: str, verify: str | bool = True) -> None:
        self.base = base
        self.session = requests.Session()
        # Per request: REQUESTS_CA_BUNDLE in the environment would override a session's.
        self.verify = verify
        self.served: Counter[str] = Counter()

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT)
        kwargs.setdefault("allow_redirects", False)
        kwargs.setdefault("verify", self.verify)
        url = path if path.startswith("http") else self.base + path
        response = self.session.request(method, url, **kwargs)
        self.served[instance_of(response)] += 1
        return response

    def until_other(
        self,
        method: str,
        path: str,
        other_than: str,
        *,
        attempts: int = 12,
        **kwargs: Any,
    ) -> requests.Response:
        """Repeat a request until an instance other than ``other_than`` answers it."""
        seen = []
        for _ in range(attempts):
            response = self.request(method, path, **kwargs)
            seen.append(instance_of(response))
            if instance_of(response) and instance_of(response) != other_than:
                return response
        raise CheckFailed(f"{method} {path}: only {other_than} answered ({seen})")


# --- The world: database, Redis, Django -------------------------------------------------------


def database_drop(name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def redis_flush(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def django_setup(database_url: str, redis_url: str, media_root: Path) -> None:
    """This process reads and writes the stack's database directly (to make the staff
    account); it never serves requests, so the development settings are enough."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "ihanoi.settings",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "TASKS_BACKEND": "dummy",
            "IHANOI_PRODUCTION": "0",
            "MEDIA_ROOT": str(media_root),
        }
    )
    import django

    django.setup()


def staff_create(email: str) -> None:
    from allauth.mfa.totp.internal.auth import TOTP

    from ihanoi.accounts.models import Role
    from ihanoi.accounts.services import staff_user_create

    user = staff_user_create(email=email, password=STAFF_PASSWORD, role=Role.HUB_OPERATOR)
    TOTP.activate(user, TOTP_SECRET)


def totp_now() -> tuple[str, int]:
    """The current code of TOTP_SECRET and its 30-second period. Close to the end of a
    period it waits for the next one: with no tolerance (MFA_TOTP_TOLERANCE 0) a code sent
    in its last moments can reach the server in the following period and be refused."""
    from allauth.mfa import app_settings
    from allauth.mfa.totp.internal.auth import (
        format_hotp_value,
        hotp_value,
        yield_hotp_counters_from_time,
    )

    left = app_settings.TOTP_PERIOD - time.time() % app_settings.TOTP_PERIOD
    if left < 5:
        time.sleep(left + 0.2)

    counters = list(yield_hotp_counters_from_time())
    counter = counters[len(counters) // 2]
    return format_hotp_value(hotp_value(TOTP_SECRET, counter)), counter


def phone_photo() -> bytes:
    """A 1600×1200 JPEG with EXIF (a GPS position included), as a phone would send."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1600, 1200), (90, 120, 160))
    draw = ImageDraw.Draw(image)
    for i in range(0, 1600, 80):
        draw.rectangle([i, (i * 7) % 1200, i + 60, (i * 7) % 1200 + 200], fill=(i % 255, 80, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (21.0, 1.0, 43.32), 3: "E", 4: (105.0, 51.0, 8.28)}  # GPS
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88, exif=exif)
    return buffer.getvalue()


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    need(match, "no CSRF token in the page")
    assert match is not None
    return match.group(1)


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise CheckFailed(f"{what} within {timeout:.0f} s")


# --- The steps --------------------------------------------------------------------------------


def check_sharing(report: Report, http: Client, names: list[str]) -> None:
    with report.step("load sharing: requests through nginx reach every instance") as notes:
        served: Counter[str] = Counter()
        for path in ["/healthz"] * 20 + ["/feedback/"] * 10 + ["/open311/v2/services.json"] * 10:
            response = http.request("GET", path)
            need(response.status_code == 200, f"GET {path}: {response.status_code}")
            served[instance_of(response)] += 1
        notes.append(f"40 requests: {spread(served)}")
        need(set(served) == set(names), f"expected answers from {names}, got {spread(served)}")


def check_rate_limit(report: Report, http: Client) -> tuple[str, list[str]]:
    title = "a rate limit counted in the shared cache holds across instances"
    with report.step(title) as notes:
        for _attempt in range(3):
            phone_local = "0912" + f"{secrets.randbelow(10**6):06d}"
            answers = []
            for _ in range(4):
                response = http.request("POST", "/api/v1/auth/code", json={"phone": phone_local})
                answers.append((response.status_code, instance_of(response)))
                if response.status_code == 429:
                    break
            allowed = [name for status, name in answers if status == 202]
            notes.append(
                f"code requests for {phone_local}: "
                + ", ".join(f"{status} from {name}" for status, name in answers)
            )
            need(
                [s for s, _ in answers] == [202, 202, 202, 429],
                f"expected 202, 202, 202 then 429; got {answers}",
            )
            last = answers[-1][1]
            if len(set(allowed)) > 1:
                own = allowed.count(last)
                notes.append(
                    f"the 4th was refused by {last}, which had itself allowed {own} of the 3: "
                    "the count lives in Redis, not in the instance"
                )
                return "+84" + phone_local[1:], allowed
            notes.append("all three allowed requests hit one instance; again with a new number")
        raise CheckFailed("the code requests never spread over two instances")


def sms_codes(log: Path, phone: str) -> list[str]:
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return []
    return re.findall(rf"\[SMS to {re.escape(phone)}\][^\n]*?\b(\d{{6}})\b", text)


def check_tasks(report: Report, state: dict[str, Any], phone: str, enqueuers: list[str]) -> str:
    with report.step("tasks enqueued by the instances are run by the RQ worker") as notes:
        worker = state["processes"]["rqworker-1"]
        log = Path(worker["log"])
        codes = wait_for(
            lambda: (found := sms_codes(log, phone)) and len(found) >= 3 and found,
            30,
            f"three SMS to {phone} in {log}",
        )
        notes.append(
            f"3 SMS tasks enqueued by {', '.join(sorted(set(enqueuers)))} were sent by "
            f"rqworker-1 (pid {worker['pid']}): they are in {log.name}"
        )
        return str(codes[-1])


def check_token(report: Report, http: Client, phone: str, code: str, names: list[str]) -> str:
    with report.step("a device token made on one instance works on every instance") as notes:
        response = http.request(
            "POST",
            "/api/v1/auth/token",
            json={"phone": phone, "code": code, "device_name": "scale-out check"},
        )
        need(response.status_code == 201, f"token: {response.status_code} {response.text[:300]}")
        token = str(response.json()["token"])
        notes.append(f"the code from the worker's SMS gave a token on {instance_of(response)}")
        seen: Counter[str] = Counter()
        for _ in range(8):
            me = http.request("GET", "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
            need(me.status_code == 200, f"GET /api/v1/me: {me.status_code} on {instance_of(me)}")
            seen[instance_of(me)] += 1
        notes.append(f"GET /api/v1/me with it: 200 from {spread(seen)}")
        need(set(seen) == set(names), f"the token was tried on {spread(seen)} only")
        return token


def check_upload(report: Report, http: Client, token: str) -> dict[str, Any]:
    title = "an upload made through one instance is served through the other"
    with report.step(title) as notes:
        auth = {"Authorization": f"Bearer {token}"}
        photo = phone_photo()
        client_key = uuid.uuid4().hex
        fields = {
            "category": "giao-thong",
            "title": "Ổ gà trước số 12 Đinh Tiên Hoàng (kiểm tra mở rộng)",
            "description": "Kiểm tra: ảnh gửi qua một máy chủ, xem qua máy chủ khác.",
            "lat": str(POINT[0]),
            "lon": str(POINT[1]),
            "answers": json.dumps({"su-co": "mat-duong"}),
            "client_key": client_key,
        }

        def send() -> requests.Response:
            files = {"photos": ("photo.jpg", photo, "image/jpeg")}
            return http.request("POST", "/api/v1/reports", data=fields, files=files, headers=auth)

        response = send()
        need(response.status_code == 201, f"submit: {response.status_code} {response.text[:300]}")
        made = response.json()
        first = instance_of(response)
        need(made.get("photos"), "the report came back without its photo")
        notes.append(
            f"report {made['number']} with a {len(photo) // 1000} kB photo made on {first}"
        )
        retried = None
        for _ in range(12):
            retried = send()
            if instance_of(retried) != first:
                break
        assert retried is not None
        need(instance_of(retried) != first, "the retries all went to the first instance")
        need(
            retried.status_code == 200 and retried.json()["id"] == made["id"],
            f"the retry on {instance_of(retried)}: {retried.status_code}, not the same report",
        )
        notes.append(f"the same client_key sent to {instance_of(retried)}: 200, the same report")
        detail = http.until_other("GET", f"/api/v1/reports/{made['id']}", first, headers=auth)
        need(detail.status_code == 200, f"detail on {instance_of(detail)}: {detail.status_code}")
        photos = detail.json()["photos"]
        need(
            [p["url"] for p in photos] == [p["url"] for p in made["photos"]],
            "the other instance lists other photos",
        )
        notes.append(f"read back through {instance_of(detail)}: the same photo")
        from PIL import Image

        for key in ("url", "thumbnail_url"):
            url = photos[0][key]
            got = http.request("GET", url)
            need(got.status_code == 200, f"GET {url}: {got.status_code}")
            need(got.headers.get("Content-Type") == "image/jpeg", f"{url}: not a JPEG")
            need(not instance_of(got), f"{url} was answered by {instance_of(got)}, not by nginx")
            image = Image.open(io.BytesIO(got.content))
            need(image.format == "JPEG", f"{url}: {image.format}")
            need(not image.getexif().get_ifd(0x8825), f"{url} still carries a GPS position")
            notes.append(
                f"{key}: {image.width}×{image.height} JPEG from nginx's /media/ "
                f"({len(got.content) // 1000} kB, no EXIF GPS)"
            )
        return dict(made)


def sign_in(http: Client, email: str, code: str) -> tuple[requests.Response, list[str]]:
    """Password then TOTP, as a browser does; the final response and who served each step."""
    steps = []
    page = http.request("GET", "/accounts/login/")
    need(page.status_code == 200, f"GET /accounts/login/: {page.status_code}")
    steps.append(instance_of(page))
    referer = {"Referer": http.base + "/accounts/login/"}
    login = http.request(
        "POST",
        "/accounts/login/",
        data={
            "login": email,
            "password": STAFF_PASSWORD,
            "csrfmiddlewaretoken": csrf_token(page.text),
        },
        headers=referer,
    )
    steps.append(instance_of(login))
    need(login.status_code == 302, f"password step: {login.status_code}")
    location = login.headers["Location"]
    need("2fa" in location, f"the password step led to {location}, not to the TOTP step")
    form = http.request("GET", location)
    need(form.status_code == 200, f"GET {location}: {form.status_code}")
    steps.append(instance_of(form))
    final = http.request(
        "POST",
        location,
        data={"code": code, "csrfmiddlewaretoken": csrf_token(form.text)},
        headers={"Referer": http.base + location},
    )
    steps.append(instance_of(final))
    return final, steps


def check_session(report: Report, https_base: str, cert: str, names: list[str], made: dict) -> None:
    email = f"hub-{secrets.token_hex(3)}@scaleout.example.vn"
    staff_create(email)
    title = "a session signed in on one instance works on the other (HTTPS, password + TOTP)"
    with report.step(title) as notes:
        for _attempt in range(3):
            browser = Client(https_base, verify=cert)
            code, period = totp_now()
            final, steps = sign_in(browser, email, code)
            need(
                final.status_code == 302,
                f"TOTP step: {final.status_code} (signed-in pages expected a redirect)",
            )
            need(browser.session.cookies.get("sessionid"), "no session cookie after sign-in")
            notes.append(f"sign-in steps served by {' → '.join(steps)}")
            # The same code again, in another browser, right away: refused wherever it lands.
            other = Client(https_base, verify=cert)
            replay, replay_steps = sign_in(other, email, code)
            if totp_now()[1] != period:
                notes.append("the TOTP period turned during the replay; both again")
                continue
            # Refused: the TOTP form comes back (200) and the session is not signed in.
            need(replay.status_code == 200, f"the replayed TOTP code: {replay.status_code}")
            probe = other.request("GET", "/staff/reports/")
            need(
                probe.status_code == 302 and "/accounts/login/" in probe.headers["Location"],
                f"after the replayed TOTP code, /staff/reports/ answered {probe.status_code}",
            )
            notes.append(
                f"the same TOTP code replayed in another sign-in (served by "
                f"{' → '.join(replay_steps)}) was refused: the used-code mark is shared"
            )
            break
        else:
            raise CheckFailed("could not sign in within one TOTP period three times")
        seen: Counter[str] = Counter()
        for _ in range(10):
            inbox = browser.request("GET", "/staff/reports/")
            need(
                inbox.status_code == 200,
                f"/staff/reports/ on {instance_of(inbox)}: {inbox.status_code} "
                f"{inbox.headers.get('Location', '')}",
            )
            need(
                str(made["number"]) in inbox.text,
                f"report {made['number']} missing from the inbox on {instance_of(inbox)}",
            )
            seen[instance_of(inbox)] += 1
        notes.append(f"the staff inbox with that session: 200 from {spread(seen)}, report listed")
        need(set(seen) == set(names), f"the inbox was only served by {spread(seen)}")


def check_scheduler(report: Report, state: dict[str, Any]) -> None:
    with report.step("the scheduler's periodic jobs are run by the worker") as notes:
        scheduler_log = Path(state["processes"]["scheduler"]["log"])
        worker_log = Path(state["processes"]["rqworker-1"]["log"])
        enqueued = wait_for(
            lambda: re.findall(r"enqueued ([\w-]+)", scheduler_log.read_text()),
            30,
            "the scheduler enqueued nothing",
        )
        done = wait_for(
            lambda: re.findall(r"Successfully completed ihanoi\.(\S+)\(", worker_log.read_text()),
            30,
            "the worker completed no job",
        )
        notes.append(f"enqueued: {', '.join(sorted(set(enqueued)))}")
        notes.append(f"completed by rqworker-1: {', '.join(sorted(set(done)))}")
        need(
            any("rollup" in job for job in done),
            "the oversight roll-up (every minute) was not run",
        )


def check_static(report: Report, http: Client, state: dict[str, Any]) -> None:
    with report.step("nginx serves the collected static files with long caching") as notes:
        manifest = json.loads((Path(state["static_root"]) / "staticfiles.json").read_text())
        plain, hashed = next((k, v) for k, v in manifest["paths"].items() if k.endswith(".css"))
        got = http.request("GET", f"/static/{hashed}", headers={"Accept-Encoding": "gzip"})
        need(got.status_code == 200, f"/static/{hashed}: {got.status_code}")
        need(not instance_of(got), f"/static/{hashed} was answered by {instance_of(got)}")
        cache = got.headers.get("Cache-Control", "")
        need("immutable" in cache and "31536000" in cache, f"/static/{hashed}: {cache!r}")
        notes.append(f"/static/{hashed}: {cache} ({got.headers.get('Content-Encoding', '-')})")
        got = http.request("GET", f"/static/{plain}")
        cache = got.headers.get("Cache-Control", "")
        need(got.status_code == 200 and "max-age=3600" in cache, f"/static/{plain}: {cache!r}")
        notes.append(f"/static/{plain}: {cache}")


# --- Main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument(
        "--keep", action="store_true", help="keep the var directory (logs, media) after a pass"
    )
    parser.add_argument("--var-dir", type=Path, default=ROOT / "var" / "scaleout")
    args = parser.parse_args(argv)
    if args.instances < 2:
        parser.error("--instances must be at least 2")
    var_dir = args.var_dir.resolve()
    database_url = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
    names = [f"app{i + 1}" for i in range(args.instances)]

    started = time.monotonic()
    try:
        database_drop(DATABASE)
        redis_flush(REDIS_URL)
    except Exception as exc:
        print(f"cannot prepare PostgreSQL or Redis: {exc}", file=sys.stderr)
        return 2
    shutil.rmtree(var_dir, ignore_errors=True)
    print(f"starting the stack ({args.instances} instances; log: {var_dir}/launcher.log)")
    report = Report()
    status = 0
    try:
        with stack.running_stack(
            [
                "--database-url",
                database_url,
                "--redis-url",
                REDIS_URL,
                "--instances",
                str(args.instances),
                "--http-port",
                str(HTTP_PORT),
                "--https-port",
                str(HTTPS_PORT),
                "--app-port",
                str(APP_PORT),
                "--no-restart",
            ],
            var_dir=var_dir,
            log=var_dir / "launcher.log",
        ) as state:
            print(
                f"stack ready in {time.monotonic() - started:.0f} s: "
                + ", ".join(f"{name} pid {p['pid']}" for name, p in state["processes"].items())
            )
            django_setup(database_url, REDIS_URL, Path(state["media_root"]))
            http = Client(state["urls"]["http"])
            check_sharing(report, http, names)
            phone, enqueuers = check_rate_limit(report, http)
            code = check_tasks(report, state, phone, enqueuers)
            token = check_token(report, http, phone, code, names)
            made = check_upload(report, http, token)
            cert = str(var_dir / "tls" / "local.crt")
            check_session(report, state["urls"]["https"], cert, names, made)
            check_scheduler(report, state)
            check_static(report, http, state)
            died = [
                name
                for name, process in (stack.read_state(var_dir) or state)["processes"].items()
                if process.get("restarts") or not stack.alive(process.get("pid"))
            ]
            need(not died, f"processes died during the check: {died}")
    except CheckFailed:
        status = 1
    except stack.StackError as exc:
        print(f"the stack failed: {exc}", file=sys.stderr)
        status = 2
    except Exception:  # a client error, an unexpected answer: a failure, with its trace
        traceback.print_exc()
        status = 1
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        with contextlib.suppress(Exception):
            database_drop(DATABASE)
        with contextlib.suppress(Exception):
            redis_flush(REDIS_URL)
        if status == 0 and not args.keep:
            shutil.rmtree(var_dir, ignore_errors=True)
    elapsed = time.monotonic() - started
    if status == 0:
        print(f"scale-out check passed: {report.steps} steps in {elapsed:.0f} s")
    else:
        print(
            f"scale-out check FAILED after {elapsed:.0f} s; the logs stay in {var_dir}/log",
            file=sys.stderr,
        )
    return status


if __name__ == "__main__":
    sys.exit(main())
