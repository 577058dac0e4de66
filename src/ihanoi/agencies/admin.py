"""Admin for agencies and memberships. Writes go through the services' rules: agency names
keep their search key in step (``agency_save``), memberships are checked by
``membership_validate`` before the database's own constraints see them."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ihanoi.agencies.models import Agency, Membership
from ihanoi.agencies.services import agency_save, membership_validate


class MembershipForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["user", "agency", "role", "is_lead_contact"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        user, agency, role = cleaned.get("user"), cleaned.get("agency"), cleaned.get("role")
        if user is not None and agency is not None and role:
            try:
                membership_validate(
                    user=user,
                    agency=agency,
                    role=role,
                    is_lead_contact=bool(cleaned.get("is_lead_contact")),
                    membership=self.instance,
                )
            except ValidationError as error:
                # Errors about a field hidden in this form (the inline's agency) go on top.
                fields = set(self.fields)
                for field, messages in error.message_dict.items():
                    self.add_error(field if field in fields else None, messages)
        return cleaned


class MembershipInlineFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        # Each form checks the database; two new lead contacts in one submission meet here.
        contacts = [
            form
            for form in self.forms
            if form.cleaned_data.get("is_lead_contact") and not form.cleaned_data.get("DELETE")
        ]
        if len(contacts) > 1:
            raise ValidationError(_("An agency has at most one lead contact."))


class MembershipInline(admin.TabularInline):
    model = Membership
    form = MembershipForm
    formset = MembershipInlineFormSet
    extra = 0
    fields = ["user", "role", "is_lead_contact", "created_at"]
    readonly_fields = ["created_at"]
    # The user admin is another app's; raw ids work whatever it registers.
    raw_id_fields = ["user"]


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "kind", "serves_whole_city", "is_active"]
    list_filter = ["kind", "is_active", "serves_whole_city"]
    # search_key lets "hoan kiem" find "Hoàn Kiếm" here too.
    search_fields = ["name", "name_en", "short_name", "code", "search_key"]
    ordering = ["kind", "name"]
    list_select_related = False
    # AdministrativeUnit may not be registered with search fields (another app's admin), so
    # autocomplete is not available; raw ids plus the read-only list below keep it usable.
    raw_id_fields = ["parent", "served_units"]
    readonly_fields = ["area_served"]
    inlines = [MembershipInline]
    # Official sites are served over https; a bare "sovhtt.hanoi.gov.vn" means that.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = (
        (None, {"fields": ("code", "name", "name_en", "short_name", "kind", "parent")}),
        (_("Contact"), {"fields": ("address", "phone", "email", "website", "hours")}),
        (
            _("Area served"),
            {"fields": ("serves_whole_city", "served_units", "area_served")},
        ),
        (None, {"fields": ("is_active",)}),
    )

    @admin.display(description=_("area served (names)"))
    def area_served(self, agency: Agency) -> str:
        if agency.pk is None:
            return "—"
        if agency.serves_whole_city:
            return str(_("The whole city"))
        names = agency.served_units.order_by("name").values_list("name", flat=True)
        return ", ".join(names) or "—"

    def save_model(self, request: HttpRequest, obj: Agency, form: Any, change: bool) -> None:
        agency_save(agency=obj)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    form = MembershipForm
    list_display = ["user", "agency", "role", "is_lead_contact", "created_at"]
    list_filter = ["role", "is_lead_contact", "agency__kind"]
    search_fields = [
        "user__email",
        "user__phone",
        "user__full_name",
        "agency__name",
        "agency__code",
        "agency__search_key",
    ]
    raw_id_fields = ["user"]
    autocomplete_fields = ["agency"]
    list_select_related = ["user", "agency"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        return super().get_queryset(request).select_related("user", "agency")
