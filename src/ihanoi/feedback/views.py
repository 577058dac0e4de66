"""Resident pages: send a report, follow it, rate it; the public list."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template import Context, Engine
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ihanoi.accounts.models import User
from ihanoi.lib import keyset
from ihanoi.lib.dbrouter import reads_from_replica

from . import public_cache, selectors, services
from .catalogue import active_categories
from .forms import RatingForm, ReplyForm, ReportForm
from .models import Category, Report, Status
from .ordering import NEWEST
from .photos import prepare_uploads

PAGE_SIZE = 20


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def category_label(category: Category) -> str:
    return category.name_en if get_language() == "en" and category.name_en else category.name


def category_choices(*, public_only: bool = False) -> list[tuple[str, str]]:
    """A category filter's choices, in one query (no questions: only names are shown)."""
    categories = Category.objects.filter(is_active=True)
    if public_only:
        categories = categories.filter(is_public=True)
    ordered = categories.order_by("group__position", "position").only("code", "name", "name_en")
    return [(c.code, category_label(c)) for c in ordered]


def apply_errors(form: Any, error: ValidationError) -> None:
    """Show a service's errors next to the matching field, the rest above the form."""
    if not hasattr(error, "error_dict"):
        for message in error.messages:
            form.add_error(None, message)
        return
    for field, messages_ in error.message_dict.items():
        target = field if field in form.fields else None
        for message in messages_:
            form.add_error(target, message)


def code_param(request: HttpRequest, name: str, *, limit: int) -> str:
    """A code filter from the address (a category, a ward): at most ``limit`` characters,
    without NUL, which no database text column takes."""
    return request.GET.get(name, "").replace("\x00", "")[:limit]


def page_cursor(request: HttpRequest, ordering: keyset.Ordering) -> keyset.Cursor | None:
    """The ``cursor`` of an HTML list's link. One that does not decode (mistyped, cut,
    from another sort) shows the first page, as a page number past the end used to: a
    person following a stale link gets a list, not an error."""
    raw = request.GET.get("cursor", "")
    if not raw:
        return None
    try:
        return keyset.decode(ordering, raw)
    except keyset.InvalidCursor:
        return None


def _wants_json(request: HttpRequest) -> bool:
    """The app's own scripts (web/drafts.js) ask for JSON; a plain form post gets HTML."""
    return "application/json" in request.headers.get("Accept", "")


def _category_options(categories: list[Category]) -> list[dict[str, Any]]:
    """The category picker: each category with the text its search box looks through."""
    english = get_language() == "en"
    options = []
    for c in categories:
        group = c.group.name_en if english and c.group.name_en else c.group.name
        label = category_label(c)
        options.append(
            {
                "code": c.code,
                "label": label,
                "group": group,
                "description": c.description,
                "search": " ".join((label, c.name, c.name_en, c.keywords, group, c.group.name)),
                "photo_required": c.photo_required,
            }
        )
    return options


# What the report form's script says (feedback/report_form.js).
FORM_STRINGS = {
    "chooseCategory": gettext_lazy("Choose a category."),
    "giveTitle": gettext_lazy("Give the report a short title."),
    "describe": gettext_lazy("Describe the problem."),
    "placePin": gettext_lazy("Place the pin on the map or use your location."),
    "needPhoto": gettext_lazy("This category needs at least one photo."),
    "needAnswer": gettext_lazy("This question needs an answer."),
    "tooManyPhotos": gettext_lazy("Attach at most 5 photos."),
    "fixErrors": gettext_lazy("Please correct the following:"),
    "sending": gettext_lazy("Sending… (%(percent)s)"),
    "savedOffline": gettext_lazy(
        "No connection: your report is saved on this phone and will be sent when the network "
        "returns. You can close the app."
    ),
    "sendFailed": gettext_lazy("The report could not be sent. Check the connection and try again."),
    "signinToSend": gettext_lazy(
        "Your session has ended: sign in again to send the reports saved on this phone."
    ),
    "otherUser": gettext_lazy("Saved by another account on this phone: sign in as that person."),
    "waiting": gettext_lazy("Waiting for the network"),
    "invalid": gettext_lazy("Needs changes before it can be sent"),
    "sendNow": gettext_lazy("Send now"),
    "delete": gettext_lazy("Delete"),
    "savedAt": gettext_lazy("saved %(time)s"),
    "untitled": gettext_lazy("(no title)"),
    "removePhoto": gettext_lazy("Remove photo %(n)s"),
    "photo": gettext_lazy("Photo %(n)s"),
    "noCategory": gettext_lazy("No category matches. Try other words."),
    "locating": gettext_lazy("Finding your location…"),
}


