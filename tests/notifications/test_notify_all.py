"""notify_all() writes the messages of one change together: a constant number of statements
whatever the number of messages and people, the same rows notify_many would write, and the
dedupe keys still honoured (or, with fresh_keys, enforced by the unique constraint)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from ihanoi.accounts.models import User
from ihanoi.api.models import PushSubscription
from ihanoi.notifications.models import Delivery, Notification
from ihanoi.notifications.services import Message, notify_all, notify_many

pytestmark = pytest.mark.django_db


def message(recipients: list[User], key: str, **changes: Any) -> Message:
    fields: dict[str, Any] = {
        "kind": "report.routed",
        "title": "Báo cáo đã được chuyển",
        "body": "Phường Hoàn Kiếm tiếp nhận.",
        "link": "/feedback/r/1/",
        "dedupe_key": key,
        "channels": ("email", "sms"),
        **changes,
    }
    return Message(recipients=recipients, **fields)


def subscribe(user: User, number: int) -> None:
    now = timezone.now()
    PushSubscription.objects.create(
        user=user,
        endpoint=f"https://push.example/{number}",
        p256dh="k",
        auth="a",
        created_at=now,
        updated_at=now,
    )


def test_many_messages_cost_the_same_statements_as_one(
    make_user: Callable[..., User], django_assert_num_queries: Any
) -> None:
    people = [make_user() for _ in range(6)]
    for index, person in enumerate(people[:3]):
        subscribe(person, index)
    messages = [
        message(people[:2], "event-1"),
        message(people[2:5], "event-2", channels=("email", "push")),
        message([people[5]], "event-3", channels=()),
    ]
    # A savepoint and its release, the key lookup, the push lookup, two INSERTs.
    with django_assert_num_queries(6):
        result = notify_all(messages)

    assert [[n.recipient_id for n in group] for group in result] == [
        [people[0].pk, people[1].pk],
        [people[2].pk, people[3].pk, people[4].pk],
        [people[5].pk],
    ]
    assert Notification.objects.count() == 6
    channels = sorted(
        Delivery.objects.values_list("notification__recipient_id", "channel").order_by()
    )
    expected = sorted(
        [(people[0].pk, "email"), (people[0].pk, "sms")]
        + [(people[1].pk, "email"), (people[1].pk, "sms")]
        + [(person.pk, "email") for person in people[2:5]]
        # Push only for those with a subscribed browser.
        + [(people[2].pk, "push")]
    )
    assert channels == expected


def test_it_writes_what_notify_many_writes(make_user: Callable[..., User]) -> None:
    first, second = make_user(), make_user(phone=False)
    batch = notify_all([message([first, second], "event-1")])[0]
    single = notify_many(recipients=[first, second], **_fields("event-2"))

    def shape(notifications: list[Notification]) -> list[tuple[Any, ...]]:
        return [
            (n.recipient_id, n.kind, n.title, n.body, n.link, sorted(_channels(n)))
            for n in notifications
        ]

    assert shape(batch) == shape(single)
    assert sorted(_channels(batch[1])) == ["email"]  # no verified phone: no SMS


def test_a_retried_batch_creates_nothing_new(make_user: Callable[..., User]) -> None:
    person = make_user()
    first = notify_all([message([person], "event-1"), message([person], "event-2")])
    again = notify_all([message([person], "event-1"), message([person], "event-3")])

    assert again[0] == first[0]
    assert Notification.objects.count() == 3
    assert Delivery.objects.count() == 6


def test_fresh_keys_skip_the_lookup_but_the_unique_key_still_stands(
    make_user: Callable[..., User], django_assert_num_queries: Any
) -> None:
    person = make_user()
    with django_assert_num_queries(2):  # the two INSERTs, nothing else
        notify_all([message([person], "event-1")], fresh_keys=True)

    with pytest.raises(IntegrityError), transaction.atomic():
        notify_all([message([person], "event-1")], fresh_keys=True)
    assert Notification.objects.count() == 1


def test_a_bad_message_anywhere_in_the_batch_writes_nothing(
    make_user: Callable[..., User],
) -> None:
    person = make_user()
    with pytest.raises(ValueError):
        notify_all([message([person], "event-1"), message([person], "event-2", link="http://x/")])
    with pytest.raises(ValueError):
        notify_all([message([person], "event-1"), message([person], "")])
    assert Notification.objects.count() == 0
    assert Delivery.objects.count() == 0


def test_nobody_to_tell_writes_nothing(
    make_user: Callable[..., User], django_assert_num_queries: Any
) -> None:
    gone = make_user(is_active=False)
    with django_assert_num_queries(0):
        assert notify_all([message([gone], "event-1"), message([], "event-2")]) == [[], []]


def _fields(key: str) -> dict[str, Any]:
    return {
        "kind": "report.routed",
        "title": "Báo cáo đã được chuyển",
        "body": "Phường Hoàn Kiếm tiếp nhận.",
        "link": "/feedback/r/1/",
        "dedupe_key": key,
        "channels": ("email", "sms"),
    }


def _channels(notification: Notification) -> list[str]:
    return list(notification.deliveries.values_list("channel", flat=True))
