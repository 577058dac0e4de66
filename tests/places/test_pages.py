"""The public pages: /places/, /places/<code>/ and /places/locate.json."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from ihanoi.places.services import LoadResult, boundaries_import

from .test_geo_index import square

pytestmark = pytest.mark.django_db

LIST_URL = "/places/"
LOCATE_URL = "/places/locate.json"


@pytest.fixture(autouse=True)
def _hanoi(hanoi_module: LoadResult) -> None:
    pass


def names_listed(client: Client, query: str | None = None) -> list[str]:
    response = client.get(LIST_URL, {"q": query} if query is not None else {})
    assert response.status_code == 200
    return [ward.name for ward in response.context["wards"]]


def test_urls_are_named() -> None:
    assert reverse("places:list") == LIST_URL
    assert reverse("places:detail", args=["00070"]) == "/places/00070/"
    assert reverse("places:locate") == LOCATE_URL


def test_list_shows_the_126_current_wards(client: Client) -> None:
    response = client.get(LIST_URL)
    assert response.status_code == 200
    assert len(response.context["wards"]) == 126
    html = response.content.decode()
    assert "Phường Hoàn Kiếm" in html
    assert 'href="/places/00070/"' in html
    assert "Phường Hàng Bạc" not in html  # a ward before the reform


@pytest.mark.parametrize(
    "query", ["hoan kiem", "Hoàn Kiếm", "HOAN KIEM", "  hoan   kiem ", "phuong hoan kiem"]
)
def test_search_ignores_diacritics_case_and_spacing(client: Client, query: str) -> None:
    assert names_listed(client, query) == ["Phường Hoàn Kiếm"]


def test_search_matches_either_tone_mark_placement(client: Client) -> None:
    # The package spells it "Yên Hòa"; other sources write "Yên Hoà".
    assert names_listed(client, "Yên Hoà") == names_listed(client, "Yên Hòa") == ["Phường Yên Hòa"]


def test_search_finds_d_with_stroke_typed_as_d(client: Client) -> None:
    assert "Phường Ba Đình" in names_listed(client, "ba dinh")


def test_search_by_code(client: Client) -> None:
    assert names_listed(client, "00070") == ["Phường Hoàn Kiếm"]


def test_search_without_match_says_so(client: Client) -> None:
    response = client.get(LIST_URL, {"q": "zzzz"})
    assert response.status_code == 200
    assert "No ward or commune matches “zzzz”." in response.content.decode()


@pytest.mark.parametrize("query", ["x" * 5000, "<script>alert(1)</script>", "%", "_", "\x00"])
def test_odd_search_input_is_harmless(client: Client, query: str) -> None:
    response = client.get(LIST_URL, {"q": query})
    assert response.status_code == 200
    assert "<script>alert" not in response.content.decode()


def test_list_only_answers_get(client: Client) -> None:
    assert client.post(LIST_URL).status_code == 405


def test_detail_shows_type_centre_area_and_predecessors(client: Client) -> None:
    response = client.get("/places/00070/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Phường Hoàn Kiếm</h1>" in html
    assert "<dd>Phường</dd>" in html  # type
    assert "21.03200, 105.85000" in html  # centre
    assert "1,91 km²" in html or "1.91 km²" in html  # area, in the page's number format
    # Predecessors: Hàng Bạc went in whole, Tràng Tiền only in part.
    assert "Phường Hàng Bạc" in html and "Quận Hoàn Kiếm" in html
    assert "Phường Tràng Tiền" in html
    predecessors = {link.old.code: link for link in response.context["predecessors"]}
    assert not predecessors["00061"].is_partial
    assert predecessors["00079"].is_partial


def test_detail_of_an_approximate_boundary_says_it_is_approximate(client: Client) -> None:
    html = client.get("/places/00070/").content.decode()
    assert "notice-approximate" in html
    assert "The boundary of this unit is approximate" in html


def test_detail_of_an_official_boundary_has_no_approximate_note(client: Client) -> None:
    boundaries_import(
        collection={
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"code": "00070"},
                    "geometry": square(105.84, 21.02, 0.02),
                }
            ],
        }
    )
    html = client.get("/places/00070/").content.decode()
    assert "notice-approximate" not in html
    assert "Official boundary" in html


@pytest.mark.parametrize("code", ["99999", "00061", "abc", "0007"])
def test_detail_of_an_unknown_or_former_ward_is_404(client: Client, code: str) -> None:
    # 00061 (Phường Hàng Bạc) existed only before 2025-07-01.
    assert client.get(f"/places/{code}/").status_code == 404


# --- locate.json ------------------------------------------------------------------------------


def test_locate_json_answers_the_ward_and_that_it_is_approximate(client: Client) -> None:
    response = client.get(LOCATE_URL, {"lat": "21.0287", "lon": "105.8523"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    data = response.json()
    assert set(data) == {"ward", "approximate"}
    assert set(data["ward"]) == {"code", "name"}
    assert data["approximate"] is True


def test_locate_json_with_official_boundaries(client: Client, real_wards: dict[str, Any]) -> None:
    boundaries_import(collection=real_wards)
    response = client.get(LOCATE_URL, {"lat": "21.0243", "lon": "105.8576"})
    assert response.json() == {
        "ward": {"code": "00082", "name": "Phường Cửa Nam"},
        "approximate": False,
    }


@pytest.mark.parametrize(("lat", "lon"), [("10.77", "106.70"), ("20.0", "107.5"), ("-45", "-170")])
def test_locate_json_outside_the_city_is_null(client: Client, lat: str, lon: str) -> None:
    response = client.get(LOCATE_URL, {"lat": lat, "lon": lon})
    assert response.status_code == 200
    assert response.json() == {"ward": None, "approximate": False}


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({}, "Give both lat and lon"),
        ({"lat": "21.0"}, "Give both lat and lon"),
        ({"lon": "105.8"}, "Give both lat and lon"),
        ({"lat": "", "lon": "105.8"}, "latitude must be a number"),
        ({"lat": "abc", "lon": "105.8"}, "latitude must be a number"),
        ({"lat": "NaN", "lon": "105.8"}, "latitude must be a number"),
        ({"lat": "inf", "lon": "105.8"}, "latitude must be a number"),
        ({"lat": "91", "lon": "105.8"}, "latitude must be between -90 and 90"),
        ({"lat": "21", "lon": "-181"}, "longitude must be between -180 and 180"),
        ({"lat": "1e400", "lon": "105.8"}, "latitude must be a finite number"),
        ({"lat": "21,03", "lon": "105.8"}, "latitude must be a number"),
    ],
)
def test_locate_json_bad_input_is_400_with_a_message(
    client: Client, params: dict[str, str], words: str
) -> None:
    response = client.get(LOCATE_URL, params)
    assert response.status_code == 400
    assert words in response.json()["error"]


def test_locate_json_only_answers_get(client: Client) -> None:
    assert client.post(LOCATE_URL, {"lat": "21", "lon": "105"}).status_code == 405
