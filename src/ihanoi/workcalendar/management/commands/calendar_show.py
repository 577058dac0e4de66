"""``ihanoi calendar-show [YEAR]``: the year's weekdays off and make-up working days, with
their names, as deadlines will count them (public holidays + the administrator's exceptions).

Run it before a year starts: when the government's decision on moved days off is out, what
this prints must match it; the administrator enters what is missing in the admin."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from ihanoi.lib.worktime import CITY_TZ, DayInfo, DayKind, WorkingCalendar
from ihanoi.workcalendar.selectors import (
    calendar_build,
    calendar_exceptions,
    holidays_in_active_language,
)


class Command(BaseCommand):
    help = (
        "Print the weekdays off and the make-up working days of a year (default: this year) "
        "with their names: public holidays and the administrator's exceptions."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("year", nargs="?", type=int, help="e.g. 2027 (default: this year)")

    def handle(self, *args: Any, **options: Any) -> None:
        year: int = options["year"] or timezone.now().astimezone(CITY_TZ).year
        holidays = holidays_in_active_language()
        # Straight from the database: the check must not see a cached calendar.
        calendar = calendar_build(holidays=holidays)
        try:
            special = calendar.special_days(year)
        except ValueError as error:
            raise CommandError(
                _("The working calendar of %(year)s cannot be shown: %(error)s")
                % {"year": year, "error": error}
            ) from None
        notes = {row.date: row.note for row in calendar_exceptions(year=year)}

        self.stdout.write(
            _("Working calendar %(year)s (Asia/Ho_Chi_Minh; Monday to Friday; %(hours)s)")
            % {
                "year": year,
                "hours": ", ".join(
                    f"{period.start:%H:%M}–{period.end:%H:%M}" for period in calendar.periods
                ),
            }
        )
        days_off = [info for info in special if not info.is_working]
        make_up = [info for info in special if info.is_working]
        self.stdout.write("")
        self.stdout.write(_("Weekdays off:"))
        self._write_days(days_off, notes)
        self.stdout.write("")
        self.stdout.write(_("Make-up working days:"))
        self._write_days(make_up, notes)

        self._warn_unneeded(year, calendar, notes)
        first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
        working_days = calendar.working_days_count(first, last)
        hours = working_days * calendar.day_length / dt.timedelta(hours=1)
        self.stdout.write("")
        self.stdout.write(
            _("Working days: %(days)s (%(hours)s working hours).")
            % {"days": working_days, "hours": f"{hours:g}"}
        )

    def _write_days(self, days: list[DayInfo], notes: dict[dt.date, str]) -> None:
        if not days:
            self.stdout.write("  " + _("(none)"))
        for info in days:
            self.stdout.write(
                f"  {date_format(info.day, 'D')} {info.day.isoformat()}  {_name(info, notes)}"
            )

    def _warn_unneeded(
        self, year: int, calendar: WorkingCalendar, notes: dict[dt.date, str]
    ) -> None:
        # An exception entered before the holidays package learnt the same decision (or a
        # date that has since become a holiday) changes nothing; say so, it may be a mistake.
        law = WorkingCalendar(holidays=calendar.holidays, periods=calendar.periods)
        unneeded = [
            day for day in sorted(notes) if law.is_working_day(day) == calendar.is_working_day(day)
        ]
        for day in unneeded:
            self.stdout.write(
                self.style.WARNING(
                    _("The exception on %(date)s changes nothing: the day is already %(what)s.")
                    % {
                        "date": day.isoformat(),
                        "what": _("a working day")
                        if calendar.is_working_day(day)
                        else _("a day off"),
                    }
                )
            )


def _name(info: DayInfo, notes: dict[dt.date, str]) -> str:
    note = notes.get(info.day, "")
    if info.kind == DayKind.PUBLIC_HOLIDAY:
        return info.name
    if info.kind == DayKind.MAKE_UP_DAY:
        return _("Make-up working day (public holiday rules)")
    if info.kind == DayKind.ADDED_DAY_OFF:
        label = _("Day off entered by the administrator")
    else:
        label = _("Make-up working day entered by the administrator")
    if info.name:
        # The administrator overrules (or repeats) the holidays package on this date.
        label = f"{label} ({info.name})"
    return f"{label}: {note}" if note else label
