"""Administrators enter a year's days off and make-up working days in the admin."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from ihanoi.accounts.models import User
from ihanoi.workcalendar.models import CalendarException
from ihanoi.workcalendar.selectors import city_calendar
from ihanoi.workcalendar.services import calendar_exception_add

pytestmark = pytest.mark.django_db


@pytest.fixture
def administrator():
    return User.objects.create_superuser(email="admin@example.vn", password="x" * 12)


@pytest.fixture
def admin_client(client, administrator):
    from allauth.mfa.totp.internal.auth import TOTP

    # The admin site is closed to administrators without TOTP.
    TOTP.activate(administrator, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    client.force_login(administrator)
    return client


def test_admin_pages_load(admin_client):
    exception = calendar_exception_add(
        day=dt.date(2027, 2, 10), kind=CalendarException.Kind.WORKING_DAY
    )
    for url in [
        reverse("admin:workcalendar_calendarexception_changelist"),
        reverse("admin:workcalendar_calendarexception_changelist") + "?date__year=2027",
        reverse("admin:workcalendar_calendarexception_changelist") + "?kind__exact=day_off",
        reverse("admin:workcalendar_calendarexception_add"),
        reverse("admin:workcalendar_calendarexception_change", args=[exception.pk]),
    ]:
        assert admin_client.get(url).status_code == 200, url
    listing = admin_client.get(reverse("admin:workcalendar_calendarexception_changelist"))
    # The make-up day overrules the package's holiday, and the list says which one.
    assert "Fifth Day of Lunar New Year" in listing.content.decode()


def test_an_administrator_adds_a_make_up_saturday(admin_client, administrator):
    response = admin_client.post(
        reverse("admin:workcalendar_calendarexception_add"),
        {"date": "2027-04-24", "kind": "working_day", "note": "Làm bù cho thứ Năm 29/4"},
    )
    assert response.status_code == 302
    exception = CalendarException.objects.get()
    assert exception.date == dt.date(2027, 4, 24)
    assert exception.created_by == administrator
    assert city_calendar().is_working_day(dt.date(2027, 4, 24))


def test_the_admin_refuses_a_day_off_on_a_weekend_with_a_form_error(admin_client):
    response = admin_client.post(
        reverse("admin:workcalendar_calendarexception_add"),
        {"date": "2027-04-25", "kind": "day_off", "note": ""},
    )
    assert response.status_code == 200
    assert "is a weekend day: it is already a day off." in response.content.decode()
    assert not CalendarException.objects.exists()


def test_the_admin_refuses_a_second_exception_on_a_date(admin_client):
    calendar_exception_add(day=dt.date(2027, 4, 29), kind=CalendarException.Kind.DAY_OFF)
    response = admin_client.post(
        reverse("admin:workcalendar_calendarexception_add"),
        {"date": "2027-04-29", "kind": "day_off", "note": ""},
    )
    assert response.status_code == 200
    assert "already has an exception" in response.content.decode()
    assert CalendarException.objects.count() == 1


def test_an_administrator_edits_and_deletes_an_exception(admin_client):
    exception = calendar_exception_add(
        day=dt.date(2027, 4, 29), kind=CalendarException.Kind.DAY_OFF
    )
    change_url = reverse("admin:workcalendar_calendarexception_change", args=[exception.pk])
    response = admin_client.post(
        change_url, {"date": "2027-04-29", "kind": "day_off", "note": "Thông báo 1/TB"}
    )
    assert response.status_code == 302
    exception.refresh_from_db()
    assert exception.note == "Thông báo 1/TB"
    assert not city_calendar().is_working_day(dt.date(2027, 4, 29))

    delete_url = reverse("admin:workcalendar_calendarexception_delete", args=[exception.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 302
    assert not CalendarException.objects.exists()
    assert city_calendar().is_working_day(dt.date(2027, 4, 29))


def test_an_administrator_deletes_several_exceptions_at_once(admin_client):
    first = calendar_exception_add(day=dt.date(2027, 4, 29), kind=CalendarException.Kind.DAY_OFF)
    second = calendar_exception_add(
        day=dt.date(2027, 4, 24), kind=CalendarException.Kind.WORKING_DAY
    )
    assert not city_calendar().is_working_day(dt.date(2027, 4, 29))
    response = admin_client.post(
        reverse("admin:workcalendar_calendarexception_changelist"),
        {"action": "delete_selected", "_selected_action": [first.pk, second.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not CalendarException.objects.exists()
    assert city_calendar().is_working_day(dt.date(2027, 4, 29))
    assert not city_calendar().is_working_day(dt.date(2027, 4, 24))
