"""Reports through the app: submit with photos (idempotent), my reports, detail with the
timeline, follow, rate, reply; another resident's private report is a 404; bad input stores
nothing."""

from __future__ import annotations

import json
import uuid

import pytest

from ihanoi.feedback import services
from ihanoi.feedback.models import Category, Follow, Report, ReportPhoto, Status
from tests.api.conftest import assert_error
from tests.feedback.conftest import HOAN_KIEM_LAKE, jpeg_bytes, prepared_photo, upload
from tests.feedback.test_submission import _submission

LAT, LON = HOAN_KIEM_LAKE


def _form(**overrides):
    data = {
        "category": "moi-truong-ve-sinh",
        "title": "Rác thải bên hồ",
        "description": "Rác tập kết trên vỉa hè phía đông hồ Hoàn Kiếm.",
        "lat": str(LAT),
        "lon": str(LON),
        "answers": json.dumps({"van-de": "rac"}),
        "photos": [upload()],
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def _report(world, *, reporter=None, **overrides):
    report, _created = services.report_submit(
        reporter=reporter or world.resident,
        submission=_submission(**overrides),
        photos=[prepared_photo()],
    )
    return report


def _resolved(world, report):
    services.report_accept(actor=world.hk_officer, report=report)
    return services.report_resolve(
        actor=world.hk_officer, report=report, result="Đã thu gom.", photos=[prepared_photo()]
    )


# --- Submitting -------------------------------------------------------------------------------


def test_a_report_is_submitted_with_photos_and_routed(world, resident_api):
    response = resident_api.post_form("/reports", _form(share_contact="true"))
    assert response.status_code == 201, response.content
    body = response.json()
    report = Report.objects.get()
    assert body["id"] == str(report.public_id)
    assert body["number"] == report.pk
    assert report.channel == "app"
    assert report.reporter == world.resident
    assert report.share_contact is True
    assert report.answers == {"van-de": "rac"}
    assert body["status"] == "assigned"
    assert body["status_label"] == "Awaiting handling"
    assert body["agency"]["code"] == world.hk_committee.code
    assert body["mine"] is True
    assert body["answers"] == {"van-de": "rac"}
    assert [e["kind"] for e in body["timeline"]] == ["submitted", "routed"]
    assert len(body["photos"]) == 1
    photo = body["photos"][0]
    assert photo["url"].startswith("http://testserver/media/reports/")
    assert photo["thumbnail_url"].endswith("-thumb.jpg")
    assert body["thumbnail_url"] == photo["thumbnail_url"]
    assert body["submitted_at"].endswith("+07:00")


def test_a_new_report_is_answered_as_its_detail_reads_it_back(world, resident_api):
    """The 201 is built from the rows the service made (nothing read back): it must say
    what the stored report says."""
    made = resident_api.post_form("/reports", _form(photos=[upload(), upload("b.jpg")]))
    assert made.status_code == 201

    stored = resident_api.get(f"/reports/{made.json()['id']}")

    assert stored.status_code == 200
    assert made.json() == stored.json()


def test_a_retry_that_no_longer_validates_still_gets_its_report(world, resident_api):
    key = str(uuid.uuid4())
    first = resident_api.post_form("/reports", _form(client_key=key))
    # The test's transaction: the reference snapshot is read afresh, so the closed category
    # is seen at once.
    Category.objects.filter(code="moi-truong-ve-sinh").update(is_active=False)

    again = resident_api.post_form("/reports", _form(client_key=key))

    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Report.objects.count() == 1


def test_a_retry_whose_answers_no_longer_parse_still_gets_its_report(world, resident_api):
    key = str(uuid.uuid4())
    first = resident_api.post_form("/reports", _form(client_key=key))

    again = resident_api.post_form("/reports", _form(client_key=key, photos=None, answers="[["))

    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Report.objects.count() == 1


def test_answers_that_do_not_parse_with_an_unknown_key_are_a_400(world, resident_api):
    response = resident_api.post_form("/reports", _form(client_key="new-key", answers="[["))

    error = assert_error(response, 400, "invalid")
    assert "answers" in error["fields"]
    assert Report.objects.count() == 0


def test_a_retry_with_the_same_client_key_returns_the_same_report_with_200(world, resident_api):
    key = str(uuid.uuid4())
    first = resident_api.post_form("/reports", _form(client_key=key))
    assert first.status_code == 201
    # The phone retries (the first answer was lost), even with photos it cannot re-send.
    again = resident_api.post_form(
        "/reports", _form(client_key=key, photos=[upload("x.txt", b"x")])
    )
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Report.objects.count() == 1
    assert ReportPhoto.objects.count() == 1


def test_the_same_client_key_of_another_resident_makes_their_own_report(world, api_as):
    key = "same-key"
    assert api_as(world.resident).post_form("/reports", _form(client_key=key)).status_code == 201
    other = api_as(world.other_resident).post_form("/reports", _form(client_key=key))
    assert other.status_code == 201
    assert Report.objects.count() == 2


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"category": "no-such-category"}, "category"),
        ({"category": None}, "category"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 151}, "title"),
        ({"description": None}, "description"),
        ({"lat": "north"}, "lat"),
        ({"lat": "95"}, "lat"),
        ({"lon": "NaN"}, "lon"),
        ({"lat": "48.85", "lon": "2.35"}, "location"),  # Paris is not in Hanoi
        ({"kind": "complaint"}, "kind"),
        ({"answers": "{not json"}, "answers"),
        ({"answers": "[1, 2]"}, "answers"),
        ({"answers": "[" * 20000}, "answers"),
        ({"answers": json.dumps({"van-de": {"nested": ["x"]}})}, "answer_van-de"),
        ({"answers": json.dumps({"van-de": "khong-co"})}, "answer_van-de"),
        ({"answers": ""}, "answer_van-de"),  # a required question
        ({"photos": None}, "photos"),  # this category needs a photo
        ({"photos": [upload(f"p{i}.jpg") for i in range(6)]}, "photos"),
        ({"photos": [upload("notes.txt", b"not an image at all")]}, "photos"),
        ({"photos": [upload("fake.jpg", b"\xff\xd8\xff\xe0 truncated")]}, "photos"),
        ({"client_key": "k" * 65}, "client_key"),
        ({"share_contact": "perhaps"}, "share_contact"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(
    world, resident_api, overrides, field
):
    response = resident_api.post_form("/reports", _form(**overrides))
    error = assert_error(response, 400, "invalid")
    assert field in error["fields"], error
    assert error["message"] == error["fields"][next(iter(error["fields"]))][0]
    assert not Report.objects.exists()
    assert not ReportPhoto.objects.exists()


def test_a_non_image_photo_is_refused_with_its_name(world, resident_api):
    response = resident_api.post_form("/reports", _form(photos=[upload("virus.exe", b"MZ\x90")]))
    error = assert_error(response, 400, "invalid")
    assert error["fields"]["photos"][0].startswith("virus.exe: ")


def test_a_json_body_instead_of_a_form_is_refused(world, resident_api):
    response = resident_api.post("/reports", {"category": "giao-thong", "title": "x"})
    error = assert_error(response, 400, "invalid")
    assert "lat" in error["fields"]
    assert not Report.objects.exists()


def test_submitting_needs_a_token(world, anonymous):
    assert_error(anonymous.post_form("/reports", _form()), 401, "unauthorized")
    assert not Report.objects.exists()


def test_a_category_without_required_photo_or_questions_needs_neither(world, resident_api):
    Category.objects.filter(code="giao-thong").update(photo_required=False)
    category = Category.objects.get(code="giao-thong")
    category.questions.update(required=False)
    response = resident_api.post_form(
        "/reports", _form(category="giao-thong", photos=None, answers=None)
    )
    assert response.status_code == 201, response.content
    assert response.json()["photos"] == []
    assert response.json()["thumbnail_url"] is None


# --- My reports -------------------------------------------------------------------------------


def test_my_reports_are_mine_only_newest_first_and_paginated(world, resident_api):
    mine = [_report(world, title=f"Báo cáo {i}") for i in range(3)]
    _report(world, reporter=world.other_resident, title="Not mine")
    first = resident_api.get("/me/reports", {"page_size": 2})
    assert first.status_code == 200
    body = first.json()
    assert body["count"] == 3 and body["has_next"] is True and body["page"] == 1
    assert [r["title"] for r in body["items"]] == ["Báo cáo 2", "Báo cáo 1"]
    assert body["items"][0]["thumbnail_url"]
    second = resident_api.get("/me/reports", {"page_size": 2, "page": 2}).json()
    assert [r["id"] for r in second["items"]] == [str(mine[0].public_id)]
    assert second["has_next"] is False
    beyond = resident_api.get("/me/reports", {"page": 9}).json()
    assert beyond["items"] == [] and beyond["count"] == 3


@pytest.mark.parametrize(
    "params", [{"page": 0}, {"page": "two"}, {"page_size": 0}, {"page_size": 51}, {"page": -1}]
)
def test_bad_paging_is_a_400(world, resident_api, params):
    error = assert_error(resident_api.get("/me/reports", params), 400, "invalid")
    assert set(error["fields"]) <= {"page", "page_size"}


# --- Detail and permissions -------------------------------------------------------------------


def test_a_public_report_is_visible_to_anyone_without_personal_data(world, anonymous, api_as):
    report = _report(world)
    for api in (anonymous, api_as(world.other_resident)):
        response = api.get(f"/reports/{report.public_id}")
        assert response.status_code == 200
        body = response.json()
        assert body["mine"] is False
        assert body["answers"] is None and body["share_contact"] is None
        text = response.content.decode()
        assert "Nguyễn Văn Dân" not in text and "0912000101" not in text
    assert api_as(world.other_resident).get(f"/reports/{report.public_id}").json()["can_follow"]


def test_another_residents_private_report_is_a_404(world, resident_api, api_as, anonymous):
    Category.objects.filter(code="moi-truong-ve-sinh").update(is_public=False)
    report = _report(world, reporter=world.other_resident)
    path = f"/reports/{report.public_id}"
    for api in (resident_api, anonymous):
        assert_error(api.get(path), 404, "not_found")
        assert_error(
            api.post(f"{path}/follow"),
            404 if api is resident_api else 401,
            "not_found" if api is resident_api else "unauthorized",
        )
    assert_error(resident_api.post(f"{path}/rating", {"value": "satisfied"}), 404, "not_found")
    assert_error(resident_api.post_form(f"{path}/reply", {"answer": "x"}), 404, "not_found")
    # Its reporter sees it.
    assert api_as(world.other_resident).get(path).status_code == 200


def test_an_unpublished_or_rejected_report_is_the_reporters_only(world, resident_api, api_as):
    hidden = _report(world, reporter=world.other_resident)
    Report.objects.filter(pk=hidden.pk).update(is_published=False)
    assert_error(resident_api.get(f"/reports/{hidden.pk and hidden.public_id}"), 404, "not_found")
    rejected = _report(world, reporter=world.other_resident, title="Rejected")
    Report.objects.filter(pk=rejected.pk).update(status=Status.REJECTED)
    assert_error(resident_api.get(f"/reports/{rejected.public_id}"), 404, "not_found")
    assert api_as(world.other_resident).get(f"/reports/{rejected.public_id}").status_code == 200


def test_an_unknown_or_malformed_report_id_is_a_404(world, resident_api):
    assert_error(resident_api.get(f"/reports/{uuid.uuid4()}"), 404, "not_found")
    assert_error(resident_api.get("/reports/12345"), 404, "not_found")
    assert_error(resident_api.get("/reports/not-a-uuid/follow"), 404, "not_found")


def test_hidden_photos_never_leave_the_hub(world, resident_api, anonymous):
    report = _report(world)
    ReportPhoto.objects.filter(report=report).update(is_hidden=True)
    for api in (resident_api, anonymous):
        body = api.get(f"/reports/{report.public_id}").json()
        assert body["photos"] == [] and body["thumbnail_url"] is None
    assert resident_api.get("/me/reports").json()["items"][0]["thumbnail_url"] is None


def test_internal_events_stay_off_the_timeline(world, resident_api):
    report = _report(world)
    services.report_comment(actor=world.hub_operator, report=report, text="Nội bộ: kiểm tra lại")
    body = resident_api.get(f"/reports/{report.public_id}").json()
    assert "comment" not in [e["kind"] for e in body["timeline"]]
    assert "Nội bộ" not in json.dumps(body, ensure_ascii=False)


# --- Follow -----------------------------------------------------------------------------------


def test_follow_and_unfollow_a_public_report(world, resident_api, api_as):
    report = _report(world, reporter=world.other_resident)
    path = f"/reports/{report.public_id}/follow"
    response = resident_api.post(path)
    assert response.status_code == 200 and response.json() == {"following": True}
    assert resident_api.post(path).json() == {"following": True}  # twice is once
    assert Follow.objects.filter(report=report, user=world.resident).count() == 1
    assert resident_api.get(f"/reports/{report.public_id}").json()["following"] is True
    assert resident_api.delete(path).json() == {"following": False}
    assert not Follow.objects.exists()
    # The reporter hears of it anyway.
    assert api_as(world.other_resident).post(path).json() == {"following": False}


# --- Rate -------------------------------------------------------------------------------------


def test_the_reporter_rates_a_handled_report(world, resident_api):
    report = _resolved(world, _report(world))
    path = f"/reports/{report.public_id}"
    assert resident_api.get(path).json()["can_rate"] is True
    response = resident_api.post(f"{path}/rating", {"value": "satisfied", "comment": "Cảm ơn"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "closed" and body["rating"] == "satisfied"
    assert body["rating_label"] == "Satisfied" and body["rating_comment"] == "Cảm ơn"
    assert body["can_rate"] is False
    assert body["photos"][-1]["role"] == "evidence"


def test_rating_twice_or_too_early_is_a_409_conflict(world, resident_api):
    report = _report(world)
    path = f"/reports/{report.public_id}/rating"
    error = assert_error(resident_api.post(path, {"value": "satisfied"}), 409, "conflict")
    assert "not possible" in error["message"]
    _resolved(world, report)
    assert resident_api.post(path, {"value": "acceptable"}).status_code == 200
    assert_error(resident_api.post(path, {"value": "satisfied"}), 409, "conflict")
    report.refresh_from_db()
    assert report.rating == "acceptable"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "value"),
        ({"value": "great"}, "value"),
        ({"value": "satisfied", "comment": "x" * 1001}, "comment"),
        ({"value": 1}, "value"),
    ],
)
def test_a_bad_rating_is_a_400_and_changes_nothing(world, resident_api, body, field):
    report = _resolved(world, _report(world))
    error = assert_error(
        resident_api.post(f"/reports/{report.public_id}/rating", body), 400, "invalid"
    )
    assert field in error["fields"]
    report.refresh_from_db()
    assert report.status == Status.RESOLVED and not report.rating


