"""Formatting of the statistics in templates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template

from ..metrics import Rate, format_duration

register = template.Library()


@register.filter
def pct(rate: Any) -> str:
    """A rate as "87.5%" ("—" when nothing was decided)."""
    if not isinstance(rate, Rate) or rate.percent is None:
        return "—"
    return f"{rate.percent:.1f}%"


@register.filter
def interval(rate: Any) -> str:
    """The Wilson 95% interval as "80.1–92.3%"."""
    if not isinstance(rate, Rate) or not rate.den:
        return "—"
    low, high = rate.interval
    return f"{100 * low:.1f}–{100 * high:.1f}%"


@register.filter
def work_time(seconds: Any) -> str:
    return format_duration(seconds, working=True)


@register.filter
def calendar_time(seconds: Any) -> str:
    return format_duration(seconds, working=False)


@register.filter
def timedelta_work(value: Any) -> str:
    if not isinstance(value, dt.timedelta):
        return "—"
    return format_duration(value.total_seconds(), working=True)


@register.filter
def get(mapping: Any, key: Any) -> Any:
    try:
        return mapping[key]
    except (KeyError, IndexError, TypeError):
        return None
