"""The public list and map from the shared cache (ihanoi.feedback.public_cache): served
without reading the reports again while nothing changed, and never showing what was taken
off the public pages once that change committed. Transactional tests: nothing rendered
inside a transaction is kept, and the version changes on commit."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ihanoi.feedback import public_cache
from ihanoi.feedback.models import Category, Report, Status
from ihanoi.feedback.services import report_redact, report_set_published
from tests.feedback.conftest import World

from .factories import make_reports
from .test_list_pages import link, titles

pytestmark = pytest.mark.django_db(transaction=True)

PUBLIC = reverse("feedback:public_list")
MAP = reverse("feedback:map_data")


@pytest.fixture(autouse=True)
def _no_delivery_tasks(settings: Any) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


def _report_reads(client: Any, path: str) -> tuple[int, str]:
    """How many queries read the report table, and the page."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    reads = [q["sql"] for q in queries if '"feedback_report"' in q["sql"]]
    return len(reads), response.content.decode()


def _points(client: Any) -> list[dict[str, Any]]:
    response = client.get(MAP)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)["reports"]


def test_the_public_list_is_read_once_and_then_served_from_the_cache(client, world: World):
    make_reports(world, 3)
    reads, first = _report_reads(client, PUBLIC)
    assert reads == 1
    again, second = _report_reads(client, PUBLIC)
    assert again == 0
    assert titles(second) == titles(first) == ["Phản ánh 000", "Phản ánh 001", "Phản ánh 002"]


def test_a_new_report_joins_the_cached_list_when_the_entry_expires(client, world: World):
    make_reports(world, 2)
    client.get(PUBLIC)
    make_reports(world, 1, title="Mới", start=Report.objects.latest("submitted_at").submitted_at)

    assert "Mới 000" not in titles(client.get(PUBLIC).content.decode())  # within TTL_SECONDS
    caches["public"].delete_many([k for k in _keys() if k != public_cache.VERSION_KEY])  # expiry
    assert "Mới 000" in titles(client.get(PUBLIC).content.decode())


def _keys() -> list[str]:
    # The locmem cache of the tests (conftest) or Redis (CI): the entries the views wrote.
    names = [f"{public_cache.KEY_PREFIX}list:{lang}:-" for lang in ("vi", "en")]
    names += [f"{public_cache.KEY_PREFIX}map:{lang}" for lang in ("vi", "en")]
    return [public_cache.VERSION_KEY, *names]


def test_an_unpublished_report_leaves_the_list_and_the_map_at_once(client, world: World):
    first, _second = make_reports(world, 2)
    assert "Phản ánh 000" in titles(client.get(PUBLIC).content.decode())
    assert {p["title"] for p in _points(client)} == {"Phản ánh 000", "Phản ánh 001"}

    report_set_published(actor=world.hub_operator, report=first, published=False)

    assert titles(client.get(PUBLIC).content.decode()) == ["Phản ánh 001"]
    assert [p["title"] for p in _points(client)] == ["Phản ánh 001"]


def test_a_redacted_title_replaces_the_cached_one_at_once(client, world: World):
    (report,) = make_reports(world, 1, title="Gọi 0912345678")
    assert titles(client.get(PUBLIC).content.decode()) == ["Gọi 0912345678 000"]

    report_redact(
        actor=world.hub_operator, report=report, title="Gọi số điện thoại", description="Mô tả"
    )

    assert titles(client.get(PUBLIC).content.decode()) == ["Gọi số điện thoại"]
    assert [p["title"] for p in _points(client)] == ["Gọi số điện thoại"]


def test_a_category_made_private_takes_its_reports_off_at_once(client, world: World):
    make_reports(world, 2)
    assert len(_points(client)) == 2

    category = Category.objects.get(code="giao-thong")
    category.is_public = False
    category.save()

    assert _points(client) == []
    assert titles(client.get(PUBLIC).content.decode()) == []


