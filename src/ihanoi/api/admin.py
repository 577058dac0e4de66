"""Operators see the app's sign-ins here and can sign a device out (a stolen phone reported
to the hotline). Rows are written only by the services; nothing is edited by hand, and no
secret is shown: tokens and codes are stored as hashes."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import DeviceToken, LoginCode, PushSubscription
from .services import device_token_revoke


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DeviceToken)
class DeviceTokenAdmin(ReadOnlyAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "user__phone", "user__email"]
    ordering = ["-created_at"]
    list_select_related = ["user"]
    exclude = ["token_hash"]
    actions = ["sign_out"]

    @admin.action(description=_("Sign the selected devices out"), permissions=["view"])
    def sign_out(self, request: HttpRequest, queryset: QuerySet[DeviceToken]) -> None:
        count = 0
        for device in queryset.filter(revoked_at__isnull=True).select_related("user"):
            device_token_revoke(user=device.user, device=device)
            count += 1
        self.message_user(
            request,
            ngettext("%(n)d device signed out.", "%(n)d devices signed out.", count) % {"n": count},
            messages.SUCCESS,
        )


@admin.register(LoginCode)
class LoginCodeAdmin(ReadOnlyAdmin):
    """For support calls ("no SMS came"): when codes went out, and what became of them."""

    list_display = ["phone", "created_at", "expires_at", "attempts", "used_at"]
    search_fields = ["phone"]
    ordering = ["-created_at"]
    show_full_result_count = False
    exclude = ["code_hash"]


@admin.register(PushSubscription)
class PushSubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["user", "device", "short_endpoint", "created_at", "updated_at"]
    search_fields = ["user__phone", "user__email", "endpoint"]
    ordering = ["-updated_at"]
    list_select_related = ["user", "device"]

    @admin.display(description=_("endpoint"))
    def short_endpoint(self, subscription: PushSubscription) -> str:
        return str(subscription)
