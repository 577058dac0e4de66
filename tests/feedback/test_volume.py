"""`ihanoi generate_volume`: a small city's worth of generated residents and reports,
checked against the rules the feedback services keep (every column of a report follows
from its events), and its refusals (bad arguments, missing reference data, a database
that already holds reports) that change nothing."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from typing import Any

import h3
import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.urls import reverse
from PIL import Image

from ihanoi.accounts.models import Role, User
from ihanoi.agencies.models import Agency
from ihanoi.feedback import deadlines, services
from ihanoi.feedback.models import (
    H3_RESOLUTION,
    Category,
    Follow,
    RatingValue,
    Report,
    ReportEvent,
    ReportPhoto,
    Status,
)
from ihanoi.feedback.models import EventKind as E
from ihanoi.feedback.transitions import TRANSITIONS
from ihanoi.lib.phone import normalise_vn_phone
from ihanoi.lib.worktime import CITY_TZ
from ihanoi.open311.models import Open311Request
from ihanoi.oversight.models import Fact, FactKind
from ihanoi.places.selectors import locate_ward
from tests.feedback.conftest import HOAN_KIEM_LAKE, prepared_photo

pytestmark = pytest.mark.django_db

END = "2026-04-15"
END_MOMENT = dt.datetime(2026, 4, 15, tzinfo=CITY_TZ)
REPORTS = 300
RESIDENTS = 50


@pytest.fixture(scope="module")
def media_root(tmp_path_factory):
    return tmp_path_factory.mktemp("volume-media")


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, media_root):
    # One folder for the module: the generated photos are drawn once, then found there.
    settings.MEDIA_ROOT = media_root


def generate(**options: Any) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    options = {
        "reports": REPORTS,
        "residents": RESIDENTS,
        "years": 1,
        "end": END,
        "seed": 7,
        "verbosity": 0,
        **options,
    }
    call_command("generate_volume", stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def generated(world):
    generate()
    return world


def snapshot() -> tuple[int, ...]:
    return (
        User.objects.count(),
        Report.objects.count(),
        ReportEvent.objects.count(),
        ReportPhoto.objects.count(),
        Follow.objects.count(),
        Open311Request.objects.count(),
    )


def timelines() -> dict[int, list[ReportEvent]]:
    found: dict[int, list[ReportEvent]] = {}
    for event in ReportEvent.objects.order_by("report_id", "created_at", "id"):
        found.setdefault(event.report_id, []).append(event)
    return found


# --- What is generated ---------------------------------------------------------------------


def test_generates_the_residents_asked_for_as_phone_sign_up_leaves_them(generated):
    residents = User.objects.filter(role=Role.RESIDENT).exclude(
        pk__in=[generated.resident.pk, generated.other_resident.pk]
    )
    assert residents.count() == RESIDENTS
    phones = list(residents.values_list("phone", flat=True))
    assert len(set(phones)) == RESIDENTS
    for user in residents:
        assert normalise_vn_phone(user.phone) == user.phone
        assert user.phone_verified and user.is_active
        assert not user.has_usable_password()
        assert user.email is None and not user.is_staff
    named = residents.exclude(full_name="").count()
    assert 0 < named < RESIDENTS


def test_generates_the_reports_asked_for_from_residents_who_had_joined(generated):
    assert Report.objects.count() == REPORTS
    first = END_MOMENT.replace(year=2025)
    for report in Report.objects.select_related("reporter"):
        assert first <= report.submitted_at < END_MOMENT
        assert report.reporter.role == Role.RESIDENT
        assert report.reporter.date_joined <= report.submitted_at
    # The reporters are the generated residents, not the accounts already there.
    assert not Report.objects.filter(reporter=generated.resident).exists()


def test_each_report_lies_in_its_ward_and_h3_cell(generated):
    for report in Report.objects.all():
        assert locate_ward(report.lat, report.lon).pk == report.ward_id
        assert report.h3_cell == h3.latlng_to_cell(report.lat, report.lon, H3_RESOLUTION)
        assert report.address.endswith(report.ward.name)


def test_every_status_follows_the_transition_table_up_to_the_last_event(generated):
    found = timelines()
    assert set(found) == set(Report.objects.values_list("pk", flat=True))
    for report in Report.objects.all():
        events = found[report.pk]
        assert events[0].kind == E.SUBMITTED
        assert [e.id for e in events] == sorted(e.id for e in events)  # appended in time order
        status = ""
        for event in events:
            assert event.from_status == status
            assert TRANSITIONS[event.kind][status] == event.to_status
            assert event.created_at < END_MOMENT
            status = event.to_status
        assert report.status == status


def _expected_columns(report: Report, events: list[ReportEvent]) -> dict[str, Any]:
    """The report's columns as the services would have left them after these events."""
    codes = dict(Agency.objects.values_list("code", "pk"))
    row: dict[str, Any] = {
        "agency_id": None,
        "assigned_at": None,
        "accepted_at": None,
        "resolved_at": None,
        "closed_at": None,
        "accept_due_at": None,
        "resolve_due_at": None,
        "escalation_level": 0,
        "result_text": "",
        "rating": "",
        "rating_comment": "",
        "rated_at": None,
        "review_pending": False,
        "info_requested": False,
        "is_published": True,
        "duplicate_of_id": None,
    }

    def due(value: str | None) -> dt.datetime | None:
        return dt.datetime.fromisoformat(value) if value else None

    for e in events:
        data, at = e.data, e.created_at
        if e.kind in (E.ROUTED, E.TRANSFERRED):
            code = data["agency"] if e.kind == E.ROUTED else data["to"]
            row.update(
                agency_id=codes[code],
                assigned_at=at,
                accepted_at=None,
                resolve_due_at=None,
                accept_due_at=due(data["accept_due"]),
                escalation_level=0,
            )
        elif e.kind == E.RETURNED:
            row.update(agency_id=None, accept_due_at=None, resolve_due_at=None, accepted_at=None)
        elif e.kind == E.ACCEPTED:
            row.update(accepted_at=at, resolve_due_at=due(data["resolve_due"]), escalation_level=0)
        elif e.kind == E.CLASSIFIED and "resolve_due" in data:
            row["resolve_due_at"] = due(data["resolve_due"])
        elif e.kind == E.EXTENSION_APPROVED:
            row.update(resolve_due_at=due(data["new_due"]), escalation_level=0)
        elif e.kind == E.RESOLVED:
            row.update(resolved_at=at, result_text=e.note)
        elif e.kind == E.RATED:
            row.update(
                rating=data["rating"],
                rating_comment=e.note,
                rated_at=at,
                closed_at=at,
                review_pending=data["rating"] == RatingValue.NOT_SATISFIED,
            )
        elif e.kind == E.REOPENED:
            row.update(
                review_pending=False,
                closed_at=None,
                resolved_at=None,
                resolve_due_at=due(data["resolve_due"]),
                escalation_level=0,
            )
        elif e.kind == E.REVIEW_CLOSED:
            row["review_pending"] = False
        elif e.kind in (E.CLOSED, E.REJECTED):
            row["closed_at"] = at
        elif e.kind == E.MERGED:
            row.update(closed_at=at, duplicate_of_id=data["original"])
        elif e.kind == E.ESCALATED:
            row["escalation_level"] = data["level"]
        elif e.kind == E.INFO_REQUESTED:
            row["info_requested"] = True
        elif e.kind == E.INFO_PROVIDED:
            row["info_requested"] = False
        elif e.kind == E.UNPUBLISHED:
            row["is_published"] = False
    return row


