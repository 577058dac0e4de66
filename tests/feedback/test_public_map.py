import pytest
from django.urls import reverse

from ihanoi.feedback import services
from tests.feedback.conftest import prepared_photo
from tests.feedback.test_submission import _submission


def test_the_map_data_has_public_reports_only_and_no_personal_data(client, world):
    public, _ = services.report_submit(
        reporter=world.resident, submission=_submission(), photos=[prepared_photo()]
    )
    private, _ = services.report_submit(
        reporter=world.resident,
        submission=_submission(category_code="an-ninh-trat-tu", title="Trộm cắp", answers={}),
    )
    data = client.get(reverse("feedback:map_data")).json()
    urls = {point["url"] for point in data["reports"]}
    assert reverse("feedback:detail", args=[public.public_id]) in urls
    assert reverse("feedback:detail", args=[private.public_id]) not in urls
    body = client.get(reverse("feedback:map_data")).content.decode()
    assert "Nguyễn Văn Dân" not in body and "+8491" not in body


@pytest.mark.django_db
def test_the_map_page_and_the_report_form_ship_leaflet_themselves(client, world):
    page = client.get(reverse("feedback:map")).content.decode()
    assert "/static/leaflet/leaflet.js" in page
    assert client.get("/static/leaflet/leaflet.js").status_code == 200
    client.force_login(world.resident)
    form = client.get(reverse("feedback:new")).content.decode()
    assert 'id="pin-map"' in form and reverse("places:wards_geojson") in form
