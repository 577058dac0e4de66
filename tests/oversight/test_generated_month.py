"""A generated month (March 2026, ~80 reports with transfers, returns, extensions,
ratings, reopenings) against an independent count.

The test acts through the feedback services and keeps its own book as it goes: who held
each report, and which deadline the services wrote on the report row after each action
(``accept_due_at``, ``resolve_due_at``). The roll-ups instead replay the event table and
recompute the deadlines; the two must agree on every counter, for the month, each week
and some days, and on the medians within the histograms' precision.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict

import pytest

from ihanoi.feedback import services
from ihanoi.feedback.models import RejectionReason, Report
from ihanoi.oversight import selectors
from ihanoi.oversight.metrics import COUNTER_FIELDS, exact_percentile
from ihanoi.oversight.periods import Period, PeriodKind, local_day
from ihanoi.oversight.selectors import CITY, Filters
from ihanoi.oversight.services import rollup_run
from ihanoi.workcalendar.selectors import city_calendar
from tests.oversight.conftest import CUA_NAM, HOAN_KIEM_LAKE, at, submit

H = dt.timedelta(hours=1)
END = at("2026-04-15", "10:00")


class Book:
    """The test's own count: counters per (agency id, local day), duration samples."""

    def __init__(self) -> None:
        self.counts: dict[tuple[int | None, dt.date], Counter[str]] = defaultdict(Counter)
        self.samples: dict[tuple[int, str], list[tuple[dt.date, float]]] = defaultdict(list)

    def add(self, agency: int | None, when: dt.datetime, *names: str) -> None:
        for name in names:
            self.counts[(agency, local_day(when))][name] += 1

    def sample(self, agency: int, name: str, when: dt.datetime, seconds: float) -> None:
        self.samples[(agency, name)].append((local_day(when), seconds))

    def period(self, period: Period) -> dict[int | None, Counter[str]]:
        result: dict[int | None, Counter[str]] = defaultdict(Counter)
        for (agency, day), counter in self.counts.items():
            if period.contains(day):
                result[agency].update(counter)
        return result