def test_every_report_column_agrees_with_its_events(generated):
    found = timelines()
    for report in Report.objects.all():
        expected = _expected_columns(report, found[report.pk])
        actual = {name: getattr(report, name) for name in expected}
        assert actual == expected, report.pk


def test_deadlines_are_the_apps_on_the_working_calendar(generated):
    categories = {c.pk: c for c in Category.objects.all()}
    checked: Counter[str] = Counter()
    for report in Report.objects.all():
        category = categories[report.category_id]
        severity = category.default_severity  # as submitted; reclassified on the way
        for e in report.events.order_by("created_at", "id"):
            if e.kind == E.CLASSIFIED:
                severity = e.data["severity"][1]
            elif e.kind in (E.ROUTED, E.TRANSFERRED):
                expected = deadlines.accept_deadline(category, e.created_at)
                assert e.data["accept_due"] == expected.isoformat()
                checked["accept"] += 1
            elif e.kind in (E.ACCEPTED, E.REOPENED):
                expected = deadlines.resolve_deadline(category, severity, e.created_at)
                assert e.data["resolve_due"] == expected.isoformat()
                checked["resolve"] += 1
        assert report.severity == severity
    assert checked["accept"] >= REPORTS * 0.9 and checked["resolve"] > REPORTS * 0.8


