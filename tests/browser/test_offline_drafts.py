"""A report written without network is kept on the phone and arrives exactly once."""

from __future__ import annotations

import pytest

from ihanoi.feedback.models import Report
from tests.browser.conftest import photo_file, screenshot, sign_in, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DRAFT_COUNT = """async () => {
  const items = await window.IhanoiDrafts.list(document.body.dataset.user);
  return items.length;
}"""


def _open_form_online(page, context, live_server, world):
    sign_in(context, live_server, world.resident)
    page.goto("/feedback/new/")
    page.evaluate("navigator.serviceWorker.ready")
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    # Once more under the worker: the page and Leaflet are now kept for offline use.
    page.reload()
    page.wait_for_selector("#pin-map .leaflet-container, #pin-map.leaflet-container")


def _fill(page, tmp_path, title):
    page.fill("#category-search", "moi truong")
    page.get_by_label("Environment and sanitation").check()
    page.select_option('select[name="answer_van-de"]', "rac")
    page.fill("#id_title", title)
    page.fill("#id_description", "Rác thải để ngoài giờ quy định, bốc mùi.")
    page.fill("#id_lat", "21.0290")
    page.fill("#id_lon", "105.8560")
    page.set_input_files("#id_photos", str(photo_file(tmp_path)))


def test_a_report_made_offline_survives_a_reload_and_is_sent_once_back_online(
    page, context, live_server, world, tmp_path
):
    _open_form_online(page, context, live_server, world)
    context.set_offline(True)
    _fill(page, tmp_path, "Rác ở ngõ Hàng Bông")
    page.click("#report-form button[type=submit]")
    page.wait_for_selector("#drafts-list li.draft")
    assert "saved on this phone" in page.locator("#form-status").inner_text()
    assert page.evaluate(DRAFT_COUNT) == 1
    assert Report.objects.count() == 0
    screenshot(page, "report-form-offline-draft")

    page.reload()  # still offline: the worker serves the kept page, the draft is still there
    page.wait_for_selector("#drafts-list li.draft")
    assert page.evaluate(DRAFT_COUNT) == 1
    kept_key = page.evaluate("IhanoiDrafts.list().then(d => d[0].key)")
    assert page.input_value("#report-form [name=client_key]") != kept_key, "a new report, a new key"
    assert Report.objects.count() == 0

    context.set_offline(False)
    wait_until(lambda: page.evaluate(DRAFT_COUNT) == 0)
    assert Report.objects.count() == 1
    report = Report.objects.get()
    assert report.title == "Rác ở ngõ Hàng Bông"
    assert report.reporter == world.resident
    assert report.photos.count() == 1
    assert len(report.client_key) == 32

    page.reload()
    page.wait_for_timeout(500)
    assert Report.objects.count() == 1


def test_a_send_cut_off_after_the_server_took_it_is_retried_with_the_same_key(
    page, context, live_server, world, tmp_path
):
    _open_form_online(page, context, live_server, world)
    reached_server: list[str] = []
    network = {"bad": True}

    def flaky_network(route):
        if route.request.method != "POST":
            route.continue_()
        elif not reached_server:
            route.fetch()  # the server makes the report...
            reached_server.append(route.request.url)
            route.abort("connectionreset")  # ...and the phone never hears back
        elif network["bad"]:
            route.abort("connectionreset")  # retries (Background Sync too) get nowhere
        else:
            reached_server.append(route.request.url)
            route.continue_()

    context.route("**/feedback/new/", flaky_network)
    _fill(page, tmp_path, "Đèn đường hỏng")
    page.click("#report-form button[type=submit]")
    page.wait_for_selector("#drafts-list li.draft")
    assert len(reached_server) == 1
    assert Report.objects.count() == 1
    assert page.evaluate(DRAFT_COUNT) == 1

    network["bad"] = False
    page.reload()  # the kept draft is sent again, with its key: the server returns the first
    wait_until(lambda: page.evaluate(DRAFT_COUNT) == 0)
    assert len(reached_server) == 2
    assert Report.objects.count() == 1


def test_two_reports_made_offline_arrive_as_two(page, context, live_server, world, tmp_path):
    _open_form_online(page, context, live_server, world)
    context.set_offline(True)
    _fill(page, tmp_path, "Rác ở ngõ 1")
    page.click("#report-form button[type=submit]")
    page.wait_for_selector("#drafts-list li.draft")
    page.reload()
    _fill(page, tmp_path, "Rác ở ngõ 2")
    page.click("#report-form button[type=submit]")
    wait_until(lambda: page.evaluate(DRAFT_COUNT) == 2)
    context.set_offline(False)
    wait_until(lambda: page.evaluate(DRAFT_COUNT) == 0)
    assert sorted(Report.objects.values_list("title", flat=True)) == ["Rác ở ngõ 1", "Rác ở ngõ 2"]
