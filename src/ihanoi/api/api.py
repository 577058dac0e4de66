"""The mobile app's JSON API, ``/api/v1/`` (django-ninja; schema at ``/api/v1/openapi.json``).

Operations are thin (DESIGN §4.3): parse, one permission-checked lookup, one service call,
present. Every error, whoever raises it, leaves through ``errors.install``'s handlers in the
one error shape; the caller's language is activated around each request by
``errors.in_request_language`` (see ``urls.py``).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from allauth.account.adapter import get_adapter
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpRequest
from django.shortcuts import render
from django.utils.translation import gettext as _
from ninja import File, Form, NinjaAPI, Path, Query, Router, UploadedFile
from ninja.openapi.docs import Swagger
from ninja.operation import Operation
from ninja.responses import Status

from ihanoi.accounts.models import User
from ihanoi.feedback import selectors as feedback_selectors
from ihanoi.feedback import services as feedback_services
from ihanoi.feedback.catalogue import active_categories
from ihanoi.feedback.models import Category, Channel, Report, ReportPhoto
from ihanoi.feedback.ordering import NEWEST
from ihanoi.feedback.photos import prepare_uploads
from ihanoi.lib import keyset
from ihanoi.notifications import selectors as notification_selectors
from ihanoi.notifications import services as notification_services

from . import errors, presenters, selectors, services
from .auth import caller, signed_in, token_optional, token_required
from .errors import ErrorOut
from .schemas import (
    CategoryOut,
    CodeRequestIn,
    CodeRequestOut,
    DeviceOut,
    FollowOut,
    MeOut,
    NotificationOut,
    NotificationPageOut,
    PushServerKeyOut,
    PushSubscriptionIn,
    PushSubscriptionOut,
    RatingIn,
    ReadAllOut,
    ReplyIn,
    ReportIn,
    ReportOut,
    ReportPageOut,
    ReportSummaryOut,
    TokenIn,
    TokenOut,
)

# Database ids in paths: bounded so that no value overflows a bigint column.
MAX_ID = 2**53
PAGE_SIZE_MAX = 50


class LocalSwagger(Swagger):
    """ninja's Swagger UI with its files served by this site (no CDN: no internet is assumed
    at run time, and ninja is not an installed app, so its static files are not collected)."""

    template = "api/swagger.html"

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> Any:
        self.settings["url"] = self.get_openapi_url(api, kwargs)
        context = {"swagger_settings": json.dumps(self.settings, indent=1), "api": api}
        return render(request, self.template, context)


class IHaNoiAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation: Operation) -> str:
        # Short, stable names for generated clients: the Python function's name.
        return operation.view_func.__name__


DESCRIPTION = """\
The mobile app's API of iHaNoi, Hanoi's citizen feedback platform.

