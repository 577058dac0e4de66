"""The small test city of tests/feedback (two wards, their People's Committees, the hub,
one person per role), plus a lead for Cửa Nam, and helpers to act at given local times."""

from __future__ import annotations

import datetime as dt

import pytest

from ihanoi.accounts.models import Role, User
from ihanoi.agencies.models import Membership
from ihanoi.feedback import services
from ihanoi.feedback.photos import PreparedPhoto
from ihanoi.lib.worktime import CITY_TZ
from ihanoi.oversight.services import rollup_run
from tests.feedback import conftest as feedback
from tests.feedback.conftest import CUA_NAM as CUA_NAM  # re-exported for the scenarios
from tests.feedback.conftest import HOAN_KIEM_LAKE, prepared_photo

# The feedback tests' city and media folder, as fixtures of these tests too.
world = feedback.world
_media_in_tmp = feedback._media_in_tmp


def at(day: str, hhmm: str = "09:00") -> dt.datetime:
    """A local (Asia/Ho_Chi_Minh) moment: at("2026-03-02", "14:30")."""
    return dt.datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=CITY_TZ)


@pytest.fixture
def cn_lead(world) -> User:
    lead = User.objects.create_user(
        email="cn-lead@example.vn", password="x" * 12, role=Role.AGENCY_LEAD
    )
    Membership.objects.create(user=lead, agency=world.cn_committee, role="lead")
    return lead


@pytest.fixture(scope="session")
def photo() -> PreparedPhoto:
    return prepared_photo()


def submit(world, when: dt.datetime, *, where=HOAN_KIEM_LAKE, reporter=None, photo=None):
    report, _created = services.report_submit(
        reporter=reporter or world.resident,
        submission=services.Submission(
            kind="field",
            category_code="moi-truong-ve-sinh",
            title="Rác thải bên hồ",
            description="Rác tập kết trên vỉa hè.",
            lat=where[0],
            lon=where[1],
            answers={"van-de": "rac"},
        ),
        photos=[photo or prepared_photo()],
        now=when,
    )
    return report


@pytest.fixture
def rolled():
    """Fold every event into the roll-ups (call after acting)."""
    return rollup_run