class Life:
    """One report, acted on through the services, booked by the test."""

    def __init__(self, world, book: Book, report: Report, when: dt.datetime, photo) -> None:
        self.w, self.book, self.photo = world, book, report
        self.report = report
        self.photo = photo
        self.holder = report.agency_id
        self.phase = "accept"
        self.start = when
        self.due = report.accept_due_at
        book.add(None, when, "submitted")
        book.add(self.holder, when, "received")

    def lead(self):
        return self.w.hk_lead if self.holder == self.w.hk_committee.pk else self.cn_lead

    def officer(self):
        return self.w.hk_officer if self.holder == self.w.hk_committee.pk else self.w.cn_officer

    def _left(self, when: dt.datetime) -> None:
        if self.phase in ("accept", "resolve") and when > self.due:
            self.book.add(self.holder, when, f"{self.phase}_decided")

    def transfer(self, when: dt.datetime, to) -> None:
        self._left(when)
        self.book.add(self.holder, when, "transferred_out")
        self.report = services.report_transfer(
            actor=self.lead(), report=self.report, agency=to, note="Chuyển.", now=when
        )
        self.holder, self.phase, self.start = to.pk, "accept", when
        self.due = self.report.accept_due_at
        self.book.add(to.pk, when, "received", "received_by_transfer")

    def give_back(self, when: dt.datetime) -> None:
        self._left(when)
        self.book.add(self.holder, when, "returned")
        self.report = services.report_return_to_hub(
            actor=self.officer(), report=self.report, note="Không thuộc thẩm quyền.", now=when
        )
        self.holder, self.phase = None, None

    def forward(self, when: dt.datetime, to) -> None:
        self.report = services.report_forward(
            actor=self.w.hub_operator, report=self.report, agency=to, now=when
        )
        self.holder, self.phase, self.start = to.pk, "accept", when
        self.due = self.report.accept_due_at
        self.book.add(to.pk, when, "received")

    def reject(self, when: dt.datetime) -> None:
        reason = RejectionReason.objects.filter(is_active=True).first()
        services.report_reject(
            actor=self.w.hub_operator, report=self.report, reason=reason, now=when
        )
        self.book.add(None, when, "rejected")

    def accept(self, when: dt.datetime) -> None:
        names = ["accept_decided", "accepted"] + (["accept_on_time"] if when <= self.due else [])
        self.book.add(self.holder, when, *names)
        self._durations("accept", when)
        self.report = services.report_accept(actor=self.officer(), report=self.report, now=when)
        self.phase, self.start, self.due = "resolve", when, self.report.resolve_due_at

    def extend(self, asked: dt.datetime, decided: dt.datetime) -> None:
        self.report = services.report_request_extension(
            actor=self.officer(),
            report=self.report,
            working_days=2,
            reason="Cần thêm thời gian.",
            now=asked,
        )
        self.report = services.report_decide_extension(
            actor=self.w.hub_operator, report=self.report, approve=True, now=decided
        )
        self.due = self.report.resolve_due_at
        self.book.add(self.holder, decided, "extensions")

    def resolve(self, when: dt.datetime) -> None:
        names = ["resolve_decided", "resolved"] + (["resolve_on_time"] if when <= self.due else [])
        self.book.add(self.holder, when, *names)
        self._durations("resolve", when)
        self.report = services.report_resolve(
            actor=self.officer(),
            report=self.report,
            result="Đã xử lý.",
            photos=[self.photo],
            now=when,
        )
        self.phase = None

    def rate(self, when: dt.datetime, value: str) -> None:
        self.report = services.rating_submit(
            actor=self.w.resident, report=self.report, value=value, now=when
        )
        self.book.add(self.holder, when, "rated", value)

    def reopen(self, when: dt.datetime) -> None:
        self.report = services.report_reopen(
            actor=self.w.hub_operator, report=self.report, note="Xử lý lại.", now=when
        )
        self.book.add(self.holder, when, "reopened")
        self.phase, self.start, self.due = "resolve", when, self.report.resolve_due_at

    def _durations(self, prefix: str, when: dt.datetime) -> None:
        working = city_calendar().working_time_between(self.start, when).total_seconds()
        self.book.sample(self.holder, f"{prefix}_work", when, working)
        self.book.sample(
            self.holder, f"{prefix}_calendar", when, (when - self.start).total_seconds()
        )


def _generate(world, cn_lead, photo, *, reports: int = 80, seed: int = 2026) -> Book:
    rng = random.Random(seed)
    book = Book()
    agencies = {
        world.hk_committee.pk: world.cn_committee,
        world.cn_committee.pk: world.hk_committee,
    }

    def later(when: dt.datetime, low: float, high: float) -> dt.datetime:
        return when + dt.timedelta(minutes=rng.randint(int(low * 60), int(high * 60)))

    for _ in range(reports):
        day = dt.date(2026, 3, 1) + dt.timedelta(days=rng.randint(0, 27))
        when = at(day.isoformat(), f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}")
        where = HOAN_KIEM_LAKE if rng.random() < 0.6 else CUA_NAM
        life = Life(world, book, submit(world, when, where=where, photo=photo), when, photo)
        life.cn_lead = cn_lead
        when = later(when, 0.2, 20)
        if rng.random() < 0.12:
            life.transfer(when, agencies[life.holder])
            when = later(when, 0.2, 20)
        if rng.random() < 0.08:
            life.give_back(when)
            when = later(when, 0.5, 5)
            if rng.random() < 0.5:
                life.reject(when)
                continue
            life.forward(when, rng.choice(list(agencies.values())))
            when = later(when, 0.2, 20)
        if rng.random() < 0.1:
            continue  # never accepted
        life.accept(when)
        if rng.random() < 0.1:
            asked = later(when, 24, 72)
            life.extend(asked, later(asked, 1, 6))
            when = later(asked, 6, 8)
        when = later(when, 2, 240)
        if rng.random() < 0.12:
            continue  # still in progress
        life.resolve(when)
        if rng.random() < 0.3:
            continue  # left unrated, closed at the end
        when = later(when, 1, 48)
        value = rng.choice(["satisfied", "acceptable", "not_satisfied"])
        life.rate(when, value)
        if value == "not_satisfied" and rng.random() < 0.6:
            when = later(when, 1, 24)
            life.reopen(when)
            when = later(when, 2, 100)
            life.resolve(when)
    closing = Report.objects.filter(status="resolved").values_list("pk", "agency_id")
    for _pk, agency in list(closing):
        book.add(agency, END, "closed_unrated")
    services.reports_close_unrated(now=END)
    return book


