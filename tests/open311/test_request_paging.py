"""GET requests by key: ``Link: <…after=…>; rel="next"`` pages through every request once,
keeping the filters; ``page`` still works; a bad ``after`` is the spec's 400; a page of a
thousand requests costs the same queries as a page of three."""

from __future__ import annotations

import base64
import datetime
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ihanoi.feedback.models import ReportPhoto, Status
from ihanoi.open311.models import ExternalMedia, Open311Request
from tests.feedback.factories import make_reports

from .conftest import BASE, errors_in, json_of, validate, xml_of


def _ids(response) -> list[str]:
    return [item["service_request_id"] for item in json_of(response)]


def _next(response) -> str | None:
    link = response.headers.get("Link")
    if link is None:
        return None
    found = re.fullmatch(r'<(http://testserver[^>]+)>; rel="next"', link)
    assert found, link
    parts = urlsplit(found.group(1))
    return f"{parts.path}?{parts.query}"


def _walk(client, url: str) -> list[list[str]]:
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        pages.append(_ids(response) if url.split("?")[0].endswith(".json") else response)
        url = _next(response)
    return pages


def _cursor(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def test_following_the_link_header_gives_every_request_once_newest_first(client, world):
    reports = make_reports(world, 25)
    pages = _walk(client, f"{BASE}/requests.json?page_size=10")
    assert [len(page) for page in pages] == [10, 10, 5]
    assert [i for page in pages for i in page] == [str(r.public_id) for r in reports]


def test_the_link_keeps_the_filters_and_drops_the_page_number(client, world):
    make_reports(world, 6, category="moi-truong-ve-sinh")
    make_reports(world, 6)
    query = "service_code=giao-thong&status=open&page_size=4&extensions=true&page=1"
    first = client.get(f"{BASE}/requests.json?{query}")
    params = parse_qs(urlsplit(_next(first)).query)
    assert params["service_code"] == ["giao-thong"] and params["status"] == ["open"]
    assert params["page_size"] == ["4"] and params["extensions"] == ["true"]
    assert "page" not in params and params["after"]
    rest = _walk(client, _next(first))
    assert sum(len(page) for page in rest) == 2
    codes = {item["service_code"] for item in json_of(client.get(_next(first)))}
    assert codes == {"giao-thong"}


def test_the_last_page_has_no_link_and_a_short_list_has_none_at_all(client, world):
    make_reports(world, 3)
    response = client.get(f"{BASE}/requests.json")
    assert len(_ids(response)) == 3 and "Link" not in response.headers


def test_a_page_by_number_links_to_the_page_after_it(client, world):
    reports = make_reports(world, 9)
    second = client.get(f"{BASE}/requests.json?page_size=3&page=2")
    assert _ids(second) == [str(r.public_id) for r in reports[3:6]]
    third = client.get(_next(second))
    assert _ids(third) == [str(r.public_id) for r in reports[6:9]]
    assert "Link" not in third.headers


def test_the_xml_pages_the_same_way(client, world):
    make_reports(world, 5)
    response = client.get(f"{BASE}/requests.xml?page_size=2")
    assert len(xml_of(response)) == 2
    assert _next(response).startswith(f"{BASE}/requests.xml?")


def test_the_pages_still_match_the_shared_schema(client, world):
    make_reports(world, 4)
    validate(json_of(client.get(f"{BASE}/requests.json?page_size=2")), "requests")


def test_the_keys_own_private_requests_page_along_with_the_public_ones(client, world, key):
    public = make_reports(world, 4, title="Công khai")
    hidden = make_reports(world, 4, title="Ẩn", is_published=False,
                          start=timezone.now() - datetime.timedelta(minutes=30))  # fmt: skip
    Open311Request.objects.bulk_create(
        Open311Request(report=r, api_key=key.api_key, token=f"t{r.pk}") for r in hidden[:2]
    )
    mine = [i for page in _walk(client, f"{BASE}/requests.json?page_size=3&api_key={key.raw}")
            for i in page]  # fmt: skip
    assert set(mine) == {str(r.public_id) for r in public + hidden[:2]}
    anyone = [i for page in _walk(client, f"{BASE}/requests.json?page_size=3") for i in page]
    assert set(anyone) == {str(r.public_id) for r in public}


# --- Bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "after",
    [
        "garbage",
        "x" * 500,
        _cursor(["n", "a", "2026-01-01T00:00:00+00:00", 1]),  # newest-first is ours, but
        _cursor(["o", "a", "2026-01-01T00:00:00+00:00", 1]),  # not the oldest-first one
        _cursor(["n", "a", "2026-01-01", "1"]),
        _cursor(["n", "a", "2026-01-01T00:00:00", 1]),
        _cursor(["n", "a"]),
        "%00",
    ],
)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_bad_after_is_a_400_in_the_spec_shape(client, world, after, fmt):
    make_reports(world, 2)
    response = client.get(f"{BASE}/requests.{fmt}", {"after": after})
    if after == _cursor(["n", "a", "2026-01-01T00:00:00+00:00", 1]):
        assert response.status_code == 200  # a well-formed cursor: the requests before it
        return
    assert response.status_code == 400
    (error,) = errors_in(response)
    assert error["code"] == 400 and error["description"].startswith("after:")


def test_page_and_after_together_are_a_400(client, world):
    make_reports(world, 5)
    after = _next(client.get(f"{BASE}/requests.json?page_size=2"))
    response = client.get(after + "&page=2")
    assert response.status_code == 400
    assert "after" in errors_in(response)[0]["description"]


def test_an_empty_after_means_the_first_page(client, world):
    make_reports(world, 3)
    assert len(_ids(client.get(f"{BASE}/requests.json?after="))) == 3


def test_a_bad_after_changes_nothing(client, world):
    reports = make_reports(world, 2)
    client.get(f"{BASE}/requests.json", {"after": "garbage"})
    assert {r.status for r in type(reports[0]).objects.all()} == {Status.ASSIGNED}


# --- The cost of a page ----------------------------------------------------------------------


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def _with_media(reports) -> None:
    ReportPhoto.objects.bulk_create(
        ReportPhoto(report=r, image=f"reports/{r.public_id}/a.jpg",
                    thumbnail=f"reports/{r.public_id}/t.jpg", width=4, height=3, sha256="0" * 64)
        for r in reports
    )  # fmt: skip
    ExternalMedia.objects.bulk_create(
        ExternalMedia(report=r, url=f"https://example.vn/{r.pk}.jpg") for r in reports
    )


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_thousand_requests_cost_the_queries_of_three(client, world, fmt):
    _with_media(make_reports(world, 3))
    few = _queries(client, f"{BASE}/requests.{fmt}?service_code=giao-thong")
    _with_media(make_reports(world, 1000, step=datetime.timedelta(seconds=-30)))
    url = f"{BASE}/requests.{fmt}?service_code=giao-thong&extensions=true"
    many = _queries(client, url)
    deep = _queries(client, _next(client.get(f"{BASE}/requests.{fmt}?page_size=10")))
    # The category codes, the page, the last public events, and the media: external ones
    # and photos (and the rejection notes when the page holds a rejected request).
    assert few == many == 5
    assert deep == 4
