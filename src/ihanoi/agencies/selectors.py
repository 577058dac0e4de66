"""Reads for agencies: who serves a place, the public directory, an agency's leads."""

from __future__ import annotations

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from ihanoi.accounts.models import User
from ihanoi.agencies.models import Agency, Membership
from ihanoi.agencies.search import search_words
from ihanoi.places.models import AdministrativeUnit

# A search box is for a few words; anything longer is cut here, whoever calls.
QUERY_MAX_CHARS = 100
QUERY_MAX_WORDS = 8

# Directory order: the hub and the city's departments first, then who serves a street.
_KIND_ORDER = [
    Agency.Kind.HUB,
    Agency.Kind.DEPARTMENT,
    Agency.Kind.POLICE,
    Agency.Kind.UTILITY,
    Agency.Kind.WARD_COMMITTEE,
    Agency.Kind.OTHER,
]


def hub_agency() -> Agency | None:
    """The receiving hub, where unroutable reports wait for triage."""
    return Agency.objects.filter(kind=Agency.Kind.HUB, is_active=True).first()


def agency_for_ward_committee(ward: AdministrativeUnit) -> Agency | None:
    """The active People's Committee that serves ``ward``."""
    return (
        Agency.objects.filter(kind=Agency.Kind.WARD_COMMITTEE, is_active=True, served_units=ward)
        .order_by("pk")
        .first()
    )


def agencies_serving(unit: AdministrativeUnit) -> QuerySet[Agency]:
    """Active agencies serving ``unit``: the whole-city ones, those serving the unit itself
    and those serving a unit that contains it (an old ward lies in its district)."""
    unit_ids = [unit.pk]
    parent_id = unit.parent_id
    # Three levels at most (ward → district → province); the guard stops a bad cycle.
    while parent_id is not None and parent_id not in unit_ids and len(unit_ids) < 5:
        unit_ids.append(parent_id)
        parent_id = (
            AdministrativeUnit.objects.filter(pk=parent_id)
            .values_list("parent_id", flat=True)
            .first()
        )
    matching = Agency.objects.filter(
        Q(serves_whole_city=True) | Q(served_units__in=unit_ids), is_active=True
    ).values("pk")
    # The join on served units may repeat a row; selecting by pk keeps ordering simple.
    return _in_directory_order(Agency.objects.filter(pk__in=matching))


def clean_query(query: str) -> list[str]:
    """Words of a typed query in search-key form (folded, punctuation and control characters
    dropped), at most ``QUERY_MAX_WORDS`` of them from the first ``QUERY_MAX_CHARS``."""
    return search_words(query[:QUERY_MAX_CHARS])[:QUERY_MAX_WORDS]


def directory_search(query: str = "", kind: str | None = None) -> QuerySet[Agency]:
    """Active agencies whose names contain every typed word, with or without tone marks
    ("uy ban hoan kiem" finds "Ủy ban nhân dân Phường Hoàn Kiếm"). An unknown ``kind``
    matches nothing; callers that take it from a request validate it first."""
    agencies = Agency.objects.filter(is_active=True)
    if kind:
        agencies = agencies.filter(kind=kind)
    for word in clean_query(query):
        # Keys hold " word" for every word: this matches the start of a word.
        agencies = agencies.filter(search_key__contains=f" {word}")
    return _in_directory_order(agencies)


def _in_directory_order(agencies: QuerySet[Agency]) -> QuerySet[Agency]:
    rank = Case(
        *(When(kind=kind, then=Value(position)) for position, kind in enumerate(_KIND_ORDER)),
        default=Value(len(_KIND_ORDER)),
        output_field=IntegerField(),
    )
    # The search key starts with the folded name: alphabetical order that ignores tone marks.
    return agencies.annotate(kind_rank=rank).order_by("kind_rank", "search_key", "pk")


def agency_leads(agency: Agency) -> QuerySet[User]:
    """Active accounts holding a lead membership of ``agency``."""
    return _leads(agency)


def lead_contacts(agency: Agency) -> QuerySet[User]:
    """Who escalations name: the designated lead contact, or, while none is designated,
    every lead of the agency."""
    designated = _leads(agency, lead_contact_only=True)
    if designated.exists():
        return designated
    return _leads(agency)


def _leads(agency: Agency, *, lead_contact_only: bool = False) -> QuerySet[User]:
    # One filter() call, so that every condition applies to the same membership row.
    conditions = Q(memberships__agency=agency, memberships__role=Membership.Role.LEAD)
    if lead_contact_only:
        conditions &= Q(memberships__is_lead_contact=True)
    return User.objects.filter(conditions, is_active=True).order_by("pk")


def memberships_of(user: User) -> QuerySet[Membership]:
    """``user``'s memberships with their agencies, active agencies first."""
    return (
        Membership.objects.filter(user=user)
        .select_related("agency")
        .order_by("-agency__is_active", "agency__name", "pk")
    )
