"""/open311/v2/…: every resource ends in ``.xml`` or ``.json`` (the spec's format suffix)."""

from django.urls import URLPattern, URLResolver, re_path

from . import views

app_name = "open311"

_FMT = r"\.(?P<fmt>json|xml)$"

urlpatterns: list[URLPattern | URLResolver] = [
    re_path(r"^v2/discovery" + _FMT, views.discovery, name="discovery"),
    re_path(r"^discovery" + _FMT, views.discovery, name="root_discovery"),
    # The endpoint's base URL (what discovery names) answers with the discovery document.
    re_path(r"^v2/?$", views.discovery, {"fmt": "xml"}, name="v2"),
    re_path(r"^$", views.discovery, {"fmt": "xml"}, name="root"),
    re_path(r"^v2/services" + _FMT, views.service_list, name="services"),
    re_path(r"^v2/services/(?P<code>[^/]+?)" + _FMT, views.service_definition, name="service"),
    re_path(r"^v2/requests" + _FMT, views.requests, name="requests"),
    re_path(r"^v2/requests/(?P<request_id>[^/]+?)" + _FMT, views.request_detail, name="request"),
    re_path(r"^v2/tokens/(?P<token>[^/]+?)" + _FMT, views.token_detail, name="token"),
    re_path(
        r"^v2/servicerequestupdates" + _FMT,
        views.service_request_updates,
        name="servicerequestupdates",
    ),
    re_path(r"^(?P<path>.*)$", views.not_found, name="not_found"),
]
