"""One March 2026 in the small test city, written through the feedback services at given
local times, with the numbers it must give worked out by hand (tests/oversight/README in
the module docstring of test_numbers.py explains each one).

March 2026 has no public holiday; 1 March is a Sunday. Working hours: Mon–Fri 08–12, 13–17.
"""

from __future__ import annotations

from dataclasses import dataclass

from ihanoi.feedback import services
from ihanoi.feedback.models import RejectionReason, Report
from tests.oversight.conftest import CUA_NAM, at, submit


@dataclass
class March:
    r1: Report  # routine: accepted and resolved on time, satisfied
    r2: Report  # Hoàn Kiếm lets the accept deadline pass, transfers to Cửa Nam; resolved late
    r3: Report  # resolved after the original deadline but within an approved extension
    r4: Report  # rated not satisfied, reopened, resolved again, satisfied
    r5: Report  # submitted at 23:59 on Sunday 1 March; still in progress (overdue)
    r6: Report  # submitted at 00:00 on Monday 2 March, Cửa Nam; never accepted (overdue)
    r7: Report  # returned to the hub in time, then rejected


def write_march(world, cn_lead, photo) -> March:
    w = world

    def ok(report, **kwargs):
        return services.report_resolve(
            actor=kwargs.pop("actor", w.hk_officer),
            report=report,
            result="Đã xử lý.",
            photos=[photo],
            **kwargs,
        )

    r5 = submit(w, at("2026-03-01", "23:59"), photo=photo)
    r6 = submit(w, at("2026-03-02", "00:00"), where=CUA_NAM, photo=photo)
    r1 = submit(w, at("2026-03-02", "09:00"), photo=photo)
    r2 = submit(w, at("2026-03-02", "09:30"), photo=photo)
    services.report_accept(actor=w.hk_officer, report=r1, now=at("2026-03-02", "10:00"))
    r3 = submit(w, at("2026-03-02", "11:00"), photo=photo)
    services.report_accept(actor=w.hk_officer, report=r3, now=at("2026-03-02", "11:30"))
    services.report_accept(actor=w.hk_officer, report=r5, now=at("2026-03-02", "16:59"))
    services.reports_escalate(now=at("2026-03-02", "17:30"))

    r4 = submit(w, at("2026-03-03", "08:30"), photo=photo)
    services.report_accept(actor=w.hk_officer, report=r4, now=at("2026-03-03", "09:00"))
    services.report_transfer(
        actor=w.hk_lead,
        report=r2,
        agency=w.cn_committee,
        note="Thuộc địa bàn Cửa Nam.",
        now=at("2026-03-03", "10:00"),
    )
    services.report_accept(actor=w.cn_officer, report=r2, now=at("2026-03-03", "14:00"))
    ok(r4, now=at("2026-03-03", "16:00"))
    services.rating_submit(
        actor=w.resident, report=r4, value="not_satisfied", now=at("2026-03-03", "17:00")
    )

    services.report_reopen(
        actor=w.hub_operator, report=r4, note="Chưa xử lý triệt để.", now=at("2026-03-04", "09:00")
    )
    r7 = submit(w, at("2026-03-04", "09:00"), photo=photo)
    services.report_return_to_hub(
        actor=w.hk_officer, report=r7, note="Không thuộc thẩm quyền.", now=at("2026-03-04", "10:00")
    )
    services.report_reject(
        actor=w.hub_operator,
        report=r7,
        reason=RejectionReason.objects.filter(is_active=True).first(),
        now=at("2026-03-04", "11:00"),
    )
    ok(r1, now=at("2026-03-04", "15:00"))
    services.rating_submit(
        actor=w.resident, report=r1, value="satisfied", now=at("2026-03-04", "16:00")
    )
    ok(r4, now=at("2026-03-05", "10:00"))
    services.rating_submit(
        actor=w.resident, report=r4, value="satisfied", now=at("2026-03-05", "11:00")
    )
    services.report_request_extension(
        actor=w.hk_officer,
        report=r3,
        working_days=3,
        reason="Cần phối hợp với công ty môi trường.",
        now=at("2026-03-06", "10:00"),
    )
    services.report_decide_extension(
        actor=w.hub_operator, report=r3, approve=True, now=at("2026-03-06", "11:00")
    )
    ok(r3, now=at("2026-03-11", "10:00"))
    services.rating_submit(
        actor=w.resident, report=r3, value="acceptable", now=at("2026-03-11", "12:00")
    )
    ok(r2, actor=w.cn_officer, now=at("2026-03-13", "09:00"))
    services.reports_close_unrated(now=at("2026-03-20", "10:00"))
    return March(r1, r2, r3, r4, r5, r6, r7)


NOW = at("2026-03-30", "10:00")

H = 3600
# Working seconds each duration took, counted by hand (see test_numbers.py).
HK_ACCEPT_WORK = {"r1": 1 * H, "r3": H // 2, "r4": H // 2, "r5": 7 * H + 59 * 60}
HK_RESOLVE_WORK = {"r1": 20 * H, "r3": 54 * H + H // 2, "r4a": 6 * H, "r4b": 9 * H}
HK_RESOLVE_CALENDAR = {"r1": 53 * H, "r3": 214 * H + H // 2, "r4a": 7 * H, "r4b": 25 * H}
CN_ACCEPT_WORK = {"r2": 3 * H}
CN_RESOLVE_WORK = {"r2": 60 * H}
CN_RESOLVE_CALENDAR = {"r2": 235 * H}
# How late the two overdue items are at NOW, in working time.
R5_LATE = 114 * H + 60
R6_LATE = 154 * H
