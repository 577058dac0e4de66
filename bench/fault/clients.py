"""The fault test's clients: phones submitting reports like the app's offline drafts."""

from __future__ import annotations

import collections
import json
import random
import threading
import time
import uuid
from dataclasses import dataclass

import requests

# A point in the Hoàn Kiếm ward; "giao-thong" has no routing rule, so the report goes to the
# ward's People's Committee (ubnd-00070), whose officer and lead demo_setup creates.
POINT = (21.0287, 105.8523)
CATEGORY = "giao-thong"
ANSWERS = {"su-co": "mat-duong"}


# --- Clients --------------------------------------------------------------------------------


@dataclass
class Draft:
    key: str
    reporter: int
    client: int
    first_sent: float
    attempts: int = 0
    state: str = "pending"  # pending, acked, rejected, unacknowledged
    http: int | None = None
    report_id: str | None = None
    detail: str = ""


class Journal:
    """What the clients did, kept by the harness (which no fault touches)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.drafts: dict[tuple[int, str], Draft] = {}
        self.retry_reasons: collections.Counter[str] = collections.Counter()
        self.latencies: list[float] = []

    def sent(self, draft: Draft) -> None:
        with self.lock:
            self.drafts[(draft.reporter, draft.key)] = draft

    def retry(self, reason: str) -> None:
        with self.lock:
            self.retry_reasons[reason] += 1


class Client(threading.Thread):
    """One phone: drafts one report after another; each draft is retried with its own
    client_key until the server acknowledges it (2xx) or refuses it (4xx)."""

    def __init__(
        self,
        *,
        index: int,
        base_url: str,
        reporter: int,
        token: str,
        photo: bytes,
        journal: Journal,
        stop_drafting: threading.Event,
        give_up_at: list[float],
        think: float,
        seed: int,
    ):
        super().__init__(name=f"client-{index}", daemon=True)
        self.index = index
        self.url = f"{base_url}/api/v1/reports"
        self.reporter = reporter
        self.headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
        self.photo = photo
        self.journal = journal
        self.stop_drafting = stop_drafting
        self.give_up_at = give_up_at
        self.think = think
        self.random = random.Random(seed)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._run()
        except BaseException as error:  # the harness fails the run with it
            self.error = error
            raise

    def _run(self) -> None:
        session = requests.Session()
        number = 0
        while not self.stop_drafting.is_set():
            number += 1
            key = str(uuid.uuid4())
            draft = Draft(
                key=key, reporter=self.reporter, client=self.index, first_sent=time.time()
            )
            self.journal.sent(draft)
            fields = {
                "category": CATEGORY,
                "title": f"Ổ gà trên phố Đinh Tiên Hoàng {self.index}-{number}",
                "description": f"Bản nháp {key} gửi từ điện thoại thử lỗi số {self.index}.",
                "lat": str(POINT[0]),
                "lon": str(POINT[1]),
                "answers": json.dumps(ANSWERS),
                "client_key": key,
            }
            self.submit(session, draft, fields)
            time.sleep(self.think * self.random.uniform(0.5, 1.5))

    def submit(self, session: requests.Session, draft: Draft, fields: dict[str, str]) -> None:
        delay = 0.25
        while True:
            if time.time() > self.give_up_at[0]:
                draft.state = "unacknowledged"
                return
            draft.attempts += 1
            try:
                response = session.post(
                    self.url,
                    data=fields,
                    files={"photos": ("draft.jpg", self.photo, "image/jpeg")},
                    headers=self.headers,
                    timeout=(3, 15),
                )
                status = response.status_code
                body = response.json() if 200 <= status < 300 else None
            except requests.Timeout:
                reason = "timeout"
            except requests.ConnectionError:
                reason = "connection error"
            except (requests.RequestException, ValueError):
                # The answer was cut off mid-way (the worker died while writing it).
                reason = "broken answer"
            else:
                if body is not None:
                    draft.http = status
                    draft.report_id = body.get("id")
                    draft.state = "acked"
                    with self.journal.lock:
                        self.journal.latencies.append(time.time() - draft.first_sent)
                    return
                if status < 500 and status != 429:
                    draft.http = status
                    draft.state = "rejected"
                    draft.detail = response.text[:300]
                    return
                reason = f"HTTP {status}"
            self.journal.retry(reason)
            # Backoff with jitter, as the app's draft queue does; never past the give-up time.
            pause = min(delay, 4.0) * self.random.uniform(0.5, 1.5)
            delay *= 2
            time.sleep(max(0.0, min(pause, self.give_up_at[0] - time.time() + 0.05)))
