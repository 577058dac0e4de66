"""One error shape for every error, in the caller's language; the published schema and the
docs page, which loads nothing from the internet."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings

from ihanoi.api.errors import request_language
from tests.api.conftest import assert_error


def test_an_unknown_address_under_the_api_is_a_json_404(db, anonymous):
    for path in ("/nothing-here", "/", "/reports/", "/me/devices/1/extra"):
        assert_error(anonymous.get(path), 404, "not_found")


def test_a_wrong_method_is_a_json_405_with_allow(db, anonymous):
    response = anonymous.client.put("/api/v1/categories")
    assert_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET"


def test_an_unreadable_multipart_body_is_a_400(world, resident_api):
    response = resident_api.client.post(
        "/api/v1/reports",
        b'--xyz\r\nContent-Disposition: form-data; name="title"\r\n\r\nabc',
        content_type="multipart/form-data; boundary=",
        headers={"Authorization": f"Bearer {resident_api.token}"},
    )
    assert_error(response, 400, "bad_request")


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_body_over_the_size_limit_is_a_413(db, anonymous):
    response = anonymous.post("/auth/code", {"phone": "0" * 5000})
    assert_error(response, 413, "payload_too_large")


def test_an_unexpected_failure_is_a_500_in_the_error_shape(db, anonymous, monkeypatch):
    from ihanoi.api import api as api_module

    def explode() -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(api_module, "active_categories", explode)
    response = anonymous.get("/categories")
    error = assert_error(response, 500, "server_error")
    assert "boom" not in error["message"]


@pytest.mark.vietnamese
def test_errors_are_vietnamese_by_default_and_english_on_request(db, anonymous):
    vi = anonymous.get("/me")
    assert vi["Content-Language"] == "vi"
    assert "Accept-Language" in vi["Vary"]
    vi_error = assert_error(vi, 401, "unauthorized")
    anonymous.language = "en"
    en_error = assert_error(anonymous.get("/me"), 401, "unauthorized")
    assert en_error["message"].startswith("Sign in first")
    assert vi_error["message"] != en_error["message"]
    # ninja's own validation messages are ours, translated too.
    anonymous.language = None
    vi_fields = assert_error(anonymous.post("/auth/code", {}), 400, "invalid")["fields"]
    anonymous.language = "en"
    en_fields = assert_error(anonymous.post("/auth/code", {}), 400, "invalid")["fields"]
    assert en_fields == {"phone": ["This field is required."]}
    assert vi_fields["phone"] != en_fields["phone"]


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("", "en"),  # tests run with LANGUAGE_CODE = "en"; in production it is "vi"
        ("vi", "vi"),
        ("vi-VN,vi;q=0.9,en;q=0.8", "vi"),
        ("en-US,en;q=0.9", "en"),
        ("fr-FR,fr;q=0.9,en;q=0.5,vi;q=0.4", "en"),
        ("en;q=0.2,vi;q=0.8", "vi"),
        ("en;q=0", "en"),
        ("de", "en"),
        ("en;q=abc", "en"),
        ("*", "en"),
        (",,;;q=,", "en"),
    ],
)
def test_the_language_follows_accept_language(rf, header, language):
    request = rf.get("/", headers={"Accept-Language": header} if header else {})
    assert request_language(request) == language


def test_the_language_falls_back_to_the_citys(rf, settings):
    settings.LANGUAGE_CODE = "vi"
    assert request_language(rf.get("/")) == "vi"
    assert request_language(rf.get("/", headers={"Accept-Language": "ja"})) == "vi"


# --- The published schema and the docs page ---------------------------------------------------


def test_the_openapi_schema_is_published_at_a_stable_address(db, anonymous):
    response = anonymous.client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["DeviceTokenAuth"] == {
        "type": "http",
        "scheme": "bearer",
    }
    paths = schema["paths"]
    assert "/api/v1/reports" in paths and "/api/v1/auth/token" in paths
    submit = paths["/api/v1/reports"]["post"]
    assert "multipart/form-data" in submit["requestBody"]["content"]
    assert {"200", "201", "400", "401"} <= set(submit["responses"])
    error_ref = submit["responses"]["400"]["content"]["application/json"]["schema"]["$ref"]
    assert error_ref.endswith("/ErrorOut")
    # Optional sign-in is stated as such.
    detail = paths["/api/v1/reports/{public_id}"]["get"]
    assert {} in detail["security"]
    assert "security" not in paths["/api/v1/categories"]["get"]


def test_the_docs_page_loads_its_files_from_this_site(db, anonymous):
    page = anonymous.client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "cdn" not in html.lower()
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert url.startswith("/api/v1/"), url
        asset = anonymous.client.get(url)
        assert asset.status_code == 200, url
        asset.close()
    assert '"validatorUrl": null' in html  # Swagger UI would otherwise call swagger.io


def test_only_the_docs_own_files_are_served(db, anonymous):
    for name in ("../../settings.py", "redoc.standalone.js.map", "favicon.png", "nope.js"):
        assert anonymous.client.get(f"/api/v1/docs/assets/{name}").status_code == 404


def test_a_missing_body_is_reported_under_body(db, anonymous):
    response = anonymous.client.post("/api/v1/auth/code", "", content_type="application/json")
    error = assert_error(response, 400, "invalid")
    assert error["fields"] == {"body": ["This field is required."]}


def test_schema_errors_are_400_never_ninjas_422(world, resident_api):
    for response in (
        resident_api.post("/auth/token", {"phone": "0912345678"}),
        resident_api.get("/reports/nearby", {"lat": "x", "lon": "y"}),
        resident_api.post("/push-subscriptions", {"endpoint": 5}),
    ):
        error = assert_error(response, 400, "invalid")
        assert "detail" not in response.json()
        assert all(isinstance(m, str) for ms in error["fields"].values() for m in ms)
