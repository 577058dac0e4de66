"""Writes for agencies: seeding Hanoi's agencies, saving edited ones, staff memberships.

Membership rules (docs/agencies.md explains them):
- only agency staff join agencies: an ``agency_officer`` account holds officer memberships,
  an ``agency_lead`` account holds lead memberships (so "is this person a lead here?" has one
  answer whether you ask the account or the membership); a ``hub_operator`` may join the
  receiving hub as an officer; residents, oversight and administrators join nothing;
- inactive or anonymised accounts and inactive agencies take no new memberships;
- the lead contact (the one person named on escalations) is a lead, at most one per agency;
- removing the lead contact is allowed: until another is designated, every lead of the agency
  is its contact (``selectors.lead_contacts``), so escalations never go nowhere.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ihanoi.accounts.models import Role, User
from ihanoi.agencies import seed
from ihanoi.agencies.models import Agency, Membership
from ihanoi.agencies.search import search_key
from ihanoi.lib.signals import bulk_reference_write
from ihanoi.lib.text import fold, nfc, remove_marks
from ihanoi.places.models import AdministrativeUnit
from ihanoi.places.selectors import current_wards

# Fields the seed owns: a re-run brings them back to the seed's values.
_OWNED_FIELDS = ("name", "name_en", "short_name", "kind", "serves_whole_city")
# Contact fields an administrator may correct: the seed fills them only while blank.
_CONTACT_FIELDS = ("phone", "website", "address")


@dataclass(frozen=True)
class SeedResult:
    created: int
    updated: int
    unchanged: int
    # People's Committees of the wards current on the seeding day, after the run.
    ward_committees: int
    # Committees whose ward is no longer current: kept (reports point at them), reported.
    stale_committees: int
    # A hub under another code was found and kept, so the seeded hub was not created.
    hub_kept: str = ""

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


def agency_search_key(agency: Agency) -> str:
    """Folded words of the names and code: what ``selectors.directory_search`` matches."""
    return search_key([agency.name, agency.short_name, agency.name_en, agency.code])


@transaction.atomic
def agency_save(*, agency: Agency) -> Agency:
    """Save an agency edited elsewhere (the admin form), keeping its search key in step."""
    for field in ("name", "name_en", "short_name", "address", "hours"):
        setattr(agency, field, nfc(getattr(agency, field)).strip())
    agency.search_key = agency_search_key(agency)
    agency.save()
    return agency


@transaction.atomic
def agencies_reindex() -> int:
    """Rebuild every search key (after a bulk import or a change of the key's recipe)."""
    changed = []
    for agency in Agency.objects.select_for_update().only(
        "pk", "code", "name", "name_en", "short_name", "search_key"
    ):
        key = agency_search_key(agency)
        if key != agency.search_key:
            agency.search_key = key
            changed.append(agency)
    Agency.objects.bulk_update(changed, ["search_key"], batch_size=500)
    return len(changed)


# --- Seeding -------------------------------------------------------------------------------


def _ward_type_en(ward: AdministrativeUnit) -> str:
    unit_type = fold(ward.unit_type)
    name = fold(ward.name)
    if unit_type in {"phuong", "ward"} or name.startswith("phuong "):
        return "Ward"
    if unit_type in {"xa", "commune"} or name.startswith("xa "):
        return "Commune"
    return ""


def ward_committee_seed(ward: AdministrativeUnit) -> seed.AgencySeed:
    """ "Ủy ban nhân dân Phường Hoàn Kiếm" / "People's Committee of Hoan Kiem Ward"."""
    full_name = nfc(ward.name).strip()
    short = nfc(ward.short_name).strip() or full_name
    type_en = _ward_type_en(ward)
    place_en = f"{remove_marks(short)} {type_en}".strip()
    return seed.AgencySeed(
        code=f"{seed.WARD_COMMITTEE_CODE_PREFIX}{ward.code}",
        name=f"{seed.WARD_COMMITTEE_NAME_PREFIX}{full_name}",
        name_en=f"People's Committee of {place_en}",
        short_name=f"{seed.WARD_COMMITTEE_SHORT_PREFIX}{full_name}"[:60],
        kind=Agency.Kind.WARD_COMMITTEE,
        serves_whole_city=False,
    )


def _apply_seed(agency: Agency, spec: seed.AgencySeed) -> bool:
    """Bring ``agency`` in line with ``spec``; True when anything changed."""
    changed = False
    for field in _OWNED_FIELDS:
        value = getattr(spec, field)
        if getattr(agency, field) != value:
            setattr(agency, field, value)
            changed = True
    for field in _CONTACT_FIELDS:
        value = getattr(spec, field)
        if value and not getattr(agency, field):
            setattr(agency, field, value)
            changed = True
    key = agency_search_key(agency)
    if key != agency.search_key:
        agency.search_key = key
        changed = True
    return changed


def _link_wards(committee_ids: dict[str, int], wards: Iterable[AdministrativeUnit]) -> set[int]:
    """Make sure each committee serves its ward; returns the committees that gained a link."""
    through = Agency.served_units.through
    wanted = {
        (committee_ids[f"{seed.WARD_COMMITTEE_CODE_PREFIX}{ward.code}"], ward.pk) for ward in wards
    }
    present = set(
        through.objects.filter(agency_id__in=committee_ids.values()).values_list(
            "agency_id", "administrativeunit_id"
        )
    )
    missing = wanted - present
    through.objects.bulk_create(
        [
            through(agency_id=agency_id, administrativeunit_id=unit_id)
            for agency_id, unit_id in missing
        ]
    )
    return {agency_id for agency_id, _unit in missing}


@transaction.atomic
def agencies_seed(*, on: datetime.date | None = None) -> SeedResult:
    """Create or update the hub, departments, police, utilities and one People's Committee per
    current ward. Idempotent; names follow the seed on every run; nothing is ever deleted."""
    on = on or timezone.localdate()
    wards = list(current_wards(on=on).order_by("code"))
    specs = {spec.code: spec for spec in seed.CITY_AGENCIES}

    other_hub = Agency.objects.filter(kind=Agency.Kind.HUB).exclude(code=seed.HUB.code).first()
    if other_hub is not None:
        # An administrator set up the hub under another code; a second hub is not allowed.
        del specs[seed.HUB.code]

    committee_specs = {spec.code: spec for spec in map(ward_committee_seed, wards)}
    specs.update(committee_specs)

    existing = {
        agency.code: agency
        for agency in Agency.objects.select_for_update().filter(code__in=list(specs))
    }
    to_create: list[Agency] = []
    to_update: list[Agency] = []
    for code, spec in specs.items():
        agency = existing.get(code)
        if agency is None:
            agency = Agency(code=code)
            _apply_seed(agency, spec)
            to_create.append(agency)
        elif _apply_seed(agency, spec):
            to_update.append(agency)

    Agency.objects.bulk_create(to_create, batch_size=500)
    Agency.objects.bulk_update(
        to_update, [*_OWNED_FIELDS, *_CONTACT_FIELDS, "search_key"], batch_size=500
    )
    # Bulk writes send no model signals: say so to what keeps agencies in memory.
    bulk_reference_write.send(sender=Agency, using="default")

    # Not every database returns ids from a bulk insert: read them back by code.
    committee_ids = dict(
        Agency.objects.filter(code__in=list(committee_specs)).values_list("code", "pk")
    )
    gained = _link_wards(committee_ids, wards)
    created_ids = {committee_ids[a.code] for a in to_create if a.code in committee_ids}
    # An existing committee that only gained its ward link was updated too.
    relinked = gained - created_ids - {agency.pk for agency in to_update}

    stale = (
        Agency.objects.filter(kind=Agency.Kind.WARD_COMMITTEE)
        .exclude(served_units__in=[ward.pk for ward in wards])
        .count()
    )
    updated = len(to_update) + len(relinked)
    return SeedResult(
        created=len(to_create),
        updated=updated,
        unchanged=len(specs) - len(to_create) - updated,
        ward_committees=len(committee_specs),
        stale_committees=stale,
        hub_kept=other_hub.code if other_hub is not None else "",
    )


# --- Memberships ---------------------------------------------------------------------------

# The membership role an account of each staff role may hold.
_MEMBERSHIP_ROLE_FOR = {
    Role.AGENCY_OFFICER: Membership.Role.OFFICER,
    Role.AGENCY_LEAD: Membership.Role.LEAD,
    Role.HUB_OPERATOR: Membership.Role.OFFICER,
}


def membership_validate(
    *,
    user: User,
    agency: Agency,
    role: str,
    is_lead_contact: bool,
    membership: Membership | None = None,
) -> None:
    """Raise ``ValidationError`` (keyed by field) when the membership breaks a rule above.
    ``membership`` is the row being edited, if any. The admin forms call this too."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if role not in Membership.Role.values:
        add("role", _("Choose officer or lead."))
    if not user.is_active or user.anonymised_at is not None:
        add("user", _("An inactive account cannot join an agency."))
    elif user.role not in _MEMBERSHIP_ROLE_FOR:
        add("user", _("Only agency staff and hub operators can be members of an agency."))
    else:
        if user.role == Role.HUB_OPERATOR and agency.kind != Agency.Kind.HUB:
            add("agency", _("A hub operator can only be a member of the receiving hub."))
        if role in Membership.Role.values and role != _MEMBERSHIP_ROLE_FOR[Role(user.role)]:
            if role == Membership.Role.LEAD:
                add("role", _("Only an agency lead account can hold a lead membership."))
            else:
                add("role", _("An agency lead account holds lead memberships only."))
    if not agency.is_active:
        add("agency", _("This agency is not active."))

    others = Membership.objects.filter(agency=agency)
    if membership is not None and membership.pk is not None:
        others = others.exclude(pk=membership.pk)
    if others.filter(user=user).exists():
        add("user", _("This person is already a member of this agency."))
    if is_lead_contact:
        if role != Membership.Role.LEAD:
            add("is_lead_contact", _("Only a lead can be the lead contact."))
        elif others.filter(is_lead_contact=True).exists():
            add(
                "is_lead_contact",
                _("This agency already has a lead contact; hand the role over instead."),
            )
    if errors:
        raise ValidationError(errors)


def _lock_agency(agency: Agency) -> Agency:
    # Serialises membership changes of one agency, so two requests cannot both pass the
    # "no lead contact yet" check (the database constraint would turn that into an error).
    return Agency.objects.select_for_update().get(pk=agency.pk)


@transaction.atomic
def membership_add(
    *, user: User, agency: Agency, role: str, is_lead_contact: bool = False
) -> Membership:
    agency = _lock_agency(agency)
    membership_validate(user=user, agency=agency, role=role, is_lead_contact=is_lead_contact)
    return Membership.objects.create(
        user=user, agency=agency, role=role, is_lead_contact=is_lead_contact
    )


@transaction.atomic
def membership_remove(*, user: User, agency: Agency) -> None:
    """Remove ``user`` from ``agency``. Removing the lead contact leaves the post vacant."""
    _lock_agency(agency)
    deleted, _by_model = Membership.objects.filter(user=user, agency=agency).delete()
    if not deleted:
        raise ValidationError(_("This person is not a member of this agency."), code="not_member")


@transaction.atomic
def membership_set_lead_contact(*, membership: Membership) -> Membership:
    """Make ``membership`` the agency's lead contact, taking the role from whoever had it."""
    _lock_agency(membership.agency)
    membership.refresh_from_db()
    if membership.role != Membership.Role.LEAD:
        raise ValidationError({"is_lead_contact": [_("Only a lead can be the lead contact.")]})
    Membership.objects.filter(agency_id=membership.agency_id, is_lead_contact=True).exclude(
        pk=membership.pk
    ).update(is_lead_contact=False)
    if not membership.is_lead_contact:
        membership.is_lead_contact = True
        membership.save(update_fields=["is_lead_contact"])
    return membership