def test_only_the_reporter_may_rate_a_public_report(world, api_as):
    report = _resolved(world, _report(world))
    other = api_as(world.other_resident)
    assert_error(
        other.post(f"/reports/{report.public_id}/rating", {"value": "not_satisfied"}),
        403,
        "forbidden",
    )
    report.refresh_from_db()
    assert report.status == Status.RESOLVED


# --- Reply to a request for information -------------------------------------------------------


def test_the_reporter_answers_a_request_for_information_with_a_photo(world, resident_api):
    report = _report(world)
    services.report_request_info(actor=world.hk_officer, report=report, question="Số nhà nào?")
    path = f"/reports/{report.public_id}"
    before = resident_api.get(path).json()
    assert before["can_reply"] is True
    assert before["timeline"][-1]["note"] == "Số nhà nào?"
    response = resident_api.post_form(f"{path}/reply", {"answer": "Số 12", "photos": [upload()]})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["can_reply"] is False
    assert body["timeline"][-1]["kind"] == "info_provided"
    assert [p["role"] for p in body["photos"]] == ["report", "info"]


def test_a_reply_nobody_asked_for_or_an_empty_one_is_refused(world, resident_api, api_as):
    report = _report(world)
    path = f"/reports/{report.public_id}/reply"
    error = assert_error(resident_api.post_form(path, {"answer": "Hello"}), 400, "invalid")
    assert "answer" in error["fields"]
    services.report_request_info(actor=world.hk_officer, report=report, question="?")
    assert_error(resident_api.post_form(path, {"answer": "  "}), 400, "invalid")
    assert_error(resident_api.post_form(path, {}), 400, "invalid")
    bad_photo = {"answer": "ok", "photos": [upload("a.gif", b"GIF89a")]}
    assert_error(resident_api.post_form(path, bad_photo), 400, "invalid")
    assert_error(api_as(world.other_resident).post_form(path, {"answer": "me"}), 403, "forbidden")
    report.refresh_from_db()
    assert report.info_requested is True
    assert report.photos.count() == 1


