"""Admin for the calendar exceptions. Writes go through the services, which refuse an
exception that changes nothing and make every process see the new calendar.

``ihanoi calendar-show YEAR`` prints the resulting year for a check before it starts."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from ihanoi.accounts.models import User
from ihanoi.workcalendar.models import CalendarException
from ihanoi.workcalendar.selectors import holidays_in_active_language
from ihanoi.workcalendar.services import (
    calendar_exception_add,
    calendar_exception_change,
    calendar_exception_remove,
    calendar_exception_validate,
)


class CalendarExceptionForm(forms.ModelForm):
    class Meta:
        model = CalendarException
        fields = ["date", "kind", "note"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        day, kind = cleaned.get("date"), cleaned.get("kind")
        if day is not None and kind:
            try:
                calendar_exception_validate(day=day, kind=kind, exception=self.instance)
            except ValidationError as error:
                for field, messages in error.message_dict.items():
                    self.add_error(field if field in self.fields else None, messages)
        return cleaned


@admin.register(CalendarException)
class CalendarExceptionAdmin(admin.ModelAdmin):
    form = CalendarExceptionForm
    list_display = ["date", "weekday", "kind", "public_holiday", "note", "created_by"]
    list_filter = ["kind"]
    date_hierarchy = "date"
    search_fields = ["note"]
    ordering = ["-date"]
    readonly_fields = ["created_by", "created_at", "updated_at"]
    list_select_related = ["created_by"]

    @admin.display(description=_("weekday"))
    def weekday(self, exception: CalendarException) -> str:
        return date_format(exception.date, "l")

    @admin.display(description=_("public holiday"))
    def public_holiday(self, exception: CalendarException) -> str:
        # A make-up working day may overrule the holiday package; show what it overrules.
        try:
            days_off = holidays_in_active_language().days_off(exception.date.year)
        except ValueError:
            return "—"
        return days_off.get(exception.date, "") or "—"

    def save_model(
        self, request: HttpRequest, obj: CalendarException, form: Any, change: bool
    ) -> None:
        if change:
            calendar_exception_change(exception=obj, day=obj.date, kind=obj.kind, note=obj.note)
            return
        created = calendar_exception_add(
            day=obj.date,
            kind=obj.kind,
            note=obj.note,
            created_by=request.user if isinstance(request.user, User) else None,
        )
        # The admin goes on with ``obj`` (its message, the redirect to the saved row).
        obj.pk = created.pk
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: CalendarException) -> None:
        calendar_exception_remove(exception=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[CalendarException]) -> None:
        for exception in queryset:
            calendar_exception_remove(exception=exception)
