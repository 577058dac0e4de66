"""The inbox through the client: a person sees and marks only their own notifications; bad
ids and page numbers are 404s; visitors are sent to sign in."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ihanoi.notifications.models import Notification
from ihanoi.notifications.selectors import unread_count

pytestmark = pytest.mark.django_db

INBOX = "/notifications/"


@pytest.fixture
def signed_in(client, resident):
    client.force_login(resident)
    return client


def read_url(notification: Notification) -> str:
    return reverse("notifications:read", args=[notification.pk])


def test_the_urls_are_where_the_header_will_link():
    assert reverse("notifications:inbox") == INBOX
    assert reverse("notifications:read_all") == "/notifications/read-all/"
    assert reverse("notifications:read", args=[7]) == "/notifications/7/read/"


@pytest.mark.parametrize(
    ("method", "url"),
    [("get", INBOX), ("post", "/notifications/read-all/"), ("post", "/notifications/1/read/")],
)
def test_visitors_are_sent_to_sign_in(client, method, url):
    response = getattr(client, method)(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_the_inbox_lists_my_notifications_newest_first_with_unread_marked(
    signed_in, make_notification, make_user
):
    older = make_notification(title="Older news")
    newer = make_notification(title="Newer news")
    make_notification(recipient=make_user(), title="Somebody else's news")
    Notification.objects.filter(pk=older.pk).update(read_at=older.created_at)

    response = signed_in.get(INBOX)

    assert response.status_code == 200
    page = response.content.decode()
    assert page.index("Newer news") < page.index("Older news")
    assert "Somebody else" not in page
    assert [n.is_unread for n in response.context["page_obj"]] == [True, False]
    assert page.count(">New</strong>") == 1
    assert "1 unread notification" in page
    assert f'action="{read_url(newer)}"' in page


def test_an_empty_inbox_says_so(signed_in):
    response = signed_in.get(INBOX)

    assert response.status_code == 200
    assert "You have no notifications yet." in response.content.decode()


def test_the_inbox_shows_twenty_a_page(signed_in, make_notification):
    for _ in range(25):
        make_notification()

    first = signed_in.get(INBOX)
    second = signed_in.get(INBOX, {"page": "2"})

    assert len(first.context["page_obj"]) == 20
    assert len(second.context["page_obj"]) == 5
    assert "Page 2 of 2" in second.content.decode()


@pytest.mark.parametrize("page", ["0", "-1", "3", "abc", "1.5", "99999999999999999999999"])
def test_a_page_that_does_not_exist_is_404(signed_in, make_notification, page):
    make_notification()

    assert signed_in.get(INBOX, {"page": page}).status_code == 404


def test_reading_a_notification_marks_it_and_returns_to_the_page(signed_in, make_notification):
    notification = make_notification()

    response = signed_in.post(read_url(notification), {"next": f"{INBOX}?page=1"})

    assert response.status_code == 302
    assert response["Location"] == f"{INBOX}?page=1"
    notification.refresh_from_db()
    assert not notification.is_unread
    first_read = notification.read_at
    signed_in.post(read_url(notification))  # reading again keeps the first time
    notification.refresh_from_db()
    assert notification.read_at == first_read


def test_opening_a_notification_marks_it_read_and_goes_to_its_link(signed_in, make_notification):
    notification = make_notification(link="/feedback/abc123/")

    response = signed_in.post(read_url(notification), {"next": "/feedback/abc123/"})

    assert response["Location"] == "/feedback/abc123/"
    notification.refresh_from_db()
    assert not notification.is_unread


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "javascript:x"])
def test_a_next_address_off_the_site_is_ignored(signed_in, make_notification, target):
    response = signed_in.post(read_url(make_notification()), {"next": target})

    assert response["Location"] == INBOX


def test_someone_elses_notification_is_404_and_stays_unread(
    signed_in, make_notification, make_user
):
    theirs = make_notification(recipient=make_user())

    assert signed_in.post(read_url(theirs)).status_code == 404

    theirs.refresh_from_db()
    assert theirs.is_unread


@pytest.mark.parametrize(
    "url",
    [
        "/notifications/999999/read/",
        "/notifications/99999999999999999999999/read/",
        "/notifications/abc/read/",
        "/notifications/-1/read/",
    ],
)
def test_bad_notification_ids_are_404(signed_in, url):
    assert signed_in.post(url).status_code == 404


def test_marking_needs_a_post(signed_in, make_notification):
    notification = make_notification()

    assert signed_in.get(read_url(notification)).status_code == 405
    assert signed_in.get(reverse("notifications:read_all")).status_code == 405
    notification.refresh_from_db()
    assert notification.is_unread


def test_mark_all_read_touches_only_my_notifications(signed_in, make_notification, make_user):
    mine = [make_notification(), make_notification()]
    theirs = make_notification(recipient=make_user())

    response = signed_in.post(reverse("notifications:read_all"), follow=True)

    assert response.redirect_chain[-1][0] == INBOX
    assert "All notifications are marked as read." in response.content.decode()
    assert Notification.objects.filter(pk__in=[n.pk for n in mine], read_at=None).count() == 0
    theirs.refresh_from_db()
    assert theirs.is_unread


def test_unread_count_for_the_header_badge(resident, make_notification, make_user):
    from django.contrib.auth.models import AnonymousUser

    make_notification()
    read = make_notification()
    make_notification(recipient=make_user())
    Notification.objects.filter(pk=read.pk).update(read_at=read.created_at)

    assert unread_count(resident) == 1
    assert unread_count(AnonymousUser()) == 0
