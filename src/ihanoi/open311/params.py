"""Reading Open311 parameters: W3C datetimes, comma lists, the date window, pages.

The spec's rule for optional arguments is that an empty parameter means the same as a
missing one, so every reader here returns None (or an empty list) for "" and blanks.
Errors are ``ValidationError`` keyed by the parameter's Open311 name; the views turn
them into the spec's ``errors`` body.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from ihanoi.lib import keyset

# GET requests: "a span of 90 days or first 1000 requests returned, whichever is smallest".
WINDOW_DAYS = 90
DEFAULT_LIMIT = 1000
MAX_LIST_VALUES = 1000

_W3C = re.compile(
    r"""^(?P<year>\d{4})
    (?:-(?P<month>\d{2})
      (?:-(?P<day>\d{2})
        (?:[Tt ](?P<hour>\d{2}):(?P<minute>\d{2})
          (?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?
          (?P<tz>[Zz]|[+\- ]\d{2}:?\d{2})?
        )?
      )?
    )?$""",
    re.VERBOSE,
)


def city_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def w3c(moment: datetime.datetime) -> str:
    """``2025-07-01T08:30:00+07:00``: the city's offset, whole seconds (W3C-DTF)."""
    return moment.astimezone(city_zone()).isoformat(timespec="seconds")


def parse_w3c_end(raw: str) -> datetime.datetime:
    """An end of range: the last instant of the unit written (``2025-07-01`` is the whole
    day, ``…T08:00:00Z`` the whole second), so that a client asking "until now" with a
    whole-second time still sees what happened within that second."""
    moment = parse_w3c(raw)
    match = _W3C.match(raw.strip())
    assert match is not None
    parts = match.groupdict()
    if parts["fraction"]:
        return moment
    if parts["second"]:
        step = datetime.timedelta(seconds=1)
    elif parts["minute"]:
        step = datetime.timedelta(minutes=1)
    elif parts["day"]:
        step = datetime.timedelta(days=1)
    else:
        return moment  # a month or a year: its first instant, as written
    return moment + step - datetime.timedelta(microseconds=1)


def parse_w3c(raw: str) -> datetime.datetime:
    """A W3C-DTF date or datetime as an aware datetime; ValueError if it is not one.

    Lenient where clients are known to slip: a missing offset means Hanoi time, a date
    alone means its midnight in Hanoi, and a space where the offset's "+" should be (an
    unencoded "+" in a query string arrives as a space) is read as "+"."""
    match = _W3C.match(raw.strip())
    if match is None:
        raise ValueError(raw)
    parts = match.groupdict()
    fraction = (parts["fraction"] or "0")[:6].ljust(6, "0")
    naive = datetime.datetime(
        int(parts["year"]),
        int(parts["month"] or 1),
        int(parts["day"] or 1),
        int(parts["hour"] or 0),
        int(parts["minute"] or 0),
        int(parts["second"] or 0),
        int(fraction),
    )
    tz = parts["tz"]
    if not tz:
        return naive.replace(tzinfo=city_zone())
    if tz in ("Z", "z"):
        return naive.replace(tzinfo=datetime.UTC)
    sign = -1 if tz[0] == "-" else 1
    digits = tz[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 14 or minutes > 59:
        raise ValueError(raw)
    offset = datetime.timedelta(hours=hours, minutes=minutes) * sign
    return naive.replace(tzinfo=datetime.timezone(offset))


class Params:
    """The parameters of one call: a POST body first, the query string after it (some
    generated clients put POST parameters in the query string)."""

    def __init__(self, *sources: QueryDict) -> None:
        self.sources = sources

    def getlist(self, name: str) -> list[str]:
        for source in self.sources:
            if name in source:
                # NUL can be in a URL-encoded value but in no database text column.
                return [value.replace("\x00", "") for value in source.getlist(name)]
        return []

    def get(self, name: str) -> str | None:
        """The stripped value, or None when missing or empty."""
        values = [v.strip() for v in self.getlist(name) if v.strip()]
        return values[-1] if values else None

    def values(self, name: str) -> list[str]:
        """All values of a parameter that may be repeated and comma delimited."""
        found: list[str] = []
        for value in self.getlist(name):
            found.extend(part.strip() for part in value.split(",") if part.strip())
        return found[:MAX_LIST_VALUES]

    def names(self) -> list[str]:
        seen: dict[str, None] = {}
        for source in self.sources:
            for name in source:
                seen.setdefault(name, None)
        return list(seen)

    def attributes(self) -> dict[str, list[str]]:
        """``attribute[code]=v`` and ``attribute[code][]=v1&attribute[code][]=v2``."""
        answers: dict[str, list[str]] = {}
        for name in self.names():
            match = re.fullmatch(r"attribute\[([^\[\]]+)\](\[\])?", name)
            if match is None:
                continue
            answers.setdefault(match.group(1), []).extend(self.getlist(name))
        return answers


def datetime_param(params: Params, name: str, *, end: bool = False) -> datetime.datetime | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        return parse_w3c_end(raw) if end else parse_w3c(raw)
    except ValueError:
        raise ValidationError(
            {
                name: [
                    _("Give a W3C date and time, e.g. 2025-07-01T08:00:00+07:00 (got “%(v)s”).")
                    % {"v": raw[:40]}
                ]
            }
        ) from None


@dataclass(frozen=True)
class Window:
    start: datetime.datetime
    end: datetime.datetime


def date_window(params: Params, *, now: datetime.datetime | None = None) -> Window:
    """start_date/end_date: both, one (the other 90 days away) or none (the last 90 days);
    never more than 90 days, never backwards. The end covers the unit it is written in."""
    errors: dict[str, list[str]] = {}
    start = end = end_written = None
    try:
        start = datetime_param(params, "start_date")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        end_written = datetime_param(params, "end_date")
        end = datetime_param(params, "end_date", end=True)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    span = datetime.timedelta(days=WINDOW_DAYS)
    if end is None or end_written is None:
        end = end_written = start + span if start is not None else (now or timezone.now())
    if start is None:
        start = end_written - span
    if end_written < start:
        raise ValidationError({"end_date": [_("end_date is before start_date.")]})
    if end_written - start > span:
        raise ValidationError(
            {"end_date": [_("The date range may not span more than %(n)d days.") % {"n": 90}]}
        )
    return Window(start=start, end=end)


@dataclass(frozen=True)
class Page:
    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


def page_param(params: Params) -> Page:
    """The pagination extension: ``page`` from 1, ``page_size`` up to the spec's 1000 (also
    the size of a page asked for with ``after``)."""
    errors: dict[str, list[str]] = {}
    numbers: dict[str, int] = {}
    for name, default in (("page", 1), ("page_size", DEFAULT_LIMIT)):
        raw = params.get(name)
        if raw is None:
            numbers[name] = default
            continue
        try:
            value = int(raw)
            if value < 1 or value > 10**6:
                raise ValueError(raw)
        except ValueError:
            errors[name] = [_("Give a whole number from 1.")]
            continue
        numbers[name] = value
    if errors:
        raise ValidationError(errors)
    return Page(number=numbers["page"], size=min(numbers["page_size"], DEFAULT_LIMIT))


def after_param(params: Params, ordering: keyset.Ordering) -> keyset.Cursor | None:
    """``after``: the cursor of the ``Link: rel="next"`` header of the page before (our
    extension; it pages by key, so that a deep page costs what the first one costs).
    ``page`` numbers still work; the two together are refused, as is a cursor that is not
    one of ours."""
    raw = params.get("after")
    if raw is None:
        return None
    if params.get("page") is not None:
        raise ValidationError(
            {
                "after": [
                    _("Send either %(one)s or %(other)s, not both.")
                    % {"one": "page", "other": "after"}
                ]
            }
        )
    try:
        return keyset.decode(ordering, raw)
    except keyset.InvalidCursor:
        raise ValidationError(
            {"after": [_("This cursor is not valid: start again from the first page.")]}
        ) from None


def choice_values(params: Params, name: str, allowed: Sequence[str]) -> list[str]:
    values = [v.lower() for v in params.values(name)]
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ValidationError(
            {name: [_("Use one of: %(values)s.") % {"values": ", ".join(allowed)}]}
        )
    return values


def errors_of(exc: ValidationError) -> list[str]:
    """``field: message`` lines of a ValidationError, fields in their Open311 names."""
    if not hasattr(exc, "error_dict"):
        return [str(m) for m in exc.messages]
    lines = []
    for field, messages in exc.message_dict.items():
        for message in messages:
            lines.append(f"{field}: {message}" if field != "__all__" else message)
    return lines
