"""Web Push to residents' browsers (VAPID, RFC 8030/8291/8292) through pywebpush.

The subscriptions are the rows the browsers registered (``user.push_subscriptions``: the
model lives with the API, which registers them for the app; the PWA registers through
``web.views.push_subscribe``). ``send_web_push`` is the sender the notification delivery
calls for a resident; without VAPID keys in the settings it sends nothing.

Settings (read with defaults, so that a site without Web Push needs none):

- ``VAPID_PUBLIC_KEY``: the application server key the browser subscribes with (base64url
  of the uncompressed P-256 point, 65 bytes);
- ``VAPID_PRIVATE_KEY``: its private half (base64url of the 32-byte scalar, or PEM/DER);
- ``VAPID_SUBJECT``: ``mailto:`` or ``https:`` contact the push services may write to;
- ``IHANOI_WEBPUSH_HOSTS``: the push services' hosts the server may post to. The endpoint
  comes from the browser, so anyone signed in could name an address inside the city's
  network; only these hosts (and their subdomains) are ever contacted.

``ihanoi generate_vapid_keys`` prints a fresh pair as environment lines.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from django.conf import settings

logger = logging.getLogger(__name__)

# The push services of the browsers residents use (Chrome/Android, Firefox, Edge, Safari).
DEFAULT_PUSH_HOSTS: tuple[str, ...] = (
    "fcm.googleapis.com",
    "android.googleapis.com",
    "updates.push.services.mozilla.com",
    "push.services.mozilla.com",
    "notify.windows.com",
    "push.apple.com",
)
# A status message is worth little after a day; the push service drops it then.
TTL_SECONDS = 24 * 60 * 60
TIMEOUT_SECONDS = 10
# Push services take up to 4 KB of payload; keep well inside it after encryption.
BODY_MAX_CHARS = 400


class WebPushUnavailable(Exception):
    """No subscription took the message and at least one failure may pass (the push service
    was down, timed out or throttled): the caller's outbox should try again later."""


@dataclass
class PushOutcome:
    sent: int = 0
    # The browser unsubscribed or the subscription expired (404/410): the row was deleted.
    gone: int = 0
    # Temporary failures (network, 429, 5xx) and refusals (other 4xx).
    failed: int = 0
    # Endpoints on a host not in IHANOI_WEBPUSH_HOSTS: never contacted.
    refused: int = 0


class _Subscription(Protocol):
    pk: Any
    endpoint: str
    p256dh: str
    auth: str

    def delete(self) -> Any: ...


@dataclass(frozen=True)
class VapidConfig:
    public_key: str
    private_key: str
    subject: str


def vapid_config() -> VapidConfig | None:
    """The VAPID keys from the settings, or None when Web Push is not configured."""
    public = str(getattr(settings, "VAPID_PUBLIC_KEY", "") or "").strip()
    private = str(getattr(settings, "VAPID_PRIVATE_KEY", "") or "").strip()
    subject = str(getattr(settings, "VAPID_SUBJECT", "") or "").strip()
    if not (public and private):
        return None
    if not subject.startswith(("mailto:", "https://")):
        subject = "mailto:" + (subject or "no-reply@localhost")
    return VapidConfig(public_key=public, private_key=private, subject=subject)


def vapid_public_key() -> str:
    """For the page: the key the browser subscribes with; empty when Web Push is off."""
    config = vapid_config()
    return config.public_key if config else ""


def allowed_push_hosts() -> tuple[str, ...]:
    hosts = getattr(settings, "IHANOI_WEBPUSH_HOSTS", DEFAULT_PUSH_HOSTS)
    return tuple(str(h).lower().strip(".") for h in hosts if h)


def endpoint_allowed(endpoint: str) -> bool:
    """An https address on a known push service (or a subdomain of one)."""
    parts = urlsplit(endpoint or "")
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not host:
        return False
    return any(host == h or host.endswith("." + h) for h in allowed_push_hosts())


def push_payload(*, title: str, body: str, url: str) -> str:
    """What the service worker's push handler reads (web/sw.js)."""
    if url and (not url.startswith("/") or url.startswith("//")):
        url = "/"
    text = " ".join(str(body).split())
    if len(text) > BODY_MAX_CHARS:
        text = text[: BODY_MAX_CHARS - 1] + "…"
    return json.dumps(
        {"title": " ".join(str(title).split())[:200], "body": text, "url": url or "/"},
        ensure_ascii=False,
    )


def push_session() -> requests.Session:
    """The HTTP session the push service is reached through (tests mount a fake on it)."""
    return requests.Session()


def _send_one(
    subscription: _Subscription,
    payload: str,
    config: VapidConfig,
    session: requests.Session,
) -> str:
    """Post to one subscription; returns "sent", "gone" or "failed"."""
    from pywebpush import WebPushException, webpush

    try:
        webpush(
            subscription_info={
                "endpoint": subscription.endpoint,
                "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
            },
            data=payload,
            vapid_private_key=config.private_key,
            vapid_claims={"sub": config.subject},
            ttl=TTL_SECONDS,
            timeout=TIMEOUT_SECONDS,
            headers={"Urgency": "normal"},
            requests_session=session,
        )
    except WebPushException as error:
        status = error.response.status_code if error.response is not None else None
        if status in (404, 410):
            return "gone"
        logger.warning("web push to subscription %s failed: %s", subscription.pk, status)
        return "failed"
    except (requests.RequestException, ValueError) as error:
        # Network trouble, or keys the browser sent that do not decode.
        logger.warning("web push to subscription %s failed: %s", subscription.pk, error)
        return "failed"
    return "sent"


def send_web_push(user: Any, title: str, body: str, url: str) -> PushOutcome:
    """Show ``title``/``body`` on every browser ``user`` subscribed; a tap opens ``url``
    (a path on this site). Does nothing without VAPID keys.

    Subscriptions the push service says are gone (404/410) are deleted. Raises
    ``WebPushUnavailable`` when no browser took the message and at least one failure may be
    temporary, so that an outbox retries later; a browser that took it may then show it
    twice, which the notification's ``tag`` (the URL) collapses into one.
    """
    outcome = PushOutcome()
    config = vapid_config()
    if config is None or user is None or not getattr(user, "pk", None):
        return outcome
    subscriptions = list(user.push_subscriptions.all())
    if not subscriptions:
        return outcome
    payload = push_payload(title=title, body=body, url=url)
    session = push_session()
    sent_ids = []
    try:
        for subscription in subscriptions:
            if not endpoint_allowed(subscription.endpoint):
                outcome.refused += 1
                continue
            result = _send_one(subscription, payload, config, session)
            if result == "sent":
                outcome.sent += 1
                sent_ids.append(subscription.pk)
            elif result == "gone":
                outcome.gone += 1
                subscription.delete()
            else:
                outcome.failed += 1
    finally:
        session.close()
    if outcome.failed and not outcome.sent:
        raise WebPushUnavailable(f"{outcome.failed} push subscription(s) failed")
    if sent_ids:
        logger.info("web push sent to %d browser(s) of user %s", len(sent_ids), user.pk)
    return outcome


def generate_vapid_keys() -> tuple[str, str]:
    """A new (public, private) pair in the base64url forms the settings take."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_numbers().private_value.to_bytes(32, "big")
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return _b64url(public), _b64url(private)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