def test_ratings_only_on_results_and_as_the_resident_gave_them(generated):
    found = timelines()
    for report in Report.objects.all():
        events = found[report.pk]
        rated = [e for e in events if e.kind == E.RATED]
        for event in rated:
            assert event.from_status == Status.RESOLVED
            assert event.actor_id == report.reporter_id
            assert event.data["rating"] in RatingValue.values
        if not rated:
            assert report.rating == "" and report.rated_at is None
            continue
        assert report.rating == rated[-1].data["rating"]
        if not any(e.kind == E.REOPENED for e in events):
            # Reopening keeps the earlier rating on the row (as report_reopen does).
            assert report.status == Status.CLOSED
    assert (
        not Report.objects.exclude(rating="")
        .filter(status__in=[Status.SUBMITTED, Status.ASSIGNED, Status.REJECTED])
        .exists()
    )
    values = Counter(Report.objects.exclude(rating="").values_list("rating", flat=True))
    assert set(values) == set(RatingValue.values)


def test_distributions_are_not_degenerate(generated):
    by_category = Counter(Report.objects.values_list("category_id", flat=True))
    assert len(by_category) >= 6
    counts = sorted(by_category.values(), reverse=True)
    assert counts[0] > 3 * counts[-1]  # skewed, not uniform
    by_ward = Counter(Report.objects.values_list("ward_id", flat=True))
    assert set(by_ward) == {generated.hoan_kiem.pk, generated.cua_nam.pk}
    statuses = Counter(Report.objects.values_list("status", flat=True))
    assert statuses[Status.CLOSED] > REPORTS / 2 and len(statuses) >= 3
    kinds = Counter(ReportEvent.objects.values_list("kind", flat=True))
    for kind in (E.ROUTED, E.ACCEPTED, E.RESOLVED, E.RATED, E.CLOSED, E.ESCALATED):
        assert kinds[kind] > 0, kind
    assert kinds[E.TRANSFERRED] + kinds[E.RETURNED] > 0
    hours = Counter(r.submitted_at.astimezone(CITY_TZ).hour for r in Report.objects.all())
    assert sum(hours[h] for h in range(8, 18)) > 4 * sum(hours[h] for h in range(0, 6))
    months = {r.submitted_at.astimezone(CITY_TZ).strftime("%Y-%m") for r in Report.objects.all()}
    assert len(months) >= 10
    reporters = Counter(Report.objects.values_list("reporter_id", flat=True))
    assert max(reporters.values()) >= 3 * (REPORTS / RESIDENTS) / 2  # some report often


def test_unique_keys_are_unique(generated):
    reports = Report.objects.all()
    assert len({r.public_id for r in reports}) == REPORTS
    keys = [(r.reporter_id, r.client_key) for r in reports if r.client_key]
    assert keys and len(set(keys)) == len(keys)
    tokens = list(Open311Request.objects.values_list("token", flat=True))
    assert len(set(tokens)) == len(tokens)
    for request in Open311Request.objects.select_related("report"):
        assert request.report.channel == "open311"
        assert request.report.client_key.startswith(f"o311:{request.api_key.prefix}:")


def test_photos_point_at_real_jpeg_files(generated, client):
    photos = ReportPhoto.objects.select_related("report")
    assert photos.filter(role=ReportPhoto.Role.REPORT).exists()
    results = set(
        ReportEvent.objects.filter(kind=E.RESOLVED).values_list("report_id", "created_at")
    )
    for photo in photos:
        if photo.role == ReportPhoto.Role.REPORT:
            assert photo.created_at == photo.report.submitted_at
            assert photo.uploaded_by_id == photo.report.reporter_id
        else:  # evidence of a result, posted with it
            assert photo.role == ReportPhoto.Role.EVIDENCE
            assert (photo.report_id, photo.created_at) in results
            assert photo.uploaded_by_id is None
    assert photos.filter(role=ReportPhoto.Role.EVIDENCE).exists()
    sizes = {}
    for name in {p.image.name for p in photos} | {p.thumbnail.name for p in photos}:
        with default_storage.open(name, "rb") as file, Image.open(file) as image:
            image.load()  # decodable to the last byte
            assert image.format == "JPEG"
            sizes[name] = image.size
    for photo in photos:
        assert sizes[photo.image.name] == (photo.width, photo.height)
        assert max(sizes[photo.thumbnail.name]) < max(photo.width, photo.height)
    # The public page of a published report shows them.
    report = (
        Report.objects.filter(is_published=True, category__is_public=True, photos__isnull=False)
        .distinct()
        .first()
    )
    page = client.get(reverse("feedback:detail", args=[report.public_id]))
    assert page.status_code == 200
    assert report.photos.first().thumbnail.url in page.content.decode()


