"""The GeoReport v2 endpoints (+ mySociety's servicerequestupdates), in XML and JSON.

Each view reads its parameters, makes one lookup or one service call and renders the
payload; ``endpoint`` does what they share: the method check, the caller's language
(Accept-Language; the site's cookie rule does not suit programs), the jurisdiction, the
API key and its rate limit, and turning every refusal into the spec's ``errors`` body.
CSRF does not apply: POSTs are authorised by the API key, not by a browser session.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Concatenate

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from ihanoi.lib.dbrouter import reads_from_replica

from . import payloads, render, selectors, services
from .models import ApiKey
from .params import (
    Params,
    after_param,
    choice_values,
    city_zone,
    date_window,
    datetime_param,
    errors_of,
    page_param,
)
from .throttle import api_key_hit

DEFAULT_JURISDICTION = "hanoi.vn"


def jurisdiction_id() -> str:
    return str(getattr(settings, "OPEN311_JURISDICTION_ID", DEFAULT_JURISDICTION))


class ApiError(Exception):
    def __init__(self, status: int, *descriptions: str, headers: dict[str, str] | None = None):
        super().__init__(status, descriptions)
        self.status = status
        self.descriptions = descriptions
        self.headers = headers or {}


class Call:
    """What ``endpoint`` found out about one call, handed to the view."""

    def __init__(self, request: HttpRequest, fmt: str, params: Params, api_key: ApiKey | None):
        self.request = request
        self.fmt = fmt
        self.params = params
        self.api_key = api_key

    def absolute(self) -> selectors.UrlBuilder:
        return selectors.UrlBuilder(self.request.build_absolute_uri("/"))


View = Callable[Concatenate[Call, ...], HttpResponse]


def _authenticate(params: Params, *, required: bool) -> ApiKey | None:
    raw = params.get("api_key")
    if raw is None:
        if required:
            raise ApiError(403, _("api_key is missing: this method needs a key."))
        return None
    api_key = selectors.api_key_find(raw)
    if api_key is None:
        raise ApiError(403, _("Invalid api_key received."))
    if not api_key.is_active():
        raise ApiError(403, _("This api_key was revoked."))
    verdict = api_key_hit(api_key)
    if not verdict.allowed:
        raise ApiError(
            429,
            _("Too many requests with this api_key: at most %(n)d a minute.")
            % {"n": api_key.requests_per_minute},
            headers={"Retry-After": str(verdict.retry_after)},
        )
    return api_key


def _check_jurisdiction(params: Params) -> None:
    given = params.get("jurisdiction_id")
    if given is not None and given.lower() != jurisdiction_id().lower():
        raise ApiError(
            404,
            _("jurisdiction_id “%(given)s” was not found; this server serves “%(ours)s”.")
            % {"given": given[:60], "ours": jurisdiction_id()},
        )


def endpoint(*methods: str, key_for: tuple[str, ...] = ()) -> Callable[[View], Any]:
    """``key_for``: the methods that need an API key (a key given to another method is
    still checked, and counted against its limit)."""

    def decorate(view: View) -> Any:
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, fmt: str, **kwargs: Any) -> HttpResponse:
            language = translation.get_language_from_request(request)
            with translation.override(language):
                try:
                    if request.method not in methods:
                        raise ApiError(
                            405,
                            _("Method %(method)s is not allowed here.")
                            % {"method": request.method},
                            headers={"Allow": ", ".join(methods)},
                        )
                    sources = (request.POST, request.GET) if request.method == "POST" else ()
                    params = Params(*sources) if sources else Params(request.GET)
                    api_key = _authenticate(params, required=request.method in key_for)
                    _check_jurisdiction(params)
                    path_args = {k: str(v).replace("\x00", "") for k, v in kwargs.items()}
                    return view(Call(request, fmt, params, api_key), **path_args)
                except ApiError as exc:
                    response = render.errors(fmt, exc.status, exc.descriptions)
                    for name, value in exc.headers.items():
                        response.headers[name] = value
                    return response
                except ValidationError as exc:
                    return render.errors(fmt, 400, errors_of(exc))

        return wrapper

    return decorate


@endpoint("GET")
def discovery(call: Call) -> HttpResponse:
    endpoint_url = call.request.build_absolute_uri(reverse("open311:v2")).rstrip("/")
    payload = payloads.discovery(
        endpoint_url=endpoint_url,
        # Services change rarely and keep no dates: a daily changeset makes clients refresh
        # their cached service lists at least once a day.
        changeset=timezone.now().astimezone(city_zone()).date().isoformat(),
        production=bool(settings.PRODUCTION),
    )
    return render.respond(call.fmt, "discovery", payload)


@reads_from_replica
@endpoint("GET")
def service_list(call: Call) -> HttpResponse:
    payload = [payloads.service(category) for category in selectors.services()]
    return render.respond(call.fmt, "services", payload)


@reads_from_replica
@endpoint("GET")
def service_definition(call: Call, code: str) -> HttpResponse:
    category = selectors.service(code)
    if category is None:
        raise ApiError(404, _("service_code “%(code)s” was not found.") % {"code": code[:60]})
    return render.respond(call.fmt, "service_definition", payloads.service_definition(category))


def _request_list(call: Call) -> HttpResponse:
    params = call.params
    ids = params.values("service_request_id")
    if ids:
        filters = selectors.RequestFilters(ids=ids)
    else:
        errors: dict[str, list[str]] = {}
        statuses: list[str] = []
        window = None
        try:
            statuses = choice_values(params, "status", ("open", "closed"))
        except ValidationError as exc:
            errors.update(exc.message_dict)
        try:
            window = date_window(params)
        except ValidationError as exc:
            errors.update(exc.message_dict)
        if errors:
            raise ValidationError(errors)
        filters = selectors.RequestFilters(
            service_codes=params.values("service_code"), statuses=statuses, window=window
        )
    page = page_param(params)
    after = after_param(params, selectors.REQUEST_ORDER)
    found = selectors.requests_find(api_key=call.api_key, filters=filters, page=page, after=after)
    media = selectors.media_for([row["id"] for row in found.items], absolute=call.absolute())
    extensions = (params.get("extensions") or "").lower() == "true"
    payload = payloads.service_requests(found.items, media, extensions=extensions)
    response = render.respond(call.fmt, "service_requests", payload)
    if found.next is not None:
        response.headers["Link"] = f'<{_next_url(call, found.next)}>; rel="next"'
    return response


def _next_url(call: Call, cursor: str) -> str:
    """This call's address with ``after`` set to the cursor (``page`` dropped): the same
    filters, the page that follows."""
    query = call.request.GET.copy()
    query.pop("page", None)
    query["after"] = cursor
    return call.request.build_absolute_uri(f"{call.request.path}?{query.urlencode()}")


def _request_create(call: Call) -> HttpResponse:
    params = call.params
    assert call.api_key is not None
    data = services.RequestInput(
        service_code=params.get("service_code"),
        lat=params.get("lat"),
        long=params.get("long"),
        address_string=params.get("address_string"),
        address_id=params.get("address_id"),
        description=params.get("description"),
        attributes=params.attributes(),
        media_urls=[url.strip() for url in params.getlist("media_url") if url.strip()],
        person=services.Person(
            email=params.get("email") or "",
            phone=params.get("phone") or "",
            first_name=params.get("first_name") or "",
            last_name=params.get("last_name") or "",
        ),
        idempotency_key=(call.request.headers.get("Idempotency-Key") or "")
        .replace("\x00", "")
        .strip(),
    )
    try:
        report, _created = services.open311_request_submit(api_key=call.api_key, data=data)
    except services.ServiceNotFound:
        raise ApiError(
            404, _("service_code “%(code)s” was not found.") % {"code": str(data.service_code)[:60]}
        ) from None
    return render.respond(call.fmt, "service_requests", [payloads.created_request(report)])


@reads_from_replica
@endpoint("GET", "POST", key_for=("POST",))
def requests(call: Call) -> HttpResponse:
    if call.request.method == "POST":
        return _request_create(call)
    return _request_list(call)


@endpoint("GET")
def request_detail(call: Call, request_id: str) -> HttpResponse:
    report = selectors.request_get(api_key=call.api_key, request_id=request_id)
    if report is None:
        raise ApiError(
            404, _("service_request_id “%(id)s” was not found.") % {"id": request_id[:60]}
        )
    media = selectors.media_for([report.pk], absolute=call.absolute())
    extensions = (call.params.get("extensions") or "").lower() == "true"
    payload = [payloads.service_request(report, media, extensions=extensions)]
    return render.respond(call.fmt, "service_requests", payload)


@endpoint("GET")
def token_detail(call: Call, token: str) -> HttpResponse:
    found = selectors.request_by_token(token)
    if found is None:
        raise ApiError(404, _("token “%(token)s” was not found.") % {"token": token[:60]})
    return render.respond(call.fmt, "service_requests", [payloads.token(found.report, token)])


def _update_list(call: Call) -> HttpResponse:
    window = date_window(call.params)
    events = selectors.updates_find(
        api_key=call.api_key, window=window, page=page_param(call.params)
    )
    media = selectors.media_for([], events, absolute=call.absolute())
    payload = [payloads.request_update(event, media) for event in events]
    return render.respond(call.fmt, "service_request_updates", payload)


def _update_create(call: Call) -> HttpResponse:
    params = call.params
    assert call.api_key is not None
    data = services.UpdateInput(
        service_request_id=params.get("service_request_id"),
        status=params.get("status"),
        description=params.get("description"),
        updated_datetime=datetime_param(params, "updated_datetime"),
        media_urls=[url.strip() for url in params.getlist("media_url") if url.strip()],
        client_update_id=params.get("update_id") or params.get("update_id_ext") or "",
        person=services.Person(
            email=params.get("email") or "",
            phone=params.get("phone") or "",
            first_name=params.get("first_name") or "",
            last_name=params.get("last_name") or "",
        ),
    )
    try:
        event = services.open311_update_post(api_key=call.api_key, data=data)
    except services.RequestNotFound:
        raise ApiError(
            404,
            _("service_request_id “%(id)s” was not found.")
            % {"id": str(data.service_request_id)[:60]},
        ) from None
    return render.respond(call.fmt, "service_request_updates", [payloads.posted_update(event)])


@reads_from_replica
@endpoint("GET", "POST", key_for=("POST",))
def service_request_updates(call: Call) -> HttpResponse:
    if call.request.method == "POST":
        return _update_create(call)
    return _update_list(call)


@csrf_exempt
def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    """Anything else under /open311/: the spec's 404 body, JSON when the path asks for it."""
    fmt = "json" if path.endswith(".json") else "xml"
    with translation.override(translation.get_language_from_request(request)):
        return render.errors(fmt, 404, [_("No such Open311 resource: check the URL.")])
