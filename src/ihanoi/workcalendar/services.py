"""Writes for the working calendar: the administrator's days off and make-up working days.

An exception must change something: a day off on a day that is worked (a weekday, or a
weekend the law makes a working day), a make-up working day on a day that is not (a weekend
or a public holiday). One exception per date. Every write makes this process forget its
cached calendar; other processes notice within ``selectors.STAMP_CHECK_SECONDS``.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from ihanoi.accounts.models import User
from ihanoi.lib.text import nfc
from ihanoi.lib.worktime import DayKind, WorkingCalendar
from ihanoi.workcalendar.models import CalendarException
from ihanoi.workcalendar.selectors import city_calendar_clear, holidays_in_active_language


def _show(day: dt.date) -> str:
    # ISO dates read the same in both languages; the weekday says why a day is refused.
    return f"{date_format(day, 'l')} {day.isoformat()}"


def calendar_exception_validate(
    *, day: dt.date, kind: str, exception: CalendarException | None = None
) -> None:
    """Raise ``ValidationError`` (keyed by the fields ``date`` and ``kind``) unless an
    exception of ``kind`` on ``day`` would change the calendar. ``exception`` is the row
    being edited, if any."""
    if kind not in CalendarException.Kind.values:
        raise ValidationError(
            {"kind": _("Choose whether the date is a day off or a make-up working day.")}
        )
    # The day as the law has it, without any administrator's exception: another exception
    # on the same date is refused below anyway, one per date.
    calendar = WorkingCalendar(holidays=holidays_in_active_language())
    try:
        info = calendar.describe(day)
    except ValueError:
        raise ValidationError(
            {"date": _("Public holidays are not known for %(year)s.") % {"year": day.year}}
        ) from None
    others = CalendarException.objects.filter(date=day)
    if exception is not None and exception.pk is not None:
        others = others.exclude(pk=exception.pk)
    if other := others.first():
        raise ValidationError(
            {
                "date": _(
                    "%(date)s already has an exception (%(kind)s): change or remove that one."
                )
                % {"date": _show(day), "kind": other.get_kind_display()}
            }
        )
    if kind == CalendarException.Kind.WORKING_DAY and info.is_working:
        raise ValidationError(
            {
                "date": _(
                    "%(date)s is already a working day; a make-up working day replaces a "
                    "weekend day or a holiday."
                )
                % {"date": _show(day)}
            }
        )
    if kind == CalendarException.Kind.DAY_OFF and info.kind == DayKind.WEEKEND:
        raise ValidationError(
            {
                "date": _("%(date)s is a weekend day: it is already a day off.")
                % {"date": _show(day)}
            }
        )
    if kind == CalendarException.Kind.DAY_OFF and info.kind == DayKind.PUBLIC_HOLIDAY:
        raise ValidationError(
            {
                "date": _("%(date)s is already a public holiday: %(name)s.")
                % {"date": _show(day), "name": info.name}
            }
        )


def _calendar_changed() -> None:
    city_calendar_clear()
    # Another thread may rebuild from the committed rows before this transaction commits;
    # forget that calendar too once the change is visible to all.
    transaction.on_commit(city_calendar_clear)


def _save(exception: CalendarException) -> None:
    try:
        with transaction.atomic():
            exception.save()
    except IntegrityError:
        # Two administrators entering the same date at once: the second one is told.
        raise ValidationError(
            {"date": _("%(date)s already has an exception.") % {"date": _show(exception.date)}}
        ) from None


@transaction.atomic
def calendar_exception_add(
    *,
    day: dt.date,
    kind: str,
    note: str = "",
    created_by: User | None = None,
) -> CalendarException:
    """Enter a day off or a make-up working day (``CalendarException.Kind``)."""
    calendar_exception_validate(day=day, kind=kind)
    exception = CalendarException(
        date=day, kind=kind, note=nfc(note).strip(), created_by=created_by
    )
    _save(exception)
    _calendar_changed()
    return exception


@transaction.atomic
def calendar_exception_change(
    *, exception: CalendarException, day: dt.date, kind: str, note: str
) -> CalendarException:
    """Correct an exception's date, kind or note, with the same rules as a new one."""
    calendar_exception_validate(day=day, kind=kind, exception=exception)
    exception.date, exception.kind, exception.note = day, kind, nfc(note).strip()
    _save(exception)
    _calendar_changed()
    return exception


@transaction.atomic
def calendar_exception_remove(*, exception: CalendarException) -> None:
    """Take an exception back: the date follows the weekday rule and the holidays again."""
    exception.delete()
    _calendar_changed()
