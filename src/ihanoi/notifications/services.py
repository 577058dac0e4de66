"""Writes for notifications: telling people, the inbox's "read" marks, operator retries.

Call ``notify``/``notify_many`` inside the transaction of the change being announced (the
feedback service's status change): the notification and its deliveries commit or roll back
with that change, and the delivery task is enqueued only after the commit. The task is a
shortcut, not the guarantee: ``ihanoi deliver-notifications`` run by the scheduler picks up
anything whose enqueue was lost (a crash right after the commit, a queue that was down).
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Sequence

from django.db import IntegrityError, transaction
from django.utils import timezone

from ihanoi.accounts.models import User
from ihanoi.lib.text import nfc
from ihanoi.notifications.models import Channel, Delivery, Notification

logger = logging.getLogger(__name__)

DEFAULT_CHANNELS: tuple[str, ...] = (Channel.EMAIL, Channel.SMS, Channel.PUSH)
_TITLE_MAX = Notification._meta.get_field("title").max_length or 200
_KIND_MAX = Notification._meta.get_field("kind").max_length or 50
_LINK_MAX = Notification._meta.get_field("link").max_length or 500
_DEDUPE_KEY_MAX = Notification._meta.get_field("dedupe_key").max_length or 200


def recipient_is_reachable(user: User) -> bool:
    """Inactive and anonymised (deleted) accounts are told nothing, not even in the inbox."""
    return user.is_active and user.anonymised_at is None


def channel_address(user: User, channel: str) -> str | None:
    """Where ``user`` receives ``channel`` now, or None. SMS needs a verified number: an
    unverified one may belong to somebody else, who must not get a resident's messages."""
    if not recipient_is_reachable(user):
        return None
    if channel == Channel.EMAIL:
        return user.email or None
    if channel == Channel.SMS:
        return user.phone if user.phone and user.phone_verified else None
    if channel == Channel.PUSH:
        # The browsers' own endpoints are read at send time; this only says there are some.
        return "push" if user.push_subscriptions.exists() else None
    return None


def _clean_channels(channels: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(channels))
    unknown = set(chosen) - set(Channel.values)
    if unknown:
        raise ValueError(f"Unknown notification channel(s): {sorted(unknown)}")
    return chosen


def _clean_link(link: str) -> str:
    # Only paths on this site: the link goes into e-mails and SMS under our name.
    if link and (not link.startswith("/") or link.startswith("//") or "\\" in link):
        raise ValueError(f"A notification link is a path on this site, not {link!r}")
    if len(link) > _LINK_MAX:
        raise ValueError(f"A notification link has at most {_LINK_MAX} characters")
    return link


def notify(
    *,
    recipient: User,
    kind: str,
    title: str,
    body: str,
    link: str,
    dedupe_key: str,
    channels: Iterable[str] = DEFAULT_CHANNELS,
) -> Notification | None:
    """Tell ``recipient`` about an event: an inbox entry, plus one delivery per channel in
    ``channels`` that they can receive now (e-mail if they have an address, SMS if they have
    a verified phone number).

    ``dedupe_key`` names the business event; a second call with the same key for the same
    recipient (a retried request, a re-run job) returns the existing notification and
    creates nothing. Returns None, creating nothing, for an inactive or deleted account.
    Title and body are stored as given: render them in the recipient's language.
    """
    notifications = notify_many(
        recipients=[recipient],
        kind=kind,
        title=title,
        body=body,
        link=link,
        dedupe_key=dedupe_key,
        channels=channels,
    )
    return notifications[0] if notifications else None


def notify_many(
    *,
    recipients: Iterable[User],
    kind: str,
    title: str,
    body: str,
    link: str,
    dedupe_key: str,
    channels: Iterable[str] = DEFAULT_CHANNELS,
) -> list[Notification]:
    """``notify`` for several recipients (a report's reporter and followers) in a few
    queries. Returns the notifications of the reachable recipients, in the given order,
    whether created now or earlier under the same ``dedupe_key``."""
    chosen_channels = _clean_channels(channels)
    # Checked here, not left to the database: SQLite would store an over-long key as it is.
    if not dedupe_key or len(dedupe_key) > _DEDUPE_KEY_MAX:
        raise ValueError(f"dedupe_key must have 1 to {_DEDUPE_KEY_MAX} characters")
    if not kind or len(kind) > _KIND_MAX:
        raise ValueError(f"kind must have 1 to {_KIND_MAX} characters")
    fields = {
        "kind": kind,
        # str(): callers may pass lazy translations. One line: the title is an e-mail subject.
        "title": " ".join(nfc(str(title)).split())[:_TITLE_MAX],
        "body": nfc(str(body)).strip(),
        "link": _clean_link(str(link)),
        "dedupe_key": dedupe_key,
    }
    # dict.fromkeys: one notification per person even if the caller lists them twice.
    people = [user for user in dict.fromkeys(recipients) if recipient_is_reachable(user)]
    if not people:
        return []
    # savepoint=False: inside the caller's transaction this block needs no savepoint of its
    # own (the inner one below covers the race); alone, it is still a transaction.
    with transaction.atomic(savepoint=False):
        try:
            # A savepoint: a concurrent caller with the same key must not break the caller's
            # transaction, only send us down the careful path below.
            with transaction.atomic():
                by_user, created = _create_missing(people, fields, chosen_channels)
        except IntegrityError:
            by_user, created = _create_one_by_one(people, fields, chosen_channels)
        if created:
            _enqueue_after_commit()
    return [by_user[user.pk] for user in people]


