"""notify() writes the outbox in the caller's transaction: rows commit or roll back with the
change they announce, the delivery task is enqueued only after the commit, a retried call
creates nothing new, and only channels the person can receive get a delivery."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from ihanoi.accounts.models import User
from ihanoi.accounts.services import user_delete_account
from ihanoi.notifications import services
from ihanoi.notifications.models import Delivery, Notification
from ihanoi.notifications.services import notifications_erase, notify, notify_many

pytestmark = pytest.mark.django_db


def event(**changes: Any) -> dict[str, Any]:
    return {
        "kind": "report.status",
        "title": "Your report is being handled",
        "body": "Phường Hoàn Kiếm is handling your report.",
        "link": "/feedback/abc123/",
        "dedupe_key": "report-event:41",
        **changes,
    }


def channels_of(notification: Notification) -> set[str]:
    return set(notification.deliveries.values_list("channel", flat=True))


def test_notify_writes_the_inbox_entry_and_one_delivery_per_channel(resident):
    notification = notify(recipient=resident, **event())

    assert notification is not None
    assert notification.recipient == resident
    assert notification.is_unread
    assert channels_of(notification) == {"email", "sms"}
    assert set(notification.deliveries.values_list("status", flat=True)) == {"pending"}


def test_rows_are_written_in_the_callers_transaction_and_vanish_with_its_rollback(
    resident, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        notify(recipient=resident, **event())
        assert Notification.objects.count() == 1  # visible inside the transaction
        raise RuntimeError("the status change failed")

    assert Notification.objects.count() == 0
    assert Delivery.objects.count() == 0
    assert callbacks == []  # nothing was enqueued either


def test_the_delivery_task_is_enqueued_after_the_commit_not_before(
    resident, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        with transaction.atomic():
            notify(recipient=resident, **event())
        assert mailoutbox == []

    assert len(callbacks) == 1
    callbacks[0]()  # the commit happens: the (immediate) task delivers
    assert [message.subject for message in mailoutbox] == ["Your report is being handled"]
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}


def test_the_same_event_twice_makes_one_notification_and_one_delivery_per_channel(
    resident, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        first = notify(recipient=resident, **event())
        again = notify(recipient=resident, **event(title="A retried request"))

    assert again == first
    assert Notification.objects.count() == 1
    assert Delivery.objects.count() == 2
    assert Notification.objects.get().title == "Your report is being handled"
    assert len(callbacks) == 1  # the repeat enqueues nothing


def test_the_same_event_key_for_two_people_notifies_both(make_user):
    reporter, follower = make_user(), make_user()

    notify(recipient=reporter, **event())
    notify(recipient=follower, **event())

    assert Notification.objects.filter(dedupe_key="report-event:41").count() == 2


@pytest.mark.parametrize(
    ("has_email", "has_phone", "phone_verified", "expected"),
    [
        (True, True, True, {"email", "sms"}),
        (True, False, False, {"email"}),
        (False, True, True, {"sms"}),
        # An unverified number may be somebody else's: no SMS to it.
        (True, True, False, {"email"}),
    ],
)
def test_deliveries_only_for_the_channels_the_person_can_receive(
    make_user, has_email, has_phone, phone_verified, expected
):
    user = make_user(email=has_email, phone=has_phone)
    User.objects.filter(pk=user.pk).update(phone_verified=phone_verified)
    user.refresh_from_db()

    notification = notify(recipient=user, **event())

    assert notification is not None
    assert channels_of(notification) == expected


def test_the_caller_chooses_the_channels(resident):
    email_only = notify(recipient=resident, **event(), channels=["email"])
    inbox_only = notify(recipient=resident, **event(dedupe_key="report-event:42"), channels=())

    assert email_only is not None and inbox_only is not None
    assert channels_of(email_only) == {"email"}
    assert channels_of(inbox_only) == set()


def test_inactive_and_deleted_accounts_are_told_nothing(make_user):
    inactive = make_user(is_active=False)
    deleted = make_user()
    user_delete_account(user=deleted)

    assert notify(recipient=inactive, **event()) is None
    assert notify(recipient=deleted, **event()) is None
    assert Notification.objects.count() == 0


def test_notify_many_tells_each_reachable_person_once(
    make_user, django_capture_on_commit_callbacks
):
    reporter, follower, inactive = make_user(), make_user(email=False), make_user(is_active=False)
    with django_capture_on_commit_callbacks() as callbacks:
        already = notify(recipient=follower, **event())
        notifications = notify_many(
            recipients=[reporter, follower, inactive, reporter], **event(title="Again")
        )

    assert [n.recipient for n in notifications] == [reporter, follower]
    assert notifications[1] == already
    assert Notification.objects.count() == 2
    assert Delivery.objects.filter(notification__recipient=reporter).count() == 2
    assert Delivery.objects.filter(notification__recipient=follower).count() == 1
    assert len(callbacks) == 1


def test_notify_many_with_nobody_to_tell_writes_nothing(make_user):
    assert notify_many(recipients=[], **event()) == []
    assert notify_many(recipients=[make_user(is_active=False)], **event()) == []
    assert Notification.objects.count() == 0


def test_text_is_normalised_and_the_title_kept_to_one_line(resident):
    decomposed = "Đã xử lý".replace("ã", "a\u0303")
    notification = notify(
        recipient=resident, **event(title=f"  {decomposed}\r\nBcc: x@example.com ", body=" x ")
    )

    assert notification is not None
    assert notification.title == "Đã xử lý Bcc: x@example.com"
    assert notification.body == "x"


@pytest.mark.parametrize(
    "changes",
    [
        {"link": "https://evil.example/"},
        {"link": "//evil.example/"},
        {"link": "feedback/1/"},
        {"link": "/" + "x" * 600},
        {"dedupe_key": ""},
        {"dedupe_key": "k" * 201},
        {"kind": ""},
        {"channels": ["email", "pigeon"]},
    ],
)
def test_bad_arguments_are_refused_and_write_nothing(resident, changes):
    with pytest.raises(ValueError):
        notify(recipient=resident, **event(**changes))
    assert Notification.objects.count() == 0


def test_a_racing_caller_with_the_same_key_gets_the_row_that_won(resident, monkeypatch):
    # Another transaction committed the same event between our look-up and our insert: the
    # unique constraint catches it and notify() returns that row instead of failing.
    winner = Notification.objects.create(recipient=resident, **event(title="Winner"))
    monkeypatch.setattr(services, "_take_existing", lambda items: None)

    with transaction.atomic():
        result = notify(recipient=resident, **event(title="Loser"))

    assert result == winner
    assert Notification.objects.count() == 1
    assert Delivery.objects.count() == 0


def test_erasing_a_persons_notifications_removes_their_deliveries(resident, make_user):
    other = make_user()
    notify(recipient=resident, **event())
    notify(recipient=other, **event())

    assert notifications_erase(user=resident) == 1

    assert list(Notification.objects.values_list("recipient", flat=True)) == [other.pk]
    assert Delivery.objects.filter(notification__recipient=other).count() == 2
    assert Delivery.objects.count() == 2


def test_one_transaction_enqueues_the_delivery_task_once(
    resident, make_user, django_capture_on_commit_callbacks
):
    from django.db import transaction

    from ihanoi.notifications.services import notify_many

    other = make_user()
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        for number in range(3):
            notify_many(
                recipients=[resident, other],
                kind="report.routed",
                title="t",
                body="b",
                link="/",
                dedupe_key=f"event-{number}",
            )
    assert len(callbacks) == 1


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_commits_queues_one_sweep_while_it_waits(resident, make_user, settings):
    from django.core.cache import cache
    from django_tasks import task_backends

    from ihanoi.notifications.services import DELIVERY_QUEUED_KEY
    from ihanoi.notifications.tasks import deliver_pending

    # A queue that keeps its tasks until a worker takes them; each notify() commits.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    queue = task_backends["default"]
    for number in range(5):
        notify(recipient=make_user(), **event(dedupe_key=f"burst-{number}"))
    assert len(queue.results) == 1  # type: ignore[attr-defined]

    # The worker starts the task: news committed from then on queues a fresh one.
    deliver_pending.call()
    assert cache.get(DELIVERY_QUEUED_KEY) is None
    notify(recipient=resident, **event(dedupe_key="after-start"))
    assert len(queue.results) == 2  # type: ignore[attr-defined]
    assert Delivery.objects.filter(status="pending").count() == 2  # only the newest wait


@pytest.mark.django_db(transaction=True)
def test_a_lost_waiting_sweep_holds_deliveries_back_only_until_its_mark_expires(
    resident, make_user, settings
):
    import datetime

    import time_machine
    from django.utils import timezone
    from django_tasks import task_backends

    from ihanoi.notifications.services import DELIVERY_QUEUED_SECONDS

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    # The mark's expiry is the cache's own: time travel reaches a cache in this process only
    # (Redis counts its TTLs on the server).
    settings.CACHES = {
        **settings.CACHES,
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    queue = task_backends["default"]
    with time_machine.travel(timezone.now(), tick=False) as clock:
        notify(recipient=make_user(), **event(dedupe_key="first"))
        assert len(queue.results) == 1  # type: ignore[attr-defined]
        # The worker that took it is killed before the task starts: the task never runs.
        queue.clear()  # type: ignore[attr-defined]
        clock.shift(datetime.timedelta(seconds=DELIVERY_QUEUED_SECONDS - 1))
        notify(recipient=make_user(), **event(dedupe_key="still-marked"))
        assert len(queue.results) == 0  # type: ignore[attr-defined]
        clock.shift(datetime.timedelta(seconds=2))
        notify(recipient=resident, **event(dedupe_key="after-expiry"))
        assert len(queue.results) == 1  # type: ignore[attr-defined]


def test_a_queue_that_refuses_the_task_leaves_no_mark(
    resident, monkeypatch, django_capture_on_commit_callbacks
):
    from django.core.cache import cache

    from ihanoi.notifications import tasks
    from ihanoi.notifications.services import DELIVERY_QUEUED_KEY

    class QueueDown:
        """A queue that can defer tasks (as RQ can) but is unreachable."""

        def get_backend(self) -> object:
            return type("Backend", (), {"supports_defer": True})()

        def using(self, **_options: object) -> QueueDown:
            return self

        def enqueue(self, *_args: object, **_kwargs: object) -> None:
            raise ConnectionError("redis is down")

    monkeypatch.setattr(tasks, "deliver_pending", QueueDown())
    # The enqueue runs after the commit (robustly): the rows stay, the scheduler's sweep
    # sends them, and the next commit tries to enqueue again.
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipient=resident, **event())
    assert Delivery.objects.count() == 2
    assert cache.get(DELIVERY_QUEUED_KEY) is None
