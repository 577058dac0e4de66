"""Units come from the vietnamadminunits package (`ihanoi load-places`) and boundaries from
`ihanoi import-boundaries`; the admin shows them read-only, so that a hand edit can never
leave the search key or the point → ward index out of step with the data."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from ihanoi.places.models import AdministrativeUnit, UnitSuccession


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SuccessorInline(admin.TabularInline):
    model = UnitSuccession
    fk_name = "old"
    extra = 0
    fields = ("new", "is_partial", "is_default")
    readonly_fields = ("new", "is_partial", "is_default")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AdministrativeUnit)
class AdministrativeUnitAdmin(ReadOnlyAdmin):
    list_display = [
        "code",
        "name",
        "level",
        "parent",
        "valid_from",
        "valid_until",
        "boundary_source",
    ]
    list_filter = ["level", "boundary_source", "valid_until"]
    search_fields = ["code", "name", "name_ascii"]
    exclude = ["boundary"]  # a multipolygon as text helps nobody on this page
    inlines = [SuccessorInline]
    list_select_related = ["parent"]


@admin.register(UnitSuccession)
class UnitSuccessionAdmin(ReadOnlyAdmin):
    list_display = ["old", "new", "is_partial", "is_default", "effective_date"]
    list_filter = ["is_partial", "is_default"]
    search_fields = ["old__name", "old__code", "new__name", "new__code"]
    list_select_related = ["old", "new"]
