"""Locust users of the load tests: one class per scenario, closed loop (no think time).

bench/load/run.py starts locust headless with one of these classes and a JSON file named by
``IHANOI_LOAD_CONFIG`` (bearer tokens, staff session cookies, the submission's fields, the
photo, where to write the records). Every request's start time, duration and outcome are
written to ``records`` when locust quits, so that the runner computes the same statistics
for the application and for its raw-database baseline. FastHttpUser (geventhttpclient)
keeps the client's own CPU low: it shares the machine with the server.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import uuid
from pathlib import Path
from typing import Any

from locust import FastHttpUser, constant, events, task

CONFIG: dict[str, Any] = json.loads(Path(os.environ["IHANOI_LOAD_CONFIG"]).read_text())
RECORDS: list[tuple[float, float, int]] = []  # (start, seconds, 1 when failed)
_next_user = itertools.count()


@events.request.add_listener
def _record(
    response_time: float, exception: Exception | None, start_time: float = 0.0, **_: Any
) -> None:
    RECORDS.append((start_time, response_time / 1000.0, 1 if exception else 0))


@events.quitting.add_listener
def _write(**_: Any) -> None:
    Path(CONFIG["records"]).write_text(json.dumps(RECORDS))


def _multipart(fields: dict[str, str], photo: bytes | None, boundary: str) -> bytes:
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    if photo is not None:
        parts.append(
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="photos"; filename="photo.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'.encode()
            + photo
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts)


class _Closed(FastHttpUser):
    abstract = True
    wait_time = constant(0)
    # Connections stay open between requests, as an app's HTTP client keeps them.
    connection_timeout = 30.0
    network_timeout = 120.0

    def on_start(self) -> None:
        self.number = next(_next_user)


class _Resident(_Closed):
    abstract = True

    def on_start(self) -> None:
        super().on_start()
        tokens = CONFIG["tokens"]
        self.auth = {"Authorization": f"Bearer {tokens[self.number % len(tokens)]}"}


class Submit(_Resident):
    """POST /api/v1/reports, multipart with a fresh client_key; a share with one photo."""

    def on_start(self) -> None:
        super().on_start()
        submit = CONFIG["submit"]
        self.random = random.Random(self.number)
        self.points = submit["points"]
        self.fields = {
            "category": submit["category"],
            "title": submit["title"],
            "description": submit["description"],
            "answers": json.dumps(submit["answers"]),
        }
        self.photo = Path(submit["photo"]).read_bytes() if submit["photo_share"] else None
        self.photo_share = float(submit["photo_share"])

    @task
    def submit(self) -> None:
        lat, lon = self.random.choice(self.points)
        fields = {**self.fields, "lat": str(lat), "lon": str(lon), "client_key": uuid.uuid4().hex}
        with_photo = self.photo is not None and self.random.random() < self.photo_share
        boundary = uuid.uuid4().hex
        self.client.post(
            "/api/v1/reports",
            data=_multipart(fields, self.photo if with_photo else None, boundary),
            headers={**self.auth, "Content-Type": f"multipart/form-data; boundary={boundary}"},
            name="submit",
        )


class MyReports(_Resident):
    """GET /api/v1/me/reports: the resident's own list, first page."""

    @task
    def my_reports(self) -> None:
        self.client.get("/api/v1/me/reports?page_size=20", headers=self.auth, name="my_reports")


class Me(_Resident):
    """GET /api/v1/me: the cheapest signed-in API call (the floor under a submission)."""

    @task
    def me(self) -> None:
        self.client.get("/api/v1/me", headers=self.auth, name="me")


class PublicList(_Closed):
    """GET /feedback/: the public list page (HTML), anonymous."""

    @task
    def public_list(self) -> None:
        self.client.get("/feedback/", name="public_list")


class MapData(_Closed):
    """GET /feedback/map.json: the public map's points (at most 1000)."""

    @task
    def map_data(self) -> None:
        self.client.get("/feedback/map.json", name="map_data")


class StaffInbox(_Closed):
    """GET /staff/reports/: the inbox of a hub operator signed in with TOTP."""

    def on_start(self) -> None:
        super().on_start()
        cookies = CONFIG["staff_cookies"]
        self.cookie = {"Cookie": f"sessionid={cookies[self.number % len(cookies)]}"}

    @task
    def staff_inbox(self) -> None:
        self.client.get("/staff/reports/", headers=self.cookie, name="staff_inbox")


class Open311(_Closed):
    """GET /open311/v2/requests.json?page_size=1000: an integrator's full page."""

    @task
    def open311(self) -> None:
        self.client.get("/open311/v2/requests.json?page_size=1000", name="open311")
