"""Roles that need a second factor cannot use the site until they have set up TOTP."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from ihanoi.accounts.permissions import needs_mfa_setup

# Paths a user without TOTP may still reach: the sign-in and 2FA pages, language switch,
# static files and the health check.
_OPEN_PREFIXES = ("/accounts/", "/i18n/", "/static/", "/healthz")


class MFARequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(_OPEN_PREFIXES) and needs_mfa_setup(request.user):
            messages.warning(
                request,
                _("Your role requires two-step sign-in. Set up an authenticator app first."),
            )
            return redirect("mfa_activate_totp")
        return self.get_response(request)