@login_required
@require_http_methods(["GET", "POST"])
def report_new(request: HttpRequest) -> HttpResponse:
    categories = list(active_categories())
    form = ReportForm(
        request.POST or None,
        request.FILES or None,
        categories=[(c.code, category_label(c)) for c in categories],
    )
    as_json = request.method == "POST" and _wants_json(request)
    owner = request.POST.get("draft_owner", "") if request.method == "POST" else ""
    if owner and owner != str(request.user.pk):
        # A report kept on a shared phone by another account: never send it under this one.
        return JsonResponse(
            {"error": _("This report was written under another account.")}, status=409
        )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        answers = {
            key.removeprefix("answer_"): request.POST.getlist(key)
            for key in request.POST
            if key.startswith("answer_")
        }
        try:
            photos = prepare_uploads(data["photos"])
            report, created = services.report_submit(
                reporter=_user(request),
                submission=services.Submission(
                    kind=data["kind"],
                    category_code=data["category"],
                    title=data["title"],
                    description=data["description"],
                    lat=data["lat"],
                    lon=data["lon"],
                    address=data["address"],
                    answers=answers,
                    client_key=data["client_key"],
                    share_contact=data["share_contact"],
                    channel="web",
                ),
                photos=photos,
            )
        except ValidationError as exc:
            if as_json:
                errors = (
                    exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
                )
                return JsonResponse(
                    {"errors": errors}, status=400, json_dumps_params={"ensure_ascii": False}
                )
            apply_errors(form, exc)
        else:
            if created:
                messages.success(request, _("Thank you. Your report was received."))
            if as_json:
                return JsonResponse(
                    {
                        "id": str(report.public_id),
                        "number": report.pk,
                        "url": reverse("feedback:detail", args=[report.public_id]),
                        "created": created,
                    },
                    status=201 if created else 200,
                )
            return redirect("feedback:detail", report.public_id)
    if as_json:
        errors = {
            field: [str(message) for message in messages_]
            for field, messages_ in form.errors.items()
        }
        return JsonResponse(
            {"errors": errors}, status=400, json_dumps_params={"ensure_ascii": False}
        )
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "feedback/report_new.html",
        {
            "form": form,
            "categories": categories,
            "category_options": _category_options(categories),
            "chosen_category": request.POST.get("category", ""),
            "posted": request.POST,
            "form_strings": FORM_STRINGS,
        },
        status=status,
    )


@require_GET
@reads_from_replica
def nearby(request: HttpRequest) -> HttpResponse:
    """Fragment for the report form: open reports of the category around the point."""
    category = Category.objects.filter(code=request.GET.get("category", ""), is_active=True).first()
    try:
        lat, lon = float(request.GET.get("lat", "")), float(request.GET.get("lon", ""))
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError
    except ValueError:
        return HttpResponse(status=400)
    reports = [] if category is None else selectors.nearby_open(category=category, lat=lat, lon=lon)
    return render(request, "feedback/_nearby.html", {"reports": reports})


MAP_LIMIT = 1000


@require_GET
def public_map(request: HttpRequest) -> HttpResponse:
    return render(request, "feedback/public_map.html")


@require_GET
@reads_from_replica
def public_map_data(request: HttpRequest) -> HttpResponse:
    """The latest public reports as points (no personal data): at most MAP_LIMIT, in one
    query of the columns shown, in the order of the public list's index. The same for every
    visitor: kept in the shared cache (feedback/public_cache.py), per language."""
    body = public_cache.cached("map", (get_language(),), _map_points_json)
    return HttpResponse(body, content_type="application/json")


def _map_points_json() -> bytes:
    rows = (
        selectors.public_reports()
        .order_by(*NEWEST.order_by())
        .values_list("public_id", "title", "status", "lat", "lon", "category__name")[:MAP_LIMIT]
    )
    statuses = {value: str(label) for value, label in Status.choices}
    # One reverse() for all: the address of a report differs only by its public id.
    placeholder = "00000000-0000-0000-0000-000000000000"
    detail_url = reverse("feedback:detail", args=[placeholder])
    before, _sep, after = detail_url.partition(placeholder)
    points = [
        {
            "url": f"{before}{public_id}{after}",
            "title": title,
            "status": statuses.get(status, status),
            "category": category,
            "lat": round(lat, 6),
            "lon": round(lon, 6),
        }
        for public_id, title, status, lat, lon, category in rows
    ]
    return json.dumps({"reports": points}, ensure_ascii=False, separators=(",", ":")).encode()


@login_required
@require_GET
def my_reports(request: HttpRequest) -> HttpResponse:
    page = keyset.paginate(
        selectors.reports_of(_user(request)),
        NEWEST,
        size=PAGE_SIZE,
        cursor=page_cursor(request, NEWEST),
    )
    return render(request, "feedback/my_reports.html", {"page": page})