def test_a_status_change_shows_at_once(client, world: World):
    (report,) = make_reports(world, 1)
    assert "status-assigned" in client.get(PUBLIC).content.decode()

    report.status = Status.IN_PROGRESS
    report.save()

    page = client.get(PUBLIC).content.decode()
    assert "status-in_progress" in page and "status-assigned" not in page


@pytest.mark.vietnamese
def test_each_language_has_its_own_entry(client, world: World):
    make_reports(world, 1)

    def status(language: str) -> str:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language  # the switch in the header
        return _points(client)[0]["status"]

    assert status("vi") == "Chờ xử lý"
    assert status("en") == "Awaiting handling"
    assert status("vi") == "Chờ xử lý"


def test_a_page_with_other_parameters_is_not_cached(client, world: World):
    make_reports(world, 2)
    for path in (
        f"{PUBLIC}?utm=x",
        f"{PUBLIC}?category=no-such-code",
        f"{PUBLIC}?cursor=garbage",
        f"{PUBLIC}?category=giao-thong&category=giao-thong",
    ):
        assert _report_reads(client, path)[0] == 1
        assert _report_reads(client, path)[0] == 1, path


def test_a_category_is_cached_with_its_links_and_pages_further_down_are_not(client, world):
    make_reports(world, 25)
    reads, html = _report_reads(client, f"{PUBLIC}?category=giao-thong")
    assert reads == 1
    assert 'href="?category=giao-thong&amp;cursor=' in html
    assert _report_reads(client, f"{PUBLIC}?category=giao-thong")[0] == 0
    assert _report_reads(client, f"{PUBLIC}?category=")[0] == 1  # "All categories"
    assert _report_reads(client, f"{PUBLIC}?category=")[0] == 0

    older = link(html, "next")
    assert older is not None and "cursor=" in older
    for _ in range(2):  # a page further down costs a read each time, never a cache entry
        reads, page = _report_reads(client, PUBLIC + older)
        assert reads == 1
    assert titles(page) == [f"Phản ánh {n:03d}" for n in range(20, 25)]


def test_a_signed_in_visitor_leaves_nothing_of_theirs_in_the_shared_list(client, world):
    make_reports(world, 2)
    client.force_login(world.resident)
    signed_in = client.get(PUBLIC).content.decode()  # builds the shared entry
    assert reverse("feedback:mine") in signed_in

    client.logout()
    reads, anonymous = _report_reads(client, PUBLIC)
    assert reads == 0  # the entry the signed-in visit made
    assert reverse("feedback:mine") not in anonymous
    assert world.resident.phone not in anonymous
    assert _listing(anonymous) == _listing(signed_in)


def _listing(html: str) -> str:
    return html[html.index('<form method="get"') : html.index("</main>")]


def test_a_save_of_what_the_pages_do_not_show_keeps_the_version(world: World):
    (report,) = make_reports(world, 1)
    public_cache.cached("probe", ("x",), lambda: "built")
    version = caches["public"].get(public_cache.VERSION_KEY)
    report.escalation_level = 1
    report.save(update_fields=["escalation_level"])
    assert caches["public"].get(public_cache.VERSION_KEY) == version
    report.status = Status.IN_PROGRESS
    report.save(update_fields=["status"])
    assert caches["public"].get(public_cache.VERSION_KEY) != version


def test_many_changes_in_one_transaction_change_the_version_once(world, monkeypatch):
    reports = make_reports(world, 3)
    bumps: list[None] = []
    real_bump = public_cache._bump
    monkeypatch.setattr(public_cache, "_bump", lambda: bumps.append(real_bump()))
    with transaction.atomic():
        for report in reports:
            report.status = Status.IN_PROGRESS
            report.save()
    assert len(bumps) == 1


def test_a_category_group_or_a_bulk_write_of_wards_changes_the_version(world: World):
    from ihanoi.feedback.models import CategoryGroup
    from ihanoi.lib.signals import bulk_reference_write

    public_cache.cached("probe", ("x",), lambda: "built")
    first = caches["public"].get(public_cache.VERSION_KEY)
    group = CategoryGroup.objects.first()
    assert group is not None
    group.position += 1
    group.save()
    second = caches["public"].get(public_cache.VERSION_KEY)
    assert second != first
    with transaction.atomic():
        bulk_reference_write.send(sender=None)
    assert caches["public"].get(public_cache.VERSION_KEY) not in (first, second)


