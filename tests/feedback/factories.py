"""Many reports at once for the tests of the long lists: rows written directly (no routing,
no timeline), with the columns the lists read."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import h3
from django.utils import timezone

from ihanoi.accounts.models import User
from ihanoi.feedback.models import Category, Report, Status

from .conftest import HOAN_KIEM_LAKE, World


def make_reports(
    world: World,
    count: int,
    *,
    reporter: User | None = None,
    category: str = "giao-thong",
    start: datetime.datetime | None = None,
    step: datetime.timedelta = datetime.timedelta(minutes=-7),
    title: str = "Phản ánh",
    **columns: Any,
) -> list[Report]:
    """``count`` reports of ``world.hoan_kiem`` with the Hoàn Kiếm committee, assigned, the
    first submitted at ``start`` (default: an hour ago) and each next one ``step`` later
    (earlier by default); ``columns`` override any column, e.g. ``status``."""
    start = start or timezone.now() - datetime.timedelta(hours=1)
    lat, lon = HOAN_KIEM_LAKE
    found = Category.objects.get(code=category)
    defaults: dict[str, Any] = {
        "category": found,
        "lat": lat,
        "lon": lon,
        "ward": world.hoan_kiem,
        "h3_cell": h3.latlng_to_cell(lat, lon, 9),
        "reporter": reporter or world.resident,
        "status": Status.ASSIGNED,
        "agency": world.hk_committee,
        "description": "Mô tả",
        "address": "Phố Đinh Tiên Hoàng",
    }
    rows = []
    for n in range(count):
        submitted = start + step * n
        values = {
            **defaults,
            "submitted_at": submitted,
            "assigned_at": submitted,
            "accept_due_at": submitted + datetime.timedelta(hours=8),
            **columns,
        }
        rows.append(Report(public_id=uuid.uuid4(), title=f"{title} {n:03d}", **values))
    return Report.objects.bulk_create(rows)
