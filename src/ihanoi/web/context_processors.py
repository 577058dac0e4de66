from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ihanoi.notifications.selectors import unread_count
from ihanoi.web.push import vapid_public_key

# The few words app.js says (network state, reports kept on the phone, notifications).
PWA_STRINGS = {
    "offline": _("You are offline. A report you send now is kept on this phone."),
    "online": _("Back online."),
    "draftsWaiting": _("Reports on this phone waiting to be sent: %(n)s"),
    "draftSent": _("A report saved on this phone was sent."),
    "signinToSend": _(
        "Your session has ended: sign in again to send the reports saved on this phone."
    ),
    "pushOn": _("Turn on notifications on this phone"),
    "pushOff": _("Turn off notifications on this phone"),
    "pushDenied": _("Notifications are blocked in this browser's settings."),
    "pushFailed": _("Notifications could not be turned on. Try again later."),
}


def header(request: HttpRequest) -> dict[str, Any]:
    """The unread-notifications badge of the header (one indexed COUNT, signed-in only),
    the map's tile server, and what the installable app's script needs."""
    context: dict[str, Any] = {
        "map_tiles": settings.IHANOI_MAP_TILES,
        "map_attribution": settings.IHANOI_MAP_ATTRIBUTION,
        "vapid_public_key": vapid_public_key(),
        "pwa_strings": PWA_STRINGS,
    }
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        context["unread_notifications"] = unread_count(user)
    return context
