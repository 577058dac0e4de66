"""A sweep claims its deliveries in groups, one statement per group: the same compare-and-set
as a single claim for every row, and only as many rows as the lease covers."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ihanoi.notifications import delivery as sender
from ihanoi.notifications.delivery import (
    MAX_ATTEMPTS,
    claim_group_size,
    deliveries_claim,
    deliveries_run,
    delivery_claim,
    lease,
)
from ihanoi.notifications.models import Delivery
from tests.notifications.conftest import sms_sent_to

pytestmark = pytest.mark.django_db

MINUTE = datetime.timedelta(minutes=1)


def sms_deliveries(make_user, make_notification, count: int) -> list[Delivery]:
    for _ in range(count):
        make_notification(recipient=make_user(), channels=["sms"])
    return list(Delivery.objects.select_related("notification__recipient").order_by("pk"))


def claims(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]


def test_a_group_is_claimed_in_one_statement(make_user, make_notification):
    rows = sms_deliveries(make_user, make_notification, 4)
    now = timezone.now()

    with CaptureQueriesContext(connection) as queries:
        won = deliveries_claim(deliveries=rows, now=now)

    assert len(queries.captured_queries) == 1
    assert [row.pk for row in won] == [row.pk for row in rows]
    for row in Delivery.objects.all():
        assert (row.status, row.attempts, row.claimed_until) == ("sending", 1, now + lease())
    assert {(row.status, row.attempts, row.claimed_until) for row in won} == {
        ("sending", 1, now + lease())
    }


def test_rows_another_sender_took_or_that_are_no_longer_due_are_left_out(
    make_user, make_notification
):
    taken, later, moved_on, free = sms_deliveries(make_user, make_notification, 4)
    now = timezone.now()
    # Read by both senders; the other one claims ``taken`` first.
    assert delivery_claim(delivery=Delivery.objects.get(pk=taken.pk), now=now)
    Delivery.objects.filter(pk=later.pk).update(next_attempt_at=now + MINUTE)
    # Claimed, failed and put back since it was read: the attempt count read is stale.
    Delivery.objects.filter(pk=moved_on.pk).update(attempts=1)

    won = deliveries_claim(deliveries=[taken, later, moved_on, free], now=now)

    assert [row.pk for row in won] == [free.pk]
    assert (taken.status, taken.attempts) == ("pending", 0)  # the losers are left as read
    states = dict(Delivery.objects.values_list("pk", "attempts"))
    assert states == {taken.pk: 1, later.pk: 0, moved_on.pk: 1, free.pk: 1}


def test_an_expired_claim_is_taken_over_in_a_group_but_not_after_the_last_attempt(
    make_user, make_notification
):
    expired, exhausted = sms_deliveries(make_user, make_notification, 2)
    now = timezone.now()
    Delivery.objects.filter(pk=exhausted.pk).update(attempts=MAX_ATTEMPTS - 1)
    exhausted.refresh_from_db()
    assert deliveries_claim(deliveries=[expired, exhausted], now=now) == [expired, exhausted]

    later = now + lease() + MINUTE
    won = deliveries_claim(deliveries=list(Delivery.objects.order_by("pk")), now=later)

    assert [(row.pk, row.attempts) for row in won] == [(expired.pk, 2)]
    assert Delivery.objects.get(pk=exhausted.pk).attempts == MAX_ATTEMPTS


def test_nothing_to_claim_costs_no_statement():
    with CaptureQueriesContext(connection) as queries:
        assert deliveries_claim(deliveries=[], now=timezone.now()) == []
    assert queries.captured_queries == []


def test_a_sweep_claims_in_groups_the_lease_can_cover(make_user, make_notification, settings):
    settings.IHANOI_DELIVERY_LEASE_SECONDS = 300
    settings.EMAIL_TIMEOUT = 30
    assert claim_group_size() == 5  # every one of five sends may take 30 s: 150 s of 300
    sms_deliveries(make_user, make_notification, 12)

    with CaptureQueriesContext(connection) as queries:
        stats = deliveries_run(limit=100)

    assert (stats.sent, stats.lost) == (12, 0)
    assert len([sql for sql in claims(queries) if "RETURNING" in sql]) == 3  # 5 + 5 + 2
    assert set(Delivery.objects.values_list("status", "attempts")) == {("sent", 1)}


@pytest.mark.parametrize(
    ("lease_seconds", "email_timeout", "size"),
    [(300, 30, 5), (5, 30, 1), (60, 30, 1), (600, 10, 25), (3600, 60, 25), (120, 1, 6)],
)
def test_the_group_is_as_large_as_half_the_lease_over_the_slowest_send(
    settings, lease_seconds, email_timeout, size
):
    # Web Push allows 10 s a send: with e-mail's timeout at 1 s it is the slowest.
    settings.IHANOI_DELIVERY_LEASE_SECONDS = lease_seconds
    settings.EMAIL_TIMEOUT = email_timeout
    assert claim_group_size() == size


def test_the_rest_of_a_group_is_sent_after_one_row_fails(
    resident, make_user, make_notification, settings
):
    settings.SMS_BACKEND = "tests.notifications.gateways.FailingOnceSMSBackend"
    from tests.notifications.gateways import FailingOnceSMSBackend

    FailingOnceSMSBackend.failures_left = 1
    first, *others = sms_deliveries(make_user, make_notification, 3)

    stats = deliveries_run(limit=100)

    assert (stats.sent, stats.retrying) == (2, 1)
    assert Delivery.objects.get(pk=first.pk).status == "pending"
    for row in others:
        row.refresh_from_db()
        assert (row.status, row.attempts) == ("sent", 1)
        assert len(sms_sent_to(row.notification.recipient.phone)) == 1


def test_without_returning_each_row_is_claimed_on_its_own(
    make_user, make_notification, monkeypatch
):
    """SQLite before 3.35 has no RETURNING: the same claim, one statement per row."""
    taken, free = sms_deliveries(make_user, make_notification, 2)
    monkeypatch.setattr(connection.features, "can_return_columns_from_insert", False)
    now = timezone.now()
    assert delivery_claim(delivery=Delivery.objects.get(pk=taken.pk), now=now)  # another sender

    with CaptureQueriesContext(connection) as queries:
        won = deliveries_claim(deliveries=[taken, free], now=now)

    assert [row.pk for row in won] == [free.pk]
    assert len(claims(queries)) == 2
    assert "RETURNING" not in " ".join(claims(queries))
    assert Delivery.objects.get(pk=free.pk).attempts == 1


def test_a_claim_running_short_is_renewed_before_the_next_send(
    make_user, make_notification, settings, monkeypatch
):
    """A timeout bounds each step of a send, not the whole: slow sends ahead of a row must
    not let its claim run out before its turn."""
    settings.IHANOI_DELIVERY_LEASE_SECONDS = 300
    settings.EMAIL_TIMEOUT = 30
    rows = sms_deliveries(make_user, make_notification, 3)
    start = timezone.now()
    clock = {"now": start}
    sends: list[tuple[int, datetime.datetime]] = []

    def slow_attempt(delivery, _clock):
        # Each send takes four minutes; the row's claim, as the database has it, at that time.
        row = Delivery.objects.get(pk=delivery.pk)
        sends.append((delivery.pk, row.claimed_until))
        clock["now"] += 4 * MINUTE
        sender._finish(delivery, status=Delivery.Status.SENT, sent_at=clock["now"])
        return Delivery.Status.SENT

    monkeypatch.setattr(sender, "_attempt", slow_attempt)
    monkeypatch.setattr(sender.timezone, "now", lambda: clock["now"])

    stats = deliveries_run(limit=100)

    assert (stats.sent, stats.lost) == (3, 0)
    assert [pk for pk, _ in sends] == [row.pk for row in rows]
    # Each row's claim covered a whole send (30 s) when its send started: the first two
    # from the claim (the second with a minute left), the third renewed at its turn, its
    # claim having run out a few minutes before.
    for number, (_pk, claimed_until) in enumerate(sends):
        assert claimed_until >= start + number * 4 * MINUTE + 30 * datetime.timedelta(seconds=1)
    assert [claimed_until for _pk, claimed_until in sends] == [
        start + lease(),
        start + lease(),
        start + 8 * MINUTE + lease(),
    ]
    assert set(Delivery.objects.values_list("status", "attempts")) == {("sent", 1)}


def test_a_row_taken_over_while_waiting_is_not_renewed_nor_sent(
    make_user, make_notification, settings
):
    mine, taken = sms_deliveries(make_user, make_notification, 2)
    now = timezone.now()
    claimed = deliveries_claim(deliveries=[mine, taken], now=now)
    # Our claim on ``taken`` ran out and another sender took it over (one attempt more).
    later = now + lease() + MINUTE
    assert delivery_claim(delivery=Delivery.objects.get(pk=taken.pk), now=later)

    kept = sender.deliveries_renew(deliveries=claimed, now=later)

    assert [row.pk for row in kept] == [mine.pk]
    assert Delivery.objects.get(pk=mine.pk).claimed_until == later + lease()
    assert Delivery.objects.get(pk=taken.pk).claimed_until == later + lease()  # the other's
    assert Delivery.objects.get(pk=taken.pk).attempts == 2


def test_a_row_on_its_last_attempt_is_claimed_alone(make_user, make_notification, settings):
    settings.IHANOI_DELIVERY_LEASE_SECONDS = 300
    settings.EMAIL_TIMEOUT = 30
    rows = sms_deliveries(make_user, make_notification, 7)
    Delivery.objects.filter(pk=rows[2].pk).update(attempts=MAX_ATTEMPTS - 1)
    for row in rows:
        row.refresh_from_db()

    groups = sender._groups(rows, claim_group_size())

    assert [[row.pk for row in group] for group in groups] == [
        [rows[0].pk, rows[1].pk],
        [rows[2].pk],
        [row.pk for row in rows[3:]],
    ]
    assert sender._groups([], 5) == []


def test_a_deadlocked_claim_claims_nothing_and_the_sweep_goes_on(
    make_user, make_notification, monkeypatch
):
    from django.db import OperationalError

    rows = sms_deliveries(make_user, make_notification, 2)

    class Deadlock(Exception):
        sqlstate = "40P01"

    class Cursor:
        def __enter__(self):
            return self

        def __exit__(self, *_exc):
            return False

        def execute(self, *_args):
            error = OperationalError("deadlock detected")
            error.__cause__ = Deadlock()
            raise error

    class Connection:
        """The sender's connection, whose statements fail as the server would fail them."""

        def __getattr__(self, name: str) -> object:
            return getattr(connection, name)

        def cursor(self) -> Cursor:
            return Cursor()

    monkeypatch.setattr(sender, "connection", Connection())
    assert deliveries_claim(deliveries=rows, now=timezone.now()) == []

    class OtherError(Exception):
        sqlstate = "57P01"  # the server went away: not ours to swallow

    def other(*_args):
        error = OperationalError("terminating connection")
        error.__cause__ = OtherError()
        raise error

    Cursor.execute = other  # type: ignore[method-assign]
    with pytest.raises(OperationalError):
        deliveries_claim(deliveries=rows, now=timezone.now())
    assert set(Delivery.objects.values_list("status", "attempts")) == {("pending", 0)}


