"""The outbox sender: takes due ``Delivery`` rows, sends them, records the outcome.

Several senders may run at once (task workers, the scheduler's sweep). Each row is claimed
with one conditional UPDATE — "still due, and still at the attempt count I read" — whose row
count says whether this sender won; the loser moves on. That compare-and-set needs no row
locks, so it behaves the same on PostgreSQL and on SQLite (which has none), and a sender
holds no transaction open while it talks to a slow gateway.

A claim is a lease (``claimed_until``): a sender that dies mid-way leaves the row in
``sending`` and, once the lease has run out, another sender takes it over. The outcome is
written only if the row is still under this sender's claim (same attempt count), so a sender
that overran its lease cannot overwrite its successor's result.

Guarantee: a delivery is handed to the gateway until it is accepted once; nothing is lost
while a channel is down (failed attempts are retried with exponential backoff, 1 min, 2, 4 …
capped at 1 h, up to ``MAX_ATTEMPTS``; then the row is ``failed``, visible in the admin,
where "retry now" puts it back). Exactly one successful send per delivery holds unless a
sender stops between the gateway accepting the message and the row being marked ``sent``
(crash, killed process, lost database connection, or a send that outlasts the lease): the
row is then sent again after its lease, so the sender's guarantee is at-least-once.

A sweep claims its rows in small groups, one statement per group (``deliveries_claim``):
the same compare-and-set for every row of the group, with ``RETURNING`` telling which rows
this sender won. A group's leases start together, so the group is only as large as half the
lease covers if every send in it takes as long as its timeout allows (``claim_group_size``),
and before each send the sender checks that the claim still covers one more such send; if
not, it renews what is still its own of the group (``deliveries_renew``, the same fencing).
A row on its last attempt is claimed alone.

Every attempt at a delivery carries the same key (``idempotency_key``): the SMS gateway
passes it to the provider's deduplication field, and e-mail uses it as the ``Message-ID``,
which mail stores deduplicate on. With a provider that honours it, a resend after such a
stop reaches nobody twice: effectively once (docs/faults.md counts it under faults).
"""

from __future__ import annotations

import datetime
import functools
import logging
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import OperationalError, connection
from django.db.models import F, Q
from django.db.models.sql import UpdateQuery
from django.utils import timezone

from ihanoi.accounts.sms import deliver_sms_now
from ihanoi.notifications.models import Channel, Delivery, Notification
from ihanoi.notifications.services import channel_address
from ihanoi.web.push import TIMEOUT_SECONDS as PUSH_TIMEOUT_SECONDS

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
FIRST_RETRY_DELAY = datetime.timedelta(minutes=1)
MAX_RETRY_DELAY = datetime.timedelta(hours=1)
EMAIL_TIMEOUT_SECONDS = 30
DEFAULT_LIMIT = 100
_ERROR_MAX_CHARS = 1000


@dataclass
class DeliveryStats:
    sent: int = 0
    # Failed this time, to be tried again later.
    retrying: int = 0
    failed: int = 0
    skipped: int = 0
    # Due when we looked, but another sender claimed it first.
    lost: int = 0
    # Rows this sweep looked at: a full batch means more may be waiting.
    seen: int = 0

    @property
    def claimed(self) -> int:
        return self.sent + self.retrying + self.failed + self.skipped


def retry_delay(attempts: int) -> datetime.timedelta:
    """Wait after the ``attempts``-th failed attempt: 1 min, 2, 4 … at most 1 h."""
    return min(FIRST_RETRY_DELAY * 2 ** max(attempts - 1, 0), MAX_RETRY_DELAY)


def _claimable(now: datetime.datetime) -> Q:
    pending_and_due = Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
    lease_expired = Q(status=Delivery.Status.SENDING, claimed_until__lt=now)
    return (pending_and_due | lease_expired) & Q(attempts__lt=MAX_ATTEMPTS)


def deliveries_due(*, now: datetime.datetime, limit: int) -> list[Delivery]:
    """Rows a sender may claim now: expired claims first (they waited longest), then due
    pending rows oldest first. Two queries, so each one walks the (status, next attempt)
    index in order instead of sorting every due row."""
    rows = Delivery.objects.select_related("notification__recipient")
    expired = list(
        rows.filter(
            status=Delivery.Status.SENDING, claimed_until__lt=now, attempts__lt=MAX_ATTEMPTS
        ).order_by("claimed_until", "pk")[:limit]
    )
    if len(expired) >= limit:
        return expired
    pending = rows.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
    return expired + list(pending.order_by("next_attempt_at", "pk")[: limit - len(expired)])