def _existing(people: Sequence[User], dedupe_key: str) -> dict[int, Notification]:
    return {
        notification.recipient_id: notification
        for notification in Notification.objects.filter(recipient__in=people, dedupe_key=dedupe_key)
    }


def _deliveries_for(
    notifications: Iterable[Notification], channels: Sequence[str]
) -> list[Delivery]:
    now = timezone.now()
    return [
        Delivery(notification=notification, channel=channel, next_attempt_at=now)
        for notification in notifications
        for channel in channels
        if channel_address(notification.recipient, channel)
    ]


def _create_missing(
    people: Sequence[User], fields: dict[str, str], channels: Sequence[str]
) -> tuple[dict[int, Notification], int]:
    by_user = _existing(people, fields["dedupe_key"])
    now = timezone.now()
    new = [
        Notification(recipient=user, created_at=now, **fields)
        for user in people
        if user.pk not in by_user
    ]
    Notification.objects.bulk_create(new)
    deliveries = _deliveries_for(new, channels)
    Delivery.objects.bulk_create(deliveries)
    by_user.update((notification.recipient_id, notification) for notification in new)
    return by_user, len(deliveries)


def _create_one_by_one(
    people: Sequence[User], fields: dict[str, str], channels: Sequence[str]
) -> tuple[dict[int, Notification], int]:
    """Another transaction committed some of the same notifications meanwhile: take each
    person on their own, keeping whichever row won."""
    by_user: dict[int, Notification] = {}
    created = 0
    for user in people:
        try:
            with transaction.atomic():
                notification = Notification.objects.create(recipient=user, **fields)
                deliveries = _deliveries_for([notification], channels)
                Delivery.objects.bulk_create(deliveries)
                created += len(deliveries)
        except IntegrityError:
            notification = Notification.objects.get(recipient=user, dedupe_key=fields["dedupe_key"])
        by_user[user.pk] = notification
    return by_user, created


def _enqueue_after_commit() -> None:
    """One delivery task per transaction, however many notify calls it made (a report
    submission notifies three groups): the task sweeps every due delivery anyway."""
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(
        func is _enqueue_delivery for _savepoints, func, _robust in connection.run_on_commit
    ):
        return
    transaction.on_commit(_enqueue_delivery, robust=True)


def _enqueue_delivery() -> None:
    # Imported here: the task module imports the sender, which imports this module.
    from ihanoi.notifications.tasks import deliver_pending

    deliver_pending.enqueue()


# --- The inbox ------------------------------------------------------------------------------


def notification_mark_read(
    *, notification: Notification, now: datetime.datetime | None = None
) -> Notification:
    """Mark one notification read (the first reading counts; reading again changes nothing)."""
    now = now or timezone.now()
    Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
    if notification.read_at is None:
        notification.refresh_from_db(fields=["read_at"])
    return notification


def notifications_mark_all_read(*, user: User, now: datetime.datetime | None = None) -> int:
    """Mark every unread notification of ``user`` read; returns how many changed."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=now or timezone.now()
    )


def notifications_erase(*, user: User) -> int:
    """Remove a person's notifications and their pending deliveries: for account deletion,
    as the messages repeat what the person reported. Returns how many notifications went."""
    with transaction.atomic():
        _total, by_model = Notification.objects.filter(recipient=user).delete()
    return by_model.get(Notification._meta.label, 0)


# --- Operators ------------------------------------------------------------------------------


def deliveries_retry(
    *, deliveries: Iterable[Delivery], now: datetime.datetime | None = None
) -> int:
    """Give failed deliveries a fresh set of attempts, the first one now (the operator fixed
    the gateway). Other statuses are left alone. Returns how many were put back."""
    ids = [delivery.pk for delivery in deliveries]
    with transaction.atomic():
        count = Delivery.objects.filter(pk__in=ids, status=Delivery.Status.FAILED).update(
            status=Delivery.Status.PENDING,
            attempts=0,
            next_attempt_at=now or timezone.now(),
            claimed_until=None,
        )
        if count:
            transaction.on_commit(_enqueue_delivery, robust=True)
    return count
