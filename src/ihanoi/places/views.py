"""Public pages: the list of current wards (with search) and one ward's page."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import selectors

# Longer than any ward name; a longer query is typing noise, not a name.
_MAX_QUERY = 100


@require_GET
def ward_list(request: HttpRequest) -> HttpResponse:
    # Control characters (a NUL is refused by PostgreSQL) are no part of a name.
    query = "".join(ch for ch in request.GET.get("q", "") if ch.isprintable())
    query = query.strip()[:_MAX_QUERY]
    wards = selectors.ward_search(query)
    return render(request, "places/ward_list.html", {"wards": wards, "query": query})


@require_GET
def ward_detail(request: HttpRequest, code: str) -> HttpResponse:
    ward = selectors.current_ward_by_code(code)
    if ward is None:
        raise Http404
    predecessors = selectors.unit_predecessors(ward)
    return render(request, "places/ward_detail.html", {"ward": ward, "predecessors": predecessors})
