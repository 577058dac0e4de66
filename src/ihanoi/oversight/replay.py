"""From a report's timeline to facts: what each event decided, for which agency.

The replay walks one report's events in the order they were appended (event id) and keeps
the state the services kept: which agency holds the report since when, which deadline is
running. It emits facts only for the events asked for, but every fact depends only on the
events before it, so replaying a report again (a later batch, a rebuild) gives the same
facts for the same events: this is what makes the roll-ups idempotent.

Deadlines: events do not record the deadline that was set (only extensions and escalations
carry one), so the replay recomputes it as ``feedback.services`` did: a fresh accept
deadline from each assignment (routing or transfer), a resolve deadline from acceptance, a
new one from a reopening or a change of severity while in progress, the new deadline of an
approved extension. A deadline given in the event's data (``accept_due``/``resolve_due``)
wins, should the services start recording it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ihanoi.feedback import deadlines
from ihanoi.feedback.models import Category
from ihanoi.feedback.models import EventKind as E
from ihanoi.feedback.models import Status as S
from ihanoi.lib.worktime import WorkingCalendar

from .metrics import bucket_of
from .models import FactKind, RatingOutcome
from .periods import local_day


@dataclass(frozen=True, slots=True)
class ReportInfo:
    id: int
    category_id: int
    ward_id: int
    severity: str
    reporter_id: int
    h3_cell: str


@dataclass(frozen=True, slots=True)
class EventRow:
    id: int
    report_id: int
    kind: str
    from_status: str
    to_status: str
    agency_id: int | None
    data: dict[str, Any]
    created_at: dt.datetime


EVENT_FIELDS = (
    "id",
    "report_id",
    "kind",
    "from_status",
    "to_status",
    "agency_id",
    "data",
    "created_at",
)
REPORT_FIELDS = ("id", "category_id", "ward_id", "severity", "reporter_id", "h3_cell")


@dataclass(slots=True)
class FactRow:
    event_id: int
    report_id: int
    kind: str
    at: dt.datetime
    day: dt.date
    agency_id: int | None
    category_id: int
    ward_id: int
    severity: str
    on_time: bool | None = None
    done: bool | None = None
    due_at: dt.datetime | None = None
    via_transfer: bool = False
    rating: str = ""
    work_seconds: int | None = None
    calendar_seconds: int | None = None
    # Not stored on the fact; the map and adoption tables read them from SUBMIT facts.
    reporter_id: int = 0
    h3_cell: str = ""

    def counters(self) -> tuple[tuple[str, ...], tuple[tuple[str, int], ...]]:
        """The counters this fact adds one to, and the (histogram, seconds) it adds."""
        kind = self.kind
        if kind == FactKind.RECEIVE:
            return (
                ("received", "received_by_transfer") if self.via_transfer else ("received",)
            ), ()
        if kind in (FactKind.ACCEPT, FactKind.RESOLVE):
            prefix = "accept" if kind == FactKind.ACCEPT else "resolve"
            names = [f"{prefix}_decided"]
            if self.on_time:
                names.append(f"{prefix}_on_time")
            hists: tuple[tuple[str, int], ...] = ()
            if self.done:
                names.append("accepted" if prefix == "accept" else "resolved")
                hists = (
                    (f"{prefix}_work", self.work_seconds or 0),
                    (f"{prefix}_calendar", self.calendar_seconds or 0),
                )
            return tuple(names), hists
        if kind == FactKind.RATING:
            if self.rating == RatingOutcome.UNRATED:
                return ("closed_unrated",), ()
            return ("rated", self.rating), ()
        return (_SIMPLE_COUNTER[kind],), ()


_SIMPLE_COUNTER: dict[str, str] = {
    FactKind.SUBMIT: "submitted",
    FactKind.TRANSFER_OUT: "transferred_out",
    FactKind.RETURN: "returned",
    FactKind.REJECT: "rejected",
    FactKind.MERGE: "merged",
    FactKind.EXTENSION: "extensions",
    FactKind.REOPEN: "reopened",
}


def hist_buckets(fact: FactRow) -> Iterable[tuple[str, int]]:
    for name, seconds in fact.counters()[1]:
        yield name, bucket_of(seconds)


@dataclass
class Context:
    """Lookups shared by the replay of many reports (one run)."""

    agency_by_code: dict[str, int]
    category_by_code: dict[str, int]
    categories: dict[int, Category]
    calendar: WorkingCalendar

    @classmethod
    def load(cls) -> Context:
        from ihanoi.agencies.models import Agency
        from ihanoi.workcalendar.selectors import city_calendar

        categories = {c.pk: c for c in Category.objects.all()}
        return cls(
            agency_by_code=dict(Agency.objects.values_list("code", "pk")),
            category_by_code={c.code: c.pk for c in categories.values()},
            categories=categories,
            calendar=city_calendar(),
        )


def _parse_due(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


_ACCEPT_PHASE = "accept"
_RESOLVE_PHASE = "resolve"


def _initial_classification(
    report: ReportInfo, events: Sequence[EventRow], ctx: Context
) -> tuple[int, str]:
    """The category and severity the report had at submission: the "before" value of the
    first reclassification of each, else the current one."""
    category_id, severity = report.category_id, report.severity
    found_category = found_severity = False
    for event in events:
        if event.kind != E.CLASSIFIED:
            continue
        if not found_category and "category" in event.data:
            old = ctx.category_by_code.get(event.data["category"][0])
            if old is not None:
                category_id = old
            found_category = True
        if not found_severity and "severity" in event.data:
            severity = event.data["severity"][0]
            found_severity = True
        if found_category and found_severity:
            break
    return category_id, severity


class _Replay:
    """The state the services keep on a report, rebuilt event by event."""

    def __init__(self, report: ReportInfo, ctx: Context, category_id: int, severity: str):
        self.report = report
        self.ctx = ctx
        self.category_id = category_id
        self.severity = severity
        self.facts: list[FactRow] = []
        self.phase: str | None = None
        self.holder: int | None = None
        self.stint_start: dt.datetime | None = None
        self.accept_due: dt.datetime | None = None
        self.accepted_at: dt.datetime | None = None
        self.resolve_start: dt.datetime | None = None
        self.resolve_due: dt.datetime | None = None
        # The event being replayed, and whether its facts are wanted.
        self.event: EventRow | None = None
        self.emit = False

    @property
    def category(self) -> Category:
        return self.ctx.categories[self.category_id]

    def fact(self, kind: str, agency_id: int | None, **values: Any) -> None:
        if not self.emit:
            return
        event = self.event
        assert event is not None
        self.facts.append(
            FactRow(
                event_id=event.id,
                report_id=self.report.id,
                kind=kind,
                at=event.created_at,
                day=local_day(event.created_at),
                agency_id=agency_id,
                category_id=self.category_id,
                ward_id=self.report.ward_id,
                severity=self.severity,
                reporter_id=self.report.reporter_id,
                h3_cell=self.report.h3_cell,
                **values,
            )
        )

    def durations(self, start: dt.datetime | None, end: dt.datetime) -> dict[str, int]:
        if start is None:
            return {}
        working = self.ctx.calendar.working_time_between(start, end)
        return {
            "work_seconds": round(working.total_seconds()),
            "calendar_seconds": round((end - start).total_seconds()),
        }

    def leave(self, agency_id: int | None, at: dt.datetime) -> None:
        """The item leaves ``agency_id`` (transfer, return): a deadline it let pass counts
        as missed; one still running is not counted (passing on, in time, an item that is
        not yours is what the rules ask)."""
        if self.phase == _ACCEPT_PHASE and self.accept_due is not None and at > self.accept_due:
            self.fact(FactKind.ACCEPT, agency_id, on_time=False, done=False, due_at=self.accept_due)
        elif (
            self.phase == _RESOLVE_PHASE and self.resolve_due is not None and at > self.resolve_due
        ):
            self.fact(
                FactKind.RESOLVE, agency_id, on_time=False, done=False, due_at=self.resolve_due
            )

    def start_stint(self, holder: int | None, at: dt.datetime, data: dict[str, Any]) -> None:
        """A fresh accept deadline from the agency's own assignment (services._assign_to)."""
        self.holder = holder
        self.phase, self.stint_start = _ACCEPT_PHASE, at
        self.accept_due = _parse_due(data.get("accept_due")) or deadlines.accept_deadline(
            self.category, at
        )
        self.accepted_at = self.resolve_start = self.resolve_due = None

    def start_resolving(self, at: dt.datetime, data: dict[str, Any]) -> None:
        self.phase, self.resolve_start = _RESOLVE_PHASE, at
        self.resolve_due = _parse_due(data.get("resolve_due")) or deadlines.resolve_deadline(
            self.category, self.severity, at
        )

    def step(self, event: EventRow, emit: bool) -> None:
        self.event, self.emit = event, emit
        at = event.created_at
        data = event.data or {}
        kind = event.kind
        if kind == E.SUBMITTED:
            self.fact(FactKind.SUBMIT, event.agency_id)
        elif kind == E.CLASSIFIED:
            self.classify(event, data)
        elif kind == E.ROUTED:
            holder = event.agency_id or self.ctx.agency_by_code.get(data.get("agency") or "")
            self.start_stint(holder, at, data)
            self.fact(FactKind.RECEIVE, holder)
        elif kind == E.TRANSFERRED:
            # The sender's deadline is judged at the transfer; the receiver starts afresh.
            self.leave(event.agency_id, at)
            self.fact(FactKind.TRANSFER_OUT, event.agency_id)
            receiver = self.ctx.agency_by_code.get(data.get("to") or "")
            self.start_stint(receiver, at, data)
            self.fact(FactKind.RECEIVE, receiver, via_transfer=True)
        elif kind == E.RETURNED:
            self.leave(event.agency_id, at)
            self.fact(FactKind.RETURN, event.agency_id)
            self.phase = self.holder = None
        elif kind == E.ACCEPTED:
            self.fact(
                FactKind.ACCEPT,
                event.agency_id,
                on_time=self.accept_due is None or at <= self.accept_due,
                done=True,
                due_at=self.accept_due,
                **self.durations(self.stint_start, at),
            )
            self.accepted_at = at
            self.start_resolving(at, data)
        elif kind == E.RESOLVED:
            self.fact(
                FactKind.RESOLVE,
                event.agency_id,
                on_time=self.resolve_due is None or at <= self.resolve_due,
                done=True,
                due_at=self.resolve_due,
                **self.durations(self.resolve_start, at),
            )
            self.phase = None
        elif kind == E.EXTENSION_APPROVED:
            new_due = _parse_due(data.get("new_due"))
            if new_due is not None:
                self.resolve_due = new_due
            self.fact(FactKind.EXTENSION, event.agency_id)
        elif kind == E.MERGED:
            # The hub closes a duplicate: no deadline of the agency is decided by it.
            self.phase = None
            self.fact(FactKind.MERGE, event.agency_id)
        elif kind == E.REJECTED:
            self.fact(FactKind.REJECT, event.agency_id)
        elif kind == E.RATED:
            rating = data.get("rating")
            if rating in RatingOutcome.values and rating != RatingOutcome.UNRATED:
                self.fact(FactKind.RATING, event.agency_id, rating=rating)
        elif kind == E.CLOSED:
            if data.get("unrated"):
                self.fact(FactKind.RATING, event.agency_id, rating=RatingOutcome.UNRATED)
        elif kind == E.REOPENED:
            self.fact(FactKind.REOPEN, event.agency_id)
            if event.to_status == S.IN_PROGRESS:
                # Handled again by the same agency, on a new resolve deadline.
                self.start_resolving(at, data)
            else:
                self.phase = None

    def classify(self, event: EventRow, data: dict[str, Any]) -> None:
        if "category" in data:
            new_category = self.ctx.category_by_code.get(data["category"][1])
            if new_category is not None:
                self.category_id = new_category
        if "severity" in data:
            self.severity = data["severity"][1]
            # report_classify: a new severity while in progress recomputes the resolve
            # deadline from the acceptance.
            if (
                self.phase == _RESOLVE_PHASE
                and event.to_status == S.IN_PROGRESS
                and self.accepted_at is not None
            ):
                self.resolve_due = _parse_due(data.get("resolve_due")) or (
                    deadlines.resolve_deadline(self.category, self.severity, self.accepted_at)
                )


def replay(
    report: ReportInfo,
    events: Sequence[EventRow],
    *,
    wanted: Container[int],
    ctx: Context,
) -> list[FactRow]:
    """The facts of the events in ``wanted``; ``events`` is the report's whole timeline
    (or at least everything up to the last wanted event), in id order."""
    category_id, severity = _initial_classification(report, events, ctx)
    state = _Replay(report, ctx, category_id, severity)
    for event in events:
        state.step(event, event.id in wanted)
    return state.facts
