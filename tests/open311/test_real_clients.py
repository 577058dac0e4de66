"""Independent clients against a live server.

- ``georeport`` (PyPI; Apache-2.0) is a real GeoReport v2 client library. It reads only:
  services, service definitions, requests by id and by date window, in JSON and in XML.
- FixMyStreet's Open311 client (Perl, not on PyPI) is the reference for creating requests
  and exchanging updates; ``FixMyStreetLike`` sends exactly its form parameters and reads
  our XML the way it does (XML::Simple with ForceArray on the list elements).

Both skip when their libraries are not installed (``georeport``, ``xmltodict``).
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from ihanoi.feedback import services as feedback_services
from ihanoi.feedback.models import Report, Status
from tests.feedback.conftest import prepared_photo

from .conftest import HOAN_KIEM_LAKE

georeport = pytest.importorskip("georeport")
requests = pytest.importorskip("requests")
xmltodict = pytest.importorskip("xmltodict")

FORCE_LIST = ("service", "attribute", "value", "request", "error", "request_update")


def _w3c(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FixMyStreetLike:
    """The calls FixMyStreet's perllib/Open311.pm makes, with its parameters."""

    def __init__(self, endpoint: str, api_key: str, jurisdiction: str) -> None:
        self.endpoint = endpoint.rstrip("/") + "/"
        self.api_key = api_key
        self.jurisdiction = jurisdiction

    def _parse(self, response: Any) -> dict[str, Any]:
        assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
        return xmltodict.parse(response.content, force_list=FORCE_LIST)

    def _post(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        data = {"jurisdiction_id": self.jurisdiction, "api_key": self.api_key, **params}
        response = requests.post(self.endpoint + path, data=data, timeout=10)
        assert response.ok, response.text
        return self._parse(response)

    def send_service_request(self, service_code: str, **extra: Any) -> str:
        params = {
            "description": "Ổ gà lớn\n\nChi tiết trên FixMyStreet.\n\nhttps://fms.example/report/1\n",
            "service_code": service_code,
            "first_name": "Lan",
            "last_name": "Trần",
            "email": "lan@example.vn",
            "lat": f"{HOAN_KIEM_LAKE[0]:.6f}",
            "long": f"{HOAN_KIEM_LAKE[1]:.6f}",
            "media_url": ["https://fms.example/photo/1.jpeg", "https://fms.example/photo/2.jpeg"],
            **extra,
        }
        answer = self._post("requests.xml", params)
        request = answer["service_requests"]["request"][0]
        return request.get("service_request_id") or self.token(request["token"])

    def token(self, token: str) -> str:
        response = requests.get(f"{self.endpoint}tokens/{token}.xml", timeout=10)
        return self._parse(response)["service_requests"]["request"][0]["service_request_id"]

    def get_service_request_updates(self, start: datetime.datetime, end: datetime.datetime):
        response = requests.get(
            self.endpoint + "servicerequestupdates.xml",
            params={
                "api_key": self.api_key,
                "start_date": _w3c(start),
                "end_date": _w3c(end),
                "jurisdiction_id": self.jurisdiction,
            },
            timeout=10,
        )
        assert response.ok, response.text
        return self._parse(response)["service_request_updates"].get("request_update", [])

    def post_service_request_update(self, request_id: str, comment_id: int, status: str) -> str:
        answer = self._post(
            "servicerequestupdates.xml",
            {
                "updated_datetime": timezone.now().replace(microsecond=0).isoformat(),
                "service_request_id": request_id,
                "status": status,
                "description": "Cảm ơn, đã thấy sửa xong.",
                "last_name": "Trần",
                "first_name": "Lan",
                "email": "lan@example.vn",
                "update_id": str(comment_id),
            },
        )
        return answer["service_request_updates"]["request_update"][0]["update_id"]


@pytest.fixture
def endpoint(live_server) -> str:
    return f"{live_server.url}/open311/v2"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_reads_services_definitions_and_requests(
    transactional_db, world, key, endpoint, fmt
):
    fms = FixMyStreetLike(endpoint, key.raw, "hanoi.vn")
    request_id = fms.send_service_request("giao-thong", **{"attribute[su-co]": "mat-duong"})

    client = georeport.GeoReport(endpoint, jurisdiction="hanoi.vn", output_format=fmt)
    services = client.get_service_list()
    assert "giao-thong" in [s["service_code"] for s in services]
    definition = client.get_service_definition("giao-thong")
    attributes = definition["attributes"]
    if fmt == "xml":
        attributes = attributes["attribute"]
        attributes = attributes if isinstance(attributes, list) else [attributes]
    assert attributes[0]["code"] == "su-co"

    by_id = client.get_service_request(request_id)
    assert by_id["service_request_id"] == request_id
    assert by_id["status"] == "open"
    now = timezone.now()
    window = client.get_service_requests(
        start_date=_w3c(now - datetime.timedelta(days=1)), end_date=_w3c(now)
    )
    window = window if isinstance(window, list) else [window]
    assert request_id in [r["service_request_id"] for r in window]


def test_a_fixmystreet_like_client_creates_a_request_and_exchanges_updates(
    transactional_db, world, key, endpoint
):
    fms = FixMyStreetLike(endpoint, key.raw, "hanoi.vn")
    request_id = fms.send_service_request("giao-thong", **{"attribute[su-co]": "mat-duong"})
    report = Report.objects.get(public_id=request_id)
    assert report.external_media.count() == 2

    # The agency handles it; the client fetches the updates and sees it fixed.
    feedback_services.report_accept(actor=world.hk_officer, report=report)
    feedback_services.report_resolve(
        actor=world.hk_officer, report=report, result="Đã vá.", photos=[prepared_photo()]
    )
    now = timezone.now()
    updates = fms.get_service_request_updates(now - datetime.timedelta(hours=1), now)
    assert [u["status"] for u in updates] == ["OPEN", "IN_PROGRESS", "FIXED"]
    assert updates[-1]["description"] == "Đã vá."

    # The resident, on the client, says thanks and the report closes; a retry is harmless.
    update_id = fms.post_service_request_update(request_id, 41, "CLOSED")
    assert fms.post_service_request_update(request_id, 41, "CLOSED") == update_id
    report.refresh_from_db()
    assert report.status == Status.CLOSED
