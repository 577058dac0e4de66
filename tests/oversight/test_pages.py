"""The oversight pages from the outside: who may see what, every page renders, numbers
link to their items, bad input is a 400 with a message."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from ihanoi.oversight.services import rollup_run
from tests.oversight.scenario import NOW, write_march

PAGES = ["dashboard", "rankings", "overdue", "places"]
Q = "?period=month&date=2026-03-15"


@pytest.fixture
def march(world, cn_lead, photo):
    data = write_march(world, cn_lead, photo)
    rollup_run()
    with time_machine.travel(NOW, tick=False):
        yield data


def _get(client, user, name, query=Q):
    client.force_login(user)
    return client.get(reverse(f"oversight:{name}") + query)


@pytest.mark.parametrize("name", [*PAGES, "items", "adoption", "exports", "export"])
def test_a_resident_and_an_officer_are_refused(client, world, march, name):
    for person in (world.resident, world.hk_officer):
        assert _get(client, person, name).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client, world, march):
    response = client.get(reverse("oversight:dashboard"))
    assert response.status_code == 302
    assert "login" in response["Location"]


@pytest.mark.parametrize("name", ["dashboard", "rankings", "overdue"])
def test_oversight_and_the_hub_see_every_agency(client, world, march, name):
    for person in (world.oversight, world.hub_operator):
        page = _get(client, person, name).content.decode()
        assert world.hk_committee.name in page
        assert world.cn_committee.name in page


def test_the_ward_table_lists_every_ward_with_reports(client, world, march):
    page = _get(client, world.oversight, "places").content.decode()
    assert world.hoan_kiem.name in page
    assert world.cua_nam.name in page


def test_an_agency_lead_sees_only_their_agency(client, world, march):
    page = _get(client, world.hk_lead, "dashboard").content.decode()
    assert world.hk_committee.name in page
    assert world.cn_committee.name not in page
    overdue = _get(client, world.hk_lead, "overdue").content.decode()
    assert march.r5.title in overdue and f">{march.r6.pk}<" not in overdue
    # Asking for another agency's numbers or items is refused.
    other = f"{Q}&agency={world.cn_committee.code}"
    assert _get(client, world.hk_lead, "dashboard", other).status_code == 403
    assert _get(client, world.hk_lead, "items", other + "&metric=received").status_code == 403
    assert _get(client, world.hk_lead, "adoption").status_code == 403


def test_the_items_behind_a_number_are_listed(client, world, march):
    page = _get(
        client,
        world.oversight,
        "items",
        f"{Q}&agency={world.hk_committee.code}&metric=accept_late",
    )
    assert page.status_code == 200
    assert page.context["count"] == 1
    assert [f.report_id for f in page.context["page_obj"]] == [march.r2.pk]
    dashboard = _get(client, world.oversight, "dashboard").content.decode()
    assert f"agency={world.hk_committee.code}&metric=accept_late" in dashboard


def test_the_dashboard_draws_its_charts_as_inline_svg(client, world, march):
    page = _get(client, world.oversight, "dashboard").content.decode()
    assert page.count("<svg") >= 3
    assert "<script" not in page.split("<main", 1)[1].split("</main>", 1)[0]
    places = _get(client, world.oversight, "places").content.decode()
    assert "<polygon" in places  # H3 cells
    assert "<path" in places  # the ward choropleth from the test wards' squares


@pytest.mark.parametrize(
    "query",
    [
        "?period=month&date=2026-13-01",
        "?period=month&date=yesterday",
        "?period=fortnight",
        "?period=custom&start=2026-03-10&end=2026-03-01",
        "?period=custom&start=2026-03-10",
        "?period=custom&start=2020-01-01&end=2026-03-01",
        "?period=month&date=1800-01-01",
        "?agency=no-such-agency",
        "?category=no-such-category",
        "?ward=99999",
        "?severity=apocalyptic",
    ],
)
@pytest.mark.parametrize("name", [*PAGES, "items", "export"])
def test_bad_input_is_a_400_with_a_message(client, world, name, query):
    response = _get(client, world.oversight, name, query)
    assert response.status_code == 400, response.content[:300]
    assert b"errorlist" in response.content


@pytest.mark.parametrize(
    "query",
    ["?metric=nonsense", "?metric=", "?table=passwords&fmt=csv", "?table=agencies&fmt=exe"],
)
def test_bad_drill_and_export_choices_are_a_400(client, world, query):
    name = "items" if "metric" in query else "export"
    assert _get(client, world.oversight, name, query).status_code == 400


def test_the_public_page_needs_no_sign_in_and_shows_no_personal_data(client, world, march):
    response = client.get(reverse("oversight:public") + "?period=month&date=2026-03-01")
    assert response.status_code == 200
    page = response.content.decode()
    assert world.hk_committee.name in page
    assert march.r1.title not in page
    assert world.resident.full_name not in page
    assert world.resident.phone not in page
    assert client.get(reverse("oversight:public") + "?date=soon").status_code == 400


def test_the_adoption_page_counts_residents_by_ward_of_their_first_report(client, world, march):
    response = _get(client, world.oversight, "adoption", "")
    data = response.context["data"]
    by_ward = {row.ward.pk if row.ward else None: row.residents for row in data.wards}
    # The resident first reported in Hoàn Kiếm (R5); the other resident never reported.
    assert by_ward[world.hoan_kiem.pk] == 1
    assert by_ward[None] == 1
    staff = {agency.pk: n for agency, n, _leads in data.staff_by_agency}
    assert staff[world.hk_committee.pk] == 2  # officer and lead


@pytest.mark.vietnamese
def test_the_public_page_speaks_vietnamese_by_default(client, world):
    page = client.get(reverse("oversight:public")).content.decode()
    assert "Thống kê công khai" in page or "xử lý phản ánh" in page
    assert "Mức độ hài lòng" in page
