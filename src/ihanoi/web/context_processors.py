from __future__ import annotations

from django.http import HttpRequest

from ihanoi.notifications.selectors import unread_count


def header(request: HttpRequest) -> dict[str, int]:
    """The unread-notifications badge of the header (one indexed COUNT, signed-in only)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": unread_count(user)}
