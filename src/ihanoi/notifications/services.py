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
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from ihanoi.accounts.models import User
from ihanoi.lib.text import nfc
from ihanoi.lib.transactions import on_commit_once
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


@dataclass(frozen=True)
class Message:
    """One thing to tell some people: what ``notify_many`` takes, as a value, so that a
    service can gather the messages of one change and write them together (``notify_all``)."""

    recipients: Sequence[User]
    kind: str
    title: str
    body: str
    link: str
    dedupe_key: str
    channels: Sequence[str] = DEFAULT_CHANNELS


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
        channels=tuple(channels),
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
    message = Message(
        recipients=list(recipients),
        kind=kind,
        title=title,
        body=body,
        link=link,
        dedupe_key=dedupe_key,
        channels=tuple(channels),
    )
    return notify_all([message])[0]


@dataclass
class _Item:
    """One notification to have: a recipient and the cleaned fields of its message."""

    user: User
    fields: dict[str, str]
    channels: Sequence[str]
    notification: Notification | None = None


def _clean(message: Message) -> tuple[dict[str, str], list[str]]:
    channels = _clean_channels(message.channels)
    # Checked here, not left to the database: SQLite would store an over-long key as it is.
    if not message.dedupe_key or len(message.dedupe_key) > _DEDUPE_KEY_MAX:
        raise ValueError(f"dedupe_key must have 1 to {_DEDUPE_KEY_MAX} characters")
    if not message.kind or len(message.kind) > _KIND_MAX:
        raise ValueError(f"kind must have 1 to {_KIND_MAX} characters")
    fields = {
        "kind": message.kind,
        # str(): callers may pass lazy translations. One line: the title is an e-mail subject.
        "title": " ".join(nfc(str(message.title)).split())[:_TITLE_MAX],
        "body": nfc(str(message.body)).strip(),
        "link": _clean_link(str(message.link)),
        "dedupe_key": message.dedupe_key,
    }
    return fields, channels


def notify_all(
    messages: Sequence[Message], *, fresh_keys: bool = False
) -> list[list[Notification]]:
    """Write several messages at once: one lookup of the dedupe keys, one ``INSERT`` of
    notifications and one of deliveries, whatever the number of messages and people.
    Returns, per message, what ``notify_many`` returns.

    ``fresh_keys=True`` says that every dedupe key names something made in the caller's
    transaction (an event just inserted): no notification can carry such a key yet, so the
    lookup, and the savepoint that covers a concurrent writer, are skipped. The unique
    constraint still stands behind that promise."""
    groups: list[list[_Item]] = []
    for message in messages:
        fields, channels = _clean(message)
        # dict.fromkeys: one notification per person even if the caller lists them twice.
        people = dict.fromkeys(message.recipients)
        groups.append(
            [_Item(user, fields, channels) for user in people if recipient_is_reachable(user)]
        )
    items = [item for group in groups for item in group]
    if items:
        # savepoint=False: inside the caller's transaction this block needs no savepoint of
        # its own (the inner one below covers the race); alone, it is still a transaction.
        with transaction.atomic(savepoint=False):
            if fresh_keys:
                created = _create(items)
            else:
                try:
                    # A savepoint: a concurrent caller with the same key must not break the
                    # caller's transaction, only send us down the careful path below.
                    with transaction.atomic():
                        _take_existing(items)
                        created = _create([item for item in items if item.notification is None])
                except IntegrityError:
                    created = _create_one_by_one(items)
            if created:
                _enqueue_after_commit()
    return [[item.notification for item in group if item.notification] for group in groups]


def _take_existing(items: Sequence[_Item]) -> None:
    """Give each item the notification an earlier call made under the same key, if any."""
    keys = {item.fields["dedupe_key"] for item in items}
    found = {
        (notification.recipient_id, notification.dedupe_key): notification
        for notification in Notification.objects.filter(
            recipient__in={item.user.pk for item in items}, dedupe_key__in=keys
        )
    }
    for item in items:
        item.notification = found.get((item.user.pk, item.fields["dedupe_key"]))


