"""The resident's journey in a real browser, on a phone-size screen: register with a
one-time code, report a problem with a photo at a point on the map, see the agency accept
and resolve it, rate the result. axe-core checks every main screen on the way."""

from __future__ import annotations

import re

import pytest

from ihanoi.accounts.models import User
from ihanoi.accounts.sms import LocMemSMSBackend
from ihanoi.feedback.models import Report, Status
from ihanoi.web.push import generate_vapid_keys
from tests.browser.conftest import (
    axe_violations,
    describe,
    photo_file,
    screenshot,
    wait_until,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_NUMBER = "+84912345678"


def _code_sent_to(phone: str) -> str:
    for message in reversed(LocMemSMSBackend.outbox):
        match = re.search(r"\b(\d{6})\b", message.body)
        if message.to == phone and match:
            return match.group(1)
    raise AssertionError(f"no code was sent to {phone}")


def _check(page, name: str, found: list[dict]) -> None:
    found.extend(axe_violations(page, name))
    screenshot(page, name)


def test_register_report_with_photo_on_the_map_see_it_resolved_and_rate_it(
    page, context, chromium, live_server, world, tmp_path, settings
):
    violations: list[dict] = []
    settings.VAPID_PUBLIC_KEY, settings.VAPID_PRIVATE_KEY = generate_vapid_keys()

    # Register with a phone number and the code the SMS brings.
    page.goto("/")
    _check(page, "01-home", violations)
    page.get_by_role("link", name="Register with your phone number").click()
    page.get_by_label("Phone number").fill("0912 345 678")
    page.get_by_label("Full name (optional)").fill("Trần Thị Mai")
    _check(page, "02-register", violations)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/accounts/phone/verify/")
    _check(page, "03-verify-code", violations)
    page.locator("input[name=code]").fill(_code_sent_to(PHONE_NUMBER))
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(f"{live_server.url}/")
    resident = User.objects.get(phone=PHONE_NUMBER)
    assert resident.phone_verified

    # Report: category found without marks, a pin on the map, a photo from the phone.
    page.get_by_role("link", name="Send feedback").first.click()
    page.wait_for_selector("#pin-map.leaflet-container")
    _check(page, "04-report-form", violations)
    page.get_by_label("Search categories").fill("moi truong")
    visible = page.locator(".cat-option:visible")
    assert visible.count() >= 1
    assert "Environment and sanitation" in visible.all_inner_texts()[0]
    assert page.locator(".cat-option:visible", has_text="Traffic").count() == 0
    page.get_by_label("Environment and sanitation").check()
    page.select_option('select[name="answer_van-de"]', "rac")
    page.get_by_label("Title").fill("Rác tràn ra phố Hàng Bài")
    page.get_by_label("Description").fill("Thùng rác đầy từ hai hôm nay, rác tràn xuống vỉa hè.")
    page.locator("#pin-map").evaluate("m => m.scrollIntoView({block: 'center'})")
    box = page.locator("#pin-map").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function("document.querySelector('#id_lat').value !== ''")
    page.wait_for_function(
        "document.getElementById('ward-preview').textContent.includes('Hoàn Kiếm')"
    )
    page.set_input_files("#id_photos", str(photo_file(tmp_path)))
    page.wait_for_selector("#photo-previews img")
    _check(page, "05-report-filled", violations)
    page.locator("#report-form button[type=submit]").click()
    page.wait_for_url("**/feedback/r/**")
    report = Report.objects.get()
    assert report.reporter == resident
    assert report.ward == world.hoan_kiem
    assert report.photos.count() == 1
    assert report.channel == "web"
    assert page.get_by_text("Thank you. Your report was received.").is_visible()
    toggle = page.locator("[data-push-toggle]")
    toggle.wait_for()
    assert toggle.inner_text() == "Turn on notifications on this phone"
    _check(page, "06-report-sent", violations)

    # The ward's officer accepts it and resolves it in the workspace.
    staff_context = chromium.new_context(
        base_url=live_server.url, viewport={"width": 1024, "height": 800}
    )
    staff = staff_context.new_page()
    staff.goto("/accounts/login/")
    staff.locator("details.staff-signin summary").click()
    staff.get_by_label("Work e-mail").fill(world.hk_officer.email)
    staff.get_by_label("Password").fill("x" * 12)
    staff.locator("details.staff-signin button[type=submit]").click()
    staff.goto("/staff/reports/")
    staff.get_by_role("link", name=report.title).click()
    staff.locator("details.action summary", has_text="Accept").click()
    staff.locator("details.action[open] button[type=submit]").click()
    wait_until(lambda: Report.objects.get().status == Status.IN_PROGRESS)
    staff.locator("details.action summary", has_text="Post the result").click()
    resolve = staff.locator("details.action[open] form")
    resolve.locator("textarea[name=result]").fill("Đã thu gom rác và vệ sinh vỉa hè.")
    resolve.locator("input[name=photos]").set_input_files(
        str(photo_file(tmp_path, "after.jpg", "blue"))
    )
    resolve.locator("button[type=submit]").click()
    wait_until(lambda: Report.objects.get().status == Status.RESOLVED)
    staff_context.close()

    # The resident hears of it, sees before and after, and rates the result.
    page.goto("/")
    assert page.locator(".tabbar .badge.count").is_visible()
    page.get_by_role("link", name=re.compile("^Notifications")).click()
    _check(page, "07-notifications", violations)
    page.get_by_role("link", name="My reports").click()
    _check(page, "08-my-reports", violations)
    page.get_by_role("link", name=report.title).click()
    assert page.get_by_text("Đã thu gom rác và vệ sinh vỉa hè.").first.is_visible()
    assert page.locator("img[alt='Photo of the result']").count() == 1
    _check(page, "09-report-resolved", violations)
    page.get_by_label("Satisfied", exact=True).check()
    page.get_by_role("button", name="Send my rating").click()
    page.wait_for_selector("text=Thank you for your rating.")
    report.refresh_from_db()
    assert report.rating == "satisfied"
    assert report.status == Status.CLOSED
    _check(page, "10-report-rated", violations)

    page.goto("/accounts/login/")
    _check(page, "11-sign-in", violations)
    assert not violations, "axe found serious or critical problems:\n" + describe(violations)
