"""``/api/``: the JSON API at ``v1/`` (its schema at ``v1/openapi.json``, docs at ``v1/docs``),
and the page where a person signs app devices out."""

from django.urls import URLPattern, URLResolver, path, re_path

from . import views
from .api import api
from .errors import in_request_language, not_found_view


def _api_patterns() -> tuple[list[URLPattern], str, str]:
    """ninja's URL patterns, each view run in the caller's language (so that the checks
    ninja makes before an operation runs, such as authentication, answer in it too)."""
    patterns, app_name, namespace = api.urls
    wrapped = [
        URLPattern(p.pattern, in_request_language(p.callback), p.default_args, p.name)
        for p in patterns
        if isinstance(p, URLPattern)
    ]
    return wrapped, app_name, namespace


app_name = "api"
urlpatterns: list[URLPattern | URLResolver] = [
    path("v1/", _api_patterns()),
    path("v1/docs/assets/<str:name>", in_request_language(views.docs_asset), name="docs_asset"),
    # Anything else under v1/ is a 404 in the API's error shape, not the site's HTML page.
    re_path(r"^v1/", in_request_language(not_found_view)),
    path("devices/", views.devices, name="devices"),
    path("devices/<int:device_id>/revoke/", views.device_revoke, name="device_revoke"),
    path("devices/revoke-all/", views.devices_revoke_all, name="devices_revoke_all"),
]