# --- Nearby -----------------------------------------------------------------------------------


def test_nearby_lists_open_public_reports_of_the_category(world, anonymous, resident_api):
    near = _report(world, reporter=world.other_resident)
    _report(world, category_code="giao-thong", answers={"su-co": "mat-duong"})
    params = {"lat": LAT + 0.0005, "lon": LON, "category": "moi-truong-ve-sinh"}
    for api in (anonymous, resident_api):
        response = api.get("/reports/nearby", params)
        assert response.status_code == 200
        assert [r["id"] for r in response.json()] == [str(near.public_id)]
    far = resident_api.get("/reports/nearby", {**params, "lat": 21.2}).json()
    assert far == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lon": LON, "category": "giao-thong"}, "lat"),
        ({"lat": 91, "lon": LON, "category": "giao-thong"}, "lat"),
        ({"lat": LAT, "lon": "east", "category": "giao-thong"}, "lon"),
        ({"lat": LAT, "lon": LON}, "category"),
        ({"lat": LAT, "lon": LON, "category": "nope"}, "category"),
    ],
)
def test_nearby_with_bad_input_is_a_400(world, anonymous, params, field):
    error = assert_error(anonymous.get("/reports/nearby", params), 400, "invalid")
    assert field in error["fields"]


# --- Catalogue --------------------------------------------------------------------------------


