"""The public directory of agencies: who to contact, where, when."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from ihanoi.agencies.forms import DirectoryFilterForm
from ihanoi.agencies.models import Agency
from ihanoi.agencies.selectors import directory_search

# Small pages: the directory is read on phones, often on slow connections.
PAGE_SIZE = 25


def agency_list(request: HttpRequest) -> HttpResponse:
    form = DirectoryFilterForm(request.GET)
    if not form.is_valid():
        context: dict[str, Any] = {"form": form, "page_obj": None}
        return render(request, "agencies/agency_list.html", context, status=400)
    query = form.cleaned_data["q"]
    agencies = directory_search(query, form.cleaned_data["kind"] or None).only(
        "code", "name", "short_name", "kind", "phone"
    )
    # get_page: a page number that is not a number, or is past the end, shows a real page.
    page_obj = Paginator(agencies, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page_obj": page_obj, "query": query}
    return render(request, "agencies/agency_list.html", context)


def agency_detail(request: HttpRequest, code: str) -> HttpResponse:
    agency = get_object_or_404(Agency.objects.select_related("parent"), code=code, is_active=True)
    context = {
        "agency": agency,
        "served_units": [] if agency.serves_whole_city else agency.served_units.order_by("name"),
        "children": agency.children.filter(is_active=True).order_by("name"),
    }
    return render(request, "agencies/agency_detail.html", context)
