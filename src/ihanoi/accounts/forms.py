"""Sign-in forms. Residents: phone number + one-time code. Staff: e-mail + password (then
TOTP). allauth builds its login form from the signup fields, which for residents have no
password, so the staff form puts the password field back and takes e-mail only."""

from __future__ import annotations

from typing import Any

from allauth.account.forms import LoginForm, RequestLoginCodeForm, SignupForm
from django import forms
from django.utils.translation import gettext_lazy as _

from ihanoi.accounts.models import User
from ihanoi.lib.text import nfc


class StaffLoginForm(LoginForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["login"] = forms.EmailField(
            label=_("Work e-mail"),
            max_length=254,
            widget=forms.EmailInput(attrs={"autocomplete": "username"}),
        )
        self.order_fields(["login", "password"])

    def _setup_password_field(self) -> None:
        """Keep the password field (allauth drops it when signup asks for no password)."""


class PhoneLoginCodeForm(RequestLoginCodeForm):
    """Residents ask for a sign-in code by phone number only."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.pop("email", None)
        self.fields["phone"].required = True


class ResidentSignupForm(SignupForm):
    full_name = forms.CharField(label=_("Full name (optional)"), max_length=150, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["phone"].required = True

    def clean_full_name(self) -> str:
        return nfc(self.cleaned_data.get("full_name", "")).strip()

    def custom_signup(self, request: Any, user: User) -> None:  # allauth hook
        name = self.cleaned_data.get("full_name", "")
        if name:
            user.full_name = name
            user.save(update_fields=["full_name"])


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["full_name", "email"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Staff sign in with their e-mail: it cannot be blanked from the profile.
        self.fields["email"].required = bool(self.instance and self.instance.is_staff_member)

    def clean_full_name(self) -> str:
        return nfc(self.cleaned_data.get("full_name", "")).strip()

    def clean_email(self) -> str | None:
        email = (self.cleaned_data.get("email") or "").strip().lower()
        return email or None


class AccountDeleteForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I understand that my account is deleted for good; my reports stay, anonymised."),
        required=True,
    )
