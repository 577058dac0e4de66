"""The submissions' reference snapshot (ihanoi.feedback.reference): kept between submissions
outside transactions, and never stale past what its module promises. Transactional tests:
the snapshot is kept only outside a transaction, and the shared version changes on commit."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from ihanoi.agencies.services import agencies_seed
from ihanoi.feedback import reference as ref
from ihanoi.feedback.models import Category, RoutingRule
from ihanoi.feedback.services import report_submit
from tests.feedback.conftest import World
from tests.feedback.test_submission import _submission

pytestmark = pytest.mark.django_db(transaction=True)

# A category that needs no photo.
TRAFFIC: dict[str, Any] = {"category_code": "giao-thong", "answers": {"su-co": "mat-duong"}}


@pytest.fixture(autouse=True)
def _no_delivery_tasks(settings: Any) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(ref, "_clock", lambda: now[0])
    return now


def _agency_of_next_report(world: World) -> Any:
    report, created = report_submit(reporter=world.resident, submission=_submission(**TRAFFIC))
    assert created
    return report.agency


def test_the_snapshot_is_kept_between_submissions(world: World, clock: list[float]) -> None:
    first = ref.reference()

    assert ref.reference() is first
    clock[0] += ref.MAX_AGE_SECONDS - 1
    assert ref.reference() is first


def test_a_rule_saved_through_the_models_routes_the_next_report(world: World) -> None:
    assert _agency_of_next_report(world) == world.hk_committee
    traffic = Category.objects.get(code="giao-thong")

    RoutingRule.objects.create(category=traffic, unit=world.hoan_kiem, agency=world.hub)

    assert _agency_of_next_report(world) == world.hub


def test_another_process_change_is_seen_through_the_shared_version(world: World) -> None:
    kept = ref.reference()
    # What another process's commit does: only the shared token changes here.
    cache.set(ref.VERSION_KEY, "changed-elsewhere", None)

    rebuilt = ref.reference()

    assert rebuilt is not kept
    assert rebuilt.version == "changed-elsewhere"
    assert ref.reference() is rebuilt


def test_a_write_past_the_models_is_seen_after_the_age_limit(
    world: World, clock: list[float]
) -> None:
    assert ref.reference().category("giao-thong") is not None
    # QuerySet.update sends no signal: this process keeps its snapshot for a while…
    Category.objects.filter(code="giao-thong").update(is_active=False)
    assert ref.reference().category("giao-thong") is not None

    clock[0] += ref.MAX_AGE_SECONDS

    # …and no longer than the age limit.
    assert ref.reference().category("giao-thong") is None
    with pytest.raises(ValidationError) as raised:
        report_submit(reporter=world.resident, submission=_submission(**TRAFFIC))
    assert "category" in raised.value.message_dict


def test_a_deactivated_committee_sends_the_next_report_to_the_hub(world: World) -> None:
    assert _agency_of_next_report(world) == world.hk_committee
    world.hk_committee.is_active = False
    world.hk_committee.save()

    report, _created = report_submit(reporter=world.resident, submission=_submission(**TRAFFIC))

    assert report.agency is None  # triage


def test_the_version_changes_on_commit_and_not_on_rollback(world: World) -> None:
    cache.delete(ref.VERSION_KEY)
    traffic = Category.objects.get(code="giao-thong")

    with pytest.raises(RuntimeError), transaction.atomic():
        RoutingRule.objects.create(category=traffic, agency=world.hub)
        raise RuntimeError("rolled back")
    assert cache.get(ref.VERSION_KEY) is None

    with transaction.atomic():
        RoutingRule.objects.create(category=traffic, agency=world.hub)
        assert cache.get(ref.VERSION_KEY) is None  # not before the commit
    assert isinstance(cache.get(ref.VERSION_KEY), str)


def test_a_snapshot_read_inside_a_transaction_is_not_kept(world: World) -> None:
    seeded = ref.reference().rules
    with transaction.atomic():
        rule = RoutingRule.objects.create(
            category=Category.objects.get(code="giao-thong"), agency=world.hub
        )
        inside = ref.reference()
        assert rule in inside.rules  # this transaction's rows are seen…
        assert ref.reference() is not inside  # …but not kept
        transaction.set_rollback(True)

    assert ref.reference().rules == seeded


def test_the_committees_follow_the_wards_they_serve(world: World) -> None:
    snapshot = ref.reference()
    assert snapshot.committees[world.hoan_kiem.pk] == world.hk_committee

    world.hk_committee.served_units.remove(world.hoan_kiem)

    assert world.hoan_kiem.pk not in ref.reference().committees
    assert _agency_of_next_report(world) is None


def test_an_unreadable_cache_falls_back_on_the_age_limit(
    world: World, clock: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = ref.reference()

    class Down:
        def get(self, *args: Any, **kwargs: Any) -> Any:
            raise ConnectionError("cache down")

    monkeypatch.setattr(ref, "cache", Down())
    with_no_version = ref.reference()  # the version reads as None: rebuilt once
    assert with_no_version is not kept
    assert ref.reference() is with_no_version
    clock[0] += ref.MAX_AGE_SECONDS
    assert ref.reference() is not with_no_version


def test_an_evicted_version_is_replaced_by_a_fresh_one(world: World) -> None:
    kept = ref.reference()
    cache.delete(ref.VERSION_KEY)  # evicted

    rebuilt = ref.reference()

    assert rebuilt is not kept
    assert isinstance(rebuilt.version, str)
    assert cache.get(ref.VERSION_KEY) == rebuilt.version
    assert ref.reference() is rebuilt


def test_a_bulk_seed_of_agencies_is_seen_without_model_signals(world: World) -> None:
    kept = ref.reference()
    version = cache.get(ref.VERSION_KEY)

    agencies_seed()  # bulk_create / bulk_update: no post_save

    assert cache.get(ref.VERSION_KEY) != version
    assert ref.reference() is not kept


def test_another_thread_that_finds_it_rebuilt_does_not_build_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = ref.reference()
    builds: list[object] = []
    real_build = ref._build

    def counting(*args: Any) -> ref.Reference:
        builds.append(args)
        return real_build(*args)

    monkeypatch.setattr(ref, "_build", counting)
    ref.reference_clear()

    # Several threads found the snapshot stale at once and queue on the lock.
    def read() -> None:
        try:
            ref.reference()
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=read) for _ in range(4)]
    with ref._lock:
        for thread in threads:
            thread.start()
        time.sleep(0.2)
    for thread in threads:
        thread.join()

    assert len(builds) == 1
    assert ref.reference() is not first
