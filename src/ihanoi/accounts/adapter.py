"""Glue between django-allauth and our user model: phone numbers live on ``User.phone``."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django import forms
from django.contrib.auth.base_user import AbstractBaseUser
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ihanoi.accounts.models import User
from ihanoi.accounts.sms import send_sms
from ihanoi.lib.phone import MAX_INPUT_LENGTH, InvalidPhoneNumber, normalise_vn_phone

INVALID_PHONE_MESSAGE = _(
    "This is not a valid phone number. Enter a Vietnamese mobile or landline number, "
    "for example 0912 345 678."
)


class VietnamesePhoneField(forms.CharField):
    """Accepts the local forms residents type and cleans to E.164."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Phone number"))
        kwargs.setdefault("max_length", MAX_INPUT_LENGTH)
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={
                    "type": "tel",
                    "autocomplete": "tel",
                    "inputmode": "tel",
                    "placeholder": "0912 345 678",
                }
            ),
        )
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Any:
        value = super().clean(value)
        if not value:
            return value
        try:
            return normalise_vn_phone(value)
        except InvalidPhoneNumber as exc:
            raise forms.ValidationError(INVALID_PHONE_MESSAGE, code="invalid_phone") from exc


class AccountAdapter(DefaultAccountAdapter):
    # SMS bodies are translated like any text; the Vietnamese catalogue writes them without
    # tone marks so that each fits one GSM-7 segment (Unicode SMS cost double on VN gateways).

    def phone_form_field(self, **kwargs: Any) -> Any:
        kwargs.pop("validators", None)
        return VietnamesePhoneField(**kwargs)

    def clean_phone(self, phone: str) -> str:
        try:
            return normalise_vn_phone(phone)
        except InvalidPhoneNumber as exc:
            raise forms.ValidationError(INVALID_PHONE_MESSAGE, code="invalid_phone") from exc

    def send_verification_code_sms(
        self, user: AbstractBaseUser, phone: str, code: str, **kwargs: Any
    ) -> None:
        body = gettext("Your iHaNoi code is %(code)s. Do not share this code.") % {"code": code}
        send_sms(to=phone, body=body)

    def send_unknown_account_sms(self, phone: str, **kwargs: Any) -> None:
        send_sms(
            to=phone,
            body=gettext("This phone number has no iHaNoi account yet. Register to send feedback."),
        )

    def send_account_already_exists_sms(self, phone: str) -> None:
        send_sms(
            to=phone,
            body=gettext("This phone number already has an iHaNoi account. Sign in with a code."),
        )

    def set_phone(self, user: AbstractBaseUser, phone: str, verified: bool) -> None:
        assert isinstance(user, User)
        user.phone = phone
        user.phone_verified = verified
        if user.pk:
            user.save(update_fields=["phone", "phone_verified"])

    def get_phone(self, user: AbstractBaseUser) -> tuple[str, bool] | None:
        assert isinstance(user, User)
        if not user.phone:
            return None
        return user.phone, user.phone_verified

    def set_phone_verified(self, user: AbstractBaseUser, phone: str) -> None:
        User.objects.filter(pk=user.pk, phone=phone).update(phone_verified=True)
        assert isinstance(user, User)
        user.phone_verified = True

    def get_user_by_phone(self, phone: str) -> AbstractBaseUser | None:
        try:
            phone = normalise_vn_phone(phone)
        except InvalidPhoneNumber:
            return None
        return User.objects.filter(phone=phone, is_active=True).first()
