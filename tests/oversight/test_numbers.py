"""The statistics of a hand-made March against numbers worked out by hand from the events
the test writes (scenario.py), not by the roll-up code:

- a transfer: the sender (Hoàn Kiếm) let its accept deadline (Tue 09:30) pass and is
  charged one late acceptance at the transfer (Tue 10:00); the receiver (Cửa Nam) gets a
  fresh deadline from its own assignment and accepts on time (3 working hours);
- an extension: R3 is resolved on Wed 11 March, after its first deadline (Mon 9 March
  11:30) but before the extended one (Thu 12 March 11:30): on time;
- a reopening: R4 is resolved twice (two decisions, both on time), rated twice, reopened
  once;
- local midnight: R5 at 23:59 on Sunday 1 March belongs to 1 March, R6 at 00:00 on
  Monday to 2 March, although both are 1 March in UTC.
"""

from __future__ import annotations

import datetime as dt

import pytest

from ihanoi.oversight import selectors
from ihanoi.oversight.metrics import exact_percentile, wilson
from ihanoi.oversight.models import Fact, FactKind
from ihanoi.oversight.periods import Period, PeriodKind
from ihanoi.oversight.selectors import CITY, Filters
from ihanoi.oversight.services import rollup_rebuild, rollup_run
from tests.oversight import scenario
from tests.oversight.scenario import NOW, write_march

MARCH = Period.around(PeriodKind.MONTH, dt.date(2026, 3, 1))


@pytest.fixture
def march(world, cn_lead, photo):
    data = write_march(world, cn_lead, photo)
    rollup_run()
    return data


def _close(value, exact):
    """Within the documented precision of the histograms (±1%)."""
    return abs(value - exact) <= 0.011 * exact + 1


def test_each_agency_counts_what_it_decided_in_the_month(world, march):
    stats = selectors.agency_stats(Filters(MARCH), CITY)
    hk = stats[world.hk_committee.pk]
    assert hk.received == 6  # R1–R5, R7 (R5 on 1 March)
    assert hk.received_by_transfer == 0
    assert (hk.accept_decided, hk.accept_on_time, hk.accepted) == (5, 4, 4)  # R2 late
    assert (hk.resolve_decided, hk.resolve_on_time, hk.resolved) == (4, 4, 4)  # R4 twice
    assert (hk.transferred_out, hk.returned, hk.extensions, hk.reopened) == (1, 1, 1, 1)
    assert (hk.rated, hk.satisfied, hk.acceptable, hk.not_satisfied) == (4, 2, 1, 1)
    assert hk.closed_unrated == 0
    assert hk.satisfaction.value == pytest.approx(3 / 4)
    assert hk.reopen_rate.value == pytest.approx(1 / 4)

    cn = stats[world.cn_committee.pk]
    assert (cn.received, cn.received_by_transfer) == (2, 1)
    assert (cn.accept_decided, cn.accept_on_time) == (1, 1)
    assert (cn.resolve_decided, cn.resolve_on_time) == (1, 0)
    assert (cn.rated, cn.closed_unrated) == (0, 1)
    assert cn.rated_share.value == 0

    hub_queue = stats[None]
    assert (hub_queue.submitted, hub_queue.rejected) == (7, 1)


def test_medians_and_90th_percentiles_match_the_hand_counted_durations(world, march):
    stats = selectors.agency_stats(Filters(MARCH), CITY)
    hk = stats[world.hk_committee.pk].durations
    for key, samples in (
        ("accept_work", scenario.HK_ACCEPT_WORK),
        ("resolve_work", scenario.HK_RESOLVE_WORK),
        ("resolve_calendar", scenario.HK_RESOLVE_CALENDAR),
    ):
        for p in (0.5, 0.9):
            exact = exact_percentile(samples.values(), p)
            assert _close(hk[f"{key}_p{int(p * 100)}"], exact), (key, p)
    cn = stats[world.cn_committee.pk].durations
    assert _close(cn["accept_work_p50"], scenario.CN_ACCEPT_WORK["r2"])
    assert _close(cn["resolve_work_p90"], scenario.CN_RESOLVE_WORK["r2"])
    assert _close(cn["resolve_calendar_p50"], scenario.CN_RESOLVE_CALENDAR["r2"])


def test_a_transfer_charges_the_sender_and_gives_the_receiver_a_fresh_deadline(world, march):
    facts = Fact.objects.filter(report=march.r2).order_by("event_id", "kind")
    accept = {(f.agency_id, f.on_time, f.done) for f in facts if f.kind == FactKind.ACCEPT}
    assert accept == {(world.hk_committee.pk, False, False), (world.cn_committee.pk, True, True)}
    receipt = facts.get(kind=FactKind.RECEIVE, via_transfer=True)
    assert receipt.agency == world.cn_committee
    cn_accept = facts.get(kind=FactKind.ACCEPT, agency=world.cn_committee)
    assert cn_accept.work_seconds == scenario.CN_ACCEPT_WORK["r2"]  # from its own receipt


def test_an_extension_is_judged_against_the_extended_deadline(world, march):
    resolve = Fact.objects.get(report=march.r3, kind=FactKind.RESOLVE)
    assert resolve.on_time is True
    assert resolve.due_at == scenario.at("2026-03-12", "11:30")
    assert resolve.work_seconds == scenario.HK_RESOLVE_WORK["r3"]


def test_a_reopened_report_is_a_second_decision_timed_from_the_reopening(world, march):
    resolves = list(
        Fact.objects.filter(report=march.r4, kind=FactKind.RESOLVE).order_by("event_id")
    )
    assert [f.work_seconds for f in resolves] == [
        scenario.HK_RESOLVE_WORK["r4a"],
        scenario.HK_RESOLVE_WORK["r4b"],
    ]
    assert all(f.on_time for f in resolves)
    assert resolves[1].due_at == scenario.at("2026-03-11", "09:00")


