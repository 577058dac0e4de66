"""The manifest, the service worker and the offline page, as the browser fetches them."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from ihanoi.web import pwa

pytestmark = pytest.mark.django_db


def test_the_manifest_makes_the_site_installable(client):
    response = client.get(reverse("web:manifest"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["display"] == "standalone"
    assert manifest["start_url"].startswith("/")
    assert manifest["scope"] == "/"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    assert any(icon.get("purpose") == "maskable" for icon in manifest["icons"])
    for icon in manifest["icons"]:
        assert client.get(icon["src"]).status_code == 200, icon["src"]
    assert [s["url"] for s in manifest["shortcuts"]] == [
        reverse("feedback:new"),
        reverse("feedback:mine"),
    ]


@pytest.mark.vietnamese
def test_the_manifest_speaks_the_visitors_language(client):
    assert json.loads(client.get(reverse("web:manifest")).content)["lang"] == "vi"


def test_the_service_worker_is_served_from_the_root_for_the_whole_site(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert "no-cache" in response["Cache-Control"]
    body = response.content.decode()
    assert f'var VERSION = "{pwa.service_worker_version()}"' in body
    assert reverse("web:offline") in body
    assert "/static/web/site.css" in body
    assert 'importScripts("/static/web/drafts.js")' in body


def test_the_service_worker_changes_when_a_precached_file_changes(monkeypatch):
    before = pwa._compute_version()
    real = pwa._asset_bytes
    monkeypatch.setattr(
        pwa, "_asset_bytes", lambda p: real(p) + (b"!" if p == "web/app.js" else b"")
    )
    assert pwa._compute_version() != before


def test_everything_the_worker_precaches_exists(client):
    for url in pwa.service_worker_context()["precache"]:
        assert client.get(url).status_code == 200, url


def test_the_offline_page_shows_nobody_s_data(client):
    from ihanoi.accounts.models import User

    user = User.objects.create_user(
        phone="+84912000301", phone_verified=True, full_name="Lê Văn Tư"
    )
    client.force_login(user)
    html = client.get(reverse("web:offline")).content.decode()
    assert "Lê Văn Tư" not in html
    assert reverse("accounts:profile") not in html
    assert "data-offline-page" in html


@pytest.mark.parametrize("url", ["/manifest.webmanifest", "/sw.js", "/offline/"])
def test_pwa_files_refuse_post(client, url):
    assert client.post(url).status_code == 405


def test_every_page_links_the_manifest_and_the_app_script(client):
    html = client.get("/").content.decode()
    assert '<link rel="manifest" href="/manifest.webmanifest">' in html
    assert 'data-sw="/sw.js"' in html
    assert "/static/web/app.js" in html
    assert '<meta name="theme-color"' in html


def test_the_service_worker_precaches_hashed_names_of_a_production_build(
    client, settings, tmp_path
):
    from django.core.management import call_command

    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    body = client.get("/sw.js").content.decode()
    assert 'var STATIC_PREFIX = "/static/"' in body
    assert "/static/web/site.css" not in body
    assert "/static/web/site." in body