def delivery_claim(*, delivery: Delivery, now: datetime.datetime) -> bool:
    """Claim ``delivery`` for one attempt, as read by the caller; False if another sender
    claimed it since (or it is no longer due). On success the in-memory row is updated."""
    return bool(deliveries_claim(deliveries=[delivery], now=now))


def deliveries_claim(*, deliveries: Sequence[Delivery], now: datetime.datetime) -> list[Delivery]:
    """Claim each of ``deliveries`` for one attempt, as read by the caller: a row is won if it
    is still claimable ``now`` and still at the attempt count read (the count is the claim's
    fencing token). Returns the rows won, in the order given, updated in memory; the others
    were claimed by another sender since, or are no longer due. One statement for all of
    them where the database can say which rows it changed (``_update_as_read``)."""
    claimed_until = now + lease()
    won = _update_as_read(
        deliveries,
        where=_claimable(now),
        changes={
            "status": Delivery.Status.SENDING,
            "attempts": F("attempts") + 1,
            "claimed_until": claimed_until,
        },
    )
    claimed = [delivery for delivery in deliveries if delivery.pk in won]
    for delivery in claimed:
        delivery.status = Delivery.Status.SENDING
        delivery.attempts += 1
        delivery.claimed_until = claimed_until
    return claimed


def deliveries_renew(*, deliveries: Sequence[Delivery], now: datetime.datetime) -> list[Delivery]:
    """Extend this sender's claims on ``deliveries`` (claimed by it, not yet sent) to a full
    lease from ``now``. Returns the rows still this sender's, in order, updated in memory; a
    row whose claim ran out and was taken over by another sender (which counted one attempt
    more) is left to that sender."""
    claimed_until = now + lease()
    kept = _update_as_read(
        deliveries,
        where=Q(status=Delivery.Status.SENDING),
        changes={"claimed_until": claimed_until},
    )
    renewed = [delivery for delivery in deliveries if delivery.pk in kept]
    for delivery in renewed:
        delivery.claimed_until = claimed_until
    return renewed


# PostgreSQL's "deadlock detected".
DEADLOCK_DETECTED = "40P01"


def _update_as_read(
    deliveries: Sequence[Delivery], *, where: Q, changes: dict[str, Any]
) -> set[int]:
    """Apply ``changes`` to the rows of ``deliveries`` that ``where`` still matches and that
    are still at the attempt count read; the ids of the rows changed.

    On PostgreSQL and SQLite from 3.35 (whose feature flag names INSERT's RETURNING, which
    came in the same release) the ORM's own UPDATE for all of them, with ``RETURNING``
    added: the ORM's update returns only a count, which cannot say which rows were won.
    Elsewhere, one such UPDATE per row. Two senders' statements over overlapping rows may
    lock them in opposite orders: PostgreSQL then aborts one, which changes nothing, and its
    rows wait for the next sweep."""
    if not deliveries:
        return set()

    def as_read(delivery: Delivery) -> Q:
        return Q(pk=delivery.pk, attempts=delivery.attempts)

    if not (
        connection.vendor in ("postgresql", "sqlite")
        and connection.features.can_return_columns_from_insert
    ):
        return {
            delivery.pk
            for delivery in deliveries
            if Delivery.objects.filter(where, as_read(delivery)).update(**changes)
        }
    rows = functools.reduce(operator.or_, map(as_read, deliveries))
    update = cast(UpdateQuery, Delivery.objects.filter(where, rows).query.chain(UpdateQuery))
    update.add_update_values(changes)
    sql, params = update.get_compiler(connection=connection).as_sql()
    pk = connection.ops.quote_name(str(Delivery._meta.pk.column))
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"{sql} RETURNING {pk}", params)
            return {row[0] for row in cursor.fetchall()}
    except OperationalError as error:
        if getattr(error.__cause__, "sqlstate", None) != DEADLOCK_DETECTED:
            raise
        logger.warning("%d deliveries: the claim deadlocked with another sender's", len(deliveries))
        return set()


# At most this many rows per claim: a group's leases run from the same moment, so a smaller
# group when the lease is short or sends may be slow (claim_group_size).
CLAIM_GROUP_MAX = 25


