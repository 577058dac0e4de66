import json

import pytest
from django.urls import reverse

from ihanoi.places.services import boundaries_import
from tests.conftest import shared_data_file

pytestmark = pytest.mark.django_db


def test_the_map_gets_light_shapes_of_every_ward_and_can_revalidate(client):
    from django.core.management import call_command

    call_command("load_places", verbosity=0)
    path = shared_data_file("hanoi/wards-2025.geojson")
    boundaries_import(collection=json.loads(path.read_text(encoding="utf-8")))
    response = client.get(reverse("places:wards_geojson"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    data = json.loads(response.content)
    assert len(data["features"]) == 126
    assert {f["properties"]["code"] for f in data["features"]} >= {"00070", "00082"}
    assert len(response.content) < 400_000  # the official file is 3 MB
    again = client.get(reverse("places:wards_geojson"), HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_without_boundaries_the_map_gets_an_empty_collection(client):
    data = json.loads(client.get(reverse("places:wards_geojson")).content)
    assert data == {"type": "FeatureCollection", "features": []}
