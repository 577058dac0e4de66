"""Writes of the mobile app's sign-in: codes by SMS, device tokens, push subscriptions.

Errors are ``ValidationError`` keyed by field (the API turns them into its error shape),
``PermissionDenied`` for an account that may not sign in here, and ``RateLimited`` when a
phone number or an address asked too often.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from ihanoi.accounts.adapter import INVALID_PHONE_MESSAGE
from ihanoi.accounts.models import Role, User
from ihanoi.accounts.sms import send_sms
from ihanoi.lib.phone import InvalidPhoneNumber, normalise_vn_phone
from ihanoi.lib.text import nfc

from . import ratelimit
from .models import DeviceToken, LoginCode, PushSubscription
from .ratelimit import Limit

CODE_LENGTH = 6
# The web's code sign-in (django-allauth) and the app's follow the same numbers.
CODE_TTL_SECONDS: int = getattr(settings, "ACCOUNT_LOGIN_BY_CODE_TIMEOUT", 300)
CODE_MAX_ATTEMPTS: int = getattr(settings, "ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS", 3)

# Every code costs an SMS: per number (a person waits for a slow SMS and asks again, but a
# fourth code in ten minutes is somebody else's script) and per address (one machine
# spraying numbers). Wrong codes are counted per address too: 3 attempts per code and 3 codes
# per 10 minutes already bound the guessing on one number; this bounds it across numbers.
CODE_REQUESTS_PER_PHONE = Limit("code-phone", 3, 10 * 60)
CODE_REQUESTS_PER_IP = Limit("code-ip", 20, 60 * 60)
CODE_FAILURES_PER_IP = Limit("code-fail-ip", 30, 60 * 60)

TOKEN_SCHEME = "ihn"  # noqa: S105 - a marker that makes leaked tokens easy to scan for
DEVICE_NAME_MAX = 100
# ``last_used_at`` is a hint for the person ("used 2 hours ago"), not an audit log: one
# write per device every few minutes, not one per request.
TOUCH_EVERY = datetime.timedelta(minutes=5)

_CODE_HMAC_SALT = "ihanoi.api.LoginCode"


def clean_phone(raw: str) -> str:
    try:
        return normalise_vn_phone(raw)
    except InvalidPhoneNumber as exc:
        raise ValidationError({"phone": [str(INVALID_PHONE_MESSAGE)]}) from exc


def _code_hash(phone: str, code: str) -> str:
    return salted_hmac(_CODE_HMAC_SALT, f"{phone}:{code}", algorithm="sha256").hexdigest()


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


# --- Codes by SMS ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeSent:
    phone: str
    expires_at: datetime.datetime


def login_code_request(
    *, phone: str, client_ip: str, now: datetime.datetime | None = None
) -> CodeSent:
    """Send a new sign-in code to ``phone`` (which supersedes any earlier one).

    The answer is the same whether the number has an account or not (no enumeration); a
    number with an account that was switched off gets no SMS."""
    phone = clean_phone(phone)
    now = now or timezone.now()
    ratelimit.hit(CODE_REQUESTS_PER_PHONE, phone)
    ratelimit.hit(CODE_REQUESTS_PER_IP, client_ip)
    expires_at = now + datetime.timedelta(seconds=CODE_TTL_SECONDS)
    if User.objects.filter(phone=phone, is_active=False).exists():
        return CodeSent(phone=phone, expires_at=expires_at)
    code = "".join(secrets.choice("0123456789") for _i in range(CODE_LENGTH))
    LoginCode.objects.create(
        phone=phone, code_hash=_code_hash(phone, code), created_at=now, expires_at=expires_at
    )
    # Same wording as the web's code (translated without tone marks: one GSM-7 segment).
    body = _("Your iHaNoi code is %(code)s. Do not share this code.") % {"code": code}
    send_sms(to=phone, body=body)
    return CodeSent(phone=phone, expires_at=expires_at)


# Codes are kept a day after they expire, for support calls ("no SMS came"), then go.
CODE_KEEP = datetime.timedelta(days=1)


def login_codes_purge(*, now: datetime.datetime | None = None) -> int:
    """Delete codes that expired more than ``CODE_KEEP`` ago; returns how many went."""
    cutoff = (now or timezone.now()) - CODE_KEEP
    deleted, _by_model = LoginCode.objects.filter(expires_at__lt=cutoff).delete()
    return deleted


@dataclass(frozen=True)
class SignIn:
    user: User
    device: DeviceToken
    token: str  # shown once; only its hash is stored
    new_account: bool


def _clean_code(raw: str) -> str:
    code = "".join(ch for ch in (raw or "") if ch not in " -.")
    if len(code) != CODE_LENGTH or not code.isascii() or not code.isdigit():
        raise ValidationError(
            {"code": [_("Enter the %(n)d digits of the code.") % {"n": CODE_LENGTH}]}
        )
    return code


def clean_device_name(raw: str) -> str:
    name = " ".join(nfc(raw or "").split())
    if not name:
        raise ValidationError({"device_name": [_("Name this device, e.g. “Lan's phone”.")]})
    if len(name) > DEVICE_NAME_MAX:
        raise ValidationError(
            {
                "device_name": [
                    _("The name is too long (at most %(n)d characters).") % {"n": DEVICE_NAME_MAX}
                ]
            }
        )
    return name


def login_code_verify(
    *,
    phone: str,
    code: str,
    device_name: str,
    client_ip: str,
    now: datetime.datetime | None = None,
) -> SignIn:
    """Check the code sent to ``phone`` and sign the device in: a bearer token for it.

    The first verified sign-in of a number creates the resident's account. A code works
    once, for ``CODE_TTL_SECONDS``, and dies after ``CODE_MAX_ATTEMPTS`` wrong tries."""
    phone = clean_phone(phone)
    code = _clean_code(code)
    device_name = clean_device_name(device_name)
    now = now or timezone.now()
    ratelimit.spent(CODE_FAILURES_PER_IP, client_ip)
    failure: str | None = None
    with transaction.atomic():
        row = (
            LoginCode.objects.select_for_update()
            .filter(phone=phone)
            .order_by("-created_at", "-pk")
            .first()
        )
        if row is None or row.used_at is not None or row.expires_at <= now:
            failure = _("This code has expired or was already used. Request a new code.")
        elif row.attempts >= CODE_MAX_ATTEMPTS:
            failure = _("Too many wrong codes. Request a new code.")
        elif not hmac.compare_digest(row.code_hash, _code_hash(phone, code)):
            # The count must survive the error below: it is saved in this transaction,
            # which commits because nothing is raised inside it.
            row.attempts += 1
            row.save(update_fields=["attempts"])
            failure = (
                _("The code is not correct.")
                if row.attempts < CODE_MAX_ATTEMPTS
                else _("Too many wrong codes. Request a new code.")
            )
        else:
            row.used_at = now
            row.save(update_fields=["used_at"])
    if failure is not None:
        ratelimit.hit(CODE_FAILURES_PER_IP, client_ip)
        raise ValidationError({"code": [failure]})
    with transaction.atomic():
        user, new_account = _resident_for(phone, now=now)
        device, token = device_token_issue(user=user, name=device_name, now=now)
    return SignIn(user=user, device=device, token=token, new_account=new_account)


def _resident_for(phone: str, *, now: datetime.datetime) -> tuple[User, bool]:
    user = User.objects.filter(phone=phone).first()
    new_account = False
    if user is None:
        try:
            with transaction.atomic():
                user = User.objects.create_user(
                    phone=phone, phone_verified=True, date_joined=now, role=Role.RESIDENT
                )
                new_account = True
        except IntegrityError:
            # The same number registered on the website a moment ago.
            user = User.objects.get(phone=phone)
    if not user.is_active or user.anonymised_at is not None:
        raise PermissionDenied(_("This account is switched off. Call the city's hotline."))
    if user.role != Role.RESIDENT:
        # Staff sign in on the website, with their second factor; a code by SMS alone must
        # not open their account.
        raise PermissionDenied(_("Staff accounts sign in on the website."))
    if not user.phone_verified:
        user.phone_verified = True
        user.save(update_fields=["phone_verified"])
    return user, new_account


# --- Device tokens --------------------------------------------------------------------------


def device_token_issue(
    *, user: User, name: str, now: datetime.datetime | None = None
) -> tuple[DeviceToken, str]:
    """A new bearer token for a device of ``user``: the row and the token itself, which is
    shown once and never stored. (Sign-in calls it after checking the code; tests and
    operators' scripts may call it for an account they already trust.)"""
    name = clean_device_name(name)
    now = now or timezone.now()
    while True:
        prefix = secrets.token_hex(6)
        raw = f"{TOKEN_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                device = DeviceToken.objects.create(
                    user=user,
                    name=name,
                    prefix=prefix,
                    token_hash=_token_hash(raw),
                    created_at=now,
                    last_used_at=now,
                )
        except IntegrityError:  # 48 random bits collided: draw again
            continue
        return device, raw


