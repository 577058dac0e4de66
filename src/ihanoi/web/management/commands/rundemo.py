"""Run the web server, the task worker and the scheduler together, as `make demo` does.

All are real processes (gunicorn, the database task worker, the scheduler); Ctrl-C stops
them all, and if one dies the others are stopped too, so the demo never runs half-alive.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve the site with gunicorn and run the task worker until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default="127.0.0.1:8000")
        parser.add_argument("--workers", type=int, default=2)

    def handle(self, *args: Any, **options: Any) -> None:
        bin_dir = os.path.dirname(sys.executable)
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        commands = {
            "web": [
                os.path.join(bin_dir, "gunicorn"),
                "ihanoi.wsgi:application",
                "--bind",
                options["bind"],
                "--workers",
                str(options["workers"]),
                "--access-logfile",
                "-",
                # One control socket per user by default: it would clash with another
                # gunicorn of the same user (deploy/stack.py gives each instance its own).
                "--no-control-socket",
            ],
            "worker": [sys.executable, "-m", "ihanoi.cli", "db_worker", "--queue-name", "*"],
            "scheduler": [sys.executable, "-m", "ihanoi.cli", "scheduler"],
        }
        processes = {name: subprocess.Popen(cmd, env=env) for name, cmd in commands.items()}  # noqa: S603
        self.stdout.write(
            f"web on http://{options['bind']}/, the task worker and the scheduler are running; "
            "Ctrl-C stops them all."
        )

        stopping = False

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, process in processes.items():
                    if process.poll() is not None:
                        self.stderr.write(
                            f"{name} exited with code {process.returncode}; stopping."
                        )
                        stopping = True
                time.sleep(0.5)
        finally:
            for process in processes.values():
                if process.poll() is None:
                    process.terminate()
            for process in processes.values():
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
