"""Where a report goes: category × ward → agency (DESIGN §2 "Routing").

Ranks, most specific first: a rule for this category in this ward; this category anywhere;
this ward for any category; then the ward's People's Committee. Two active rules of the
best rank that name different agencies are ambiguous: the report waits for the hub.
The decision carries its reason, recorded on the routing event.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from ihanoi.agencies.models import Agency
from ihanoi.places.models import AdministrativeUnit

from .models import Category
from .reference import Reference, reference


@dataclass(frozen=True)
class RoutingDecision:
    agency: Agency | None  # None: the hub triages it
    reason: str  # a code kept on the event: rule_category_ward, rule_category, rule_ward,
    #              ward_committee, ambiguous, no_agency
    rule_ids: tuple[int, ...] = ()

    def explain(self) -> str:
        return str(REASONS.get(self.reason, self.reason))


REASONS = {
    "rule_category_ward": _("A routing rule for this category in this ward."),
    "rule_category": _("A routing rule for this category in the whole city."),
    "rule_ward": _("A routing rule for this ward."),
    "ward_committee": _("No rule for this category: the ward's People's Committee."),
    "ambiguous": _("Several rules match equally: the hub decides."),
    "no_agency": _("No agency found for this ward: the hub decides."),
}


def route(
    *, category: Category, ward: AdministrativeUnit, snapshot: Reference | None = None
) -> RoutingDecision:
    """Reads the reference snapshot (``reference.py``; this process's own unless the caller
    gives the one it already holds), not the database."""
    snapshot = snapshot or reference()
    rules = [
        rule
        for rule in snapshot.rules
        if rule.category_id in (category.pk, None) and rule.unit_id in (ward.pk, None)
    ]
    ranks = (
        ("rule_category_ward", lambda r: r.category_id == category.pk and r.unit_id == ward.pk),
        ("rule_category", lambda r: r.category_id == category.pk and r.unit_id is None),
        ("rule_ward", lambda r: r.category_id is None and r.unit_id == ward.pk),
    )
    for reason, matches in ranks:
        best = [rule for rule in rules if matches(rule)]
        if not best:
            continue
        agencies = {rule.agency_id for rule in best}
        ids = tuple(sorted(rule.pk for rule in best))
        if len(agencies) > 1:
            return RoutingDecision(agency=None, reason="ambiguous", rule_ids=ids)
        return RoutingDecision(agency=best[0].agency, reason=reason, rule_ids=ids)
    committee = snapshot.committees.get(ward.pk)
    if committee is not None:
        return RoutingDecision(agency=committee, reason="ward_committee")
    return RoutingDecision(agency=None, reason="no_agency")