def device_token_authenticate(
    *, raw: str, now: datetime.datetime | None = None
) -> DeviceToken | None:
    """The active device token ``raw`` names, with its user; None for anything else.

    Marks the device as used (at most every ``TOUCH_EVERY``)."""
    scheme, _sep, rest = raw.partition("_")
    prefix, _sep, secret = rest.partition("_")
    if scheme != TOKEN_SCHEME or not prefix or not secret or len(raw) > 200:
        return None
    device = (
        DeviceToken.objects.select_related("user")
        .filter(prefix=prefix, revoked_at__isnull=True)
        .first()
    )
    if device is None or not hmac.compare_digest(device.token_hash, _token_hash(raw)):
        return None
    user = device.user
    if not user.is_active or user.anonymised_at is not None:
        return None
    now = now or timezone.now()
    if device.last_used_at is None or now - device.last_used_at >= TOUCH_EVERY:
        DeviceToken.objects.filter(pk=device.pk).update(last_used_at=now)
        device.last_used_at = now
    return device


@transaction.atomic
def device_token_revoke(
    *, user: User, device: DeviceToken, now: datetime.datetime | None = None
) -> DeviceToken:
    """Sign ``device`` out (its owner, from the app or the profile page). Idempotent."""
    if device.user_id != user.pk:
        raise PermissionDenied(_("This is not one of your devices."))
    if device.revoked_at is None:
        device.revoked_at = now or timezone.now()
        device.save(update_fields=["revoked_at"])
    PushSubscription.objects.filter(device=device).delete()
    return device