def test_other_databases_claim_row_by_row(make_user, make_notification, monkeypatch):
    rows = sms_deliveries(make_user, make_notification, 2)
    monkeypatch.setattr(connection, "vendor", "mysql")

    with CaptureQueriesContext(connection) as queries:
        won = deliveries_claim(deliveries=rows, now=timezone.now())

    assert len(won) == 2
    assert "RETURNING" not in " ".join(claims(queries))
    assert len(claims(queries)) == 2


def test_a_lease_shorter_than_a_send_still_sends_everything_once(
    make_user, make_notification, settings
):
    """No claim can cover a send then: each row is claimed alone and sent, never spun on."""
    settings.IHANOI_DELIVERY_LEASE_SECONDS = 5
    settings.EMAIL_TIMEOUT = 30
    rows = sms_deliveries(make_user, make_notification, 3)

    with CaptureQueriesContext(connection) as queries:
        stats = deliveries_run(now=timezone.now())

    assert (stats.sent, stats.lost) == (3, 0)
    # Groups of one: a claim and an outcome per row, nothing renewed before a first send.
    assert len([sql for sql in claims(queries) if "RETURNING" in sql]) == 3
    assert set(Delivery.objects.values_list("status", "attempts")) == {("sent", 1)}
    assert all(len(sms_sent_to(row.notification.recipient.phone)) == 1 for row in rows)
