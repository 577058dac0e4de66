import pytest
from django.db import DatabaseError
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_home_shows_the_utility_grid_and_only_working_entries_are_links(client):
    from ihanoi.web.views import UTILITIES

    response = client.get(reverse("web:home"))
    assert response.status_code == 200
    html = response.content.decode()
    for utility in UTILITIES:
        assert f'data-key="{utility.key}"' in html
        if utility.url:
            assert client.get(utility.url).status_code == 200, utility.key
            assert f'href="{utility.url}"' in html
    soon = [u for u in UTILITIES if not u.url]
    assert soon, "the grid shows what is coming"
    assert html.count('class="utility soon"') == len(soon)


@pytest.mark.vietnamese
def test_home_is_vietnamese_by_default_and_english_after_the_switch(client):
    assert '<html lang="vi">' in client.get("/").content.decode()
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    html = client.get("/").content.decode()
    assert '<html lang="en">' in html
    assert "Directory of agencies" in html


@pytest.mark.vietnamese
def test_unknown_language_is_ignored(client):
    client.post("/i18n/setlang/", {"language": "xx", "next": "/"})
    assert '<html lang="vi">' in client.get("/").content.decode()


def test_healthz_answers_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_answers_503_when_the_database_is_down(client, monkeypatch):
    from ihanoi.web import views

    def broken_cursor(*args, **kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(views.connection, "cursor", broken_cursor)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_healthz_refuses_post(client):
    assert client.post("/healthz").status_code == 405


def test_unknown_page_is_a_404_not_a_500(client):
    assert client.get("/no-such-page/").status_code == 404


@pytest.mark.vietnamese
def test_an_english_browser_still_gets_vietnamese_until_the_visitor_switches(client):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="vi">' in html
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert '<html lang="en">' in html
