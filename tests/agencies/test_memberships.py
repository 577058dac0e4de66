from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from ihanoi.accounts.models import Role
from ihanoi.agencies.models import Agency, Membership
from ihanoi.agencies.selectors import lead_contacts
from ihanoi.agencies.services import (
    membership_add,
    membership_remove,
    membership_set_lead_contact,
)
from tests.agencies.conftest import make_agency

pytestmark = pytest.mark.django_db


@pytest.fixture
def ward() -> Agency:
    return make_agency(
        "ubnd-00070", "Ủy ban nhân dân Phường Hoàn Kiếm", kind=Agency.Kind.WARD_COMMITTEE
    )


@pytest.fixture
def hub() -> Agency:
    return make_agency("ttpvhcc", "Trung tâm Phục vụ hành chính công", kind=Agency.Kind.HUB)


def error_fields(excinfo: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return set(excinfo.value.message_dict)


def test_an_officer_account_joins_as_officer(ward, make_user):
    officer = make_user(Role.AGENCY_OFFICER)

    membership = membership_add(user=officer, agency=ward, role="officer")

    assert (membership.user, membership.agency, membership.role) == (officer, ward, "officer")
    assert not membership.is_lead_contact


def test_a_lead_account_joins_as_lead_and_can_be_the_lead_contact(ward, make_user):
    lead = make_user(Role.AGENCY_LEAD)

    membership = membership_add(user=lead, agency=ward, role="lead", is_lead_contact=True)

    assert membership.is_lead_contact
    assert list(lead_contacts(ward)) == [lead]


@pytest.mark.parametrize("role", [Role.RESIDENT, Role.OVERSIGHT, Role.ADMINISTRATOR])
def test_accounts_that_are_not_agency_staff_cannot_join(ward, make_user, role):
    with pytest.raises(ValidationError) as excinfo:
        membership_add(user=make_user(role), agency=ward, role="officer")

    assert error_fields(excinfo) == {"user"}
    assert not Membership.objects.exists()


def test_an_officer_account_cannot_hold_a_lead_membership(ward, make_user):
    with pytest.raises(ValidationError) as excinfo:
        membership_add(user=make_user(Role.AGENCY_OFFICER), agency=ward, role="lead")

    assert error_fields(excinfo) == {"role"}


def test_a_lead_account_cannot_hold_an_officer_membership(ward, make_user):
    with pytest.raises(ValidationError) as excinfo:
        membership_add(user=make_user(Role.AGENCY_LEAD), agency=ward, role="officer")

    assert error_fields(excinfo) == {"role"}


def test_an_unknown_membership_role_is_refused(ward, make_user):
    with pytest.raises(ValidationError) as excinfo:
        membership_add(user=make_user(), agency=ward, role="chief")

    assert "role" in error_fields(excinfo)


def test_a_hub_operator_joins_the_hub_only(ward, hub, make_user):
    operator = make_user(Role.HUB_OPERATOR)

    assert membership_add(user=operator, agency=hub, role="officer").agency == hub
    with pytest.raises(ValidationError) as excinfo:
        membership_add(user=operator, agency=ward, role="officer")

    assert error_fields(excinfo) == {"agency"}


def test_an_inactive_agency_takes_no_new_members(ward, make_user):
    ward.is_active = False
    ward.save()

    with pytest.raises(ValidationError) as excinfo:
        membership_add(user=make_user(), agency=ward, role="officer")

    assert error_fields(excinfo) == {"agency"}


@pytest.mark.parametrize(
    "extra", [{"is_active": False}, {"anonymised_at": timezone.now()}], ids=["inactive", "deleted"]
)
def test_an_inactive_or_deleted_account_cannot_join(ward, make_user, extra):
    with pytest.raises(ValidationError) as excinfo:
        membership_add(user=make_user(**extra), agency=ward, role="officer")

    assert error_fields(excinfo) == {"user"}


def test_joining_twice_is_a_validation_error_not_a_database_error(ward, make_user):
    officer = make_user()
    membership_add(user=officer, agency=ward, role="officer")

    with pytest.raises(ValidationError) as excinfo:
        membership_add(user=officer, agency=ward, role="officer")

    assert error_fields(excinfo) == {"user"}
    assert Membership.objects.count() == 1


def test_only_a_lead_can_be_the_lead_contact(ward, make_user):
    with pytest.raises(ValidationError) as excinfo:
        membership_add(user=make_user(), agency=ward, role="officer", is_lead_contact=True)

    assert error_fields(excinfo) == {"is_lead_contact"}


def test_an_agency_has_at_most_one_lead_contact(ward, make_user):
    membership_add(user=make_user(Role.AGENCY_LEAD), agency=ward, role="lead", is_lead_contact=True)

    with pytest.raises(ValidationError) as excinfo:
        membership_add(
            user=make_user(Role.AGENCY_LEAD), agency=ward, role="lead", is_lead_contact=True
        )

    assert error_fields(excinfo) == {"is_lead_contact"}


def test_the_database_backs_the_lead_contact_rules(ward, make_user):
    Membership.objects.create(
        user=make_user(Role.AGENCY_LEAD), agency=ward, role="lead", is_lead_contact=True
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(
            user=make_user(Role.AGENCY_LEAD), agency=ward, role="lead", is_lead_contact=True
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(
            user=make_user(), agency=ward, role="officer", is_lead_contact=True
        )


def test_the_lead_contact_role_is_handed_over(ward, make_user):
    old = membership_add(
        user=make_user(Role.AGENCY_LEAD), agency=ward, role="lead", is_lead_contact=True
    )
    new = membership_add(user=make_user(Role.AGENCY_LEAD), agency=ward, role="lead")

    membership_set_lead_contact(membership=new)

    old.refresh_from_db()
    assert not old.is_lead_contact
    assert list(lead_contacts(ward)) == [new.user]


def test_an_officer_membership_cannot_be_made_lead_contact(ward, make_user):
    officer = membership_add(user=make_user(), agency=ward, role="officer")

    with pytest.raises(ValidationError):
        membership_set_lead_contact(membership=officer)

    officer.refresh_from_db()
    assert not officer.is_lead_contact


def test_removing_a_member(ward, make_user):
    officer = make_user()
    membership_add(user=officer, agency=ward, role="officer")

    membership_remove(user=officer, agency=ward)

    assert not Membership.objects.exists()


def test_removing_someone_who_is_not_a_member_is_a_validation_error(ward, make_user):
    with pytest.raises(ValidationError):
        membership_remove(user=make_user(), agency=ward)


def test_removing_the_lead_contact_makes_every_lead_the_contact(ward, make_user):
    contact, other = make_user(Role.AGENCY_LEAD), make_user(Role.AGENCY_LEAD)
    membership_add(user=contact, agency=ward, role="lead", is_lead_contact=True)
    membership_add(user=other, agency=ward, role="lead")

    membership_remove(user=contact, agency=ward)

    assert list(lead_contacts(ward)) == [other]
