"""Run the periodic jobs: `ihanoi scheduler` (a long-running process, like the worker)."""

from __future__ import annotations

import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ihanoi.web.scheduler import default_jobs, run_due_jobs


class Command(BaseCommand):
    help = "Enqueue the periodic jobs (deadline scan, notification sweep, rating window)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Run one round and exit.")
        parser.add_argument("--tick", type=float, default=5.0, help="Seconds between rounds.")

    def handle(self, *args: Any, **options: Any) -> None:
        jobs = default_jobs()
        stopping = False

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while True:
            for name in run_due_jobs(jobs):
                self.stdout.write(f"enqueued {name}")
            if options["once"] or stopping:
                return
            time.sleep(options["tick"])
