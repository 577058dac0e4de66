"""The staff workspace: inboxes, a report with the actions this person may take."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from ihanoi.accounts.models import User
from ihanoi.accounts.permissions import staff_required
from ihanoi.agencies.models import Agency, Membership
from ihanoi.lib import keyset

from . import selectors, services
from .forms import (
    AssignForm,
    ClassifyForm,
    CommentForm,
    DecisionForm,
    ExtensionForm,
    ForwardForm,
    MergeForm,
    NoteForm,
    QuestionForm,
    RedactForm,
    RejectForm,
    RequiredNoteForm,
    ResolveForm,
    TransferForm,
)
from .models import EventKind, RejectionReason, Report, ReportEvent, Severity, Status
from .permissions import StaffScope, can_act, can_see_reporter, can_view_as_staff, scope_of
from .photos import prepare_uploads
from .views import apply_errors, category_choices, code_param, page_cursor

E = EventKind
PAGE_SIZE = 30
# The inbox says how many reports it holds up to this many; past it, "more than".
COUNT_CAP = 1000


def _scope(request: HttpRequest) -> StaffScope:
    assert isinstance(request.user, User)
    return scope_of(request.user)


def _agency_choices(exclude: int | None = None) -> list[tuple[str, str]]:
    agencies = Agency.objects.filter(is_active=True).order_by("kind", "name")
    if exclude is not None:
        agencies = agencies.exclude(pk=exclude)
    return [(str(a.pk), a.name) for a in agencies.only("pk", "name")]


@dataclass(frozen=True)
class Action:
    """One button of the report page: the event it makes, its form, and what it does."""

    slug: str
    kind: str
    label: Any
    form: Callable[[Report, Any, Any], forms.Form]
    run: Callable[[User, Report, dict[str, Any]], object]


def _agency(pk: str) -> Agency:
    return get_object_or_404(Agency, pk=pk, is_active=True)


def _officers(report: Report) -> list[tuple[str, str]]:
    members = Membership.objects.filter(agency=report.agency).select_related("user")
    return [(str(m.user_id), str(m.user)) for m in members]


ACTIONS: tuple[Action, ...] = (
    Action(
        "forward",
        E.ROUTED,
        gettext_lazy("Forward to an agency"),
        lambda r, d, f: ForwardForm(
            d, agencies=_agency_choices(), initial={"severity": r.severity}
        ),
        lambda u, r, c: services.report_forward(
            actor=u, report=r, agency=_agency(c["agency"]), severity=c["severity"], note=c["note"]
        ),
    ),
    Action(
        "reject",
        E.REJECTED,
        gettext_lazy("Reject"),
        lambda r, d, f: RejectForm(
            d, reasons=[(x.code, x.text) for x in RejectionReason.objects.filter(is_active=True)]
        ),
        lambda u, r, c: services.report_reject(
            actor=u, report=r, reason=RejectionReason.objects.get(code=c["reason"]), note=c["note"]
        ),
    ),
    Action(
        "accept",
        E.ACCEPTED,
        gettext_lazy("Accept"),
        lambda r, d, f: NoteForm(d),
        lambda u, r, c: services.report_accept(actor=u, report=r),
    ),
    Action(
        "assign",
        E.OFFICER_ASSIGNED,
        gettext_lazy("Assign an officer"),
        lambda r, d, f: AssignForm(d, officers=_officers(r)),
        lambda u, r, c: services.report_assign_officer(
            actor=u, report=r, officer=get_object_or_404(User, pk=c["officer"])
        ),
    ),
    Action(
        "ask",
        E.INFO_REQUESTED,
        gettext_lazy("Ask the resident for more information"),
        lambda r, d, f: QuestionForm(d),
        lambda u, r, c: services.report_request_info(actor=u, report=r, question=c["question"]),
    ),
    Action(
        "resolve",
        E.RESOLVED,
        gettext_lazy("Post the result"),
        lambda r, d, f: ResolveForm(d, f),
        lambda u, r, c: services.report_resolve(
            actor=u, report=r, result=c["result"], photos=prepare_uploads(c["photos"])
        ),
    ),
    Action(
        "transfer",
        E.TRANSFERRED,
        gettext_lazy("Transfer to another agency"),
        lambda r, d, f: TransferForm(d, agencies=_agency_choices(exclude=r.agency_id)),
        lambda u, r, c: services.report_transfer(
            actor=u, report=r, agency=_agency(c["agency"]), note=c["note"]
        ),
    ),
    Action(
        "return",
        E.RETURNED,
        gettext_lazy("Return to the hub (not ours)"),
        lambda r, d, f: RequiredNoteForm(d),
        lambda u, r, c: services.report_return_to_hub(actor=u, report=r, note=c["note"]),
    ),
    Action(
        "extend",
        E.EXTENSION_REQUESTED,
        gettext_lazy("Ask for more time"),
        lambda r, d, f: ExtensionForm(d),
        lambda u, r, c: services.report_request_extension(
            actor=u, report=r, working_days=c["working_days"], reason=c["reason"]
        ),
    ),
    Action(
        "decide-extension",
        E.EXTENSION_APPROVED,
        gettext_lazy("Decide on the extension"),
        lambda r, d, f: DecisionForm(d),
        lambda u, r, c: services.report_decide_extension(
            actor=u, report=r, approve=c["approve"], note=c["note"]
        ),
    ),
    Action(
        "merge",
        E.MERGED,
        gettext_lazy("Merge into the original report"),
        lambda r, d, f: MergeForm(d),
        lambda u, r, c: services.report_merge(
            actor=u, report=r, original=get_object_or_404(Report, pk=c["original"])
        ),
    ),
    Action(
        "reopen",
        E.REOPENED,
        gettext_lazy("Reopen"),
        lambda r, d, f: RequiredNoteForm(d),
        lambda u, r, c: services.report_reopen(actor=u, report=r, note=c["note"]),
    ),
    Action(
        "close-review",
        E.REVIEW_CLOSED,
        gettext_lazy("Close the review"),
        lambda r, d, f: RequiredNoteForm(d),
        lambda u, r, c: services.report_review_close(actor=u, report=r, note=c["note"]),
    ),
    Action(
        "classify",
        E.CLASSIFIED,
        gettext_lazy("Change the severity"),
        lambda r, d, f: ClassifyForm(d, initial={"severity": r.severity}),
        lambda u, r, c: services.report_classify(actor=u, report=r, severity=c["severity"]),
    ),
    Action(
        "redact",
        E.REDACTED,
        gettext_lazy("Redact text or photos"),
        lambda r, d, f: RedactForm(
            d,
            photos=[
                (p.pk, f"#{p.pk} {p.get_role_display()}") for p in r.photos.filter(is_hidden=False)
            ],
            initial={"title": r.title, "description": r.description},
        ),
        lambda u, r, c: services.report_redact(
            actor=u,
            report=r,
            title=c["title"],
            description=c["description"],
            hidden_photo_ids=c["hidden_photos"],
        ),
    ),
    Action(
        "unpublish",
        E.UNPUBLISHED,
        gettext_lazy("Hide from the public"),
        lambda r, d, f: NoteForm(d),
        lambda u, r, c: services.report_set_published(actor=u, report=r, published=False),
    ),
    Action(
        "publish",
        E.PUBLISHED,
        gettext_lazy("Publish"),
        lambda r, d, f: NoteForm(d),
        lambda u, r, c: services.report_set_published(actor=u, report=r, published=True),
    ),
    Action(
        "comment",
        E.COMMENT,
        gettext_lazy("Add an internal note"),
        lambda r, d, f: CommentForm(d),
        lambda u, r, c: services.report_comment(actor=u, report=r, text=c["text"]),
    ),
)
ACTIONS_BY_SLUG = {action.slug: action for action in ACTIONS}


def available_actions(
    scope: StaffScope, report: Report, pending: ReportEvent | None
) -> list[Action]:
    """The actions this person may take now; ``pending`` is the undecided extension request."""
    from .transitions import allowed

    result = []
    for action in ACTIONS:
        if not (can_act(scope, report, action.kind) and allowed(report, action.kind)):
            continue
        if action.slug == "decide-extension" and pending is None:
            continue
        if action.slug == "reopen" and report.status == Status.CLOSED and not report.review_pending:
            continue
        if action.slug == "close-review" and not report.review_pending:
            continue
        if action.slug == "publish" and report.is_published:
            continue
        if action.slug == "unpublish" and not report.is_published:
            continue
        result.append(action)
    return result


@staff_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    if not scope.is_staff:
        raise PermissionDenied
    get = request.GET
    filters = selectors.InboxFilters(
        status=get.get("status", "") if get.get("status", "") in Status.values else "",
        category=code_param(request, "category", limit=40),
        ward=code_param(request, "ward", limit=10),
        severity=get.get("severity", "") if get.get("severity", "") in Severity.values else "",
        due=get.get("due", "") if get.get("due", "") in ("overdue", "soon") else "",
        queue=get.get("queue", "") if get.get("queue", "") in ("triage", "review") else "",
        sort=get.get("sort", "") if get.get("sort", "") in selectors.SORTS else "urgent",
    )
    now = timezone.now()
    reports = selectors.staff_inbox(scope, filters, now=now)
    ordering = selectors.inbox_ordering(filters)
    # A cursor that does not decode, or belongs to another sort, shows the first page.
    page = keyset.paginate(reports, ordering, size=PAGE_SIZE, cursor=page_cursor(request, ordering))
    return render(
        request,
        "feedback/staff_inbox.html",
        {
            "page": page,
            "count": selectors.inbox_count(reports, cap=COUNT_CAP),
            "count_cap": COUNT_CAP,
            "filters": filters,
            "scope": scope,
            "now": now,
            "categories": category_choices(),
            "statuses": Status.choices,
            "severities": Severity.choices,
            "sorts": SORT_LABELS,
            "newest_first": filters.sort == "newest",
        },
    )


SORT_LABELS = (
    ("urgent", gettext_lazy("Most urgent first")),
    ("newest", gettext_lazy("Newest first")),
    ("oldest", gettext_lazy("Oldest first")),
)


def _staff_report(request: HttpRequest, pk: int) -> tuple[Report, StaffScope]:
    scope = _scope(request)
    report = get_object_or_404(
        Report.objects.select_related("category", "ward", "agency", "reporter", "assignee"),
        pk=pk,
    )
    if not can_view_as_staff(scope, report):
        raise Http404
    return report, scope


@staff_required
@require_GET
def staff_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report, scope = _staff_report(request, pk)
    return _render_detail(request, report, scope)


def _render_detail(
    request: HttpRequest,
    report: Report,
    scope: StaffScope,
    failed: tuple[str, forms.Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    pending = services.pending_extension(report)
    actions = [
        (
            action,
            failed[1] if failed and failed[0] == action.slug else action.form(report, None, None),
        )
        for action in available_actions(scope, report, pending)
    ]
    return render(
        request,
        "feedback/staff_detail.html",
        {
            "report": report,
            "scope": scope,
            "show_reporter": can_see_reporter(scope, report),
            "timeline": selectors.timeline(report, public_only=False),
            "photos": list(report.photos.all()),
            "actions": actions,
            "now": timezone.now(),
            "pending_extension": pending,
            "response_templates": selectors.response_templates(report),
        },
        status=status,
    )


@staff_required
@require_POST
def staff_action(request: HttpRequest, pk: int, slug: str) -> HttpResponse:
    report, scope = _staff_report(request, pk)
    action = ACTIONS_BY_SLUG.get(slug)
    if action is None:
        raise Http404
    if not can_act(scope, report, action.kind):
        raise PermissionDenied
    form = action.form(report, request.POST, request.FILES)
    if form.is_valid():
        try:
            action.run(scope.user, report, form.cleaned_data)
        except ValidationError as exc:  # TransitionError included
            apply_errors(form, exc)
        else:
            messages.success(request, _("Done: %(action)s.") % {"action": action.label})
            return redirect("feedback:staff_detail", report.pk)
    report.refresh_from_db()
    return _render_detail(request, report, scope, failed=(slug, form), status=400)