Sign in with a one-time code sent by SMS (`POST /auth/code`, then `POST /auth/token`), then
send `Authorization: Bearer <token>`. Send `Accept-Language: vi` (default) or `en`.
Every error has one shape: `{"error": {"code", "message", "fields"}}`.
Lists answer with a `next` cursor: send it as `cursor` to get the following page (each page
costs the same however deep; `page` numbers still work for older apps).
"""

api = IHaNoiAPI(
    title="iHaNoi mobile app API",
    version="1",
    description=DESCRIPTION,
    # Included inside the app's "api" namespace (urls.py): the instance namespace is "api-v1".
    urls_namespace="api:api-v1",
    auth=token_required,
    docs=LocalSwagger(settings={"validatorUrl": None}),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
errors.install(api)


# Appended to the operation's security list (ninja extends lists): no token is also fine.
OPTIONAL_SIGN_IN: dict[str, Any] = {"security": [{}]}


def errors_for(*statuses: int) -> dict[int, type[ErrorOut]]:
    return dict.fromkeys(statuses, ErrorOut)


def _client_ip(request: HttpRequest) -> str:
    # allauth's reading of the address (ALLAUTH_TRUSTED_PROXY_COUNT behind a proxy), so that
    # the web's and the app's limits count the same client.
    try:
        return str(get_adapter().get_client_ip(request))
    except PermissionDenied:
        return "unknown"


# --- Sign-in --------------------------------------------------------------------------------

auth_router = Router(tags=["sign-in"])


@auth_router.post("/code", auth=None, response={202: CodeRequestOut, **errors_for(400, 429)})
def request_code(request: HttpRequest, payload: CodeRequestIn) -> Status[dict[str, Any]]:
    """Send a six-digit sign-in code by SMS. The answer is the same for every valid number."""
    sent = services.login_code_request(phone=payload.phone, client_ip=_client_ip(request))
    return Status(
        202,
        {
            "phone": sent.phone,
            "expires_in": services.CODE_TTL_SECONDS,
            "code_length": services.CODE_LENGTH,
        },
    )


@auth_router.post("/token", auth=None, response={201: TokenOut, **errors_for(400, 403, 429)})
def sign_in(request: HttpRequest, payload: TokenIn) -> Status[dict[str, Any]]:
    """Exchange the code for a bearer token of this device. The first sign-in of a number
    creates the resident's account."""
    result = services.login_code_verify(
        phone=payload.phone,
        code=payload.code,
        device_name=payload.device_name,
        client_ip=_client_ip(request),
    )
    return Status(
        201,
        {
            "token": result.token,
            "token_type": "Bearer",
            "new_account": result.new_account,
            "device": presenters.device_out(result.device, current=result.device),
            "user": presenters.me_out(result.user, unread=0),
        },
    )


@auth_router.delete("/token", response={204: None, **errors_for(401)})
def sign_out(request: HttpRequest) -> Status[None]:
    """Sign this device out: its token stops working at once."""
    user, device = signed_in(request)
    services.device_token_revoke(user=user, device=device)
    return Status(204, None)


# --- The signed-in person -------------------------------------------------------------------

me_router = Router(tags=["me"])


@me_router.get("", response={200: MeOut, **errors_for(401)})
def me(request: HttpRequest) -> dict[str, Any]:
    user, _device = signed_in(request)
    return presenters.me_out(user, unread=notification_selectors.unread_count(user))


@me_router.get("/devices", response={200: list[DeviceOut], **errors_for(401)})
def my_devices(request: HttpRequest) -> list[dict[str, Any]]:
    """The devices signed in to this account."""
    user, device = signed_in(request)
    return [presenters.device_out(d, current=device) for d in selectors.devices_of(user)]


@me_router.delete("/devices/{device_id}", response={204: None, **errors_for(400, 401, 404)})
def revoke_device(
    request: HttpRequest, device_id: int = Path(..., ge=1, le=MAX_ID)
) -> Status[None]:
    """Sign one of this account's devices out (a lost phone)."""
    user, _device = signed_in(request)
    device = selectors.devices_of(user).filter(pk=device_id).first()
    if device is None:
        raise Http404
    services.device_token_revoke(user=user, device=device)
    return Status(204, None)


def _with_photos(reports: Any) -> Any:
    """Prefetch each report's visible photos (for the thumbnails of a list)."""
    return reports.prefetch_related(
        Prefetch(
            "photos",
            queryset=ReportPhoto.objects.filter(is_hidden=False).order_by("created_at", "pk"),
            to_attr="visible_photos",
        )
    )


# Paging of the lists (docs/api.md, "Lists and paging").
PAGE_QUERY = Query(
    None,
    ge=1,
    le=100_000,
    description="Page number from 1 (older apps). Prefer `cursor`: a deep page costs more.",
)
CURSOR_QUERY = Query(
    None,
    min_length=1,
    max_length=keyset.MAX_CURSOR_LENGTH,
    description="The `next` of the page before; leave out for the first page.",
)


def _list_out(page: selectors.ListPage, items: list[Any], page_size: int) -> dict[str, Any]:
    return {
        "items": items,
        "count": page.count,
        "page": page.page,
        "page_size": page_size,
        "has_next": page.has_next,
        "next": page.next,
    }


