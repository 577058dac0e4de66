"""The signed-in person's inbox: list, mark one read (and open it), mark all read."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import InvalidPage, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ihanoi.accounts.models import User
from ihanoi.notifications import selectors, services

PAGE_SIZE = 20


def _signed_in_user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _next_or_inbox(request: HttpRequest) -> HttpResponse:
    # Only paths on this site: "next" comes from the form, which anyone can forge.
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("notifications:inbox")


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    user = _signed_in_user(request)
    paginator = Paginator(selectors.inbox(user), PAGE_SIZE)
    try:
        page_obj = paginator.page(request.GET.get("page") or 1)
    except InvalidPage as error:
        # A page that does not exist is a missing page, whatever was typed.
        raise Http404(_("No such page.")) from error
    context = {"page_obj": page_obj, "unread": selectors.unread_count(user)}
    return render(request, "notifications/inbox.html", context)


@login_required
@require_POST
def mark_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    user = _signed_in_user(request)
    # Someone else's notification is as missing as one that never existed.
    notification = get_object_or_404(selectors.inbox(user), pk=notification_id)
    services.notification_mark_read(notification=notification)
    return _next_or_inbox(request)


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    changed = services.notifications_mark_all_read(user=_signed_in_user(request))
    if changed:
        messages.success(request, _("All notifications are marked as read."))
    return _next_or_inbox(request)
