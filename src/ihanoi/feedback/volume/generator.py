"""Reports with their whole timelines, as the feedback services and the periodic jobs
would have left them, buffered for a bulk load.

Every status change goes through the app's transition table (``transitions.TRANSITIONS``)
and every column of the report row is set as the service of that action sets it
(``services._assign_to``, ``report_accept``, ``rating_submit``, ``report_reopen`` ...), so
the row always agrees with the last events. Deadlines are computed by ``feedback.deadlines``
on the city's working calendar, with the category's own limits; the deadline scan
(``reports_escalate``, every 5 minutes) leaves its reminders and the hourly job closes
results left unrated after the rating window. A timeline is cut at ``end``: what would
happen later is not there, and the report stays in the state it had then.

The shares below are the outcomes over all reports (a report meets each in turn):

- routed automatically (``routing.route``); when no rule or committee applies it waits in
  the hub's triage queue, and the hub forwards it (85%) or rejects it (15%);
- transferred by the receiving agency to another one: 5% (at most twice); returned to the
  hub ("not ours"): 2.5%, then rejected (60%, with a reason from the templates) or forwarded
  to the right agency; merged into an earlier report of the same category in the ward: 1%;
- hidden from the public by the hub: 0.4%; never accepted (an agency's neglect: about 1%
  for an average agency, up to 8% for the slowest); accepted after a log-normal delay in
  working hours (median 2.5 h for an average agency: about one in nine misses the 8-hour
  limit);
- reclassified after acceptance: 4%; more information asked of the resident: 2.5%
  (answered 80%); internal notes: 2%;
- an extension asked when the work runs late (35% of late normal items, 60% of complex),
  approved 85%;
- resolved after a log-normal delay (median 2 h urgent, 2.5 days normal, 5 days complex,
  times the agency's speed), with evidence photos where the category asks for them;
- rated by the resident within the window: 62% (Hài lòng / Chấp nhận / Chưa hài lòng about
  62/29/9 for an average agency on time, 44/31/24 when late, and shifted by each agency's
  quality: about 53/30/17 over all ratings); the others close unrated after the window;
- "Chưa hài lòng": the hub reopens it (35%: the agency handles it again on a new deadline,
  twice at most), closes the review (55%) or has not decided yet.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import math
import random
import uuid
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from ihanoi.feedback import deadlines
from ihanoi.feedback.models import (
    Channel,
    Follow,
    Kind,
    RatingValue,
    Report,
    ReportEvent,
    ReportPhoto,
    Severity,
)
from ihanoi.feedback.models import EventKind as E
from ihanoi.feedback.models import Status as S
from ihanoi.feedback.transitions import TRANSITIONS
from ihanoi.lib.worktime import CITY_TZ, WorkingCalendar
from ihanoi.open311.models import Open311Request
from ihanoi.open311.services import first_line_title
from ihanoi.workcalendar.selectors import city_calendar, deadline_after

from . import rhythm, texts
from .city import City
from .photos import PhotoAsset
from .residents import Residents
from .sinks import BatchWriter, Table, next_id

REPORT_COLUMNS = (
    "id", "public_id", "kind", "category_id", "title", "description", "answers", "lat", "lon",
    "address", "ward_id", "h3_cell", "reporter_id", "share_contact", "channel", "client_key",
    "status", "severity", "agency_id", "assignee_id", "duplicate_of_id", "submitted_at",
    "assigned_at", "accepted_at", "resolved_at", "closed_at", "accept_due_at", "resolve_due_at",
    "escalation_level", "result_text", "rating", "rating_comment", "rated_at", "review_pending",
    "info_requested", "is_published",
)  # fmt: skip
EVENT_COLUMNS = (
    "id", "report_id", "kind", "from_status", "to_status", "actor_id", "agency_id", "note",
    "data", "is_public", "created_at",
)  # fmt: skip
PHOTO_COLUMNS = (
    "id", "report_id", "role", "image", "thumbnail", "width", "height", "sha256", "is_hidden",
    "uploaded_by_id", "created_at",
)  # fmt: skip
FOLLOW_COLUMNS = ("id", "report_id", "user_id", "created_at")
OPEN311_COLUMNS = ("id", "report_id", "api_key_id", "token", "created_at")

CHANNELS = ((Channel.APP, 68), (Channel.WEB, 20), (Channel.HOTLINE, 8), (Channel.OPEN311, 4))
SHARE_CONTACT = 0.3
PHOTO_COUNTS = ((1, 70), (2, 22), (3, 8))
SHARE_WITH_PHOTO = 0.7  # where the category does not require one
EVIDENCE_COUNTS = ((1, 75), (2, 25))

P_HUB_REJECTS_TRIAGE = 0.15
P_HUB_REJECTS_RETURN = 0.6
P_HUB_CLASSIFIES = 0.1
P_TRANSFER = 0.05
P_RETURN = 0.025
P_MERGE = 0.01
MERGE_WITHIN = dt.timedelta(days=30)
P_RETURN_IN_PROGRESS = 0.005
P_CLASSIFY = 0.04
P_INFO = 0.025
P_INFO_ANSWERED = 0.8
P_COMMENT = 0.02
P_UNPUBLISH = 0.004
P_EXTENSION_WHEN_LATE = {Severity.URGENT: 0.05, Severity.NORMAL: 0.35, Severity.COMPLEX: 0.6}
P_EXTENSION_APPROVED = 0.85
EXTENSION_DAYS = {Severity.URGENT: (1,), Severity.NORMAL: (2, 3, 5), Severity.COMPLEX: (5, 7, 10)}
P_RATED = 0.62
P_REOPEN = 0.35
P_REVIEW_CLOSED = 0.55
MAX_REOPENINGS = 2
P_AFTER_HOURS = 0.06  # staff who act in the evening or at the weekend

# Median working hours of each action for an average agency (log-normal around them).
ACCEPT_HOURS = 2.5
TRANSFER_HOURS = 3.0
RETURN_HOURS = 4.0
HUB_HOURS = 2.0
RESOLVE_HOURS = {Severity.URGENT: 2.0, Severity.NORMAL: 20.0, Severity.COMPLEX: 40.0}
RATING_DELAY_HOURS = 10.0  # calendar hours after the result
INFO_ANSWER_HOURS = 6.0

ESCALATE_EVERY = 300  # seconds between runs of the deadline scan (web.scheduler)
CLOSE_UNRATED_EVERY = 3600  # and of the job that closes unrated results
DUE_SOON = dt.timedelta(hours=deadlines.DUE_SOON_WORKING_HOURS)
# The transition table with plain strings (what the rows hold; no enum reaches a driver).
_TRANSITIONS = {
    str(kind): {str(old): str(new) for old, new in table.items()}
    for kind, table in TRANSITIONS.items()
}


@dataclass(slots=True)
class _Report:
    """One report's row while its timeline is being made."""

    id: int
    category: int
    ward: int
    reporter: int
    submitted: dt.datetime
    severity: str
    status: str = ""
    agency: int | None = None
    duplicate_of: int | None = None
    assigned_at: dt.datetime | None = None
    accepted_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    accept_due: dt.datetime | None = None
    resolve_due: dt.datetime | None = None
    escalation: int = 0
    result_text: str = ""
    rating: str = ""
    rating_comment: str = ""
    rated_at: dt.datetime | None = None
    review_pending: bool = False
    info_requested: bool = False
    is_published: bool = True
    # Time of the last event, and from when the deadline scan has not looked yet.
    t: dt.datetime = field(default=dt.datetime.min.replace(tzinfo=dt.UTC))
    scanned_to: dt.datetime | None = None
    requested_due: dt.datetime | None = None
    request_event: int | None = None
    reopenings: int = 0


