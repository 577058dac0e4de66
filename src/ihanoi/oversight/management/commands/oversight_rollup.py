"""``ihanoi oversight_rollup``: fold new report events into the statistics roll-ups.

The scheduler runs it (or the ``oversight.tasks.rollup`` task) every minute;
``--rebuild`` empties the roll-ups and recomputes them from every event.
"""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ihanoi.oversight import services


class Command(BaseCommand):
    help = "Fold new report events into the oversight roll-ups (--rebuild: from scratch)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--rebuild",
            action="store_true",
            help="Empty the roll-ups and recompute them from every event.",
        )
        parser.add_argument(
            "--batch",
            type=int,
            default=services.BATCH_EVENTS,
            help=f"Events per transaction (default {services.BATCH_EVENTS}).",
        )
        parser.add_argument(
            "--max-batches",
            type=int,
            default=services.MAX_BATCHES,
            help=f"Batches in this run at most (default {services.MAX_BATCHES}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch"] < 1 or options["max_batches"] < 1:
            raise CommandError("--batch and --max-batches must be at least 1.")
        started = time.monotonic()
        if options["rebuild"]:

            def progress(done: int, total: int) -> None:
                if options["verbosity"] > 1:
                    self.stdout.write(f"  {done}/{total} reports")

            result = services.rollup_rebuild(progress=progress)
        else:
            result = services.rollup_run(
                batch_size=options["batch"], max_batches=options["max_batches"]
            )
        self.stdout.write(
            f"Roll-ups: {result.events} events, {result.facts} facts, {result.batches} "
            f"batch(es); watermark at event {result.last_event_id} "
            f"({time.monotonic() - started:.1f} s)."
        )