def test_the_app_carries_on_after_the_load(generated):
    """The id sequences point past the loaded rows: the services insert as usual."""
    highest = Report.objects.order_by("-pk").first().pk
    last_event = ReportEvent.objects.order_by("-pk").first().pk
    report, created = services.report_submit(
        reporter=generated.resident,
        submission=services.Submission(
            kind="field",
            category_code="moi-truong-ve-sinh",
            title="Rác thải bên hồ",
            description="Rác tập kết trên vỉa hè.",
            lat=HOAN_KIEM_LAKE[0],
            lon=HOAN_KIEM_LAKE[1],
            answers={"van-de": "rac"},
        ),
        photos=[prepared_photo()],
    )
    assert created and report.pk > highest
    assert report.events.order_by("pk").first().pk > last_event
    newcomer = User.objects.create_user(phone="+84912999999", phone_verified=True)
    assert newcomer.pk > User.objects.exclude(pk=newcomer.pk).order_by("-pk").first().pk


def test_the_roll_ups_rebuild_from_the_generated_events(world):
    generate(rebuild_rollups=True)
    assert Fact.objects.filter(kind=FactKind.SUBMIT).count() == REPORTS
    received = Fact.objects.filter(kind=FactKind.RECEIVE).count()
    assert received == ReportEvent.objects.filter(kind__in=[E.ROUTED, E.TRANSFERRED]).count()


def test_prints_a_summary_and_shows_progress_on_stderr(world):
    out, err = generate(verbosity=1)
    assert f"Generated {RESIDENTS} residents and {REPORTS} reports" in out
    assert "oversight_rollup --rebuild" in out
    assert "reports" in err and "100%" in err


def test_is_quiet_with_verbosity_0(world):
    assert generate(verbosity=0) == ("", "")
    assert Report.objects.count() == REPORTS


# --- Adding to a database, and refusals ----------------------------------------------------


def test_refuses_a_database_that_already_holds_reports(generated):
    before = snapshot()
    with pytest.raises(CommandError, match=r"already holds 300 reports.*--append"):
        generate()
    assert snapshot() == before


def test_append_adds_new_residents_and_reports_after_the_existing_ones(generated):
    before_ids = set(Report.objects.values_list("pk", flat=True))
    before_public = set(Report.objects.values_list("public_id", flat=True))
    generate(append=True, reports=120, residents=20)
    assert Report.objects.count() == REPORTS + 120
    added = Report.objects.exclude(pk__in=before_ids)
    assert min(added.values_list("pk", flat=True)) > max(before_ids)
    assert not before_public & set(added.values_list("public_id", flat=True))
    phones = list(User.objects.exclude(phone=None).values_list("phone", flat=True))
    assert len(phones) == len(set(phones))
    assert User.objects.filter(role=Role.RESIDENT).count() == 2 + RESIDENTS + 20


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"reports": 0}, "--reports must be at least 1"),
        ({"reports": -5}, "--reports must be at least 1"),
        ({"residents": 0}, "--residents must be at least 1"),
        ({"residents": -1}, "--residents must be at least 1"),
        ({"years": 0}, "--years must be more than 0"),
        ({"years": -2}, "--years must be more than 0"),
        ({"years": 31}, "at most 30"),
        ({"end": "15/04/2026"}, "is not a date"),
        ({"end": "2026-02-30"}, "is not a date"),
        ({"end": "2999-01-01"}, "is in the future"),
    ],
)
def test_bad_arguments_are_refused_and_change_nothing(world, options, words):
    before = snapshot()
    with pytest.raises(CommandError, match=words):
        generate(**options)
    assert snapshot() == before


def test_without_reference_data_it_says_what_to_load_and_changes_nothing(db):
    before = snapshot()
    with pytest.raises(CommandError, match=r"ihanoi load_places.*ihanoi demo_setup"):
        generate()
    assert snapshot() == before


def test_refuses_production(world, settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="IHANOI_PRODUCTION"):
        generate()
    assert Report.objects.count() == 0