def test_a_local_midnight_separates_the_days(world, march):
    def day(d):
        return Period.around(PeriodKind.DAY, d)

    first = selectors.agency_stats(Filters(day(dt.date(2026, 3, 1))), CITY)
    second = selectors.agency_stats(Filters(day(dt.date(2026, 3, 2))), CITY)
    assert first[None].submitted == 1  # R5, 23:59 local (16:59 UTC)
    assert first[world.hk_committee.pk].received == 1
    assert world.cn_committee.pk not in first
    assert second[None].submitted == 4  # R6 at 00:00 local (17:00 UTC on 1 March), R1–R3
    assert second[world.cn_committee.pk].received == 1
    # The week of Monday 2 March starts at that midnight too.
    week = selectors.agency_stats(
        Filters(Period.around(PeriodKind.WEEK, dt.date(2026, 3, 4))), CITY
    )
    assert week[world.hk_committee.pk].received == 5  # without R5
    assert week[world.cn_committee.pk].received == 2


def test_overdue_now_lists_each_item_with_its_lateness_in_working_time(world, march):
    reports = list(selectors.overdue_reports(Filters(MARCH), CITY, now=NOW))
    assert [r.pk for r in reports] == [march.r6.pk, march.r5.pk]  # most late first
    assert selectors.late_by(reports[0].due, NOW) == dt.timedelta(seconds=scenario.R6_LATE)
    assert selectors.late_by(reports[1].due, NOW) == dt.timedelta(seconds=scenario.R5_LATE)
    by_agency = selectors.overdue_by_agency(Filters(MARCH), CITY, now=NOW)
    assert by_agency[world.cn_committee.pk].count == 1
    assert by_agency[world.hk_committee.pk].max_late == dt.timedelta(seconds=scenario.R5_LATE)
    history = selectors.escalations([march.r6.pk])[march.r6.pk]
    assert [e.data["level"] for e in history] == [2]


def test_named_units_are_those_that_missed_a_deadline_or_hold_overdue_items(world, march):
    units = {u.agency.pk: u for u in selectors.named_units(Filters(MARCH), CITY, now=NOW)}
    hk, cn = units[world.hk_committee.pk], units[world.cn_committee.pk]
    assert (hk.accept_late, hk.resolve_late, hk.overdue_now) == (1, 0, 1)
    assert (cn.accept_late, cn.resolve_late, cn.overdue_now) == (0, 1, 1)
    # A past period names only the deadlines missed in it.
    february = Period.around(PeriodKind.MONTH, dt.date(2026, 2, 1))
    assert selectors.named_units(Filters(february), CITY, now=NOW) == []


def test_rankings_show_wilson_intervals_and_skip_small_samples(world, march):
    result = selectors.ranking(Filters(MARCH), CITY, metric="accept_on_time", min_sample=2)
    assert [r.agency for r in result.ranked] == [world.hk_committee]
    row = result.ranked[0]
    assert (row.rate.num, row.rate.den, row.rank) == (4, 5, 1)
    low, high = wilson(4, 5)
    # Wilson by hand: p=0.8, n=5, z=1.96.
    z = 1.959963984540054
    centre = (0.8 + z * z / 10) / (1 + z * z / 5)
    half = z * ((0.8 * 0.2 / 5 + z * z / 100) ** 0.5) / (1 + z * z / 5)
    assert (low, high) == pytest.approx((centre - half, centre + half))
    assert [r.agency for r in result.too_few] == [world.cn_committee]


def test_filters_by_category_ward_and_severity_read_the_detailed_roll_up(world, march):
    stats = selectors.agency_stats(
        Filters(MARCH, ward_id=world.cua_nam.pk, severity="normal"), CITY
    )
    # R6 is the only report located in Cửa Nam (R2 lies in Hoàn Kiếm, whatever agency).
    assert {k: v.received for k, v in stats.items() if v.received} == {world.cn_committee.pk: 1}
    urgent = selectors.agency_stats(Filters(MARCH, severity="urgent"), CITY)
    assert all(c.received == 0 for c in urgent.values())


def test_rerunning_and_rebuilding_give_the_same_numbers(world, march):
    before = {k: v.values for k, v in selectors.agency_stats(Filters(MARCH), CITY).items()}
    facts = Fact.objects.count()
    rollup_run()
    rollup_run()
    assert Fact.objects.count() == facts
    assert {k: v.values for k, v in selectors.agency_stats(Filters(MARCH), CITY).items()} == before
    rollup_rebuild()
    assert Fact.objects.count() == facts
    after = selectors.agency_stats(Filters(MARCH), CITY)
    assert {k: v.values for k, v in after.items()} == before


def test_small_batches_give_the_same_numbers_as_one(world, cn_lead, photo):
    write_march(world, cn_lead, photo)
    rollup_run(batch_size=3)
    small = selectors.agency_stats(Filters(MARCH), CITY)
    rollup_rebuild()
    whole = selectors.agency_stats(Filters(MARCH), CITY)
    assert {k: (v.values, v.hists) for k, v in small.items()} == {
        k: (v.values, v.hists) for k, v in whole.items()
    }


def test_the_public_summary_survives_a_shared_cache(world, march):
    import pickle

    summary = selectors.public_summary(MARCH)
    copy = pickle.loads(pickle.dumps(summary))  # noqa: S301 (our own bytes, as the cache)
    assert copy["totals"].values == summary["totals"].values
    assert copy["totals"].satisfaction == summary["totals"].satisfaction