@pytest.mark.vietnamese
def test_categories_come_with_questions_in_the_callers_language(world, anonymous):
    vi = {c["code"]: c for c in anonymous.get("/categories").json()}
    category = vi["moi-truong-ve-sinh"]
    assert category["name"] == "Môi trường, vệ sinh"
    assert category["group"] == {"code": "moi-truong", "name": "Môi trường"}
    assert category["photo_required"] is True
    question = category["questions"][0]
    assert question["code"] == "van-de" and question["label"] == "Vấn đề"
    assert question["required"] is True and question["datatype"] == "singlevaluelist"
    assert {"key": "rac", "name": "Rác thải, phế thải"} in question["choices"]
    anonymous.language = "en-US,en;q=0.8,vi;q=0.5"
    response = anonymous.get("/categories")
    assert response["Content-Language"] == "en"
    en = {c["code"]: c for c in response.json()}["moi-truong-ve-sinh"]
    assert en["name"] == "Environment and sanitation"
    assert en["questions"][0]["label"] == "Problem"
    assert {"key": "rac", "name": "Litter or waste"} in en["questions"][0]["choices"]


def test_inactive_categories_are_not_listed(world, anonymous):
    Category.objects.filter(code="giao-thong").update(is_active=False)
    codes = [c["code"] for c in anonymous.get("/categories").json()]
    assert "giao-thong" not in codes and "moi-truong-ve-sinh" in codes


def test_a_resolved_report_in_english_shows_english_labels(world, api_as):
    report = _resolved(world, _report(world))
    body = api_as(world.resident, language="en").get(f"/reports/{report.public_id}").json()
    assert body["status_label"] == "Handled"
    assert body["timeline"][-1]["label"] == "Result posted"


def test_photo_bytes_are_what_was_stored(world, resident_api):
    response = resident_api.post_form("/reports", _form(photos=[upload(data=jpeg_bytes("blue"))]))
    photo = ReportPhoto.objects.get()
    assert response.json()["photos"][0]["id"] == photo.pk


def test_lists_cost_the_same_queries_for_few_or_many_reports(
    world, resident_api, django_assert_max_num_queries
):
    _report(world)
    with django_assert_max_num_queries(8) as few:
        resident_api.get("/me/reports")
    for n in range(4):
        _report(world, title=f"Thêm {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(resident_api.get("/me/reports").json()["items"]) == 5
