"""JSON endpoints of the places app."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from ihanoi.lib.geo import InvalidCoordinates

from . import selectors


@require_GET
def locate_json(request: HttpRequest) -> JsonResponse:
    """``?lat=..&lon=..`` → ``{"ward": {"code", "name"} | null, "approximate": bool}``;
    HTTP 400 ``{"error": message}`` for missing or invalid coordinates."""
    lat, lon = request.GET.get("lat"), request.GET.get("lon")
    if lat is None or lon is None:
        return JsonResponse(
            {"error": _("Give both lat and lon, e.g. ?lat=21.0287&lon=105.8523.")}, status=400
        )
    try:
        hit = selectors.locate_ward_hit(lat, lon)
    except InvalidCoordinates as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    if hit is None:
        return JsonResponse({"ward": None, "approximate": False})
    return JsonResponse(
        {"ward": {"code": hit.code, "name": hit.name}, "approximate": hit.approximate}
    )


@require_GET
def wards_geojson(request: HttpRequest) -> HttpResponse:
    """The wards' shapes for maps; cacheable, revalidated by ETag."""
    body, tag = selectors.wards_geojson()
    etag = f'"{tag}"'
    if request.headers.get("If-None-Match") == etag:
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="application/geo+json")
    response["ETag"] = etag
    response["Cache-Control"] = "public, max-age=300"
    return response