@transaction.atomic
def device_tokens_revoke_all(*, user: User, now: datetime.datetime | None = None) -> int:
    """Sign every app installation of ``user`` out (a lost phone, a shared one)."""
    count = DeviceToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=now or timezone.now()
    )
    PushSubscription.objects.filter(user=user).delete()
    return count


# --- Web Push subscriptions -----------------------------------------------------------------

ENDPOINT_MAX = 1000


def _b64url_bytes(value: str) -> bytes | None:
    text = (value or "").strip()
    if not text or len(text) > 200:
        return None
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


def push_subscription_register(
    *,
    user: User,
    device: DeviceToken | None,
    endpoint: str,
    p256dh: str,
    auth: str,
    now: datetime.datetime | None = None,
) -> PushSubscription:
    """Store (or move to ``user``) the browser's push endpoint and its keys (RFC 8291)."""
    errors: dict[str, list[str]] = {}
    endpoint = (endpoint or "").strip()
    parts = urlsplit(endpoint) if len(endpoint) <= ENDPOINT_MAX else None
    if parts is None or parts.scheme != "https" or not parts.hostname:
        errors["endpoint"] = [_("The push endpoint must be an https:// address.")]
    key = _b64url_bytes(p256dh)
    if key is None or len(key) != 65 or key[0] != 4:
        errors["p256dh"] = [_("The p256dh key must be a P-256 public key in base64url.")]
    secret = _b64url_bytes(auth)
    if secret is None or len(secret) != 16:
        errors["auth"] = [_("The auth secret must be 16 bytes in base64url.")]
    if errors:
        raise ValidationError(errors)
    now = now or timezone.now()
    with transaction.atomic():
        subscription, _created = PushSubscription.objects.update_or_create(
            endpoint=endpoint,
            defaults={
                "user": user,
                "device": device,
                "p256dh": p256dh.strip(),
                "auth": auth.strip(),
                "updated_at": now,
            },
            create_defaults={
                "user": user,
                "device": device,
                "p256dh": p256dh.strip(),
                "auth": auth.strip(),
                "created_at": now,
                "updated_at": now,
            },
        )
    return subscription


def push_subscription_delete(*, user: User, endpoint: str) -> bool:
    """Forget an endpoint of ``user`` (the browser unsubscribed). Returns whether one went."""
    deleted, _by_model = PushSubscription.objects.filter(
        user=user, endpoint=(endpoint or "").strip()
    ).delete()
    return deleted > 0
