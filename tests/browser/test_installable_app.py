"""The resident side is an installable app whose shell works offline."""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import screenshot, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _service_worker_ready(page) -> None:
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=15_000)


def test_home_is_installable_with_a_manifest_icons_and_a_service_worker(profile_context):
    context = profile_context
    page = context.pages[0] if context.pages else context.new_page()
    page.goto("/")
    page.evaluate("navigator.serviceWorker.ready")
    _service_worker_ready(page)
    cdp = context.new_cdp_session(page)
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert errors == []
    manifest = cdp.send("Page.getAppManifest")
    assert not manifest.get("errors"), manifest.get("errors")
    screenshot(page, "home")


def test_the_shell_loads_offline_and_unknown_pages_show_the_offline_page(page, context):
    page.goto("/")
    page.evaluate("navigator.serviceWorker.ready")
    _service_worker_ready(page)
    page.goto("/feedback/")  # seen once online: kept for later
    context.set_offline(True)
    page.goto("/")
    assert page.locator(".utility-grid").is_visible()
    assert page.locator("#net-status").inner_text()
    page.goto("/feedback/")
    assert page.locator("h1").inner_text() == "Feedback from residents"
    page.goto("/agencies/")
    assert page.locator("[data-offline-page]").count() == 1
    screenshot(page, "offline")
    context.set_offline(False)


def test_a_push_message_shows_a_notification_that_opens_the_report(page, context, live_server):
    context.grant_permissions(["notifications"], origin=live_server.url)
    page.goto("/")
    page.evaluate("navigator.serviceWorker.ready")
    _service_worker_ready(page)
    cdp = context.new_cdp_session(page)
    registrations: list[dict] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    wait_until(lambda: page.evaluate("1") and bool(registrations))
    payload = {
        "title": "Phản ánh #7 đã được xử lý",
        "body": "Mời bạn đánh giá.",
        "url": "/feedback/",
    }
    shown: list[dict] = []

    def notifications_shown() -> bool:
        shown.extend(
            page.evaluate(
                """async () => (await (await navigator.serviceWorker.ready).getNotifications())
                .map(n => ({title: n.title, body: n.body, tag: n.tag, url: n.data.url}))"""
            )
        )
        return bool(shown)

    # A push that reaches the worker while it is still starting up can be dropped by the
    # browser (a push service retries): deliver again until it shows. The notification's
    # tag is the link, so a second delivery replaces the first instead of adding one.
    for _attempt in range(6):
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {
                "origin": live_server.url,
                "registrationId": registrations[0]["registrationId"],
                "data": json.dumps(payload, ensure_ascii=False),
            },
        )
        try:
            wait_until(notifications_shown, timeout=5)
            break
        except AssertionError:
            continue
    assert shown == [{**payload, "tag": "/feedback/"}]
