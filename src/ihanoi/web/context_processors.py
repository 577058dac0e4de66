from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from ihanoi.notifications.selectors import unread_count


def header(request: HttpRequest) -> dict[str, Any]:
    """The unread-notifications badge of the header (one indexed COUNT, signed-in only) and
    the map's tile server."""
    context: dict[str, Any] = {
        "map_tiles": settings.IHANOI_MAP_TILES,
        "map_attribution": settings.IHANOI_MAP_ATTRIBUTION,
    }
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        context["unread_notifications"] = unread_count(user)
    return context