@me_router.get("/reports", response={200: ReportPageOut, **errors_for(400, 401)})
def my_reports(
    request: HttpRequest,
    page: int | None = PAGE_QUERY,
    page_size: int = Query(20, ge=1, le=PAGE_SIZE_MAX),
    cursor: str | None = CURSOR_QUERY,
) -> dict[str, Any]:
    """The reports this person sent, the newest first: by `cursor` (each page costs the
    same) or by `page` number."""
    user, _device = signed_in(request)
    reports = feedback_selectors.reports_of(user).only(*selectors.SUMMARY_FIELDS)
    found = selectors.list_page(
        _with_photos(reports), NEWEST, page_size=page_size, page=page, cursor=cursor
    )
    items = [presenters.report_summary_out(request, r, r.visible_photos) for r in found.items]
    return _list_out(found, items, page_size)


# --- Catalogue ------------------------------------------------------------------------------

catalogue_router = Router(tags=["catalogue"])


@catalogue_router.get("", auth=None, response={200: list[CategoryOut]})
def categories(request: HttpRequest) -> list[dict[str, Any]]:
    """Active categories with their questions, in the caller's language."""
    return [presenters.category_out(category) for category in active_categories()]


# --- Reports --------------------------------------------------------------------------------

reports_router = Router(tags=["reports"])


def _answers(raw: str) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        answers = json.loads(raw)
    except (ValueError, RecursionError):  # "[[[[…" nests past the decoder's depth
        answers = None
    if not isinstance(answers, dict):
        raise ValidationError({"answers": [_("Send the answers as a JSON object.")]})
    return answers


def _photos(files: list[UploadedFile] | None) -> list[Any]:
    files = files or []
    # Counted before any photo is decoded: fifty photos must not cost fifty decodings.
    if len(files) > feedback_services.MAX_PHOTOS:
        raise ValidationError(
            {"photos": [_("Attach at most %(n)d photos.") % {"n": feedback_services.MAX_PHOTOS}]}
        )
    return prepare_uploads(files)


def _retried(request: HttpRequest, report: Report, user: User) -> Status[dict[str, Any]]:
    """A retry's answer: the report made the first time, as stored now."""
    report = selectors.visible_report(report.public_id, user) or report
    return Status(200, presenters.report_out(request, report, user=user))


@reports_router.post("", response={200: ReportOut, 201: ReportOut, **errors_for(400, 401)})
def submit_report(
    request: HttpRequest,
    payload: Form[ReportIn],
    photos: File[list[UploadedFile]] = None,  # type: ignore[assignment]
) -> Status[dict[str, Any]]:
    """Send a report (multipart/form-data: the fields and up to five photos, field name
    ``photos``). 201 when it was made now; 200 with the same report when ``client_key``
    names one this person already sent (a retry)."""
    user, _device = signed_in(request)
    # The client_key is looked up first only when photos came: decoding them again costs
    # tens of milliseconds each. Otherwise the service finds the earlier report when the key
    # stops its INSERT (a retry is rare; every submission would pay for the lookup).
    looked_up = bool(photos and payload.client_key)
    if looked_up:
        earlier = feedback_selectors.report_by_client_key(user, payload.client_key)
        if earlier is not None:
            return _retried(request, earlier, user)
    try:
        answers = _answers(payload.answers)
        prepared = _photos(photos)
    except ValidationError:
        # A retry that no longer parses still gets its report (looked up once at most).
        earlier = None
        if not looked_up:
            earlier = feedback_selectors.report_by_client_key(user, payload.client_key)
        if earlier is None:
            raise
        return _retried(request, earlier, user)
    done = feedback_services.report_submit_detailed(
        reporter=user,
        submission=feedback_services.Submission(
            kind=payload.kind,
            category_code=payload.category,
            title=payload.title,
            description=payload.description,
            lat=payload.lat,
            lon=payload.lon,
            address=payload.address,
            answers=answers,
            client_key=payload.client_key,
            share_contact=payload.share_contact,
            channel=Channel.APP,
        ),
        photos=prepared,
    )
    if not done.created:
        return _retried(request, done.report, user)
    # A new report is presented from the rows the service made (no read back).
    fresh = presenters.Fresh(photos=list(done.photos), events=list(done.events))
    return Status(201, presenters.report_out(request, done.report, user=user, fresh=fresh))


