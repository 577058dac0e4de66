"""Open311 tests: the feedback tests' small city, an API key, and helpers that call the
API and check its answers against the shared JSON Schemas and the spec's XML names."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

import pytest
from jsonschema import Draft7Validator
from referencing import Registry
from referencing.jsonschema import DRAFT7

from ihanoi.open311 import services
from ihanoi.open311.models import ApiKey
from tests.conftest import shared_data_file
from tests.feedback.conftest import (  # noqa: F401  (fixtures used by these tests)
    CUA_NAM,
    HOAN_KIEM_LAKE,
    _media_in_tmp,
    world,
)

BASE = "/open311/v2"
SCHEMA_NAMES = ("request", "requests", "service", "services", "service-definition")


@dataclass
class Key:
    api_key: ApiKey
    raw: str


@pytest.fixture
def key(db) -> Key:
    api_key, raw = services.api_key_create(name="Test client")
    return Key(api_key, raw)


@pytest.fixture
def other_key(db) -> Key:
    api_key, raw = services.api_key_create(name="Other client")
    return Key(api_key, raw)


def _registry() -> Registry:
    resources = []
    for name in SCHEMA_NAMES:
        contents = json.loads(shared_data_file(f"open311/georeport-v2/{name}.json").read_text())
        resources.append((f"{name}.json", DRAFT7.create_resource(contents)))
    return Registry().with_resources(resources)


def validate(payload: Any, schema_name: str) -> None:
    """Fail unless ``payload`` satisfies the shared schema ``schema_name``.json."""
    registry = _registry()
    schema = registry.contents(f"{schema_name}.json")
    validator = Draft7Validator(
        schema, registry=registry, format_checker=Draft7Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(payload), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def xml_of(response: Any) -> ET.Element:
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    body = response.content
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(body)  # noqa: S314 - our own output, parsed to check it


def json_of(response: Any) -> Any:
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return json.loads(response.content)


def errors_in(response: Any) -> list[dict[str, Any]]:
    """The spec's error body, from either format, as [{code, description}]."""
    if response["Content-Type"].startswith("text/xml"):
        root = xml_of(response)
        assert root.tag == "errors"
        found = []
        for error in root:
            assert error.tag == "error"
            assert [child.tag for child in error] == ["code", "description"]
            found.append(
                {
                    "code": int(error.findtext("code") or 0),
                    "description": error.findtext("description"),
                }
            )
        return found
    payload = json_of(response)
    assert isinstance(payload, list) and payload
    for error in payload:
        assert set(error) == {"code", "description"}
    return payload


def request_form(**overrides: Any) -> dict[str, Any]:
    """A valid POST requests body for the traffic service (no photo required)."""
    form: dict[str, Any] = {
        "service_code": "giao-thong",
        "lat": str(HOAN_KIEM_LAKE[0]),
        "long": str(HOAN_KIEM_LAKE[1]),
        "description": "Ổ gà lớn trước số 12 Đinh Tiên Hoàng\nXe máy dễ ngã.",
        "attribute[su-co]": "mat-duong",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def submit(
    reporter: Any,
    *,
    when: Any = None,
    category: str = "giao-thong",
    at: tuple[float, float] = HOAN_KIEM_LAKE,
    description: str = "Đèn tín hiệu ngã tư hỏng",
    answers: dict[str, Any] | None = None,
    photos: Any = (),
) -> Any:
    """A report sent through the website's service (not through the API)."""
    from ihanoi.feedback import services as feedback_services

    report, _created = feedback_services.report_submit(
        reporter=reporter,
        submission=feedback_services.Submission(
            kind="field",
            category_code=category,
            title=description[:80],
            description=description,
            lat=at[0],
            lon=at[1],
            answers=answers if answers is not None else {"su-co": "den-tin-hieu"},
        ),
        photos=photos,
        now=when,
    )
    return report


W3C_OFFSET = "+07:00"


def assert_w3c(value: str) -> None:
    """A W3C datetime with the city's offset, to the second."""
    import re

    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00", value), value
