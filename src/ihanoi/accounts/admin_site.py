"""The Django admin is for administrators only, signed in through the site's own sign-in
(password + TOTP); its own password form, which knows nothing of TOTP, is never shown."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from ihanoi.accounts.models import Role, User
from ihanoi.accounts.permissions import needs_mfa_setup


class AdminSite(admin.AdminSite):
    site_header = _("iHaNoi administration")
    site_title = _("iHaNoi administration")
    index_title = _("Configuration")

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(
            user.is_active
            and user.is_staff
            and isinstance(user, User)
            and user.role == Role.ADMINISTRATOR
            and not needs_mfa_setup(user)
        )

    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if request.user.is_authenticated and not self.has_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        next_url = request.GET.get("next") or request.path.replace("login/", "")
        return redirect_to_login(next_url)