@reports_router.get(
    "/nearby",
    auth=token_optional,
    response={200: list[ReportSummaryOut], **errors_for(400, 401)},
    openapi_extra=OPTIONAL_SIGN_IN,
)
def nearby_reports(
    request: HttpRequest,
    lat: float = Query(..., ge=-90, le=90, allow_inf_nan=False),
    lon: float = Query(..., ge=-180, le=180, allow_inf_nan=False),
    category: str = Query(..., max_length=40),
) -> list[dict[str, Any]]:
    """Open public reports of the category around the point (~300 m, the last 30 days):
    shown before submitting, so that the resident can follow one instead."""
    found = Category.objects.filter(code=category, is_active=True).first()
    if found is None:
        raise ValidationError({"category": [_("Choose a category from the list.")]})
    reports = feedback_selectors.nearby_open(category=found, lat=lat, lon=lon)
    ids = [report.pk for report in reports]
    rows = _with_photos(feedback_selectors.public_reports().filter(pk__in=ids))
    return [presenters.report_summary_out(request, r, r.visible_photos) for r in rows]


def _visible(request: HttpRequest, public_id: str) -> tuple[Report, User | None]:
    user = caller(request).user
    report = selectors.visible_report(uuid.UUID(public_id), user)
    if report is None:
        raise Http404
    return report, user


@reports_router.get(
    "/{uuid:public_id}",
    auth=token_optional,
    response={200: ReportOut, **errors_for(401, 404)},
    openapi_extra=OPTIONAL_SIGN_IN,
)
def report_detail(request: HttpRequest, public_id: str) -> dict[str, Any]:
    """A public report, or one of the caller's own, with its photos and public timeline."""
    report, user = _visible(request, public_id)
    return presenters.report_out(request, report, user=user)


@reports_router.post(
    "/{uuid:public_id}/follow", response={200: FollowOut, **errors_for(401, 403, 404)}
)
def follow_report(request: HttpRequest, public_id: str) -> dict[str, Any]:
    """“Me too”: hear of this report's changes. The reporter hears of them anyway
    (``following`` stays false for them)."""
    report, _user = _visible(request, public_id)
    user, _device = signed_in(request)
    feedback_services.report_follow(user=user, report=report)
    return {"following": selectors.is_following(report, user)}


@reports_router.delete(
    "/{uuid:public_id}/follow", response={200: FollowOut, **errors_for(401, 404)}
)
def unfollow_report(request: HttpRequest, public_id: str) -> dict[str, Any]:
    report, _user = _visible(request, public_id)
    user, _device = signed_in(request)
    feedback_services.report_unfollow(user=user, report=report)
    return {"following": False}


@reports_router.post(
    "/{uuid:public_id}/rating", response={200: ReportOut, **errors_for(400, 401, 403, 404, 409)}
)
def rate_report(request: HttpRequest, public_id: str, payload: RatingIn) -> dict[str, Any]:
    """The reporter rates the result of a handled report; this completes it."""
    report, _user = _visible(request, public_id)
    user, _device = signed_in(request)
    feedback_services.rating_submit(
        actor=user, report=report, value=payload.value, comment=payload.comment
    )
    return presenters.report_out(request, _visible(request, public_id)[0], user=user)


@reports_router.post(
    "/{uuid:public_id}/reply", response={200: ReportOut, **errors_for(400, 401, 403, 404, 409)}
)
def reply_to_report(
    request: HttpRequest,
    public_id: str,
    payload: Form[ReplyIn],
    photos: File[list[UploadedFile]] = None,  # type: ignore[assignment]
) -> dict[str, Any]:
    """The reporter answers the agency's request for more information (multipart: ``answer``
    and up to five photos)."""
    report, _user = _visible(request, public_id)
    user, _device = signed_in(request)
    feedback_services.report_provide_info(
        actor=user, report=report, answer=payload.answer, photos=_photos(photos)
    )
    return presenters.report_out(request, _visible(request, public_id)[0], user=user)


# --- Notifications --------------------------------------------------------------------------

notifications_router = Router(tags=["notifications"])


