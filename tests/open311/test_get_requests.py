"""GET requests and GET requests/{id}: filters, the 90-day window, pages, visibility."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from ihanoi.feedback import services as feedback_services
from ihanoi.feedback.models import Category, RejectionReason, Report
from ihanoi.open311.models import ExternalMedia
from tests.feedback.conftest import prepared_photo

from .conftest import (
    BASE,
    HOAN_KIEM_LAKE,
    assert_w3c,
    errors_in,
    json_of,
    request_form,
    submit,
    validate,
    xml_of,
)

REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]


def ids(response) -> list[str]:
    return [r["service_request_id"] for r in json_of(response)]


def get(client, query="", fmt="json"):
    return client.get(f"{BASE}/requests.{fmt}{'?' + query if query else ''}")


def test_the_list_validates_and_says_no_personal_data(client, world):
    report = submit(world.resident)
    payload = json_of(get(client))
    validate(payload, "requests")
    (item,) = payload
    assert list(item) == REQUEST_FIELDS
    assert item["service_request_id"] == str(report.public_id)
    assert item["status"] == "open"
    assert item["status_notes"] == "Awaiting handling"
    assert item["service_code"] == "giao-thong"
    assert item["service_name"] == "Traffic"
    assert item["agency_responsible"] == world.hk_committee.name_en or world.hk_committee.name
    assert item["lat"] == pytest.approx(HOAN_KIEM_LAKE[0])
    assert item["long"] == pytest.approx(HOAN_KIEM_LAKE[1])
    assert item["address"] == "Phường Hoàn Kiếm"
    assert_w3c(item["requested_datetime"])
    assert_w3c(item["updated_datetime"])
    body = get(client).content.decode()
    for private in ("0912000101", "Nguyễn Văn Dân", "+84912000101"):
        assert private not in body


def test_the_list_in_xml_uses_the_spec_elements(client, world):
    submit(world.resident)
    root = xml_of(get(client, fmt="xml"))
    assert root.tag == "service_requests"
    (request,) = list(root)
    assert request.tag == "request"
    assert [c.tag for c in request] == REQUEST_FIELDS
    assert request.findtext("status") == "open"
    assert request.findtext("requested_datetime").endswith("+07:00")


def test_the_default_window_is_the_last_90_days(client, world):
    now = timezone.now()
    old = submit(world.resident, when=now - datetime.timedelta(days=100))
    recent = submit(world.resident, when=now - datetime.timedelta(days=10))
    assert ids(get(client)) == [str(recent.public_id)]
    assert str(old.public_id) not in ids(get(client))


def test_start_and_end_date_choose_the_window(client, world):
    now = timezone.now()
    old = submit(world.resident, when=now - datetime.timedelta(days=100))
    recent = submit(world.resident, when=now - datetime.timedelta(days=10))
    start = (now - datetime.timedelta(days=120)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (now - datetime.timedelta(days=50)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(get(client, f"start_date={start}&end_date={end}")) == [str(old.public_id)]
    # Only a start: 90 days from it. Only an end: the 90 days before it.
    assert ids(get(client, f"start_date={start}")) == [str(old.public_id)]
    assert ids(get(client, f"end_date={end}")) == [str(old.public_id)]
    # An offset written with an unencoded "+" (it arrives as a space) still reads.
    local = (now - datetime.timedelta(days=20)).astimezone(
        datetime.timezone(datetime.timedelta(hours=7))
    )
    start_local = local.strftime("%Y-%m-%dT%H:%M:%S+07:00")
    assert ids(get(client, f"start_date={start_local}")) == [str(recent.public_id)]


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start_date=2025-01-01T00:00:00Z&end_date=2025-06-01T00:00:00Z", "end_date"),
        ("start_date=2025-02-01T00:00:00Z&end_date=2025-01-01T00:00:00Z", "end_date"),
        ("start_date=yesterday", "start_date"),
        ("end_date=2025-13-01", "end_date"),
        ("start_date=2025-01-01T25:00:00Z", "start_date"),
        ("status=pending", "status"),
        ("page=0", "page"),
        ("page_size=abc", "page_size"),
    ],
)
def test_bad_filters_are_400(client, world, fmt, query, field):
    response = get(client, query, fmt)
    assert response.status_code == 400
    assert any(e["description"].startswith(f"{field}: ") for e in errors_in(response))


def test_several_filter_errors_at_once(client, world):
    response = get(client, "status=x&start_date=y")
    fields = {e["description"].split(":")[0] for e in errors_in(response)}
    assert fields == {"status", "start_date"}


def test_empty_parameters_behave_as_absent(client, world):
    submit(world.resident)
    assert len(json_of(get(client, "status=&start_date=&end_date=&service_code=&page="))) == 1


def test_status_filters_open_and_closed(client, world):
    open_report = submit(world.resident)
    closed = submit(world.resident)
    feedback_services.report_accept(actor=world.hk_officer, report=closed)
    feedback_services.report_resolve(
        actor=world.hk_officer, report=closed, result="Đã sửa.", photos=[prepared_photo()]
    )
    assert ids(get(client, "status=open")) == [str(open_report.public_id)]
    assert ids(get(client, "status=closed")) == [str(closed.public_id)]
    assert len(ids(get(client, "status=open,closed"))) == 2
    resolved = next(r for r in json_of(get(client, "status=closed")))
    assert resolved["status_notes"] == "Đã sửa."
    assert resolved["media_url"] is None  # the evidence photo is not the problem's


def test_our_own_photos_are_given_as_absolute_media_urls(client, world):
    report = submit(world.resident, photos=[prepared_photo()])
    (item,) = json_of(client.get(f"{BASE}/requests/{report.public_id}.json"))
    assert item["media_url"].startswith("http://testserver/media/reports/")
    validate([item], "requests")


def test_service_code_filters_by_one_or_several(client, world):
    traffic = submit(world.resident)
    water = submit(world.resident, category="cap-nuoc", answers={})
    assert ids(get(client, "service_code=cap-nuoc")) == [str(water.public_id)]
    both = set(ids(get(client, "service_code=cap-nuoc,giao-thong")))
    assert both == {str(traffic.public_id), str(water.public_id)}
    repeated = set(ids(get(client, "service_code=cap-nuoc&service_code=giao-thong")))
    assert repeated == both
    assert ids(get(client, "service_code=unknown")) == []


def test_service_request_id_overrides_every_other_filter(client, world):
    old = submit(world.resident, when=timezone.now() - datetime.timedelta(days=300))
    other = submit(world.resident)
    query = f"service_request_id={old.public_id},not-a-uuid&status=closed&service_code=cap-nuoc"
    assert ids(get(client, query)) == [str(old.public_id)]
    both = get(client, f"service_request_id={old.public_id},{other.public_id}")
    assert set(ids(both)) == {str(old.public_id), str(other.public_id)}


def test_pages_and_page_size(client, world):
    now = timezone.now()
    made = [submit(world.resident, when=now - datetime.timedelta(hours=h)) for h in range(5)]
    newest_first = [str(r.public_id) for r in made]
    assert ids(get(client, "page_size=2")) == newest_first[:2]
    assert ids(get(client, "page_size=2&page=2")) == newest_first[2:4]
    assert ids(get(client, "page_size=2&page=3")) == newest_first[4:]
    assert ids(get(client, "page_size=2&page=4")) == []


def test_the_default_limit_is_1000(client, world, monkeypatch):
    from ihanoi.open311 import params

    monkeypatch.setattr(params, "DEFAULT_LIMIT", 3)
    for _ in range(4):
        submit(world.resident)
    assert len(ids(get(client))) == 3
    assert len(ids(get(client, "page_size=50"))) == 3  # never more than the limit


def test_private_and_rejected_reports_are_hidden_from_the_public(client, world, key):
    private = submit(world.resident, category="an-toan-thuc-pham", answers={"co-so": "Quán A"})
    rejected = submit(world.resident)
    feedback_services.report_return_to_hub(
        actor=world.hk_officer, report=rejected, note="Không phải của phường."
    )
    feedback_services.report_reject(
        actor=world.hub_operator,
        report=rejected,
        reason=RejectionReason.objects.get(code="trung-lap"),
    )
    assert ids(get(client)) == []
    for report in (private, rejected):
        assert client.get(f"{BASE}/requests/{report.public_id}.json").status_code == 404


def test_a_client_sees_its_own_private_request_with_its_key(client, world, key, other_key):
    Category.objects.filter(code="giao-thong").update(is_public=False)
    created = json_of(client.post(f"{BASE}/requests.json", {"api_key": key.raw, **request_form()}))
    request_id = created[0]["service_request_id"]
    assert client.get(f"{BASE}/requests/{request_id}.json").status_code == 404
    mine = client.get(f"{BASE}/requests/{request_id}.json?api_key={key.raw}")
    assert mine.status_code == 200
    validate(json_of(mine), "requests")
    theirs = client.get(f"{BASE}/requests/{request_id}.json?api_key={other_key.raw}")
    assert theirs.status_code == 404
    assert ids(get(client, f"api_key={key.raw}")) == [request_id]


def test_a_rejected_own_request_is_closed_with_the_reason(client, world, key):
    created = json_of(client.post(f"{BASE}/requests.json", {"api_key": key.raw, **request_form()}))
    report = Report.objects.get()
    feedback_services.report_return_to_hub(actor=world.hk_officer, report=report, note="Sai.")
    feedback_services.report_reject(
        actor=world.hub_operator, report=report, reason=RejectionReason.objects.get(code="khong-ro")
    )
    (item,) = json_of(
        client.get(f"{BASE}/requests/{created[0]['service_request_id']}.json?api_key={key.raw}")
    )
    assert item["status"] == "closed"
    assert "unclear" in item["status_notes"] or "không rõ" in item["status_notes"].lower()


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_one_request_by_id(client, world, fmt):
    report = submit(world.resident)
    response = client.get(f"{BASE}/requests/{report.public_id}.{fmt}")
    assert response.status_code == 200
    if fmt == "json":
        payload = json_of(response)
        validate(payload, "requests")
        assert payload[0]["service_request_id"] == str(report.public_id)
    else:
        root = xml_of(response)
        assert root.tag == "service_requests"
        assert root.findtext("request/service_request_id") == str(report.public_id)


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("request_id", ["123", "00000000-0000-0000-0000-000000000000", "x%00y"])
def test_an_unknown_request_id_is_404(client, world, fmt, request_id):
    response = client.get(f"{BASE}/requests/{request_id}.{fmt}")
    assert response.status_code == 404
    assert errors_in(response)[0]["code"] == 404


def test_the_expected_datetime_is_the_resolve_deadline(client, world):
    report = submit(world.resident)
    (item,) = json_of(client.get(f"{BASE}/requests/{report.public_id}.json"))
    assert item["expected_datetime"] is None
    feedback_services.report_accept(actor=world.hk_officer, report=report)
    (item,) = json_of(client.get(f"{BASE}/requests/{report.public_id}.json"))
    assert_w3c(item["expected_datetime"])
    assert item["status_notes"] == "In progress"


def test_media_urls_come_back_first_in_media_url_and_all_with_extensions(client, world, key):
    form = request_form(media_url=["https://example.org/1.jpg", "https://example.org/2.jpg"])
    created = json_of(client.post(f"{BASE}/requests.json", {"api_key": key.raw, **form}))
    request_id = created[0]["service_request_id"]
    (item,) = json_of(client.get(f"{BASE}/requests/{request_id}.json"))
    assert item["media_url"] == "https://example.org/1.jpg"
    (extended,) = json_of(client.get(f"{BASE}/requests/{request_id}.json?extensions=true"))
    validate([extended], "requests")
    assert extended["extended_attributes"]["media_urls"] == [
        "https://example.org/1.jpg",
        "https://example.org/2.jpg",
    ]
    assert extended["extended_attributes"]["detailed_status"] == "assigned"
    root = xml_of(client.get(f"{BASE}/requests/{request_id}.xml?extensions=true"))
    urls = [e.text for e in root.findall("request/extended_attributes/media_urls/media_url")]
    assert urls == ["https://example.org/1.jpg", "https://example.org/2.jpg"]
    assert ExternalMedia.objects.count() == 2


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_token_gives_the_request_id(client, world, key, fmt):
    client.post(f"{BASE}/requests.json", {"api_key": key.raw, **request_form()})
    report = Report.objects.get()
    token = report.open311.token
    response = client.get(f"{BASE}/tokens/{token}.{fmt}")
    assert response.status_code == 200
    if fmt == "json":
        assert json_of(response) == [{"service_request_id": str(report.public_id), "token": token}]
    else:
        root = xml_of(response)
        assert [c.tag for c in root.find("request")] == ["service_request_id", "token"]
    missing = client.get(f"{BASE}/tokens/nope.{fmt}")
    assert missing.status_code == 404
    assert errors_in(missing)[0]["code"] == 404
