"""The report form answers the app's own script (web/drafts.js) in JSON, so that a report
kept on the phone is removed from it only when the server names the report it made."""

from __future__ import annotations

import json
import uuid

import pytest
from django.urls import reverse

from ihanoi.feedback.models import Report
from tests.feedback.conftest import HOAN_KIEM_LAKE, upload

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


def _data(key: str, **extra) -> dict:
    return {
        "kind": "field",
        "category": "khac",
        "title": "Ổ gà trên phố Tràng Tiền",
        "description": "Ổ gà sâu giữa đường.",
        "lat": str(HOAN_KIEM_LAKE[0]),
        "lon": str(HOAN_KIEM_LAKE[1] + 0.01),
        "client_key": key,
        **extra,
    }


def test_a_kept_report_is_answered_with_the_report_it_made(client, world):
    client.force_login(world.resident)
    key = uuid.uuid4().hex
    response = client.post(reverse("feedback:new"), _data(key, photos=[upload()]), **JSON)
    assert response.status_code == 201
    body = response.json()
    report = Report.objects.get()
    assert body == {
        "id": str(report.public_id),
        "number": report.pk,
        "url": reverse("feedback:detail", args=[report.public_id]),
        "created": True,
    }
    assert report.client_key == key


def test_sending_the_same_kept_report_again_returns_the_first_one(client, world):
    client.force_login(world.resident)
    key = uuid.uuid4().hex
    first = client.post(reverse("feedback:new"), _data(key), **JSON).json()
    again = client.post(reverse("feedback:new"), _data(key), **JSON)
    assert again.status_code == 200
    assert again.json() == {**first, "created": False}
    assert Report.objects.count() == 1


def test_a_kept_report_with_mistakes_gets_the_errors_by_field_and_makes_nothing(client, world):
    client.force_login(world.resident)
    response = client.post(
        reverse("feedback:new"), _data(uuid.uuid4().hex, title="", lat="91"), **JSON
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "title" in errors
    assert Report.objects.count() == 0


def test_a_point_outside_the_city_is_a_location_error(client, world):
    client.force_login(world.resident)
    response = client.post(
        reverse("feedback:new"), _data(uuid.uuid4().hex, lat="10.77", lon="106.70"), **JSON
    )
    assert response.status_code == 400
    assert "location" in response.json()["errors"]


def test_a_report_kept_under_another_account_is_refused(client, world):
    client.force_login(world.resident)
    data = _data(uuid.uuid4().hex, draft_owner=str(world.other_resident.pk))
    response = client.post(reverse("feedback:new"), data, **JSON)
    assert response.status_code == 409
    assert Report.objects.count() == 0


def test_the_report_kept_by_its_own_author_is_accepted(client, world):
    client.force_login(world.resident)
    data = _data(uuid.uuid4().hex, draft_owner=str(world.resident.pk))
    assert client.post(reverse("feedback:new"), data, **JSON).status_code == 201


def test_a_plain_form_post_still_redirects_to_the_report(client, world):
    client.force_login(world.resident)
    response = client.post(reverse("feedback:new"), _data(uuid.uuid4().hex))
    assert response.status_code == 302
    assert response["Location"] == reverse("feedback:detail", args=[Report.objects.get().public_id])


def test_signed_out_the_app_is_sent_to_sign_in(client, world):
    response = client.post(reverse("feedback:new"), _data(uuid.uuid4().hex), **JSON)
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_the_form_offers_categories_with_text_to_search_without_marks(client, world):
    client.force_login(world.resident)
    response = client.get(reverse("feedback:new"))
    html = response.content.decode()
    assert 'id="category-search"' in html
    options = {o["code"]: o for o in response.context["category_options"]}
    assert "Môi trường" in options["moi-truong-ve-sinh"]["search"]
    assert "data-photo-required" in html
    strings = json.loads(
        html.split('<script id="report-form-strings" type="application/json">')[1].split(
            "</script>"
        )[0]
    )
    assert strings["savedOffline"]
