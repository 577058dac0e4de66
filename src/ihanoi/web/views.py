from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from ihanoi.accounts.models import User
from ihanoi.accounts.permissions import staff_required
from ihanoi.web import push, pwa

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Utility:
    key: str
    label: str | Promise
    icon: str  # a symbol of static/web/icons.svg
    url_name: str | None  # None: not built yet, shown without a link

    @property
    def url(self) -> str | None:
        return reverse(self.url_name) if self.url_name else None


# iHaNoi's grid of utilities, in the app's order. Only entries that work are links.
UTILITIES: tuple[Utility, ...] = (
    Utility("feedback", gettext_lazy("Field feedback"), "feedback", "feedback:public_list"),
    Utility("procedures", gettext_lazy("Administrative procedures"), "procedures", None),
    Utility("appointments", gettext_lazy("Appointments"), "appointments", None),
    Utility("polls", gettext_lazy("Polls"), "polls", None),
    Utility("voters", gettext_lazy("Voter recommendations"), "voters", None),
    Utility("news", gettext_lazy("Alerts and news"), "news", None),
    Utility("directory", gettext_lazy("Directory of agencies"), "directory", "agencies:list"),
    Utility("wards", gettext_lazy("Wards and communes"), "wards", "places:list"),
    Utility("parking", gettext_lazy("Parking"), "parking", None),
    Utility("transit", gettext_lazy("Public transit"), "transit", None),
    Utility("bills", gettext_lazy("Bills"), "bills", None),
)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "web/home.html", {"utilities": UTILITIES})


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Load balancers and the operator at 3 a.m.: 200 when the database answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        logger.exception("health check: database unreachable")
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


@staff_required
@require_GET
def staff_home(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    memberships = user.memberships.select_related("agency").order_by("agency__name")
    return render(request, "web/staff_home.html", {"memberships": memberships})


# --- The installable app (PWA) ----------------------------------------------------------------


@require_GET
def manifest(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(
        pwa.manifest(),
        content_type="application/manifest+json",
        json_dumps_params={"ensure_ascii": False},
    )
    response["Cache-Control"] = "public, max-age=3600"
    return response


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, served from the site's root so that its scope is the whole site."""
    response = render(
        request,
        "web/sw.js",
        pwa.service_worker_context(),
        content_type="text/javascript; charset=utf-8",
    )
    response["Service-Worker-Allowed"] = "/"
    # Browsers check for a new worker on navigation; never let a cache answer for it.
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def offline(request: HttpRequest) -> HttpResponse:
    """What the service worker shows for a page it does not have while the phone is offline.
    Cached for everybody: it shows nothing of the person."""
    return render(request, "web/offline.html")


# --- Web Push subscriptions of this browser -----------------------------------------------------


def _json_body(request: HttpRequest) -> dict[str, Any] | None:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _push_error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse(
        {"error": message}, status=status, json_dumps_params={"ensure_ascii": False}
    )


@require_POST
def push_subscribe(request: HttpRequest) -> JsonResponse:
    """Store this browser's push subscription (PushSubscription.toJSON()) for the signed-in
    person; the same browser subscribing again updates its row."""
    if not request.user.is_authenticated:
        return _push_error(_("Sign in to receive notifications."), status=403)
    if not push.vapid_public_key():
        return _push_error(_("Notifications on this device are not available."), status=409)
    data = _json_body(request)
    keys = data.get("keys") if data else None
    if not data or not isinstance(keys, dict):
        return _push_error(_("Send the browser's push subscription as JSON."))
    endpoint = str(data.get("endpoint") or "")
    if not push.endpoint_allowed(endpoint):
        return _push_error(_("This push service is not supported."))
    from ihanoi.api.services import push_subscription_register

    try:
        push_subscription_register(
            user=request.user,
            device=None,
            endpoint=endpoint,
            p256dh=str(keys.get("p256dh") or ""),
            auth=str(keys.get("auth") or ""),
        )
    except ValidationError as error:
        return _push_error(" ".join(error.messages))
    return JsonResponse({"subscribed": True}, status=201)


@require_POST
def push_unsubscribe(request: HttpRequest) -> JsonResponse:
    if not request.user.is_authenticated:
        return _push_error(_("Sign in to receive notifications."), status=403)
    data = _json_body(request)
    if not data or not isinstance(data.get("endpoint"), str):
        return _push_error(_("Send the browser's push subscription as JSON."))
    from ihanoi.api.services import push_subscription_delete

    removed = push_subscription_delete(user=request.user, endpoint=data["endpoint"])
    return JsonResponse({"subscribed": False, "removed": removed})