def _public_list_key(request: HttpRequest, category: str, cursor: keyset.Cursor | None) -> str:
    """The public list's cache key for a first page whose address holds nothing but a known
    category, or "" (the filter's "All categories"); "" (not cached) for a page further down
    or any other address (feedback/public_cache.py)."""
    if cursor is not None:
        return ""
    given = {name: request.GET.getlist(name) for name in request.GET}
    if not given:
        return "-"
    if given == {"category": [category]}:
        return f"category={category}"
    return ""


def _render_public_list_body(request: HttpRequest, context: dict[str, Any]) -> str:
    """The list below its heading, shared by every visitor: rendered without the context
    processors, so that nothing of the visitor (the user, the CSRF token, messages, the
    unread badge) can reach it. The page links read the address (``request.GET``)."""
    body = Context(context, autoescape=True)
    body.request = request  # type: ignore[attr-defined]  # {% querystring %} reads it
    return Engine.get_default().get_template("feedback/_public_list_body.html").render(body)


@require_GET
@reads_from_replica
def public_list(request: HttpRequest) -> HttpResponse:
    category = code_param(request, "category", limit=40)
    category_id = None
    if category:
        found = Category.objects.filter(code=category, is_public=True)
        category_id = found.values_list("pk", flat=True).first()
        if category_id is None:
            category = ""  # no such public category: the whole list, as if none was chosen
    cursor = page_cursor(request, NEWEST)

    def listing() -> str:
        page = keyset.paginate(
            selectors.public_list(category_id=category_id), NEWEST, size=PAGE_SIZE, cursor=cursor
        )
        context = {
            "page": page,
            "categories": category_choices(public_only=True),
            "category": category,
        }
        return _render_public_list_body(request, context)

    key = _public_list_key(request, category, cursor)
    html = public_cache.cached("list", (get_language(), key), listing) if key else listing()
    # Our own rendering, kept as text in the cache.
    return render(request, "feedback/public_list.html", {"listing": mark_safe(html)})  # noqa: S308


def _visible_report(request: HttpRequest, public_id: str) -> tuple[Report, bool]:
    """The report and whether the viewer is its reporter; 404 for private ones."""
    report = get_object_or_404(
        Report.objects.select_related("category", "ward", "agency", "reporter"),
        public_id=public_id,
    )
    is_reporter = request.user.is_authenticated and report.reporter_id == request.user.pk
    public = report.is_published and report.category.is_public and report.status != Status.REJECTED
    if not (is_reporter or public):
        raise Http404
    return report, is_reporter


@require_GET
def report_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    report, is_reporter = _visible_report(request, public_id)
    following = (
        request.user.is_authenticated
        and not is_reporter
        and report.follows.filter(user_id=request.user.pk).exists()
    )
    photos = list(report.photos.filter(is_hidden=False))
    return render(
        request,
        "feedback/report_detail.html",
        {
            "report": report,
            "is_reporter": is_reporter,
            "following": following,
            "timeline": selectors.timeline(report, public_only=True),
            "before": [p for p in photos if p.role == "report"],
            "after": [p for p in photos if p.role == "evidence"],
            "rating_form": RatingForm()
            if is_reporter and report.status == Status.RESOLVED
            else None,
            "reply_form": ReplyForm() if is_reporter and report.info_requested else None,
        },
    )


@login_required
@require_POST
def report_rate(request: HttpRequest, public_id: str) -> HttpResponse:
    report, is_reporter = _visible_report(request, public_id)
    form = RatingForm(request.POST)
    if not is_reporter:
        raise PermissionDenied
    if form.is_valid():
        try:
            services.rating_submit(
                actor=_user(request),
                report=report,
                value=form.cleaned_data["value"],
                comment=form.cleaned_data["comment"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Thank you for your rating."))
            return redirect("feedback:detail", report.public_id)
    else:
        messages.error(request, _("Choose one of the three answers."))
    return redirect("feedback:detail", report.public_id)


@login_required
@require_POST
def report_reply(request: HttpRequest, public_id: str) -> HttpResponse:
    report, is_reporter = _visible_report(request, public_id)
    if not is_reporter:
        raise PermissionDenied
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.report_provide_info(
                actor=_user(request),
                report=report,
                answer=form.cleaned_data["answer"],
                photos=prepare_uploads(form.cleaned_data["photos"]),
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Your answer was sent."))
    else:
        messages.error(request, " ".join(str(m) for errs in form.errors.values() for m in errs))
    return redirect("feedback:detail", report.public_id)


@login_required
@require_POST
def report_follow(request: HttpRequest, public_id: str) -> HttpResponse:
    report, _is_reporter = _visible_report(request, public_id)
    if request.POST.get("follow") == "0":
        services.report_unfollow(user=_user(request), report=report)
    else:
        services.report_follow(user=_user(request), report=report)
        messages.success(request, _("You will hear when this report changes."))
    return redirect("feedback:detail", report.public_id)
