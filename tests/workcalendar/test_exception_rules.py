"""The administrator's exceptions: what the services accept and the clear errors they give."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from ihanoi.accounts.models import Role, User
from ihanoi.workcalendar import services
from ihanoi.workcalendar.models import CalendarException
from ihanoi.workcalendar.services import (
    calendar_exception_add,
    calendar_exception_change,
    calendar_exception_remove,
)

pytestmark = pytest.mark.django_db

DAY_OFF = CalendarException.Kind.DAY_OFF
WORKING_DAY = CalendarException.Kind.WORKING_DAY


def errors(raised: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return raised.value.message_dict


def test_a_day_off_on_a_weekday_is_entered_with_its_author_and_note():
    admin = User.objects.create_user(
        email="admin@example.vn", password="pw-for-tests-only", role=Role.ADMINISTRATOR
    )
    exception = calendar_exception_add(
        day=dt.date(2027, 4, 29),
        kind=DAY_OFF,
        note="  Nghỉ bù theo Thông báo số 1/TB  ",
        created_by=admin,
    )
    exception.refresh_from_db()
    assert exception.kind == DAY_OFF
    assert exception.note == "Nghỉ bù theo Thông báo số 1/TB"
    assert exception.created_by == admin
    assert exception.created_at is not None


def test_the_note_is_stored_in_nfc():
    decomposed = "Nghe\u0302\u0300 bu\u0300"  # "Nghề bù" typed with combining marks
    exception = calendar_exception_add(day=dt.date(2027, 4, 29), kind=DAY_OFF, note=decomposed)
    assert exception.note == "Nghề bù"


def test_a_make_up_working_day_on_a_saturday_is_entered():
    exception = calendar_exception_add(day=dt.date(2027, 4, 24), kind=WORKING_DAY)
    assert CalendarException.objects.get() == exception


def test_a_make_up_working_day_may_overrule_a_public_holiday():
    calendar_exception_add(day=dt.date(2027, 2, 10), kind=WORKING_DAY, note="Mùng 5 đi làm")
    assert CalendarException.objects.filter(date=dt.date(2027, 2, 10)).exists()


def test_a_day_off_may_cancel_a_saturday_the_law_made_a_working_day():
    calendar_exception_add(day=dt.date(2026, 8, 22), kind=DAY_OFF)
    assert CalendarException.objects.filter(date=dt.date(2026, 8, 22)).exists()


def test_a_make_up_working_day_on_a_working_day_is_refused():
    with pytest.raises(ValidationError) as raised:
        calendar_exception_add(day=dt.date(2027, 4, 28), kind=WORKING_DAY)
    assert errors(raised) == {
        "date": [
            "Wednesday 2027-04-28 is already a working day; a make-up working day replaces "
            "a weekend day or a holiday."
        ]
    }
    assert not CalendarException.objects.exists()


def test_a_make_up_working_day_on_a_saturday_the_law_already_made_one_is_refused():
    with pytest.raises(ValidationError) as raised:
        calendar_exception_add(day=dt.date(2026, 8, 22), kind=WORKING_DAY)
    assert "already a working day" in errors(raised)["date"][0]


def test_a_day_off_on_a_weekend_is_refused():
    with pytest.raises(ValidationError) as raised:
        calendar_exception_add(day=dt.date(2027, 4, 25), kind=DAY_OFF)
    assert errors(raised) == {
        "date": ["Sunday 2027-04-25 is a weekend day: it is already a day off."]
    }
    assert not CalendarException.objects.exists()


def test_a_day_off_on_a_public_holiday_is_refused_with_the_holidays_name():
    with pytest.raises(ValidationError) as raised:
        calendar_exception_add(day=dt.date(2027, 2, 8), kind=DAY_OFF)
    assert errors(raised) == {
        "date": ["Monday 2027-02-08 is already a public holiday: Third Day of Lunar New Year."]
    }


def test_a_second_exception_on_the_same_date_is_refused():
    calendar_exception_add(day=dt.date(2027, 4, 29), kind=DAY_OFF)
    with pytest.raises(ValidationError) as raised:
        calendar_exception_add(day=dt.date(2027, 4, 29), kind=DAY_OFF)
    assert errors(raised) == {
        "date": [
            "Thursday 2027-04-29 already has an exception (Day off): change or remove that one."
        ]
    }
    assert CalendarException.objects.count() == 1


def test_two_administrators_entering_the_same_date_at_once_get_a_clear_error(monkeypatch):
    calendar_exception_add(day=dt.date(2027, 4, 29), kind=DAY_OFF, note="first")
    # The second request passed validation before the first one committed.
    monkeypatch.setattr(services, "calendar_exception_validate", lambda **kwargs: None)
    with pytest.raises(ValidationError) as raised:
        calendar_exception_add(day=dt.date(2027, 4, 29), kind=DAY_OFF, note="second")
    assert errors(raised) == {"date": ["Thursday 2027-04-29 already has an exception."]}
    assert CalendarException.objects.get().note == "first"


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValidationError) as raised:
        calendar_exception_add(day=dt.date(2027, 4, 29), kind="holiday")
    assert list(errors(raised)) == ["kind"]
    assert not CalendarException.objects.exists()


def test_a_year_without_known_public_holidays_is_refused():
    with pytest.raises(ValidationError) as raised:
        calendar_exception_add(day=dt.date(2150, 4, 29), kind=DAY_OFF)
    assert errors(raised) == {"date": ["Public holidays are not known for 2150."]}


def test_changing_an_exception_follows_the_same_rules():
    exception = calendar_exception_add(day=dt.date(2027, 4, 29), kind=DAY_OFF)
    calendar_exception_add(day=dt.date(2027, 4, 24), kind=WORKING_DAY)
    # Its own date is not "another exception".
    calendar_exception_change(exception=exception, day=dt.date(2027, 4, 29), kind=DAY_OFF, note="x")
    with pytest.raises(ValidationError) as raised:
        calendar_exception_change(
            exception=exception, day=dt.date(2027, 4, 24), kind=DAY_OFF, note=""
        )
    assert "already has an exception" in errors(raised)["date"][0]
    with pytest.raises(ValidationError):
        calendar_exception_change(
            exception=exception, day=dt.date(2027, 4, 29), kind=WORKING_DAY, note=""
        )
    calendar_exception_change(exception=exception, day=dt.date(2027, 4, 28), kind=DAY_OFF, note="")
    exception.refresh_from_db()
    assert exception.date == dt.date(2027, 4, 28)
    assert exception.note == ""


def test_removing_an_exception_deletes_it():
    exception = calendar_exception_add(day=dt.date(2027, 4, 29), kind=DAY_OFF)
    calendar_exception_remove(exception=exception)
    assert not CalendarException.objects.exists()


@pytest.mark.vietnamese
def test_in_vietnamese_the_weekday_and_the_holidays_name_are_vietnamese():
    with pytest.raises(ValidationError) as raised:
        calendar_exception_add(day=dt.date(2027, 2, 8), kind=DAY_OFF)
    message = errors(raised)["date"][0]
    assert "Thứ 2 2027-02-08" in message
    assert "Mùng ba Tết Nguyên Đán" in message