@pytest.fixture
def month(world, cn_lead, photo):
    book = _generate(world, cn_lead, photo)
    rollup_run()
    return book


def _periods() -> list[Period]:
    periods = [Period.around(PeriodKind.MONTH, dt.date(2026, 3, 1))]
    periods += [Period.around(PeriodKind.WEEK, dt.date(2026, 3, d)) for d in (2, 9, 16, 23, 30)]
    periods += [Period.around(PeriodKind.DAY, dt.date(2026, 3, d)) for d in (1, 2, 7, 13, 31)]
    periods.append(Period.custom(dt.date(2026, 3, 10), dt.date(2026, 4, 20)))
    return periods


def test_every_counter_matches_the_independent_count(world, month):
    # The generated month has every kind of event the definitions care about.
    march = Counter()
    for counter in month.period(_periods()[0]).values():
        march.update(counter)
    for name in ("transferred_out", "returned", "rejected", "extensions", "reopened"):
        assert march[name] > 0, name
    assert 0 < march["accept_on_time"] < march["accept_decided"]
    assert 0 < march["resolve_on_time"] < march["resolve_decided"]
    for period in _periods():
        expected = month.period(period)
        stats = selectors.agency_stats(Filters(period), CITY)
        for agency in {*expected, *stats}:
            want = expected.get(agency, Counter())
            got = stats.get(agency)
            for name in COUNTER_FIELDS:
                value = got.get(name) if got else 0
                assert value == want[name], (period, agency, name)


def test_medians_match_within_the_histogram_precision(world, month):
    march = Period.around(PeriodKind.MONTH, dt.date(2026, 3, 1))
    stats = selectors.agency_stats(Filters(march), CITY)
    for (agency, name), samples in month.samples.items():
        values = [seconds for day, seconds in samples if march.contains(day)]
        if not values:
            continue
        for p in (0.5, 0.9):
            exact = exact_percentile(values, p)
            got = stats[agency].percentile(name, p)
            assert abs(got - exact) <= 0.011 * exact + 1, (agency, name, p, got, exact)


def test_overdue_now_matches_the_reports_flags(world, month):
    now = END
    expected = Counter(r.agency_id for r in Report.objects.all() if r.is_overdue(now))
    got = selectors.overdue_by_agency(
        Filters(Period.around(PeriodKind.MONTH, dt.date(2026, 4, 1))), CITY, now=now
    )
    assert {k: v.count for k, v in got.items()} == dict(expected)
    assert sum(expected.values()) > 0


def test_the_ranking_orders_by_the_wilson_lower_bound(world, month):
    from ihanoi.oversight.metrics import wilson

    march = Period.around(PeriodKind.MONTH, dt.date(2026, 3, 1))
    expected = month.period(march)
    bounds = {
        agency: wilson(c["resolve_on_time"], c["resolve_decided"])[0]
        for agency, c in expected.items()
        if agency is not None and c["resolve_decided"] >= 5
    }
    result = selectors.ranking(Filters(march), CITY, metric="resolve_on_time", min_sample=5)
    assert [r.agency.pk for r in result.ranked] == sorted(bounds, key=lambda a: -bounds[a])
    for row in result.ranked:
        assert row.rate.low == pytest.approx(bounds[row.agency.pk])
    high = selectors.ranking(Filters(march), CITY, metric="resolve_on_time", min_sample=10**6)
    assert high.ranked == [] and len(high.too_few) == len(bounds)
