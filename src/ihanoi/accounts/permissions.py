"""Who may see what. Views call these; tests exercise them from the outside."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from ihanoi.accounts.models import STAFF_ROLES, Role, User


def mfa_enabled(user: User) -> bool:
    from allauth.mfa.utils import is_mfa_enabled

    return is_mfa_enabled(user)


def needs_mfa_setup(user: Any) -> bool:
    """A signed-in user whose role needs TOTP but who has not set it up yet."""
    return bool(
        getattr(user, "is_authenticated", False)
        and isinstance(user, User)
        and user.requires_mfa
        and not mfa_enabled(user)
    )


def staff_required(
    view: Callable[..., HttpResponse] | None = None, *, roles: Iterable[Role] = STAFF_ROLES
) -> Any:
    """Anonymous → sign-in page; signed in without one of ``roles`` → 403."""
    allowed = frozenset(roles)

    def decorator(func: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(func)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            assert isinstance(user, User)
            if user.role not in allowed or needs_mfa_setup(user):
                raise PermissionDenied
            return func(request, *args, **kwargs)

        return wrapper

    return decorator(view) if view is not None else decorator
