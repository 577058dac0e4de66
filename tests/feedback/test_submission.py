"""Submitting a report: routed at once, idempotent, and bad input stores nothing."""

import io
import struct
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from PIL import Image

from ihanoi.feedback.models import EventKind, Report, ReportEvent, ReportPhoto, Status
from ihanoi.feedback.services import Submission, report_submit
from ihanoi.notifications.models import Notification
from tests.feedback.conftest import HOAN_KIEM_LAKE, prepared_photo, upload

LAT, LON = HOAN_KIEM_LAKE


def _submission(**overrides):
    values = dict(
        kind="field",
        category_code="moi-truong-ve-sinh",
        title="Rác thải bên hồ",
        description="Rác tập kết trên vỉa hè phía đông hồ Hoàn Kiếm.",
        lat=LAT,
        lon=LON,
        answers={"van-de": "rac"},
    )
    values.update(overrides)
    return Submission(**values)


def test_a_report_is_routed_to_the_wards_committee_with_an_accept_deadline(world):
    report, created = report_submit(
        reporter=world.resident, submission=_submission(), photos=[prepared_photo()]
    )
    assert created
    assert report.status == Status.ASSIGNED
    assert report.ward == world.hoan_kiem
    assert report.agency == world.hk_committee
    assert report.accept_due_at > report.assigned_at
    assert report.h3_cell
    kinds = list(report.events.values_list("kind", flat=True))
    assert kinds == [EventKind.SUBMITTED, EventKind.ROUTED]
    routed = report.events.get(kind=EventKind.ROUTED)
    assert routed.data["reason"] == "ward_committee"
    assert routed.agency == world.hk_committee
    assert Notification.objects.filter(recipient=world.resident).count() == 2


def test_photos_are_stored_without_metadata_with_a_thumbnail(world):
    report, _ = report_submit(
        reporter=world.resident, submission=_submission(), photos=[prepared_photo()]
    )
    photo = report.photos.get()
    with Image.open(photo.image.open("rb")) as image:
        assert not image.getexif()
    assert photo.thumbnail.size > 0


def test_the_same_client_key_returns_the_first_report(world):
    first, created = report_submit(
        reporter=world.resident, submission=_submission(client_key="k-1"), photos=[prepared_photo()]
    )
    again, created_again = report_submit(
        reporter=world.resident, submission=_submission(client_key="k-1"), photos=[prepared_photo()]
    )
    assert created and not created_again
    assert again.pk == first.pk
    assert Report.objects.count() == 1


def test_the_same_key_from_another_resident_is_another_report(world):
    report_submit(
        reporter=world.resident, submission=_submission(client_key="k-1"), photos=[prepared_photo()]
    )
    report_submit(
        reporter=world.other_resident,
        submission=_submission(client_key="k-1"),
        photos=[prepared_photo()],
    )
    assert Report.objects.count() == 2


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"lat": 10.77, "lon": 106.70}, "location"),  # Ho Chi Minh City
        ({"lat": "abc"}, "location"),
        ({"lat": 95}, "location"),
        ({"category_code": "no-such-category"}, "category"),
        ({"kind": "complaint"}, "kind"),
        ({"answers": {}}, "answer_van-de"),
        ({"answers": {"van-de": "not-a-choice"}}, "answer_van-de"),
        ({"title": ""}, "title"),
        ({"title": "x" * 151}, "title"),
        ({"description": "x" * 4001}, "description"),
        ({"client_key": "k" * 65}, "client_key"),
    ],
)
def test_bad_input_is_refused_by_field_and_nothing_is_stored(world, overrides, field):
    with pytest.raises(ValidationError) as caught:
        report_submit(
            reporter=world.resident, submission=_submission(**overrides), photos=[prepared_photo()]
        )
    assert field in caught.value.message_dict
    assert Report.objects.count() == 0
    assert ReportEvent.objects.count() == 0
    assert ReportPhoto.objects.count() == 0