def _with_push(users: Iterable[User]) -> set[int]:
    """Which of ``users`` have a browser subscribed to Web Push (one query for all)."""
    ids = {user.pk for user in users}
    if not ids:
        return set()
    return set(
        User.objects.filter(pk__in=ids, push_subscriptions__isnull=False)
        .values_list("pk", flat=True)
        .distinct()
    )


def _deliveries_for(items: Sequence[_Item]) -> list[Delivery]:
    now = timezone.now()
    push_users = _with_push(item.user for item in items if Channel.PUSH in item.channels)
    deliveries = []
    for item in items:
        for channel in item.channels:
            if channel == Channel.PUSH:
                # The browsers' own endpoints are read at send time; this says there are some.
                reachable = item.user.pk in push_users and recipient_is_reachable(item.user)
            else:
                reachable = channel_address(item.user, channel) is not None
            if reachable:
                deliveries.append(
                    Delivery(notification=item.notification, channel=channel, next_attempt_at=now)
                )
    return deliveries


def _create(items: Sequence[_Item]) -> int:
    """Insert the items' notifications and deliveries; returns how many deliveries."""
    if not items:
        return 0
    now = timezone.now()
    for item in items:
        item.notification = Notification(recipient=item.user, created_at=now, **item.fields)
    Notification.objects.bulk_create([item.notification for item in items if item.notification])
    deliveries = _deliveries_for(items)
    Delivery.objects.bulk_create(deliveries)
    return len(deliveries)


def _create_one_by_one(items: Sequence[_Item]) -> int:
    """Another transaction committed some of the same notifications meanwhile: take each
    person on their own, keeping whichever row won."""
    created = 0
    for item in items:
        item.notification = None
        try:
            with transaction.atomic():
                created += _create([item])
        except IntegrityError:
            item.notification = Notification.objects.get(
                recipient=item.user, dedupe_key=item.fields["dedupe_key"]
            )
    return created


def _enqueue_after_commit() -> None:
    """One delivery task per transaction, however many notify calls it made (a report
    submission notifies three groups): the task sweeps every due delivery anyway."""
    on_commit_once(_enqueue_delivery, robust=True)


# While a delivery task waits in the queue, another one would find nothing it will not:
# each sweeps every due delivery. This key (in the shared cache) says one is waiting; the
# task deletes it when it starts, so news committed after that start enqueues a fresh one.
# It expires on its own, in case the waiting task is lost: a worker killed between taking
# the job and starting it. Until it expires nothing new is enqueued, so its lifetime is how
# long messages can stall after such a loss (the scheduler's sweep, every minute, also ends
# it). Short is cheap: a queue backed up for longer than this gets one more sweep per period
# (while the workers are down, about 240 an hour; on recovery they run back to back, ahead
# of what is queued after them, and all but the first find little to do).
DELIVERY_QUEUED_KEY = "ihanoi:notifications:delivery-queued"
DELIVERY_QUEUED_SECONDS = 15


def delivery_gather() -> datetime.timedelta:
    """How much later the delivery task starts, where the queue can hold a task until a given
    moment (``IHANOI_DELIVERY_GATHER_MS``, 0.5 s): what is committed meanwhile finds the key
    and joins that sweep. Under a stream of submissions that makes one task, with its queue's
    own cost, per half second or so instead of one per few commits, and lets the sweep claim
    in groups (docs/performance.md, "The delivery worker"); a message waits as long again.
    Should the queue's scheduler be down, the scheduler's sweep still runs every minute."""
    return datetime.timedelta(milliseconds=settings.IHANOI_DELIVERY_GATHER_MS)


def _enqueue_delivery() -> None:
    # Imported here: the task module imports the sender, which imports this module.
    from ihanoi.notifications.tasks import deliver_pending

    if not cache.add(DELIVERY_QUEUED_KEY, 1, timeout=DELIVERY_QUEUED_SECONDS):
        return  # a burst of submissions queues one sweep, not one per submission
    try:
        task = deliver_pending
        gather = delivery_gather()
        if gather and task.get_backend().supports_defer:
            task = task.using(run_after=timezone.now() + gather)
        task.enqueue()
    except Exception:
        cache.delete(DELIVERY_QUEUED_KEY)  # nothing waits after all: let the next one try
        raise


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
