"""Reads for notifications: a person's inbox and the header's unread badge."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet

from ihanoi.accounts.models import User
from ihanoi.notifications.models import Notification


def inbox(user: User) -> QuerySet[Notification]:
    """``user``'s notifications, newest first (the id breaks ties within one transaction)."""
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-pk")


def unread_count(user: User | AnonymousUser) -> int:
    """For the header badge; 0 for a visitor who is not signed in."""
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