def test_what_is_rendered_inside_a_transaction_is_not_kept(client, world: World):
    make_reports(world, 1)
    with transaction.atomic():
        assert _report_reads(client, PUBLIC)[0] == 1
    assert _report_reads(client, PUBLIC)[0] == 1  # read again: nothing was kept
    assert _report_reads(client, PUBLIC)[0] == 0


def test_the_version_changes_on_commit_not_before(world: World):
    (report,) = make_reports(world, 1)
    before = public_cache.cached("probe", ("x",), lambda: "built")
    assert before == "built"
    version = caches["public"].get(public_cache.VERSION_KEY)
    with transaction.atomic():
        report.status = Status.IN_PROGRESS
        report.save()
        assert caches["public"].get(public_cache.VERSION_KEY) == version
    assert caches["public"].get(public_cache.VERSION_KEY) != version


def test_a_new_report_does_not_change_the_version(world: World):
    public_cache.cached("probe", ("x",), lambda: "built")
    version = caches["public"].get(public_cache.VERSION_KEY)
    make_reports(world, 1)
    Report.objects.create(**_copy_of(Report.objects.get()))
    assert caches["public"].get(public_cache.VERSION_KEY) == version


def _copy_of(report: Report) -> dict[str, Any]:
    values = {
        f.attname: getattr(report, f.attname)
        for f in Report._meta.concrete_fields
        if f.attname not in ("id", "public_id", "number")
    }
    return {**values, "public_id": uuid.uuid4()}


def test_an_evicted_version_is_replaced_and_old_entries_no_longer_count(world: World):
    assert public_cache.cached("probe", ("x",), lambda: "old") == "old"
    caches["public"].delete(public_cache.VERSION_KEY)
    assert public_cache.cached("probe", ("x",), lambda: "new") == "new"
    assert public_cache.cached("probe", ("x",), lambda: "newer") == "new"


def test_with_the_cache_down_the_pages_still_render(client, world: World, monkeypatch):
    class Down:
        def __getattr__(self, name: str) -> Any:
            def fail(*args: Any, **kwargs: Any) -> Any:
                raise ConnectionError("cache down")

            return fail

    make_reports(world, 1)
    monkeypatch.setattr(public_cache, "cache", Down())
    assert titles(client.get(PUBLIC).content.decode()) == ["Phản ánh 000"]
    assert len(_points(client)) == 1


def test_a_replica_page_built_just_after_a_change_is_not_kept(
    world: World, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.DATABASE_REPLICA_PIN_SECONDS = 5
    monkeypatch.setattr(public_cache, "reading_from_replica", lambda: True)
    # A change just now.
    caches["public"].set(public_cache.VERSION_KEY, public_cache._new_token(), None)

    assert public_cache.cached("probe", ("x",), lambda: "first") == "first"
    assert public_cache.cached("probe", ("x",), lambda: "second") == "second"  # not kept

    old = f"{1.0:.3f}:abc"  # a change long ago: the replica has it
    caches["public"].set(public_cache.VERSION_KEY, old, None)
    assert public_cache.cached("probe", ("x",), lambda: "third") == "third"
    assert public_cache.cached("probe", ("x",), lambda: "fourth") == "third"


def test_bypassed_renders_afresh_without_touching_the_cache(client, world: World):
    make_reports(world, 1)
    assert _report_reads(client, PUBLIC)[0] == 1
    assert _report_reads(client, PUBLIC)[0] == 0
    with public_cache.bypassed():
        assert _report_reads(client, PUBLIC)[0] == 1
        assert public_cache.cached("probe", ("x",), lambda: "a") == "a"
        assert public_cache.cached("probe", ("x",), lambda: "b") == "b"
    assert public_cache.cached("probe", ("x",), lambda: "c") == "c"  # nothing was kept
