"""Bearer tokens of signed-in devices, as a ninja auth class.

``request.auth`` is a ``Caller`` (the user and the device, or nobody on operations where
signing in is optional). A missing token is a 401 where one is required; a token that is
sent but not valid is a 401 everywhere, also where signing in is optional, so that an app
with a revoked token learns it at once instead of silently seeing the public view.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from ninja.security import HttpBearer

from ihanoi.accounts.models import User

from . import services
from .errors import InvalidToken
from .models import DeviceToken


@dataclass(frozen=True)
class Caller:
    user: User | None
    device: DeviceToken | None

    def __bool__(self) -> bool:
        # ninja treats a falsy result as "not authenticated"; a visitor is a valid caller
        # of the operations that allow one.
        return True


class DeviceTokenAuth(HttpBearer):
    def __init__(self, *, optional: bool = False) -> None:
        super().__init__()
        self.optional = optional

    def __call__(self, request: HttpRequest) -> Caller | None:
        header = request.headers.get(self.header, "")
        if not header.strip():
            return Caller(user=None, device=None) if self.optional else None
        scheme, _sep, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise InvalidToken()
        return self.authenticate(request, token.strip())

    def authenticate(self, request: HttpRequest, token: str) -> Caller:
        device = services.device_token_authenticate(raw=token)
        if device is None:
            raise InvalidToken()
        # Code outside the API that reads request.user (logging, the services' helpers)
        # sees the person the token belongs to.
        request.user = device.user
        return Caller(user=device.user, device=device)


def caller(request: HttpRequest) -> Caller:
    auth = getattr(request, "auth", None)
    assert isinstance(auth, Caller)
    return auth


def signed_in(request: HttpRequest) -> tuple[User, DeviceToken]:
    """The user and device of an operation that requires a token (ninja checked it)."""
    auth = caller(request)
    assert auth.user is not None and auth.device is not None
    return auth.user, auth.device


token_required = DeviceTokenAuth()
token_optional = DeviceTokenAuth(optional=True)
