"""The JSON API's tests run in the feedback tests' small city (``world``), through the test
client, with a bearer token per signed-in person."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from ihanoi.accounts.models import User
from ihanoi.api.services import device_token_issue
from tests.feedback.conftest import _media_in_tmp, world  # noqa: F401 - fixtures used here

API = "/api/v1"


@dataclass
class ApiClient:
    """The test client with the API's prefix, JSON bodies and an optional bearer token."""

    client: Client
    token: str | None = None
    language: str | None = None

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        out = {}
        if self.token:
            out["Authorization"] = f"Bearer {self.token}"
        if self.language:
            out["Accept-Language"] = self.language
        out.update(headers or {})
        return out

    def get(self, path: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        return self.client.get(
            API + path, params or {}, headers=self._headers(kw.pop("headers", None)), **kw
        )

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.client.post(
            API + path,
            json if json is not None else {},
            content_type="application/json",
            headers=self._headers(kw.pop("headers", None)),
            **kw,
        )

    def post_form(self, path: str, data: dict[str, Any], **kw: Any) -> Any:
        """multipart/form-data (the test client's default encoding for a dict)."""
        return self.client.post(
            API + path, data, headers=self._headers(kw.pop("headers", None)), **kw
        )

    def delete(self, path: str, **kw: Any) -> Any:
        return self.client.delete(API + path, headers=self._headers(kw.pop("headers", None)), **kw)


def token_for(user: User, name: str = "Test phone") -> str:
    _device, token = device_token_issue(user=user, name=name)
    return token


@pytest.fixture
def anonymous(client: Client) -> ApiClient:
    return ApiClient(client)


@pytest.fixture
def api_as() -> Callable[..., ApiClient]:
    """A client signed in as ``user`` (its own token, its own cookie jar)."""

    def make(user: User, **kwargs: Any) -> ApiClient:
        return ApiClient(Client(), token=token_for(user), **kwargs)

    return make


@pytest.fixture
def resident_api(world, api_as) -> ApiClient:  # noqa: F811 - the fixture imported above
    return api_as(world.resident)


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The one error shape; returns the ``error`` object."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    return error