def send_timeout_seconds() -> int:
    """The longest a single send may take: the e-mail timeout, Web Push's (the SMS backends
    answer at once or fail)."""
    return max(settings.EMAIL_TIMEOUT or EMAIL_TIMEOUT_SECONDS, PUSH_TIMEOUT_SECONDS)


def claim_group_size() -> int:
    """How many rows one claim takes: as many as can all be sent within half the lease if
    every send takes as long as its timeout (5 with the defaults: a 300 s lease, 30 s for
    e-mail); never fewer than one. A timeout bounds each step of a send, not the whole of it,
    so the sweep also renews a group's claim when it runs short (``deliveries_run``)."""
    fits = settings.IHANOI_DELIVERY_LEASE_SECONDS // (2 * send_timeout_seconds())
    return max(1, min(CLAIM_GROUP_MAX, fits))


def _finish(delivery: Delivery, **fields: Any) -> bool:
    """Write an attempt's outcome if the row is still under this attempt's claim."""
    mine = Delivery.objects.filter(
        pk=delivery.pk, status=Delivery.Status.SENDING, attempts=delivery.attempts
    )
    if mine.update(claimed_until=None, **fields):
        for name, value in fields.items():
            setattr(delivery, name, value)
        delivery.claimed_until = None
        return True
    logger.warning(
        "delivery %s: lease lost before the outcome was recorded (attempt %s)",
        delivery.pk,
        delivery.attempts,
    )
    return False


def _expire_dead_claims(now: datetime.datetime) -> int:
    """Rows whose sender died on the last allowed attempt: nobody will claim them again."""
    return Delivery.objects.filter(
        status=Delivery.Status.SENDING, claimed_until__lt=now, attempts__gte=MAX_ATTEMPTS
    ).update(
        status=Delivery.Status.FAILED,
        claimed_until=None,
        last_error="The sender stopped during the last attempt (its claim expired).",
    )


def lease() -> datetime.timedelta:
    """How long a claim lasts: longer than any single send may take (e-mail gets a timeout
    well inside it, below). ``IHANOI_DELIVERY_LEASE_SECONDS``, 5 minutes by default."""
    return datetime.timedelta(seconds=settings.IHANOI_DELIVERY_LEASE_SECONDS)


def idempotency_key(delivery: Delivery) -> str:
    """The same for every attempt at ``delivery``, different for every other delivery."""
    return f"ihanoi-delivery-{delivery.pk}"


def _message_id(key: str) -> str:
    host = urlsplit(str(getattr(settings, "IHANOI_SITE_URL", "") or "")).hostname
    return f"<{key}@{host or 'ihanoi.invalid'}>"


def site_url(link: str) -> str:
    """The absolute address of a notification's link for e-mail and SMS; empty when the
    site's address is not configured (``IHANOI_SITE_URL``) or there is no link."""
    base = str(getattr(settings, "IHANOI_SITE_URL", "") or "").rstrip("/")
    return f"{base}{link}" if base and link else ""


def email_text(notification: Notification) -> str:
    url = site_url(notification.link)
    return "\n\n".join(part for part in (notification.body, url) if part)


def sms_text(notification: Notification) -> str:
    # Title and link only: an SMS is paid per segment (70 characters with Vietnamese marks);
    # the full text waits in the inbox.
    url = site_url(notification.link)
    return " ".join(part for part in ("iHaNoi:", notification.title, url) if part)


def _send(channel: str, address: str, notification: Notification, key: str) -> None:
    if channel == Channel.EMAIL:
        # A hung SMTP server must not outlast the lease (another sender would send again).
        timeout = settings.EMAIL_TIMEOUT or EMAIL_TIMEOUT_SECONDS
        EmailMessage(
            subject=notification.title,
            body=email_text(notification),
            to=[address],
            connection=get_connection(timeout=timeout),
            headers={"Message-ID": _message_id(key)},
        ).send()
    elif channel == Channel.SMS:
        deliver_sms_now(to=address, body=sms_text(notification), idempotency_key=key)
    elif channel == Channel.PUSH:
        # WebPushUnavailable (no browser took it, maybe for a while) is a retryable failure.
        from ihanoi.web.push import send_web_push

        send_web_push(
            notification.recipient, notification.title, notification.body, notification.link
        )
    else:
        raise ValueError(f"Unknown channel {channel!r}")


