"""No input makes a server error: generated parameters against every endpoint."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import BASE, request_form

NASTY = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        ["", " ", "\x00", "0", "-1", "1e999", "NaN", "null", "9" * 40, "2025-02-30", "%", "💥"]
    ),
)
NAMES = st.sampled_from(
    [
        "service_code",
        "lat",
        "long",
        "description",
        "address_string",
        "media_url",
        "attribute[su-co]",
        "attribute[su-co][]",
        "attribute[]",
        "start_date",
        "end_date",
        "status",
        "page",
        "page_size",
        "service_request_id",
        "jurisdiction_id",
        "phone",
        "email",
        "update_id",
        "updated_datetime",
        "extensions",
    ]
)
FORMS = st.dictionaries(NAMES, NASTY, max_size=6)
FUZZ = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.mark.parametrize("path", ["requests", "servicerequestupdates", "services"])
@FUZZ
@given(form=FORMS)
def test_reads_never_fail(client, world, path, form):
    response = client.get(f"{BASE}/{path}.json", form)
    assert response.status_code < 500


@FUZZ
@given(form=FORMS)
def test_creating_a_request_never_fails(client, world, key, form):
    response = client.post(f"{BASE}/requests.xml", {**request_form(), **form, "api_key": key.raw})
    assert response.status_code < 500


@FUZZ
@given(form=FORMS)
def test_posting_an_update_never_fails(client, world, key, form):
    response = client.post(f"{BASE}/servicerequestupdates.json", {**form, "api_key": key.raw})
    assert response.status_code < 500


@pytest.mark.parametrize(
    "path",
    ["services/%00.json", "requests/%00.xml", "tokens/%00.json", "services/" + "a" * 500 + ".xml"],
)
def test_odd_paths_never_fail(client, world, path):
    assert client.get(f"{BASE}/{path}").status_code == 404