def test_a_category_that_needs_a_photo_refuses_a_report_without_one(world):
    with pytest.raises(ValidationError) as caught:
        report_submit(reporter=world.resident, submission=_submission(), photos=[])
    assert "photos" in caught.value.message_dict
    assert Report.objects.count() == 0


def test_more_than_five_photos_are_refused(world):
    photos = [prepared_photo() for _ in range(6)]
    with pytest.raises(ValidationError):
        report_submit(reporter=world.resident, submission=_submission(), photos=photos)
    assert Report.objects.count() == 0


# --- through the web form --------------------------------------------------------------


def _form(**overrides):
    data = {
        "kind": "field",
        "category": "moi-truong-ve-sinh",
        "title": "Rác thải bên hồ",
        "description": "Rác tập kết trên vỉa hè.",
        "lat": str(LAT),
        "lon": str(LON),
        "answer_van-de": "rac",
        "client_key": "form-key-1",
        "photos": [upload()],
    }
    data.update(overrides)
    return data


def test_the_web_form_sends_a_report_and_shows_it(client, world):
    client.force_login(world.resident)
    response = client.post(reverse("feedback:new"), _form())
    report = Report.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("feedback:detail", args=[report.public_id])
    page = client.get(response["Location"]).content.decode()
    assert "Rác thải bên hồ" in page
    assert report.photos.count() == 1


def test_sending_the_form_twice_makes_one_report(client, world):
    client.force_login(world.resident)
    client.post(reverse("feedback:new"), _form())
    response = client.post(reverse("feedback:new"), _form(photos=[upload()]))
    assert response.status_code == 302
    assert Report.objects.count() == 1


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG header that claims a huge image (a decompression bomb), with a tiny body."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 10))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    "bad_file",
    [
        ("notes.jpg", b"this is not an image at all"),
        ("doc.jpg", b"%PDF-1.4\n1 0 obj<<>>endobj\n"),
        ("bomb.png", _png_claiming(60000, 60000)),
        ("empty.jpg", b""),
    ],
)
def test_a_file_that_is_not_a_usable_image_is_refused_with_a_message(client, world, bad_file):
    client.force_login(world.resident)
    name, data = bad_file
    response = client.post(reverse("feedback:new"), _form(photos=[upload(name, data)]))
    assert response.status_code == 400
    assert response.context["form"].errors
    assert Report.objects.count() == 0
    assert ReportPhoto.objects.count() == 0


def test_a_point_outside_the_city_is_refused_on_the_form(client, world):
    client.force_login(world.resident)
    response = client.post(reverse("feedback:new"), _form(lat="10.77", lon="106.70"))
    assert response.status_code == 400
    assert "outside the city" in response.content.decode()
    assert Report.objects.count() == 0


def test_the_form_requires_sign_in(client, world):
    response = client.get(reverse("feedback:new"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_the_form_lists_the_categories_and_their_questions(client, world):
    client.force_login(world.resident)
    page = client.get(reverse("feedback:new")).content.decode()
    assert 'value="moi-truong-ve-sinh"' in page
    assert 'name="answer_van-de"' in page


def test_nearby_open_reports_of_the_same_category_are_suggested(client, world):
    report_submit(
        reporter=world.other_resident, submission=_submission(), photos=[prepared_photo()]
    )
    response = client.get(
        reverse("feedback:nearby"),
        {"category": "moi-truong-ve-sinh", "lat": LAT + 0.0005, "lon": LON},
    )
    assert "Rác thải bên hồ" in response.content.decode()
    far = client.get(
        reverse("feedback:nearby"), {"category": "moi-truong-ve-sinh", "lat": 21.02, "lon": 105.86}
    )
    assert "Rác thải bên hồ" not in far.content.decode()


@pytest.mark.parametrize("params", [{"lat": "x", "lon": "1"}, {"lat": "91", "lon": "1"}, {}])
def test_nearby_with_bad_coordinates_is_a_400(client, world, params):
    assert client.get(reverse("feedback:nearby"), params).status_code == 400


def test_decoded_images_are_real_jpegs(world):
    photo = prepared_photo()
    with Image.open(io.BytesIO(photo.image)) as image:
        assert image.format == "JPEG"
