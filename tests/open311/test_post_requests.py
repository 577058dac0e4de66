"""POST requests: a client creates a report with its key; every refusal stores nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from ihanoi.accounts.models import Role, User
from ihanoi.feedback.models import Category, Channel, Question, Report, Status
from ihanoi.open311 import services
from ihanoi.open311.models import ExternalMedia, Open311Request

from .conftest import BASE, CUA_NAM, errors_in, json_of, request_form, xml_of


def post(client, fmt="json", **data):
    return client.post(f"{BASE}/requests.{fmt}", data)


def test_a_client_creates_a_request_and_gets_its_id(client, world, key):
    response = post(client, api_key=key.raw, **request_form())
    assert response.status_code == 200
    (created,) = json_of(response)
    assert set(created) == {"service_request_id", "service_notice"}
    report = Report.objects.get()
    assert created["service_request_id"] == str(report.public_id)
    assert report.channel == Channel.OPEN311
    assert report.open311.api_key == key.api_key
    assert report.category.code == "giao-thong"
    assert report.answers == {"su-co": "mat-duong"}
    assert report.title == "Ổ gà lớn trước số 12 Đinh Tiên Hoàng"
    assert report.description.endswith("Xe máy dễ ngã.")
    # Routed at once: the ward's People's Committee has it, and the client is told so.
    assert report.status == Status.ASSIGNED
    assert report.agency == world.hk_committee
    assert world.hk_committee.name_en in created["service_notice"]


def test_the_xml_answer_uses_the_spec_elements(client, world, key):
    root = xml_of(post(client, "xml", api_key=key.raw, **request_form()))
    assert root.tag == "service_requests"
    (request,) = list(root)
    assert request.tag == "request"
    assert [c.tag for c in request] == ["service_request_id", "service_notice"]
    assert request.findtext("service_request_id") == str(Report.objects.get().public_id)


def test_csrf_does_not_apply_to_the_api(world, key):
    strict = Client(enforce_csrf_checks=True)
    assert post(strict, api_key=key.raw, **request_form()).status_code == 200


def test_parameters_in_the_query_string_are_read_too(client, world, key):
    from urllib.parse import urlencode

    query = urlencode({"api_key": key.raw, **request_form()})
    response = client.post(f"{BASE}/requests.json?{query}")
    assert response.status_code == 200
    assert Report.objects.count() == 1


def test_a_multivaluelist_attribute_and_several_media_urls(client, world, key):
    question = Question.objects.create(
        category=Category.objects.get(code="giao-thong"),
        code="phuong-tien",
        label="Phương tiện",
        label_en="Vehicles",
        datatype="multivaluelist",
        choices=[
            {"key": "xe-may", "name": "Xe máy", "name_en": "Motorbike"},
            {"key": "o-to", "name": "Ô tô", "name_en": "Car"},
        ],
    )
    form = request_form()
    form["attribute[phuong-tien][]"] = ["xe-may", "o-to"]
    form["media_url"] = ["https://example.org/a.jpg", "https://example.org/b.jpg"]
    assert post(client, api_key=key.raw, **form).status_code == 200
    report = Report.objects.get()
    assert report.answers[question.code] == ["o-to", "xe-may"]
    urls = list(ExternalMedia.objects.filter(report=report).values_list("url", flat=True))
    assert urls == ["https://example.org/a.jpg", "https://example.org/b.jpg"]


def test_a_long_first_line_is_cut_into_the_title(client, world, key):
    words = " ".join(["Đèn"] * 60)
    post(client, api_key=key.raw, **request_form(description=words))
    title = Report.objects.get().title
    assert len(title) <= 80 and title.endswith("…")
    assert Report.objects.get().description == words


def test_a_request_without_description_takes_the_service_name(client, world, key):
    assert post(client, api_key=key.raw, **request_form(description="")).status_code == 200
    report = Report.objects.get()
    assert report.title == report.description == "Giao thông"


def test_the_phone_finds_an_existing_resident(client, world, key):
    post(client, api_key=key.raw, **request_form(phone="0912 000 101"))
    assert Report.objects.get().reporter == world.resident


def test_a_new_phone_makes_an_unverified_resident(client, world, key):
    post(
        client,
        api_key=key.raw,
        **request_form(
            phone="0987654321", first_name="Lan", last_name="Trần", email="lan@example.vn"
        ),
    )
    reporter = Report.objects.get().reporter
    assert reporter.phone == "+84987654321"
    assert reporter.phone_verified is False
    assert reporter.role == Role.RESIDENT
    assert reporter.full_name == "Lan Trần"
    assert reporter.email == "lan@example.vn"


def test_an_email_alone_finds_or_makes_the_resident(client, world, key):
    post(client, api_key=key.raw, **request_form(email="an@example.vn"))
    post(client, api_key=key.raw, **request_form(email="AN@example.vn"))
    reporters = {r.reporter_id for r in Report.objects.all()}
    assert len(reporters) == 1
    assert User.objects.get(pk=reporters.pop()).email == "an@example.vn"


def test_without_contact_the_report_belongs_to_the_client_account(client, world, key):
    post(client, api_key=key.raw, **request_form(phone="not a number"))
    post(client, api_key=key.raw, **request_form())
    reporters = {r.reporter for r in Report.objects.all()}
    assert len(reporters) == 1
    client_user = reporters.pop()
    key.api_key.refresh_from_db()
    assert client_user == key.api_key.client_user
    assert client_user.is_active is False  # cannot sign in, is told nothing


def test_a_staff_members_phone_or_email_is_never_matched(client, world, key):
    post(client, api_key=key.raw, **request_form(email="hub@example.vn"))
    post(client, api_key=key.raw, **request_form(phone="0912000101", email="x@example.vn"))
    world.resident.role = Role.AGENCY_OFFICER
    world.resident.save()
    post(client, api_key=key.raw, **request_form(phone="0912000101"))
    key.api_key.refresh_from_db()
    reporters = list(Report.objects.order_by("pk").values_list("reporter_id", flat=True))
    assert reporters == [key.api_key.client_user_id, world.resident.pk, key.api_key.client_user_id]


def test_the_idempotency_key_makes_a_retry_return_the_same_request(client, world, key):
    form = {"api_key": key.raw, **request_form(phone="0912000101")}
    first = json_of(client.post(f"{BASE}/requests.json", form, HTTP_IDEMPOTENCY_KEY="abc-1"))
    again = json_of(client.post(f"{BASE}/requests.json", form, HTTP_IDEMPOTENCY_KEY="abc-1"))
    assert first[0]["service_request_id"] == again[0]["service_request_id"]
    assert Report.objects.count() == 1
    assert Open311Request.objects.count() == 1


def test_another_clients_idempotency_key_is_its_own(client, world, key, other_key):
    form = request_form(phone="0912000101")
    client.post(f"{BASE}/requests.json", {"api_key": key.raw, **form}, HTTP_IDEMPOTENCY_KEY="k")
    client.post(
        f"{BASE}/requests.json", {"api_key": other_key.raw, **form}, HTTP_IDEMPOTENCY_KEY="k"
    )
    assert Report.objects.count() == 2


# --- Refusals: nothing is stored ---------------------------------------------------------


def _nothing_stored() -> None:
    assert Report.objects.count() == 0
    assert Open311Request.objects.count() == 0
    assert ExternalMedia.objects.count() == 0
    assert not User.objects.filter(phone="+84987654321").exists()


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("api_key", [None, "", "nonsense", "abcd1234_wrongsecret"])
def test_a_missing_or_wrong_key_is_403(client, world, fmt, api_key):
    form = request_form(phone="0987654321")
    if api_key is not None:
        form["api_key"] = api_key
    response = post(client, fmt, **form)
    assert response.status_code == 403
    assert errors_in(response)[0]["code"] == 403
    _nothing_stored()


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_revoked_key_is_403(client, world, key, fmt):
    services.api_key_revoke(api_key=key.api_key)
    response = post(client, fmt, api_key=key.raw, **request_form(phone="0987654321"))
    assert response.status_code == 403
    assert "revoked" in errors_in(response)[0]["description"]
    _nothing_stored()


def test_a_key_with_the_right_prefix_and_a_wrong_secret_is_403(client, world, key):
    forged = key.api_key.prefix + "_" + "x" * 40
    assert post(client, api_key=forged, **request_form()).status_code == 403
    _nothing_stored()


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_unknown_jurisdiction_is_404(client, world, key, fmt):
    response = post(client, fmt, api_key=key.raw, jurisdiction_id="sfgov.org", **request_form())
    assert response.status_code == 404
    _nothing_stored()


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_unknown_service_code_is_404(client, world, key, fmt):
    response = post(client, fmt, api_key=key.raw, **request_form(service_code="nope"))
    assert response.status_code == 404
    assert "nope" in errors_in(response)[0]["description"]
    _nothing_stored()


BAD_INPUTS = [
    ({"service_code": ""}, "service_code"),
    ({"lat": None, "long": None}, "lat/long"),
    ({"long": None}, "lat/long"),
    ({"lat": "abc"}, "lat/long"),
    ({"lat": "91", "long": "200"}, "lat/long"),
    ({"lat": "48.85", "long": "2.35"}, "lat/long"),  # not in Hanoi
    ({"lat": None, "long": None, "address_string": "12 Đinh Tiên Hoàng"}, "address_string"),
    ({"lat": None, "long": None, "address_id": "A-1"}, "address_id"),
    ({"description": "x" * 4001}, "description"),
    ({"attribute[su-co]": None}, "attribute[su-co]"),
    ({"attribute[su-co]": "khong-co"}, "attribute[su-co]"),
    ({"media_url": "javascript:alert(1)"}, "media_url"),
    ({"media_url": "https://example.org/" + "a" * 600}, "media_url"),
    ({"address_string": "x" * 300}, "address_string"),
    ({"service_code": "trat-tu-do-thi", "attribute[loai]": "via-he"}, "media_url"),  # photo
]


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(("change", "field"), BAD_INPUTS)
def test_bad_input_is_400_naming_the_parameter(client, world, key, fmt, change, field):
    form = request_form(phone="0987654321")
    form.update({k: v for k, v in change.items() if v is not None})
    for name in [k for k, v in change.items() if v is None]:
        form.pop(name, None)
    response = post(client, fmt, api_key=key.raw, **form)
    assert response.status_code == 400, response.content
    descriptions = [e["description"] for e in errors_in(response)]
    assert all(e["code"] == 400 for e in errors_in(response))
    assert any(d.startswith(f"{field}: ") for d in descriptions), descriptions
    _nothing_stored()


def test_several_errors_come_back_at_once(client, world, key):
    form = request_form(description="x" * 4001, media_url="ftp://example.org/a")
    form.pop("lat")
    form.pop("long")
    response = post(client, api_key=key.raw, **form)
    assert response.status_code == 400
    fields = {e["description"].split(":")[0] for e in errors_in(response)}
    assert fields == {"lat/long", "description", "media_url"}
    _nothing_stored()


def test_the_other_ward_routes_to_its_own_committee(client, world, key):
    post(client, api_key=key.raw, **request_form(lat=str(CUA_NAM[0]), long=str(CUA_NAM[1])))
    assert Report.objects.get().agency == world.cn_committee


def test_a_media_url_is_the_photo_a_category_requires(client, world, key):
    from ihanoi.open311.models import ExternalMedia

    form = request_form(phone="0987654321")
    form.update(
        {
            "service_code": "trat-tu-do-thi",
            "attribute[loai]": "via-he",
            "media_url": "https://photos.example.org/p/1.jpg",
        }
    )
    response = post(client, api_key=key.raw, **form)
    assert response.status_code == 200, response.content
    assert ExternalMedia.objects.get().url == "https://photos.example.org/p/1.jpg"