@notifications_router.get("", response={200: NotificationPageOut, **errors_for(400, 401)})
def notifications(
    request: HttpRequest,
    page: int | None = PAGE_QUERY,
    page_size: int = Query(20, ge=1, le=PAGE_SIZE_MAX),
    unread_only: bool = Query(False),
    cursor: str | None = CURSOR_QUERY,
) -> dict[str, Any]:
    """The inbox, the newest first: by `cursor` (each page costs the same) or by `page`."""
    user, _device = signed_in(request)
    inbox = notification_selectors.inbox(user)
    if unread_only:
        inbox = inbox.filter(read_at__isnull=True)
    found = selectors.list_page(
        inbox, selectors.NOTIFICATIONS, page_size=page_size, page=page, cursor=cursor
    )
    items = [presenters.notification_out(request, n) for n in found.items]
    out = _list_out(found, items, page_size)
    out["unread"] = notification_selectors.unread_count(user)
    return out


@notifications_router.post(
    "/{notification_id}/read", response={200: NotificationOut, **errors_for(400, 401, 404)}
)
def mark_notification_read(
    request: HttpRequest, notification_id: int = Path(..., ge=1, le=MAX_ID)
) -> dict[str, Any]:
    user, _device = signed_in(request)
    # Someone else's notification is as missing as one that never existed.
    notification = notification_selectors.inbox(user).filter(pk=notification_id).first()
    if notification is None:
        raise Http404
    notification = notification_services.notification_mark_read(notification=notification)
    return presenters.notification_out(request, notification)


@notifications_router.post("/read-all", response={200: ReadAllOut, **errors_for(401)})
def mark_all_notifications_read(request: HttpRequest) -> dict[str, Any]:
    user, _device = signed_in(request)
    return {"changed": notification_services.notifications_mark_all_read(user=user)}


# --- Web Push -------------------------------------------------------------------------------

push_router = Router(tags=["push"])


@push_router.get("/server-key", auth=None, response={200: PushServerKeyOut})
def push_server_key(request: HttpRequest) -> dict[str, Any]:
    """The VAPID application server key to subscribe with (``applicationServerKey``);
    ``enabled`` is false, and the key empty, when the city has not configured Web Push."""
    from ihanoi.web.push import vapid_public_key

    key = vapid_public_key()
    return {"enabled": bool(key), "public_key": key}


@push_router.post("", response={201: PushSubscriptionOut, **errors_for(400, 401)})
def register_push_subscription(
    request: HttpRequest, payload: PushSubscriptionIn
) -> Status[dict[str, Any]]:
    """Register this device's Web Push subscription (the browser's
    ``PushSubscription.toJSON()``). Stored for the push sender; signing the device out
    deletes it."""
    from ihanoi.web.push import endpoint_allowed

    user, device = signed_in(request)
    # Only the browsers' push services are ever contacted (web.push); say so now rather
    # than store an endpoint that will never hear anything.
    if not endpoint_allowed(payload.endpoint):
        raise ValidationError({"endpoint": [_("This push service is not supported.")]})
    subscription = services.push_subscription_register(
        user=user,
        device=device,
        endpoint=payload.endpoint,
        p256dh=payload.keys.p256dh,
        auth=payload.keys.auth,
    )
    return Status(
        201,
        {
            "id": subscription.pk,
            "endpoint": subscription.endpoint,
            "created_at": presenters.local_time(subscription.created_at),
        },
    )


@push_router.delete("", response={204: None, **errors_for(400, 401, 404)})
def delete_push_subscription(
    request: HttpRequest, endpoint: str = Query(..., max_length=1000)
) -> Status[None]:
    """Forget a subscription of this account (the browser unsubscribed)."""
    user, _device = signed_in(request)
    if not services.push_subscription_delete(user=user, endpoint=endpoint):
        raise Http404
    return Status(204, None)


api.add_router("/auth", auth_router)
api.add_router("/me", me_router)
api.add_router("/categories", catalogue_router)
api.add_router("/reports", reports_router)
api.add_router("/notifications", notifications_router)
api.add_router("/push-subscriptions", push_router)