class _Stop(Exception):
    """The timeline ends here: the next action falls after the end of the generated
    history, or nothing more happens to the report."""


@dataclass
class Counts:
    residents: int = 0
    reports: int = 0
    events: int = 0
    photos: int = 0
    follows: int = 0
    open311_requests: int = 0


def _iso(moment: dt.datetime | None) -> str | None:
    """A deadline the service has just computed (city time), as its event records it."""
    return moment.isoformat() if moment else None


def _stored_iso(moment: dt.datetime | None) -> str | None:
    """A deadline the service read back from the report row (UTC), as its event records it."""
    return moment.astimezone(dt.UTC).isoformat() if moment else None


class VolumeGenerator:
    """Writes reports for ``residents`` in ``city`` through bulk tables. ``generate`` may be
    called several times (later spans); ``flush`` writes everything generated so far;
    ``close`` (or leaving a ``with`` block) flushes and stops the writer thread."""

    def __init__(
        self,
        city: City,
        residents: Residents,
        *,
        rng: random.Random,
        photos: dict[str, list[PhotoAsset]],
        open311_key: tuple[int, str] | None = None,
    ) -> None:
        self.city, self.residents, self.rng = city, residents, rng
        self.photos = photos
        self.open311_key = open311_key
        self.calendar: WorkingCalendar = city_calendar()
        self.rating_window = deadlines.rating_window()
        self.reports = Table(Report, REPORT_COLUMNS)
        self.events = Table(ReportEvent, EVENT_COLUMNS)
        self.photo_rows = Table(ReportPhoto, PHOTO_COLUMNS)
        self.follows = Table(Follow, FOLLOW_COLUMNS)
        self.open311 = Table(Open311Request, OPEN311_COLUMNS)
        # Foreign-key order: a batch sends the reports before the rows that point at them.
        self.tables = (self.reports, self.events, self.photo_rows, self.follows, self.open311)
        self.writer = BatchWriter(self.tables)
        self.report_id = next_id(Report) - 1
        self.event_id = next_id(ReportEvent) - 1
        self.photo_id = next_id(ReportPhoto) - 1
        self.follow_id = next_id(Follow) - 1
        self.open311_id = next_id(Open311Request) - 1
        self.first_report_id = self.report_id + 1
        self.channels = [str(c) for c, _w in CHANNELS]
        self.channel_cum = list(accumulate(w for _c, w in CHANNELS))
        self.cut = dt.datetime.max.replace(tzinfo=dt.UTC)
        # The latest report of each (category, ward): what a duplicate is merged into.
        self.originals: dict[tuple[int, int], tuple[int, int, dt.datetime]] = {}
        self.followed: set[tuple[int, int]] = set()

    # --- Output ------------------------------------------------------------------------------

    def flush(self) -> None:
        self.writer.send()
        self.writer.wait()

    def close(self, *, send: bool = True) -> None:
        self.writer.close(send=send)

    def __enter__(self) -> VolumeGenerator:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_rest: object) -> None:
        self.close(send=kind is None)

    def counts(self) -> Counts:
        def rows(table: Table) -> int:
            return table.sent + len(table.rows)

        return Counts(
            reports=rows(self.reports),
            events=rows(self.events),
            photos=rows(self.photo_rows),
            follows=rows(self.follows),
            open311_requests=rows(self.open311),
        )

    # --- Reports ------------------------------------------------------------------------------

    def generate(
        self,
        count: int,
        start: dt.datetime,
        end: dt.datetime,
        *,
        tick: Callable[[int], object] = lambda n: None,
    ) -> None:
        """``count`` reports submitted in ``[start, end)``, their timelines cut at ``end``."""
        self.cut = end
        done = 0
        for moment, day in rhythm.moments(count, start, end, self.calendar, self.rng):
            self._report(moment, day.season)
            done += 1
            if done % 1000 == 0:
                tick(1000)
            if any(table.full() for table in self.tables):
                self.writer.send()
        tick(done % 1000)

    def _report(self, submitted: dt.datetime, season: str) -> None:
        rng, city = self.rng, self.city
        self.report_id += 1
        ward = city.pick_ward(rng)
        category = city.pick_category(rng, ward, season)
        info = city.categories[category]
        r = _Report(
            id=self.report_id,
            category=category,
            ward=ward,
            reporter=self.residents.reporter(rng, submitted),
            submitted=submitted,
            severity=info.category.default_severity,
        )
        with contextlib.suppress(_Stop):
            self._life(r)
        self._scan(r, self.cut)  # the reminders of a deadline still running at the end
        self._write(r)

    def _write(self, r: _Report) -> None:
        rng, city = self.rng, self.city
        info = city.categories[r.category]
        ward = city.wards[r.ward]
        lat, lon, cell = city.pick_point(rng, r.ward)
        channel = self.channels[bisect_right(self.channel_cum, rng.random() * self.channel_cum[-1])]
        if channel == Channel.OPEN311 and self.open311_key is None:
            channel = Channel.APP
        title, description = texts.report_text(rng, info.category.code, info.category.name)
        kind = str(info.kind)
        client_key = ""
        if channel == Channel.APP:
            client_key = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        elif channel == Channel.WEB:
            client_key = uuid.UUID(int=rng.getrandbits(128), version=4).hex
        elif channel == Channel.OPEN311:
            # As open311_request_submit makes them: field feedback titled by the description.
            assert self.open311_key is not None
            kind = str(Kind.FIELD)
            key_id, prefix = self.open311_key
            client_key = f"o311:{prefix}:{uuid.UUID(int=rng.getrandbits(128), version=4).hex}"
            description = f"{title}. {description}"
            title = first_line_title(description)
            token = base64.urlsafe_b64encode(rng.getrandbits(192).to_bytes(24, "big")).decode()
            self.open311_id += 1
            self.open311.add((self.open311_id, r.id, key_id, token, r.submitted))
        self.reports.add(
            (
                r.id,
                uuid.UUID(int=rng.getrandbits(128), version=4),
                kind,
                info.category.pk,
                title,
                description,
                texts.answers(rng, info.questions, r.submitted.date()),
                lat,
                lon,
                texts.address(rng, ward.unit.name),
                ward.unit.pk,
                cell,
                r.reporter,
                rng.random() < SHARE_CONTACT,
                channel,
                client_key,
                r.status,
                r.severity,
                r.agency,
                None,
                r.duplicate_of,
                r.submitted,
                r.assigned_at,
                r.accepted_at,
                r.resolved_at,
                r.closed_at,
                r.accept_due,
                r.resolve_due,
                r.escalation,
                r.result_text,
                r.rating,
                r.rating_comment,
                r.rated_at,
                r.review_pending,
                r.info_requested,
                r.is_published,
            )
        )
        photos = 0
        if info.category.photo_required or rng.random() < SHARE_WITH_PHOTO:
            photos = self._count(PHOTO_COUNTS)
        self._photos(r, "report", photos, r.reporter, r.submitted)
        if r.duplicate_of is None:
            self.originals[(r.category, r.ward)] = (r.id, r.reporter, r.submitted)

    def _count(self, choices: tuple[tuple[int, int], ...]) -> int:
        total = sum(w for _n, w in choices)
        roll = self.rng.random() * total
        for n, weight in choices:
            roll -= weight
            if roll < 0:
                return n
        return choices[-1][0]

    def _photos(self, r: _Report, role: str, count: int, user: int | None, at: dt.datetime) -> None:
        pool = self.photos[role]
        for _ in range(count):
            asset = self.rng.choice(pool)
            self.photo_id += 1
            self.photo_rows.add(
                (
                    self.photo_id,
                    r.id,
                    role,
                    asset.image,
                    asset.thumbnail,
                    asset.width,
                    asset.height,
                    asset.sha256,
                    False,
                    user,
                    at,
                )
            )

    # --- Time ---------------------------------------------------------------------------------

    def _after(self, t: dt.datetime, median_hours: float, speed: float = 1.0) -> dt.datetime:
        """When staff act, ``median_hours`` of working time after ``t`` typically."""
        hours = self.rng.lognormvariate(math.log(median_hours * speed), 0.9)
        delay = dt.timedelta(seconds=max(60, round(hours * 3600)))
        if self.rng.random() < P_AFTER_HOURS:
            return t + delay
        return self.calendar.add_working_time(t, delay)

    def _job_run(self, moment: dt.datetime, every: int) -> dt.datetime:
        """The first run of a periodic job at or after ``moment`` (runs start on the
        scheduler's slots and take a few seconds to reach a report)."""
        slot = math.ceil(moment.timestamp() / every) * every
        return dt.datetime.fromtimestamp(slot + self.rng.randint(1, 30), CITY_TZ)

    def _check(self, at: dt.datetime) -> None:
        if at >= self.cut:
            raise _Stop

    # --- Events -------------------------------------------------------------------------------

    def _emit(
        self,
        r: _Report,
        kind: str,
        at: dt.datetime,
        *,
        actor: int | None = None,
        note: str = "",
        data: dict[str, Any] | None = None,
        public: bool = True,
    ) -> int:
        """Append an event through the transition table (the caller has checked the cut);
        the deadline scan's reminders due before it come first."""
        self._scan(r, at)
        return self._append(r, kind, at, actor=actor, note=note, data=data, public=public)

    def _append(
        self,
        r: _Report,
        kind: str,
        at: dt.datetime,
        *,
        actor: int | None = None,
        note: str = "",
        data: dict[str, Any] | None = None,
        public: bool = True,
    ) -> int:
        at = max(at, r.t)
        kind = str(kind)
        new_status = _TRANSITIONS[kind][r.status]
        self.event_id += 1
        self.events.add(
            (
                self.event_id,
                r.id,
                kind,
                r.status,
                new_status,
                actor,
                r.agency,
                note,
                data or {},
                public,
                at,
            )
        )
        r.status = new_status
        r.t = at
        return self.event_id

    def _scan(self, r: _Report, until: dt.datetime) -> None:
        """What ``services.reports_escalate`` writes between the last event and ``until``:
        level 1 when the running deadline comes within two working hours, level 2 once it
        has passed; once per level and deadline."""
        since = r.scanned_to or r.t
        r.scanned_to = max(since, until)
        if r.status == S.ASSIGNED:
            due, which = r.accept_due, "accept"
        elif r.status == S.IN_PROGRESS:
            due, which = r.resolve_due, "resolve"
        else:
            return
        if due is None or r.escalation >= 2:
            return
        limit = min(until, self.cut)
        data = {"deadline": which, "due": _stored_iso(due)}
        if r.escalation < 1:
            left = self.calendar.working_time_between(since, due)
            soon = (
                since
                if left <= DUE_SOON
                else self.calendar.add_working_time(since, left - DUE_SOON)
            )
            at = self._job_run(max(since, soon), ESCALATE_EVERY)
            if at >= limit:
                return
            level = 2 if at > due else 1
            self._append(r, E.ESCALATED, at, data={"level": level, **data}, public=False)
            r.escalation = level
            if level == 2:
                return
        at = self._job_run(max(since, due), ESCALATE_EVERY)
        if at < limit:
            self._append(r, E.ESCALATED, at, data={"level": 2, **data}, public=False)
            r.escalation = 2

    def _deadlines_restart(self, r: _Report, at: dt.datetime) -> None:
        """A new running deadline from ``at``: the scan starts over (escalation level 0)."""
        r.escalation = 0
        r.scanned_to = at

    def _assign(self, r: _Report, agency: int, at: dt.datetime, accept_due: dt.datetime) -> None:
        """``services._assign_to``."""
        r.agency = agency
        r.assigned_at = at
        r.accepted_at = None
        r.resolve_due = None
        r.accept_due = accept_due
        self._deadlines_restart(r, at)

    # --- The timeline -------------------------------------------------------------------------

    def _life(self, r: _Report) -> None:
        city, category = self.city, self.city.categories[r.category].category
        self._append(r, E.SUBMITTED, r.submitted, actor=r.reporter)
        routing = city.routing(r.category, r.ward)
        data: dict[str, Any] = {"reason": routing.reason, "rules": list(routing.rules)}
        if routing.agency is None:
            self._append(r, E.TRIAGE, r.submitted, note=routing.note, data=data)
            if not self._hub_places(r, r.submitted, returned_from=None):
                return
        else:
            due = deadlines.accept_deadline(category, r.submitted)
            data.update(agency=city.agency_codes[routing.agency], accept_due=_iso(due))
            self._assign(r, routing.agency, r.submitted, due)
            self._append(r, E.ROUTED, r.submitted, note=routing.note, data=data)
        self._until_accepted(r)
        self._in_progress(r, first=True)

    def _hub_places(self, r: _Report, t: dt.datetime, *, returned_from: int | None) -> bool:
        """The hub rejects a report in its queue or forwards it (``report_reject``,
        ``report_forward``). True when it went to an agency."""
        rng, city = self.rng, self.city
        at = self._after(t, HUB_HOURS)
        self._check(at)
        p_reject = P_HUB_REJECTS_RETURN if returned_from else P_HUB_REJECTS_TRIAGE
        reason = city.pick_reason(rng) if rng.random() < p_reject else None
        if reason is not None:
            code, text = reason
            note = f"{text}\n{rng.choice(texts.REJECT_NOTES)}".strip()
            self._emit(r, E.REJECTED, at, note=note, data={"reason": code})
            r.closed_at = at
            return False
        target = city.transfer_target(rng, r.category, r.ward, returned_from)
        if target is None:
            return False  # nobody to send it to: it waits in the queue
        if rng.random() < P_HUB_CLASSIFIES:
            self._classify(r, at)
        due = deadlines.accept_deadline(city.categories[r.category].category, at)
        data = {"agency": city.agency_codes[target], "by": "hub", "accept_due": _iso(due)}
        self._assign(r, target, at, due)
        self._emit(r, E.ROUTED, at, data=data)
        return True

    def _classify(self, r: _Report, at: dt.datetime) -> None:
        """``services._classify``: a new severity (and, in progress, a new resolve deadline
        counted from the acceptance)."""
        old = r.severity
        if old == Severity.NORMAL:
            new = str(Severity.COMPLEX if self.rng.random() < 0.7 else Severity.URGENT)
        else:
            new = str(Severity.NORMAL)
        changes: dict[str, Any] = {"severity": [old, new]}
        new_due = r.resolve_due
        if r.status == S.IN_PROGRESS and r.accepted_at is not None:
            category = self.city.categories[r.category].category
            new_due = deadlines.resolve_deadline(category, new, r.accepted_at)
            changes["resolve_due"] = _iso(new_due)
        self._emit(r, E.CLASSIFIED, at, data=changes, public=False)
        r.severity = new
        r.resolve_due = new_due

    def _until_accepted(self, r: _Report) -> None:
        """An assigned report until its agency accepts it: transfers, returns, merges."""
        rng, city = self.rng, self.city
        transfers = 0
        while True:
            assert r.agency is not None and r.assigned_at is not None
            habits = city.habits_of(r.agency)
            start = r.assigned_at
            roll = rng.random()
            if roll < P_TRANSFER and transfers < 2:
                target = city.transfer_target(rng, r.category, r.ward, r.agency)
                if target is not None:
                    at = self._after(start, TRANSFER_HOURS, habits.speed)
                    self._check(at)
                    category = city.categories[r.category].category
                    due = deadlines.accept_deadline(category, at)
                    data = {
                        "from": city.agency_codes[r.agency],
                        "to": city.agency_codes[target],
                        "accept_due": _iso(due),
                    }
                    note = rng.choice(texts.TRANSFER_NOTES)
                    self._emit(r, E.TRANSFERRED, at, note=note, data=data)
                    self._assign(r, target, at, due)
                    transfers += 1
                    continue
            elif roll < P_TRANSFER + P_RETURN:
                at = self._after(start, RETURN_HOURS, habits.speed)
                self._check(at)
                returned_from = self._return(r, at)
                if not self._hub_places(r, at, returned_from=returned_from):
                    raise _Stop  # rejected, or left in the hub's queue
                continue
            elif roll < P_TRANSFER + P_RETURN + P_MERGE and self._merge(r, start):
                raise _Stop  # closed as a duplicate
            if r.is_published and rng.random() < P_UNPUBLISH:
                at = self._after(start, HUB_HOURS)
                self._check(at)
                self._emit(r, E.UNPUBLISHED, at, public=False)
                r.is_published = False
            if rng.random() < habits.neglect:
                raise _Stop  # never accepted: the deadline scan keeps reminding
            at = self._after(max(start, r.t), ACCEPT_HOURS, habits.speed)
            self._check(at)
            category = city.categories[r.category].category
            due = deadlines.resolve_deadline(category, r.severity, at)
            self._emit(r, E.ACCEPTED, at, data={"resolve_due": _iso(due)})
            r.accepted_at = at
            r.resolve_due = due
            self._deadlines_restart(r, at)
            return

    def _return(self, r: _Report, at: dt.datetime) -> int | None:
        """``report_return_to_hub``: the agency gives it back; returns that agency."""
        old = r.agency
        self._emit(r, E.RETURNED, at, note=self.rng.choice(texts.RETURN_NOTES), public=False)
        r.agency = None
        r.accept_due = None
        r.resolve_due = None
        r.accepted_at = None
        return old

    def _merge(self, r: _Report, start: dt.datetime) -> bool:
        """``report_merge``: the hub closes the report as a duplicate of an earlier one."""
        found = self.originals.get((r.category, r.ward))
        if found is None or r.submitted - found[2] > MERGE_WITHIN:
            return False
        original, original_reporter, _submitted = found
        at = self._after(start, HUB_HOURS)
        self._check(at)
        self._emit(r, E.MERGED, at, data={"original": original})
        r.duplicate_of = original
        r.closed_at = at
        if r.reporter != original_reporter and (original, r.reporter) not in self.followed:
            self.followed.add((original, r.reporter))
            self.follow_id += 1
            self.follows.add((self.follow_id, original, r.reporter, at))
        return True

    def _in_progress(self, r: _Report, *, first: bool) -> None:
        """From acceptance (or a reopening) to the result, its rating and what follows."""
        rng, city = self.rng, self.city
        info = city.categories[r.category]
        assert r.agency is not None
        habits = city.habits_of(r.agency)
        start = r.t
        if first and rng.random() < P_RETURN_IN_PROGRESS:
            at = self._after(start, RETURN_HOURS, habits.speed)
            self._check(at)
            returned_from = self._return(r, at)
            if self._hub_places(r, at, returned_from=returned_from):
                self._until_accepted(r)
                self._in_progress(r, first=False)
            return
        resolve_at = self._after(start, RESOLVE_HOURS[Severity(r.severity)], habits.speed)
        stuck = rng.random() < habits.neglect
        steps: list[tuple[dt.datetime, Callable[[dt.datetime], object]]] = []
        if first and rng.random() < P_CLASSIFY:
            steps.append((self._after(start, 1.5), lambda at: self._classify(r, at)))
        if rng.random() < P_INFO:
            asked = self._after(start, 3.0, habits.speed)
            steps.append((asked, lambda at: self._ask(r, at)))
            if rng.random() < P_INFO_ANSWERED:
                hours = rng.lognormvariate(math.log(INFO_ANSWER_HOURS), 1.0)
                answered = asked + dt.timedelta(seconds=round(hours * 3600))
                steps.append((answered, lambda at: self._answer(r, at)))
                resolve_at = max(resolve_at, self._after(answered, 4.0, habits.speed))
            else:
                stuck = stuck or rng.random() < 0.5
                resolve_at = max(resolve_at, self._after(asked, 8.0, habits.speed))
        if rng.random() < P_COMMENT:
            note = rng.choice(texts.STAFF_COMMENTS)
            steps.append(
                (
                    self._after(start, 6.0),
                    lambda at: self._emit(r, E.COMMENT, at, note=note, public=False),
                )
            )
        late = r.resolve_due is not None and resolve_at > r.resolve_due
        if late and rng.random() < P_EXTENSION_WHEN_LATE[Severity(r.severity)]:
            assert r.resolve_due is not None
            allowed = self.calendar.working_time_between(start, r.resolve_due)
            asked = self.calendar.add_working_time(start, max(dt.timedelta(0), allowed * 0.7))
            decided = self._after(asked, 4.0)
            days = rng.choice(EXTENSION_DAYS[Severity(r.severity)])
            approve = rng.random() < P_EXTENSION_APPROVED
            steps.append((asked, lambda at: self._ask_extension(r, at, days)))
            steps.append((decided, lambda at: self._decide_extension(r, at, approve)))
            resolve_at = max(resolve_at, self._after(decided, 3.0, habits.speed))
        if not stuck:
            # Nothing of this stint happens after its result.
            steps = [step for step in steps if step[0] < resolve_at]
        steps.sort(key=lambda step: step[0])
        for at, step in steps:
            self._check(at)
            step(at)
        if stuck:
            raise _Stop
        self._check(resolve_at)
        result = texts.result_text(rng, info.category.code)
        self._emit(r, E.RESOLVED, resolve_at, note=result)
        r.result_text = result
        r.resolved_at = r.t
        if info.category.evidence_required:
            self._photos(r, "evidence", self._count(EVIDENCE_COUNTS), None, r.t)
        late = r.resolve_due is not None and r.t > r.resolve_due
        self._after_result(r, late=late)

    def _ask(self, r: _Report, at: dt.datetime) -> None:
        self._emit(r, E.INFO_REQUESTED, at, note=self.rng.choice(texts.INFO_QUESTIONS))
        r.info_requested = True

    def _answer(self, r: _Report, at: dt.datetime) -> None:
        self._emit(
            r, E.INFO_PROVIDED, at, actor=r.reporter, note=self.rng.choice(texts.INFO_ANSWERS)
        )
        r.info_requested = False

    def _ask_extension(self, r: _Report, at: dt.datetime, days: int) -> None:
        """``report_request_extension``: counted from the deadline running then."""
        assert r.resolve_due is not None
        requested = deadline_after(r.resolve_due, working_days=days)
        data = {"working_days": days, "requested_due": requested.isoformat()}
        note = self.rng.choice(texts.EXTENSION_REASONS)
        r.request_event = self._emit(
            r, E.EXTENSION_REQUESTED, at, note=note, data=data, public=False
        )
        r.requested_due = requested

    def _decide_extension(self, r: _Report, at: dt.datetime, approve: bool) -> None:
        """``report_decide_extension``."""
        old = r.resolve_due
        data = {
            "request": r.request_event,
            "old_due": _stored_iso(old),
            "new_due": _iso(r.requested_due) if approve else None,
        }
        kind = E.EXTENSION_APPROVED if approve else E.EXTENSION_REFUSED
        self._emit(r, kind, at, data=data, public=approve)
        if approve:
            r.resolve_due = r.requested_due
            self._deadlines_restart(r, at)

    def _after_result(self, r: _Report, *, late: bool) -> None:
        """The resident rates within the window, or the hourly job closes it unrated; a
        "not satisfied" goes to the hub's review."""
        rng, city = self.rng, self.city
        assert r.resolved_at is not None and r.agency is not None
        habits = city.habits_of(r.agency)
        if rng.random() < P_RATED:
            hours = rng.lognormvariate(math.log(RATING_DELAY_HOURS), 1.2)
            delay = dt.timedelta(seconds=max(60, round(hours * 3600)))
            if delay < self.rating_window:
                at = r.resolved_at + delay
                self._check(at)
                value = self._rating(habits.quality, late=late, reopened=r.reopenings > 0)
                comment = ""
                if rng.random() < (0.7 if value == RatingValue.NOT_SATISFIED else 0.3):
                    comment = rng.choice(texts.RATING_COMMENTS[value])
                self._emit(r, E.RATED, at, actor=r.reporter, note=comment, data={"rating": value})
                r.rating, r.rating_comment, r.rated_at, r.closed_at = value, comment, at, at
                r.review_pending = value == RatingValue.NOT_SATISFIED
                if r.review_pending:
                    self._review(r, at)
                return
        at = self._job_run(r.resolved_at + self.rating_window, CLOSE_UNRATED_EVERY)
        self._check(at)
        self._emit(r, E.CLOSED, at, data={"unrated": True})
        r.closed_at = at

    def _rating(self, quality: float, *, late: bool, reopened: bool) -> str:
        satisfied = 1.1 + quality - (0.4 if late else 0) + (0.5 if reopened else 0)
        not_satisfied = -0.8 - quality + (0.9 if late else 0)
        weights = (math.exp(satisfied), math.exp(0.35), math.exp(not_satisfied))
        roll = self.rng.random() * sum(weights)
        if roll < weights[0]:
            return str(RatingValue.SATISFIED)
        if roll < weights[0] + weights[1]:
            return str(RatingValue.ACCEPTABLE)
        return str(RatingValue.NOT_SATISFIED)

    def _review(self, r: _Report, rated: dt.datetime) -> None:
        """The hub reviews a "not satisfied": ``report_reopen`` or ``report_review_close``."""
        rng = self.rng
        at = self._after(rated, 6.0)
        roll = rng.random()
        if roll < P_REOPEN and r.reopenings < MAX_REOPENINGS:
            self._check(at)
            category = self.city.categories[r.category].category
            due = deadlines.resolve_deadline(category, r.severity, at)
            note = rng.choice(texts.REOPEN_NOTES)
            self._emit(r, E.REOPENED, at, note=note, data={"resolve_due": _iso(due)})
            r.review_pending = False
            r.closed_at = None
            r.resolved_at = None
            r.resolve_due = due
            r.reopenings += 1
            self._deadlines_restart(r, at)
            self._in_progress(r, first=False)
        elif roll < P_REOPEN + P_REVIEW_CLOSED:
            self._check(at)
            self._emit(r, E.REVIEW_CLOSED, at, note=rng.choice(texts.REVIEW_CLOSE_NOTES))
            r.review_pending = False