def _attempt(delivery: Delivery, clock: Callable[[], datetime.datetime]) -> str:
    """Send one claimed delivery; returns the status it ended in."""
    notification = delivery.notification
    address = channel_address(notification.recipient, delivery.channel)
    if address is None:
        # Deleted account, address removed, phone no longer verified since notify().
        _finish(
            delivery,
            status=Delivery.Status.SKIPPED,
            last_error=f"The recipient has no {delivery.channel} address any more.",
        )
        return Delivery.Status.SKIPPED
    try:
        _send(delivery.channel, address, notification, idempotency_key(delivery))
    except Exception as error:  # any gateway failure: record it and retry later
        error_text = f"{type(error).__name__}: {error}"[:_ERROR_MAX_CHARS]
        logger.warning(
            "delivery %s (%s) attempt %s failed: %s",
            delivery.pk,
            delivery.channel,
            delivery.attempts,
            error_text,
        )
        if delivery.attempts >= MAX_ATTEMPTS:
            _finish(delivery, status=Delivery.Status.FAILED, last_error=error_text)
            return Delivery.Status.FAILED
        _finish(
            delivery,
            status=Delivery.Status.PENDING,
            next_attempt_at=clock() + retry_delay(delivery.attempts),
            last_error=error_text,
        )
        return Delivery.Status.PENDING
    _finish(delivery, status=Delivery.Status.SENT, sent_at=clock())
    return Delivery.Status.SENT


def deliveries_run(
    *, now: datetime.datetime | None = None, limit: int = DEFAULT_LIMIT
) -> DeliveryStats:
    """One sweep: claim and send up to ``limit`` due deliveries, one at a time, claimed in
    groups of ``claim_group_size``; before each send, a claim with less than a send's timeout
    left is renewed, for what is still this sender's of the group.

    ``now`` freezes the clock (tests); otherwise each claim takes the current time, so that
    a group's leases start when its first send starts, not when the sweep did. Call it outside a
    transaction: each claim and each outcome must commit on its own.
    """
    clock: Callable[[], datetime.datetime] = (lambda: now) if now is not None else timezone.now
    stats = DeliveryStats()
    started = clock()
    stats.failed += _expire_dead_claims(started)
    due = deliveries_due(now=started, limit=limit)
    stats.seen = len(due)
    for group in _groups(due, claim_group_size()):
        claimed = deliveries_claim(deliveries=group, now=clock())
        stats.lost += len(group) - len(claimed)
        sent_any = False  # before the group's first send its claim is as fresh as can be
        while claimed:
            if sent_any and not _covers_a_send(claimed[0], clock()):
                # The sends before it took long: renew what is still ours of the group, for a
                # whole lease (all there is to give, even if the lease is set shorter than a
                # send's timeout), and send.
                kept = deliveries_renew(deliveries=claimed, now=clock())
                stats.lost += len(claimed) - len(kept)
                claimed = kept
                if not claimed:
                    break
            sent_any = True
            outcome = _attempt(claimed.pop(0), clock)
            if outcome == Delivery.Status.SENT:
                stats.sent += 1
            elif outcome == Delivery.Status.PENDING:
                stats.retrying += 1
            elif outcome == Delivery.Status.FAILED:
                stats.failed += 1
            else:
                stats.skipped += 1
    return stats


def _groups(due: Sequence[Delivery], size: int) -> list[list[Delivery]]:
    """``due`` in claim groups of ``size``, in order; a row on its last attempt alone: should
    the sender stop before reaching it, its claim would expire and the row be given up as
    failed without ever having been tried."""
    groups: list[list[Delivery]] = []
    group: list[Delivery] = []
    for delivery in due:
        if delivery.attempts + 1 >= MAX_ATTEMPTS:
            groups += [group, [delivery]] if group else [[delivery]]
            group = []
            continue
        group.append(delivery)
        if len(group) == size:
            groups.append(group)
            group = []
    return [*groups, group] if group else groups


def _covers_a_send(delivery: Delivery, now: datetime.datetime) -> bool:
    """Whether the claim on ``delivery`` lasts through one more send of the longest kind."""
    left = (delivery.claimed_until or now) - now
    return left >= datetime.timedelta(seconds=send_timeout_seconds())


def next_attempt_at() -> datetime.datetime | None:
    """When the earliest pending delivery is due (None if none is pending)."""
    return (
        Delivery.objects.filter(status=Delivery.Status.PENDING)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
