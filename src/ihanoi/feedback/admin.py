"""Administrators configure categories (with their questions), routing rules and rejection
reasons here. Reports are handled in the staff workspace, not in the admin: the admin shows
them read-only so that no change can bypass the transition table and the timeline."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import (
    Category,
    CategoryGroup,
    Question,
    RejectionReason,
    Report,
    ResponseTemplate,
    RoutingRule,
)


class QuestionInline(admin.StackedInline):
    model = Question
    extra = 0


@admin.register(CategoryGroup)
class CategoryGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "name_en", "code", "position"]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "group", "default_severity", "is_public", "is_active"]
    list_filter = ["group", "default_severity", "is_public", "is_active"]
    search_fields = ["name", "name_en", "code", "keywords"]
    inlines = [QuestionInline]


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ["__str__", "category", "unit", "agency", "is_active"]
    list_filter = ["is_active", "category"]
    raw_id_fields = ["unit", "agency"]
    list_select_related = ["category", "unit", "agency"]


@admin.register(RejectionReason)
class RejectionReasonAdmin(admin.ModelAdmin):
    list_display = ["code", "text", "is_active"]


@admin.register(ResponseTemplate)
class ResponseTemplateAdmin(admin.ModelAdmin):
    list_display = ["title", "agency", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["title", "text"]
    raw_id_fields = ["agency"]


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["pk", "title", "status", "category", "ward", "agency", "submitted_at"]
    list_filter = ["status", "severity", "category", "channel"]
    search_fields = ["title", "public_id"]
    list_select_related = ["category", "ward", "agency"]
    show_full_result_count = False  # COUNT(*) over millions of rows on every page is costly

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
