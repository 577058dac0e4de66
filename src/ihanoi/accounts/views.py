from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from ihanoi.accounts.forms import AccountDeleteForm, ProfileForm
from ihanoi.accounts.models import User
from ihanoi.accounts.services import user_delete_account, user_update_profile
from ihanoi.lib.phone import format_vn_phone


def _signed_in_user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = _signed_in_user(request)
    form = ProfileForm(request.POST or None, instance=user)
    if request.method == "POST" and form.is_valid():
        user_update_profile(
            user=user,
            full_name=form.cleaned_data["full_name"],
            email=form.cleaned_data["email"],
        )
        messages.success(request, _("Your profile was saved."))
        return redirect("accounts:profile")
    if request.method == "POST":
        user.refresh_from_db()  # the invalid form must not leak half-cleaned values
    return render(
        request,
        "accounts/profile.html",
        {
            "form": form,
            "phone_display": format_vn_phone(user.phone) if user.phone else "",
            "memberships": user.memberships.select_related("agency"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def delete_account(request: HttpRequest) -> HttpResponse:
    user = _signed_in_user(request)
    form = AccountDeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user_delete_account(user=user)
        logout(request)
        messages.success(request, _("Your account was deleted. Your reports stay, anonymised."))
        return redirect("web:home")
    return render(request, "accounts/delete.html", {"form": form})
