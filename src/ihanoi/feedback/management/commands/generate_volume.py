"""``ihanoi generate_volume``: fill the database with a city's volume of generated data.

    ihanoi generate_volume --reports 1000000 --residents 500000 --years 2 [--seed N]
                           [--end DATE] [--append] [--rebuild-rollups]

Residents, reports with their whole timelines, ratings and photos (see docs/data-volume.md),
bulk-loaded in one transaction: COPY on PostgreSQL. The reference data must be loaded
first (``ihanoi demo_setup``, or ``load_places``, ``seed_agencies``, ``seed_feedback``).
"""

from __future__ import annotations

import datetime as dt
import time
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ihanoi.feedback.volume import VolumeError, VolumeResult, volume_generate
from ihanoi.lib.worktime import CITY_TZ

DAYS_PER_YEAR = 365.2425
MAX_YEARS = 30


def _end(value: str | None, now: dt.datetime) -> dt.datetime:
    if value is None:
        return now
    text = value.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return dt.datetime.combine(day, dt.time(0), tzinfo=CITY_TZ)
        moment = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(
            f"--end {value!r} is not a date (YYYY-MM-DD) or a date and time "
            "(YYYY-MM-DDTHH:MM, city time unless an offset is given)."
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=CITY_TZ)


def _start(end: dt.datetime, years: float) -> dt.datetime:
    """``years`` before ``end``: whole calendar years, then the fraction in days."""
    whole = int(years)
    try:
        start = end.replace(year=end.year - whole)
    except ValueError:  # 29 February
        start = end.replace(year=end.year - whole, day=28)
    return start - dt.timedelta(seconds=round((years - whole) * DAYS_PER_YEAR * 86400))


class Command(BaseCommand):
    help = (
        "Generate residents and reports with their timelines, ratings and photos at a "
        "city's volume (load tests, dashboards). Refuses a database that already holds "
        "reports unless --append; never deletes anything."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--reports", type=int, required=True, help="Reports to generate (at least 1)."
        )
        parser.add_argument(
            "--residents",
            type=int,
            required=True,
            help="Resident accounts to create; the reports come from them (at least 1).",
        )
        parser.add_argument(
            "--years",
            type=float,
            default=2.0,
            help="Length of the history before --end, in years (default 2).",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=1022,
            help="Random seed: the same seed on the same database gives the same data.",
        )
        parser.add_argument(
            "--end",
            help=(
                "When the generated history stops: a date (its 00:00, city time) or a date "
                "and time; default now. Not in the future."
            ),
        )
        parser.add_argument(
            "--append",
            action="store_true",
            help="Add to a database that already holds reports (new residents and reports).",
        )
        parser.add_argument(
            "--rebuild-rollups",
            action="store_true",
            help="Rebuild the oversight roll-ups afterwards (as `oversight_rollup --rebuild`).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("generate_volume refuses to run with IHANOI_PRODUCTION=1.")
        reports, residents, years = options["reports"], options["residents"], options["years"]
        if reports < 1:
            raise CommandError(f"--reports must be at least 1 (got {reports}).")
        if residents < 1:
            raise CommandError(f"--residents must be at least 1 (got {residents}).")
        if not 0 < years <= MAX_YEARS:  # also refuses NaN
            raise CommandError(
                f"--years must be more than 0 and at most {MAX_YEARS} (got {years})."
            )
        now = timezone.now().astimezone(CITY_TZ)
        end = _end(options["end"], now)
        if end > now:
            raise CommandError(f"--end {options['end']} is in the future: history cannot be.")
        start = _start(end, years)
        verbosity = options["verbosity"]
        started = time.monotonic()
        try:
            result = volume_generate(
                reports=reports,
                residents=residents,
                start=start,
                end=end,
                seed=options["seed"],
                append=options["append"],
                progress=self._progress if verbosity > 0 else None,
            )
        except VolumeError as exc:
            raise CommandError(str(exc)) from exc
        loaded = time.monotonic() - started
        if verbosity > 0:
            self._report(result, loaded)
        if options["rebuild_rollups"]:
            self._rebuild(verbosity)
        elif verbosity > 0:
            self.stdout.write(
                "The oversight roll-ups do not count them yet: run "
                "`ihanoi oversight_rollup --rebuild` (or pass --rebuild-rollups)."
            )

    def _progress(self, label: str, total: int) -> Any:
        from tqdm import tqdm

        return tqdm(
            total=total,
            desc=label,
            unit=" " + label,
            unit_scale=True,
            file=self.stderr._out,
            mininterval=0.5,
            dynamic_ncols=True,
        )

    def _report(self, result: VolumeResult, seconds: float) -> None:
        c = result.counts
        last = result.first_report_id + c.reports - 1
        self.stdout.write(
            f"Generated {c.residents:,} residents and {c.reports:,} reports "
            f"(ids {result.first_report_id:,}–{last:,}) submitted from "
            f"{result.start:%Y-%m-%d %H:%M} to {result.end:%Y-%m-%d %H:%M}: {c.events:,} "
            f"events, {c.photos:,} photos, {c.follows:,} follows, {c.open311_requests:,} "
            f"Open311 requests, in {seconds:.1f} s."
        )
        self.stdout.write(
            f"The photo rows point at {result.photo_files} JPEG files in the media storage "
            "(volume/)."
        )

    def _rebuild(self, verbosity: int) -> None:
        from ihanoi.oversight.services import rollup_rebuild

        started = time.monotonic()
        bar = self._progress("reports", 0) if verbosity > 0 else None

        def progress(done: int, total: int) -> None:
            if bar is not None:
                bar.total = total
                bar.update(done - bar.n)

        result = rollup_rebuild(progress=progress)
        if bar is not None:
            bar.close()
        if verbosity > 0:
            self.stdout.write(
                f"Roll-ups rebuilt: {result.events:,} events, {result.facts:,} facts "
                f"({time.monotonic() - started:.1f} s)."
            )
