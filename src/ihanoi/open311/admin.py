"""Administrators create, list and revoke Open311 API keys.

A key's raw value exists only in the response to its creation: it is shown on a page of its
own (never put in a message, which may travel in a cookie) and only its hash is stored.
Keys are revoked, not deleted: the requests a client created stay linked to it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import services
from .models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "requests_per_minute", "created_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    fields = ["name", "requests_per_minute", "prefix", "created_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "revoked_at"]
    actions = ["revoke"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ApiKey, form: ModelForm, change: bool) -> None:
        if change:
            obj.save(update_fields=["name", "requests_per_minute"])
            return
        created, raw = services.api_key_create(
            name=obj.name, requests_per_minute=obj.requests_per_minute
        )
        obj.pk = created.pk
        obj.refresh_from_db()
        obj._state.adding = False
        obj.raw_key = raw  # type: ignore[attr-defined]  # read once by response_add

    def response_add(
        self, request: HttpRequest, obj: ApiKey, post_url_continue: str | None = None
    ) -> HttpResponse:
        return TemplateResponse(
            request,
            "open311/apikey_created.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("Open311 API key created"),
                "api_key": obj,
                "raw_key": getattr(obj, "raw_key", ""),
            },
        )

    @admin.action(description=gettext_lazy("Revoke the selected keys"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset:
            services.api_key_revoke(api_key=api_key)
        self.message_user(
            request, _("%(n)d key(s) revoked.") % {"n": queryset.count()}, messages.SUCCESS
        )
