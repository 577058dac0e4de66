"""Oversight pages: parse the filters, check the scope, read, render. Oversight and the hub
see the whole city; an agency lead sees their own agency; everyone else gets 403."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ihanoi.accounts.models import Role, User
from ihanoi.accounts.permissions import staff_required
from ihanoi.agencies.models import Agency
from ihanoi.feedback.models import Category, Severity
from ihanoi.lib.dbrouter import reads_from_replica

from . import charts, exports, maps, selectors, services
from .forms import DrillForm, ExportForm, FilterForm, MonthlyReportForm, RankingForm
from .models import ExportJob
from .periods import Period, PeriodKind, today
from .selectors import Filters, Scope

OVERSIGHT_STAFF = (Role.OVERSIGHT, Role.HUB_OPERATOR, Role.AGENCY_LEAD)
CITY_STAFF = (Role.OVERSIGHT, Role.HUB_OPERATOR)
PAGE_SIZE = 50
FILTER_KEYS = ("period", "date", "start", "end", "category", "ward", "severity")
# Item lists longer than this are exported in the background.
INLINE_EXPORT_LIMIT = 5000


def _scope(request: HttpRequest) -> Scope:
    assert isinstance(request.user, User)
    scope = selectors.oversight_scope(request.user)
    if scope is None:
        raise PermissionDenied
    return scope


def _query(form: FilterForm, **extra: Any) -> str:
    """The filters as a query string, for links that keep them."""
    data = form.cleaned_data
    params: dict[str, Any] = {}
    for key in FILTER_KEYS:
        value = data.get(key)
        if value:
            params[key] = value.isoformat() if isinstance(value, dt.date) else value
    params.update({k: v for k, v in extra.items() if v not in (None, "")})
    return urlencode(params)


def _invalid(request: HttpRequest, form: Any, title: str) -> HttpResponse:
    return render(request, "oversight/invalid.html", {"form": form, "title": title}, status=400)


def _parse(request: HttpRequest, form_class: type[FilterForm] = FilterForm) -> Any:
    """(form, scope, filters), or a 400 response for a bad query string."""
    scope = _scope(request)
    form = form_class(request.GET or None, now=timezone.now())
    if request.GET and not form.is_valid():
        return _invalid(request, form, _("Statistics")), scope, None
    if not request.GET:
        form = form_class({}, now=timezone.now())
        form.is_valid()
    filters = form.filters()
    if filters.agency_id is not None and not scope.allows(filters.agency_id):
        raise PermissionDenied
    if filters.unassigned and not scope.is_city:
        raise PermissionDenied
    return form, scope, filters


def _common(form: FilterForm, scope: Scope, filters: Filters) -> dict[str, Any]:
    period = filters.period
    query = _query(form, agency=form.cleaned_data.get("agency"))
    prev_period, next_period = period.previous(), period.following()
    return {
        "form": form,
        "scope": scope,
        "filters": filters,
        "period": period,
        "query": query,
        "base_query": _query(form),
        "prev_query": _period_query(form, prev_period),
        "next_query": _period_query(form, next_period),
        "categories": Category.objects.order_by("position", "name").only("code", "name"),
        "severities": Severity.choices,
        "agency": form.agency_obj,
        "rollup": selectors.rollup_state(),
        "latest_event_at": selectors.latest_event_at(),
    }


def _period_query(form: FilterForm, period: Period) -> str:
    data = {k: v for k, v in form.data.items() if k not in ("date", "start", "end", "page")}
    data["period"] = period.kind.value
    if period.kind == PeriodKind.CUSTOM:
        data["start"], data["end"] = period.first.isoformat(), period.last.isoformat()
    else:
        data["date"] = period.first.isoformat()
    return urlencode(data)


def _trend_charts(filters: Filters, scope: Scope, base_query: str) -> dict[str, str]:
    series = selectors.trend(filters, scope)
    step = filters.period.trend_step()
    items = reverse("oversight:items")

    def link(day: dt.date, metric: str) -> str:
        last = _bucket_last(day, step, filters.period)
        query = urlencode({"period": "custom", "start": day.isoformat(), "end": last.isoformat()})
        dims = "&".join(p for p in base_query.split("&") if p.split("=")[0] in _DIMS)
        return f"{items}?{query}&metric={metric}" + (f"&{dims}" if dims else "")

    def label(day: dt.date) -> str:
        return day.strftime("%m/%Y") if step == "month" else day.strftime("%d/%m")

    volume = [
        charts.Point(label(d), c.received, link(d, "received"), d.isoformat()) for d, c in series
    ]
    on_time = [
        charts.Point(label(d), c.resolve_on_time_rate.percent, link(d, "resolve_decided"))
        for d, c in series
    ]
    satisfaction = [
        charts.Point(label(d), c.satisfaction.percent, link(d, "rated")) for d, c in series
    ]
    return {
        "volume_chart": charts.bar_chart(volume, title=_("Items received")),
        "on_time_chart": charts.line_chart(on_time, title=_("Resolved on time (%)")),
        "satisfaction_chart": charts.line_chart(satisfaction, title=_("Satisfaction (%)")),
    }


_DIMS = ("category", "ward", "severity")


def _bucket_last(day: dt.date, step: str, period: Period) -> dt.date:
    if step == "week":
        last = day + dt.timedelta(days=6)
    elif step == "month":
        last = Period.around(PeriodKind.MONTH, day).last
    else:
        last = day
    return min(max(last, day), period.last)


# --- Pages -----------------------------------------------------------------------------------


@require_GET
@staff_required(roles=OVERSIGHT_STAFF)
@reads_from_replica
def dashboard(request: HttpRequest) -> HttpResponse:
    form, scope, filters = _parse(request)
    if filters is None:
        return form
    now = timezone.now()
    rows = selectors.agency_table(filters, scope, now=now)
    totals = selectors.total({i: r.counts for i, r in enumerate(rows)})
    overdue_total = sum(r.overdue.count for r in rows if r.overdue)
    context = _common(form, scope, filters)
    by_category = selectors.dimension_stats(filters, scope, "category_id")
    categories = selectors.categories_by_id(by_category)
    context.update(
        rows=rows,
        totals=totals,
        overdue_total=overdue_total,
        category_rows=sorted(
            ((categories.get(k), v) for k, v in by_category.items()),
            key=lambda kv: -kv[1].received,
        ),
        **_trend_charts(filters, scope, context["base_query"]),
    )
    return render(request, "oversight/dashboard.html", context)


@require_GET
@staff_required(roles=OVERSIGHT_STAFF)
@reads_from_replica
def rankings(request: HttpRequest) -> HttpResponse:
    form, scope, filters = _parse(request, RankingForm)
    if filters is None:
        return form
    assert isinstance(form, RankingForm)
    metric, min_sample = form.metric_value(), form.min_sample_value()
    result = selectors.ranking(filters, scope, metric=metric, min_sample=min_sample)
    context = _common(form, scope, filters)
    drill = {
        "resolve_on_time": ("resolve_on_time", "resolve_decided"),
        "accept_on_time": ("accept_on_time", "accept_decided"),
        "satisfaction": ("rated", "rated"),
    }[metric]
    context.update(
        ranking=result,
        metric=metric,
        metric_label=dict(form.fields["metric"].choices)[metric],  # type: ignore[attr-defined]
        min_sample=min_sample,
        num_metric=drill[0],
        den_metric=drill[1],
        export_query=_query(form, metric=metric, min_sample=min_sample),
    )
    return render(request, "oversight/rankings.html", context)


@require_GET
@staff_required(roles=OVERSIGHT_STAFF)
@reads_from_replica
def overdue(request: HttpRequest) -> HttpResponse:
    form, scope, filters = _parse(request)
    if filters is None:
        return form
    now = timezone.now()
    reports = selectors.overdue_reports(filters, scope, now=now).select_related(
        "agency", "category", "ward"
    )
    page = Paginator(reports, PAGE_SIZE).get_page(request.GET.get("page"))
    history = selectors.escalations([r.pk for r in page.object_list])
    items = [
        (report, selectors.late_by(report.due, now), history.get(report.pk, []))  # type: ignore[attr-defined]
        for report in page.object_list
    ]
    context = _common(form, scope, filters)
    context.update(
        page_obj=page,
        items=items,
        units=selectors.named_units(filters, scope, now=now),
        now=now,
        querystring=context["query"] + "&" if context["query"] else "",
    )
    return render(request, "oversight/overdue.html", context)


@require_GET
@staff_required(roles=OVERSIGHT_STAFF)
@reads_from_replica
def places(request: HttpRequest) -> HttpResponse:
    form, scope, filters = _parse(request)
    if filters is None:
        return form
    by_ward = selectors.dimension_stats(filters, scope, "ward_id")
    wards = selectors.wards_by_id(by_ward)
    ward_rows = sorted(
        ((wards.get(k), v) for k, v in by_ward.items()), key=lambda kv: -kv[1].received
    )
    context = _common(form, scope, filters)
    cells = selectors.cell_counts(filters) if scope.is_city else {}
    context.update(
        ward_rows=ward_rows,
        hex_map=charts.hex_map(cells, title=_("Reports by H3 cell")),
        cell_count=len(cells),
        choropleth=maps.ward_choropleth(
            [(w, c.received) for w, c in ward_rows if w is not None],
            title=_("Items received by ward"),
            link=lambda w: (
                f"{reverse('oversight:items')}?" + _query(form, ward=w.code, metric="received")
            ),
        ),
    )
    return render(request, "oversight/places.html", context)


@require_GET
@staff_required(roles=OVERSIGHT_STAFF)
@reads_from_replica
def items(request: HttpRequest) -> HttpResponse:
    form, scope, filters = _parse(request, DrillForm)
    if filters is None:
        return form
    metric = form.cleaned_data["metric"]
    facts = selectors.facts(filters, scope, metric)
    page = Paginator(facts, PAGE_SIZE).get_page(request.GET.get("page"))
    context = _common(form, scope, filters)
    context.update(
        page_obj=page,
        metric=metric,
        hidden=[("metric", metric)],
        count=page.paginator.count,
        querystring=_query(form, agency=form.cleaned_data.get("agency"), metric=metric) + "&",
        export_query=_query(form, agency=form.cleaned_data.get("agency"), metric=metric),
    )
    return render(request, "oversight/items.html", context)


@require_GET
@staff_required(roles=CITY_STAFF)
@reads_from_replica
def adoption(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    data = selectors.adoption(now=now)
    growth = [charts.Point(w.strftime("%d/%m"), total) for w, _n, total, _s, _st in data.weeks]
    return render(
        request,
        "oversight/adoption.html",
        {
            "data": data,
            "scope": _scope(request),
            "growth_chart": charts.bar_chart(growth, title=_("Resident accounts")),
        },
    )


# --- Exports ---------------------------------------------------------------------------------


@require_GET
@staff_required(roles=OVERSIGHT_STAFF)
@reads_from_replica
def export(request: HttpRequest) -> HttpResponse:
    form, scope, filters = _parse(request, ExportForm)
    if filters is None:
        return form
    assert isinstance(form, ExportForm)
    data = form.cleaned_data
    table_name, fmt = data["table"], data["fmt"]
    now = timezone.now()
    if table_name in ("adoption", "staff") and not scope.is_city:
        raise PermissionDenied
    if table_name in ("overdue", "items"):
        if table_name == "items" and data.get("metric") not in selectors.DRILL_METRICS:
            form.add_error("metric", _("Choose which items to export."))
            return _invalid(request, form, _("Export"))
        size = (
            selectors.facts(filters, scope, data["metric"]).count()
            if table_name == "items"
            else selectors.overdue_reports(filters, scope, now=now).count()
        )
        if size > INLINE_EXPORT_LIMIT:
            assert isinstance(request.user, User)
            job = services.export_job_create(
                user=request.user,
                kind=table_name,
                fmt=fmt,
                params={k: v for k, v in request.GET.items()},
                title=str(_("Export")) + f" {table_name}.{fmt}",
            )
            return redirect("oversight:export_job", pk=job.pk)
    table = services.export_table(table_name, filters, scope, data=data, now=now)
    content = exports.render(table, fmt)
    response = HttpResponse(content, content_type=exports.CONTENT_TYPES[fmt])
    stamp = filters.period.first.isoformat()
    response["Content-Disposition"] = f'attachment; filename="{table_name}-{stamp}.{fmt}"'
    return response


@require_http_methods(["GET", "POST"])
@staff_required(roles=OVERSIGHT_STAFF)
def monthly_report(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    assert isinstance(request.user, User)
    form = MonthlyReportForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            agency = form.agency_obj
            if agency is None and not scope.is_city:
                raise PermissionDenied
            if agency is not None and not scope.allows(agency.pk):
                raise PermissionDenied
            job = services.export_job_create(
                user=request.user,
                kind="monthly",
                fmt="pdf",
                params={
                    "month": form.cleaned_data["month"].strftime("%Y-%m"),
                    "agency": agency.code if agency else "",
                },
                title=_("Monthly report %(month)s %(agency)s")
                % {
                    "month": form.cleaned_data["month"].strftime("%m/%Y"),
                    "agency": agency.name if agency else _("city-wide"),
                },
            )
            return redirect("oversight:export_job", pk=job.pk)
        status = 400
    agencies = Agency.objects.filter(is_active=True).order_by("kind", "name")
    if not scope.is_city:
        agencies = agencies.filter(pk__in=scope.agency_ids or ())
    last_month = (today().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    jobs = ExportJob.objects.filter(created_by=request.user)[:20]
    return render(
        request,
        "oversight/exports.html",
        {
            "form": form,
            "agencies": agencies,
            "default_month": last_month,
            "jobs": jobs,
            "scope": scope,
        },
        status=status,
    )


def _own_job(request: HttpRequest, pk: int) -> ExportJob:
    _scope(request)
    job = get_object_or_404(ExportJob, pk=pk)
    if job.created_by_id != request.user.pk:
        raise Http404
    return job


@require_GET
@staff_required(roles=OVERSIGHT_STAFF)
def export_job(request: HttpRequest, pk: int) -> HttpResponse:
    job = _own_job(request, pk)
    return render(request, "oversight/export_job.html", {"job": job})


@require_GET
@staff_required(roles=OVERSIGHT_STAFF)
def export_download(request: HttpRequest, pk: int) -> FileResponse:
    job = _own_job(request, pk)
    if job.status != ExportJob.Status.DONE or not job.file:
        raise Http404
    return FileResponse(
        job.file.open("rb"),
        as_attachment=True,
        filename=(job.file.name or "export").rsplit("/", 1)[-1],
        content_type=exports.CONTENT_TYPES.get(job.fmt, "application/octet-stream"),
    )


# --- Public ----------------------------------------------------------------------------------

PUBLIC_CACHE_SECONDS = 300


@require_GET
@reads_from_replica
def public(request: HttpRequest) -> HttpResponse:
    """Totals, on time and satisfaction by agency and by category: counts only, no
    personal data, no titles. Cached: the roll-ups change once a minute at most."""
    form = FilterForm(
        {k: v for k, v in request.GET.items() if k in ("period", "date")} or {"period": "month"},
        now=timezone.now(),
    )
    if not form.is_valid():
        return _invalid(request, form, _("Public statistics"))
    period = form.cleaned_data["period_obj"]
    if period.kind == PeriodKind.CUSTOM:
        period = Period.around(PeriodKind.MONTH, period.first)
    key = f"oversight:public:{period.kind}:{period.first}:{request.LANGUAGE_CODE}"
    context = cache.get(key)
    if context is None:
        context = selectors.public_summary(period)
        cache.set(key, context, PUBLIC_CACHE_SECONDS)
    context.update(
        form=form,
        prev_query=urlencode({"period": period.kind.value, "date": period.previous().first}),
        next_query=urlencode({"period": period.kind.value, "date": period.following().first}),
    )
    return render(request, "oversight/public.html", context)


@require_POST
@staff_required(roles=CITY_STAFF)
def rollup_now(request: HttpRequest) -> HttpResponse:
    """Fold the newest events in now (the periodic task does it every minute anyway)."""
    services.rollup_run()
    return redirect("oversight:dashboard")
