"""Schema-driven fuzzing of the JSON API (schemathesis): whatever the published OpenAPI
schema allows, and much it does not (negative cases, other methods), gets an answer below
500, and every error answer has the one error shape.

Bounded so that it runs in the normal suite: a fixed number of examples per operation,
derandomised (the same cases on every run, on SQLite and PostgreSQL alike), no example
database. Each example gets a fresh bearer token of a resident of the test city, so that
signing out or revoking a device in one example does not turn the next ones into 401s.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from ihanoi.accounts.models import User
from ihanoi.api.services import device_token_issue
from ihanoi.wsgi import application

EXAMPLES_PER_OPERATION = 25

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


def _assert_error_shape(response: schemathesis.Response) -> None:
    if response.status_code < 400:
        return
    assert response.headers.get("content-type", [""])[0].startswith("application/json")
    body = json.loads(response.content)
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body


@pytest.fixture
def fuzz_resident(world) -> User:
    return world.resident


@pytest.fixture(autouse=True)
def _keep_the_tests_connection():
    """schemathesis calls the real WSGI application, whose request signals close the database
    connection after each request (``close_old_connections``), and with it the test's
    transaction on PostgreSQL. Django's own test client unhooks them the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_input_makes_the_api_fail(case, fuzz_resident):
    _device, token = device_token_issue(user=fuzz_resident, name="Fuzzer")
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    case.validate_response(response, checks=[not_a_server_error])
    _assert_error_shape(response)
