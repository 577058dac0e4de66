"""Parsing the query string of the oversight pages; a bad value is a form error (HTTP 400),
never a server error."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ihanoi.agencies.models import Agency
from ihanoi.feedback.models import Category, Severity
from ihanoi.places.models import AdministrativeUnit

from .periods import MAX_DAYS, Period, PeriodKind, today
from .selectors import DEFAULT_MIN_SAMPLE, DRILL_METRICS, RANKING_METRICS, Filters

DATE_FORMATS = ["%Y-%m-%d"]
EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2100, 12, 31)

PERIOD_CHOICES = [
    (PeriodKind.DAY.value, _("Day")),
    (PeriodKind.WEEK.value, _("Week")),
    (PeriodKind.MONTH.value, _("Month")),
    (PeriodKind.CUSTOM.value, _("Custom range")),
]


def _date_field(label: Any) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        input_formats=DATE_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


class FilterForm(forms.Form):
    period = forms.ChoiceField(label=_("Period"), choices=PERIOD_CHOICES, required=False)
    date = _date_field(_("Date"))
    start = _date_field(_("From"))
    end = _date_field(_("To"))
    category = forms.CharField(label=_("Category"), required=False, max_length=40)
    ward = forms.CharField(label=_("Ward/commune"), required=False, max_length=10)
    severity = forms.ChoiceField(
        label=_("Severity"),
        choices=[("", _("Any severity")), *Severity.choices],
        required=False,
    )
    agency = forms.CharField(label=_("Agency"), required=False, max_length=40)

    def __init__(self, *args: Any, now: dt.datetime | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.now = now
        self.agency_obj: Agency | None = None
        self.category_obj: Category | None = None
        self.ward_obj: AdministrativeUnit | None = None

    def _check_date(self, name: str) -> dt.date | None:
        value: dt.date | None = self.cleaned_data.get(name)
        if value is not None and not EARLIEST <= value <= LATEST:
            raise forms.ValidationError(_("Choose a date between 2000 and 2100."))
        return value

    def clean_date(self) -> dt.date | None:
        return self._check_date("date")

    def clean_start(self) -> dt.date | None:
        return self._check_date("start")

    def clean_end(self) -> dt.date | None:
        return self._check_date("end")

    def clean_category(self) -> str:
        code = self.cleaned_data.get("category") or ""
        if code:
            self.category_obj = Category.objects.filter(code=code).first()
            if self.category_obj is None:
                raise forms.ValidationError(_("Unknown category."))
        return code

    def clean_ward(self) -> str:
        code = (self.cleaned_data.get("ward") or "").strip()
        if code:
            self.ward_obj = (
                AdministrativeUnit.objects.filter(code=code, level="ward")
                .order_by("valid_until", "-valid_from")
                .first()
            )
            if self.ward_obj is None:
                raise forms.ValidationError(_("Unknown ward or commune code."))
        return code

    def clean_agency(self) -> str:
        code = self.cleaned_data.get("agency") or ""
        if code and code != "none":
            self.agency_obj = Agency.objects.filter(code=code).first()
            if self.agency_obj is None:
                raise forms.ValidationError(_("Unknown agency."))
        return code

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        kind = PeriodKind(data.get("period") or PeriodKind.MONTH)
        if kind == PeriodKind.CUSTOM:
            start, end = data.get("start"), data.get("end")
            if start is None or end is None:
                raise forms.ValidationError(_("A custom range needs its first and last day."))
            if end < start:
                raise forms.ValidationError(_("The range ends before it starts."))
            if (end - start).days + 1 > MAX_DAYS:
                raise forms.ValidationError(
                    _("Choose a range of at most %(n)d days.") % {"n": MAX_DAYS}
                )
            data["period_obj"] = Period.custom(start, end)
        else:
            data["period_obj"] = Period.around(kind, data.get("date") or today(self.now))
        return data

    def filters(self) -> Filters:
        data = self.cleaned_data
        return Filters(
            period=data["period_obj"],
            category_id=self.category_obj.pk if self.category_obj else None,
            ward_id=self.ward_obj.pk if self.ward_obj else None,
            severity=data.get("severity") or "",
            agency_id=self.agency_obj.pk if self.agency_obj else None,
            unassigned=data.get("agency") == "none",
        )


class RankingForm(FilterForm):
    metric = forms.ChoiceField(
        label=_("Measure"),
        required=False,
        choices=[
            ("resolve_on_time", _("Resolved on time")),
            ("accept_on_time", _("Accepted on time")),
            ("satisfaction", _("Satisfaction")),
        ],
    )
    min_sample = forms.IntegerField(
        label=_("Minimum items"), required=False, min_value=1, max_value=100000
    )

    def metric_value(self) -> str:
        return self.cleaned_data.get("metric") or RANKING_METRICS[0]

    def min_sample_value(self) -> int:
        value = self.cleaned_data.get("min_sample")
        if value:
            return int(value)
        return DEFAULT_MIN_SAMPLE[self.cleaned_data["period_obj"].kind.value]


class DrillForm(FilterForm):
    metric = forms.ChoiceField(
        label=_("Number"), choices=[(m, m) for m in DRILL_METRICS], required=True
    )


class ExportForm(FilterForm):
    table = forms.ChoiceField(
        choices=[
            (name, name)
            for name in (
                "agencies",
                "categories",
                "wards",
                "rankings",
                "named_units",
                "overdue",
                "items",
                "adoption",
            )
        ]
    )
    fmt = forms.ChoiceField(choices=[("csv", "CSV"), ("xlsx", "XLSX")])
    metric = forms.CharField(required=False, max_length=40)
    min_sample = forms.IntegerField(required=False, min_value=1, max_value=100000)

    def clean_metric(self) -> str:
        metric = self.cleaned_data.get("metric") or ""
        if metric and metric not in DRILL_METRICS and metric not in RANKING_METRICS:
            raise forms.ValidationError(_("Unknown measure."))
        return metric


class MonthlyReportForm(forms.Form):
    month = forms.CharField(label=_("Month"), max_length=7)
    agency = forms.CharField(label=_("Agency"), required=False, max_length=40)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.agency_obj: Agency | None = None

    def clean_month(self) -> dt.date:
        value = self.cleaned_data.get("month") or ""
        try:
            first = dt.datetime.strptime(value, "%Y-%m").date()
        except ValueError as exc:
            raise forms.ValidationError(_("Give the month as YYYY-MM.")) from exc
        if not EARLIEST <= first <= LATEST:
            raise forms.ValidationError(_("Choose a date between 2000 and 2100."))
        return first

    def clean_agency(self) -> str:
        code = self.cleaned_data.get("agency") or ""
        if code:
            self.agency_obj = Agency.objects.filter(code=code).first()
            if self.agency_obj is None:
                raise forms.ValidationError(_("Unknown agency."))
        return code
