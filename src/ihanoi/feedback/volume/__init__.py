"""Generated data at a city's volume, for load tests, dashboards and benchmarks.

``volume_generate`` fills the configured database with residents and reports with their
whole timelines (``generator``), their photos (``photos``) and, for reports that came
through Open311, the client's request rows, bulk-loaded (``sinks``: COPY on PostgreSQL).
It needs the reference data (wards, agencies, categories: ``city``) and refuses to add to
a database that already holds reports unless asked to append; it never deletes anything.
``ihanoi generate_volume`` is its command; docs/data-volume.md describes the data.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from django.db import connection, transaction

from ihanoi.accounts.models import User
from ihanoi.feedback.models import Follow, Report, ReportEvent, ReportPhoto
from ihanoi.lib.worktime import CITY_TZ
from ihanoi.open311.models import ApiKey, Open311Request

from .city import City, MissingReferenceData
from .generator import Counts, VolumeGenerator
from .photos import photo_assets
from .residents import USER_COLUMNS, Residents, phones_in_use, residents_create
from .sinks import Table, analyze, next_id, sequences_reset

__all__ = [
    "City",
    "Counts",
    "MissingReferenceData",
    "Residents",
    "VolumeError",
    "VolumeGenerator",
    "VolumeResult",
    "residents_create",
    "tables_finish",
    "volume_generate",
]

# The tables a generation writes, in foreign-key order.
TABLES = (User, Report, ReportEvent, ReportPhoto, Follow, Open311Request)
OPEN311_CLIENT_NAME = "Dữ liệu sinh (kiểm thử tải)"


class VolumeError(Exception):
    """The generation cannot run as asked; nothing was written."""


class Progress(Protocol):
    def update(self, n: int = 1) -> object: ...

    def close(self) -> None: ...


# Makes a progress display for a step: (what is counted, how many there will be).
ProgressFactory = Callable[[str, int], Progress]


@dataclass(frozen=True)
class VolumeResult:
    counts: Counts
    start: dt.datetime
    end: dt.datetime
    first_report_id: int
    photo_files: int


def volume_generate(
    *,
    reports: int,
    residents: int,
    start: dt.datetime,
    end: dt.datetime,
    seed: int,
    append: bool = False,
    progress: ProgressFactory | None = None,
) -> VolumeResult:
    """Generate ``residents`` accounts and ``reports`` submitted in ``[start, end)`` with
    their timelines up to ``end``, in one transaction: all of it is written or none.

    Raises VolumeError (nothing written) for bad arguments, missing reference data, or
    reports already present without ``append``."""
    if reports < 1 or residents < 1:
        raise VolumeError("The numbers of reports and of residents must be at least 1.")
    if start.tzinfo is None or end.tzinfo is None:
        raise VolumeError("Give the span with its time zone.")
    # Whole seconds: submission moments are drawn to the second inside the span.
    start = start.astimezone(CITY_TZ).replace(microsecond=0)
    end = end.astimezone(CITY_TZ).replace(microsecond=0)
    if end <= start:
        raise VolumeError("The span is empty: its end must come after its start.")
    postgres = connection.vendor == "postgresql"
    with transaction.atomic():
        if postgres:
            with connection.cursor() as cursor:
                # The app may keep running: it reads meanwhile, its inserts into these
                # tables wait until the load commits (the explicit ids cannot collide), and
                # a second generation waits for the first.
                names = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in TABLES)
                cursor.execute(f"LOCK TABLE {names} IN SHARE ROW EXCLUSIVE MODE")
                # Foreign keys checked at the end of each COPY rather than queued for the
                # commit (millions of queued checks would hold the server's memory).
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        existing = Report.objects.count()
        if existing and not append:
            raise VolumeError(
                f"The database already holds {existing:,} reports. Generated data would mix "
                "with them: use an empty database, or --append to add to them (nothing is "
                "ever deleted)."
            )
        try:
            city = City.load(random.Random(f"{seed}:city"))  # noqa: S311 - not a secret
        except MissingReferenceData as exc:
            raise VolumeError(str(exc)) from exc
        first_report_id = next_id(Report)
        # Another run on the same database continues the ids: it draws other values.
        rng = random.Random(f"{seed}:{first_report_id}")  # noqa: S311 - made-up data
        assets = photo_assets(seed)
        users = Table(User, USER_COLUMNS)
        with _shown(progress, "residents", residents) as tick:
            people = residents_create(
                count=residents,
                start=start,
                end=end,
                first_id=next_id(User),
                taken_phones=phones_in_use(),
                table=users,
                rng=rng,
                tick=tick,
            )
            users.flush()
        with (
            _shown(progress, "reports", reports) as tick,
            VolumeGenerator(
                city, people, rng=rng, photos=assets, open311_key=_open311_client()
            ) as generator,
        ):
            generator.generate(reports, start, end, tick=tick)
        sequences_reset(TABLES)
        if postgres:
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # back to Django's own
    analyze(TABLES)
    counts = generator.counts()
    counts.residents = users.sent
    return VolumeResult(
        counts=counts,
        start=start,
        end=end,
        first_report_id=first_report_id,
        photo_files=sum(len(a) for a in assets.values()),
    )


@contextlib.contextmanager
def _shown(
    progress: ProgressFactory | None, label: str, total: int
) -> Iterator[Callable[[int], object]]:
    """A step's progress display (none without a factory), closed however the step ends."""
    if progress is None:
        yield lambda n: None
        return
    bar = progress(label, total)
    try:
        yield bar.update
    finally:
        bar.close()


def tables_finish() -> None:
    """After rows were loaded with explicit ids outside ``volume_generate``: the id
    sequences past them, and fresh planner statistics."""
    sequences_reset(TABLES)
    analyze(TABLES)


def _open311_client() -> tuple[int, str]:
    """The Open311 client that generated Open311 reports name (made once, no usable key)."""
    found = (
        ApiKey.objects.filter(name=OPEN311_CLIENT_NAME, revoked_at=None)
        .order_by("pk")
        .values_list("pk", "prefix")
        .first()
    )
    if found is not None:
        return found
    from ihanoi.open311.services import api_key_create

    api_key, _secret = api_key_create(name=OPEN311_CLIENT_NAME)
    return api_key.pk, api_key.prefix
