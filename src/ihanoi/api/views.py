"""HTML pages of the API app: the person's signed-in devices, and the API docs' files."""

from __future__ import annotations

import mimetypes
from pathlib import Path

import ninja
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_POST

from ihanoi.accounts.models import User

from . import selectors, services


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@login_required
@require_GET
def devices(request: HttpRequest) -> HttpResponse:
    """The phones signed in to the app with this account, each with a sign-out button."""
    return render(request, "api/devices.html", {"devices": selectors.devices_of(_user(request))})


@login_required
@require_POST
def device_revoke(request: HttpRequest, device_id: int) -> HttpResponse:
    user = _user(request)
    # Someone else's device is as missing as one that never existed.
    device = get_object_or_404(selectors.devices_of(user), pk=device_id)
    services.device_token_revoke(user=user, device=device)
    messages.success(request, _("“%(name)s” is signed out.") % {"name": device.name})
    return redirect("api:devices")


@login_required
@require_POST
def devices_revoke_all(request: HttpRequest) -> HttpResponse:
    count = services.device_tokens_revoke_all(user=_user(request))
    if count:
        messages.success(request, _("Every device is signed out of the app."))
    return redirect("api:devices")


# The Swagger UI's files, from the installed django-ninja (not an installed app, so the
# static files finders do not see them); only these names are served.
DOCS_ASSETS_DIR = Path(ninja.__file__).resolve().parent / "static" / "ninja"
DOCS_ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-init.js"})


@require_GET
@cache_control(public=True, max_age=24 * 3600)
def docs_asset(request: HttpRequest, name: str) -> FileResponse:
    if name not in DOCS_ASSETS:
        raise Http404
    content_type, _encoding = mimetypes.guess_type(name)
    return FileResponse(
        (DOCS_ASSETS_DIR / name).open("rb"), content_type=content_type or "text/plain"
    )
