"""Administrators enter ward populations (for the adoption share); the roll-ups and export
jobs are shown read-only."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import ExportJob, RollupState, WardPopulation


@admin.register(WardPopulation)
class WardPopulationAdmin(admin.ModelAdmin):
    list_display = ["ward", "population", "year", "source"]
    search_fields = ["ward__name", "ward__code"]
    raw_id_fields = ["ward"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(RollupState)
class RollupStateAdmin(ReadOnlyAdmin):
    list_display = [
        "last_event_id",
        "events_processed",
        "last_run_at",
        "last_event_at",
        "rebuilt_at",
    ]


@admin.register(ExportJob)
class ExportJobAdmin(ReadOnlyAdmin):
    list_display = ["title", "kind", "fmt", "status", "progress", "created_by", "created_at"]
    list_filter = ["status", "kind"]
