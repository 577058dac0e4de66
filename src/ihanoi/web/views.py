from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ihanoi.accounts.models import User
from ihanoi.accounts.permissions import staff_required

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Utility:
    key: str
    label: str | Promise
    icon: str
    url_name: str | None  # None: not built yet, shown without a link

    @property
    def url(self) -> str | None:
        return reverse(self.url_name) if self.url_name else None


# iHaNoi's grid of utilities, in the app's order. Only entries that work are links.
UTILITIES: tuple[Utility, ...] = (
    Utility("feedback", _("Field feedback"), "📣", "feedback:public_list"),
    Utility("procedures", _("Administrative procedures"), "📄", None),
    Utility("appointments", _("Appointments"), "📅", None),
    Utility("polls", _("Polls"), "🗳️", None),
    Utility("voters", _("Voter recommendations"), "🏛️", None),
    Utility("news", _("Alerts and news"), "📰", None),
    Utility("directory", _("Directory of agencies"), "☎️", "agencies:list"),
    Utility("wards", _("Wards and communes"), "🗺️", "places:list"),
    Utility("parking", _("Parking"), "🅿️", None),
    Utility("transit", _("Public transit"), "🚌", None),
    Utility("bills", _("Bills"), "💡", None),
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
