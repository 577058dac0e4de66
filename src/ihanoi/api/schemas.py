"""Request and response shapes of the JSON API (they are the published OpenAPI schema).

Times are ISO 8601 in the city's time (``+07:00``); names and labels are in the caller's
language; identifiers of reports are their public UUIDs (``number`` is the short number
people quote on the phone).
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any, Literal

from ninja import Field, Schema

# --- Sign-in ----------------------------------------------------------------------------------


class CodeRequestIn(Schema):
    phone: str = Field(
        max_length=32, description="A Vietnamese phone number as typed", examples=["0912 345 678"]
    )


class CodeRequestOut(Schema):
    phone: str = Field(description="The number in E.164 form", examples=["+84912345678"])
    expires_in: int = Field(description="Seconds the code stays valid")
    code_length: int


class TokenIn(Schema):
    phone: str = Field(max_length=32, examples=["0912 345 678"])
    code: str = Field(max_length=20, examples=["123456"])
    device_name: str = Field(
        max_length=100, description="Shown in the list of devices", examples=["Lan's Galaxy A15"]
    )


class DeviceOut(Schema):
    id: int
    name: str
    prefix: str = Field(description="The first characters of the token, to recognise it")
    created_at: datetime.datetime
    last_used_at: datetime.datetime | None
    current: bool = Field(description="Whether this is the device making the request")


class MeOut(Schema):
    id: int
    phone: str | None
    phone_display: str
    full_name: str
    email: str | None
    role: str
    date_joined: datetime.datetime
    unread_notifications: int


class TokenOut(Schema):
    token: str = Field(description="Send as “Authorization: Bearer <token>”; shown only once")
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the scheme's name
    new_account: bool
    device: DeviceOut
    user: MeOut


# --- Catalogue --------------------------------------------------------------------------------


class ChoiceOut(Schema):
    key: str
    name: str


class QuestionOut(Schema):
    code: str
    label: str
    help_text: str
    datatype: Literal["string", "text", "number", "datetime", "singlevaluelist", "multivaluelist"]
    required: bool
    choices: list[ChoiceOut]


class GroupOut(Schema):
    code: str
    name: str


class CategoryOut(Schema):
    code: str
    name: str
    description: str
    group: GroupOut
    is_public: bool = Field(description="Reports of a private category are never published")
    photo_required: bool
    questions: list[QuestionOut]


# --- Reports ----------------------------------------------------------------------------------

ReportKind = Literal["field", "procedure", "waste", "initiative"]
StatusWord = Literal["submitted", "assigned", "in_progress", "resolved", "closed", "rejected"]
RatingWord = Literal["satisfied", "acceptable", "not_satisfied"]


class ReportIn(Schema):
    """Form fields of a submission (multipart/form-data, with the photos)."""

    category: str = Field(max_length=40, description="A category code from /categories")
    title: str = Field(max_length=150)
    description: str = Field(max_length=4000)
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    kind: ReportKind = "field"
    address: str = Field("", max_length=255)
    answers: str = Field(
        "",
        max_length=20000,
        description='The answers to the category\'s questions, as a JSON object: {"code": '
        '"answer"} (a list of keys for a multiple choice)',
    )
    client_key: str = Field(
        "",
        max_length=64,
        description="Made by the app once per report; a retry with the same key returns the "
        "report made the first time (200 instead of 201)",
    )
    share_contact: bool = Field(
        False, description="Let the agency see the reporter's name and phone number"
    )


class NamedOut(Schema):
    code: str
    name: str


class PhotoOut(Schema):
    id: int
    role: Literal["report", "evidence", "info"]
    url: str
    thumbnail_url: str
    width: int
    height: int


class EventOut(Schema):
    kind: str
    label: str
    status: StatusWord | None = Field(description="The status after the event, if it changed")
    status_label: str | None
    agency: str | None
    note: str
    created_at: datetime.datetime


class ReportSummaryOut(Schema):
    id: uuid.UUID
    number: int
    title: str
    category: NamedOut
    status: StatusWord
    status_label: str
    lat: float
    lon: float
    address: str
    ward: str
    submitted_at: datetime.datetime
    thumbnail_url: str | None


class ReportOut(ReportSummaryOut):
    kind: ReportKind
    kind_label: str
    description: str
    agency: NamedOut | None
    resolved_at: datetime.datetime | None
    closed_at: datetime.datetime | None
    result: str
    rating: RatingWord | None
    rating_label: str | None
    photos: list[PhotoOut]
    timeline: list[EventOut]
    mine: bool = Field(description="The caller sent this report")
    following: bool
    can_follow: bool
    can_rate: bool
    can_reply: bool = Field(description="The agency asked the reporter for more information")
    # Only for the reporter: what they answered and chose.
    answers: dict[str, Any] | None = Field(
        None, description="question code → the answer (text, number, date or list of keys)"
    )
    share_contact: bool | None = None
    rating_comment: str | None = None


# Paging (docs/api.md, "Lists and paging"): by cursor, or by page number for older apps.
COUNT_DESCRIPTION = (
    "How many there are in all: given when paging by page number; null on a page asked for "
    "by cursor, which does not count again"
)
PAGE_DESCRIPTION = "The page number asked for; null on a page asked for by cursor"
NEXT_DESCRIPTION = (
    "The cursor of the next page: send it as `cursor` to get that page; null on the last page"
)


class ReportPageOut(Schema):
    items: list[ReportSummaryOut]
    count: int | None = Field(description=COUNT_DESCRIPTION)
    page: int | None = Field(description=PAGE_DESCRIPTION)
    page_size: int
    has_next: bool
    next: str | None = Field(description=NEXT_DESCRIPTION)


class RatingIn(Schema):
    value: RatingWord
    comment: str = Field("", max_length=1000)


class ReplyIn(Schema):
    """Form fields of an answer to the agency's question (multipart, with photos)."""

    answer: str = Field(max_length=2000)


class FollowOut(Schema):
    following: bool


# --- Notifications ----------------------------------------------------------------------------


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    link: str = Field(description="Absolute address of the page on the website")
    report_id: uuid.UUID | None = Field(description="The report it is about, if any")
    created_at: datetime.datetime
    read_at: datetime.datetime | None


class NotificationPageOut(Schema):
    items: list[NotificationOut]
    count: int | None = Field(description=COUNT_DESCRIPTION)
    unread: int
    page: int | None = Field(description=PAGE_DESCRIPTION)
    page_size: int
    has_next: bool
    next: str | None = Field(description=NEXT_DESCRIPTION)


class ReadAllOut(Schema):
    changed: int


# --- Web Push ---------------------------------------------------------------------------------


class PushKeysIn(Schema):
    p256dh: str = Field(max_length=200)
    auth: str = Field(max_length=100)


class PushSubscriptionIn(Schema):
    """What the browser's ``PushSubscription.toJSON()`` gives."""

    endpoint: str = Field(max_length=1000)
    keys: PushKeysIn
    # The browser's own name for it; ignored.
    expirationTime: float | None = None


class PushSubscriptionOut(Schema):
    id: int
    endpoint: str
    created_at: datetime.datetime


class PushServerKeyOut(Schema):
    enabled: bool
    public_key: str = Field(description="base64url of the P-256 public key; empty if disabled")
