"""Discovery, the service list and service definitions, in both formats."""

from __future__ import annotations

import pytest

from ihanoi.feedback.models import Category, CategoryGroup

from .conftest import BASE, errors_in, json_of, validate, xml_of

SERVICE_FIELDS = [
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
]


def test_discovery_names_the_endpoint_and_both_formats(client, db):
    payload = json_of(client.get(f"{BASE}/discovery.json"))
    assert set(payload) == {"changeset", "contact", "key_service", "endpoints"}
    (endpoint,) = payload["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert endpoint["type"] in ("production", "test")


def test_discovery_in_xml_uses_the_spec_elements(client, db):
    root = xml_of(client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    assert [child.tag for child in root] == ["changeset", "contact", "key_service", "endpoints"]
    endpoint = root.find("endpoints/endpoint")
    assert endpoint is not None
    assert [f.text for f in endpoint.findall("formats/format")] == ["text/xml", "application/json"]
    # The endpoint's base URL and the root answer with the same document.
    assert xml_of(client.get("/open311/v2")).tag == "discovery"
    assert xml_of(client.get("/open311/")).tag == "discovery"


def test_services_list_every_active_category_and_validate(client, world):
    response = client.get(f"{BASE}/services.json")
    payload = json_of(response)
    validate(payload, "services")
    codes = [s["service_code"] for s in payload]
    usable = Category.objects.filter(is_active=True)
    assert set(codes) == set(usable.values_list("code", flat=True))
    traffic = next(s for s in payload if s["service_code"] == "giao-thong")
    assert traffic == {
        "service_code": "giao-thong",
        "service_name": "Traffic",
        "description": traffic["description"],
        "metadata": True,
        "type": "realtime",
        "keywords": "ổ gà, đèn tín hiệu, biển báo, ùn tắc",
        "group": "Urban management",
    }


def test_a_category_that_needs_a_photo_is_listed_and_defined(client, world):
    codes = [s["service_code"] for s in json_of(client.get(f"{BASE}/services.json"))]
    assert "trat-tu-do-thi" in codes
    assert client.get(f"{BASE}/services/trat-tu-do-thi.json").status_code == 200


def test_an_inactive_category_is_not_a_service(client, world):
    Category.objects.filter(code="giao-thong").update(is_active=False)
    codes = [s["service_code"] for s in json_of(client.get(f"{BASE}/services.json"))]
    assert "giao-thong" not in codes
    assert client.get(f"{BASE}/services/giao-thong.json").status_code == 404


def test_services_in_xml_use_the_spec_elements(client, world):
    root = xml_of(client.get(f"{BASE}/services.xml"))
    assert root.tag == "services"
    assert root[0].tag == "service"
    assert [child.tag for child in root[0]] == SERVICE_FIELDS
    traffic = next(s for s in root if s.findtext("service_code") == "giao-thong")
    assert traffic.findtext("metadata") == "true"
    assert traffic.findtext("type") == "realtime"


def test_service_names_follow_accept_language(client, world):
    response = client.get(f"{BASE}/services.json", HTTP_ACCEPT_LANGUAGE="vi")
    assert response["Content-Language"] == "vi"
    assert "Accept-Language" in response["Vary"]
    payload = json_of(response)
    traffic = next(s for s in payload if s["service_code"] == "giao-thong")
    assert traffic["service_name"] == "Giao thông"
    assert traffic["group"] == "Đô thị"


def test_service_definition_lists_the_questions(client, world):
    payload = json_of(client.get(f"{BASE}/services/giao-thong.json"))
    validate(payload, "service-definition")
    assert payload["service_code"] == "giao-thong"
    (attribute,) = payload["attributes"]
    assert attribute["variable"] is True
    assert attribute["code"] == "su-co"
    assert attribute["datatype"] == "singlevaluelist"
    assert attribute["required"] is True
    assert attribute["order"] == 1
    assert attribute["description"] == "Issue"
    assert {"key": "mat-duong", "name": "Damaged road, pothole"} in attribute["values"]


def test_service_definition_in_xml(client, world):
    root = xml_of(client.get(f"{BASE}/services/giao-thong.xml"))
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == "giao-thong"
    attribute = root.find("attributes/attribute")
    assert attribute is not None
    assert [c.tag for c in attribute] == [
        "variable",
        "code",
        "datatype",
        "required",
        "datatype_description",
        "order",
        "description",
        "values",
    ]
    values = attribute.findall("values/value")
    assert values and [c.tag for c in values[0]] == ["key", "name"]
    assert attribute.findtext("datatype_description") == ""  # an empty element for null


def test_a_service_without_questions_has_no_metadata(client, world):
    group = CategoryGroup.objects.first()
    Category.objects.create(code="thu-nghiem", group=group, name="Khác", name_en="Other")
    services = json_of(client.get(f"{BASE}/services.json"))
    other = next(s for s in services if s["service_code"] == "thu-nghiem")
    assert other["metadata"] is False
    assert other["description"] is None
    definition = json_of(client.get(f"{BASE}/services/thu-nghiem.json"))
    validate(definition, "service-definition")
    assert definition["attributes"] == []


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_unknown_service_code_is_404(client, world, fmt):
    response = client.get(f"{BASE}/services/nope.{fmt}")
    assert response.status_code == 404
    (error,) = errors_in(response)
    assert error["code"] == 404
    assert "nope" in error["description"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_jurisdiction_id_ours_or_empty_is_accepted_another_is_404(client, world, fmt):
    assert client.get(f"{BASE}/services.{fmt}?jurisdiction_id=hanoi.vn").status_code == 200
    assert client.get(f"{BASE}/services.{fmt}?jurisdiction_id=").status_code == 200
    response = client.get(f"{BASE}/services.{fmt}?jurisdiction_id=sfgov.org")
    assert response.status_code == 404
    assert "sfgov.org" in errors_in(response)[0]["description"]


def test_the_jurisdiction_is_configurable(client, world, settings):
    settings.OPEN311_JURISDICTION_ID = "hanoi.gov.vn"
    assert client.get(f"{BASE}/services.json?jurisdiction_id=hanoi.gov.vn").status_code == 200
    assert client.get(f"{BASE}/services.json?jurisdiction_id=hanoi.vn").status_code == 404


@pytest.mark.parametrize(
    "path",
    ["/open311/v2/nothing.json", "/open311/v2/services.csv", "/open311/v3/services.xml"],
)
def test_unknown_resources_get_the_spec_404_body(client, db, path):
    response = client.get(path)
    assert response.status_code == 404
    assert errors_in(response)[0]["code"] == 404


def test_a_wrong_method_is_405_with_the_error_body(client, db):
    response = client.post(f"{BASE}/services.json")
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert errors_in(response)[0]["code"] == 405
