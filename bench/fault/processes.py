"""The fault test's processes: the application stack (gunicorn, RQ workers, scheduler) and
a throw-away PostgreSQL cluster, plus the /proc helpers that find and kill what runs."""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
DEFAULT_PG_BIN = "/usr/lib/postgresql/15/bin"
STARTED = time.time()


def log(message: str) -> None:
    sys.stdout.write(f"[{time.time() - STARTED:6.1f} s] {message}\n")
    sys.stdout.flush()


# --- Processes ------------------------------------------------------------------------------


def _proc_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state) for every live process."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        table[int(entry)] = (int(fields[1]), fields[0])
    return table


def descendants(pid: int) -> list[int]:
    """Live (not zombie) descendants of ``pid``."""
    table = _proc_table()
    children = collections.defaultdict(list)
    for child, (parent, state) in table.items():
        if state != "Z":
            children[parent].append(child)
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def sigkill(pids: Iterable[int]) -> list[int]:
    killed = []
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    return killed


@dataclass
class Proc:
    name: str
    argv: list[str]
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen is not None else None

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


class Stack:
    """gunicorn, the RQ workers and the scheduler, as subprocesses with logs in ``logs``."""

    def __init__(
        self,
        *,
        env: dict[str, str],
        logs: Path,
        port: int,
        args: argparse.Namespace,
        marker: tuple[str, str],
    ):
        self.env = env
        self.marker = marker
        self.logs = logs
        self.port = port
        python = sys.executable
        # The plain ``ihanoi`` command; the lease comes from IHANOI_DELIVERY_LEASE_SECONDS.
        launch = ["-m", "ihanoi.cli"]
        self.procs: dict[str, Proc] = {
            "web": Proc(
                "web",
                [
                    python,
                    "-m",
                    "gunicorn",
                    # The site itself, or the same with the crash-after-commit fault.
                    "bench.fault.wsgi:application"
                    if args.crash_after_commit > 0
                    else "ihanoi.wsgi:application",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    str(args.web_workers),
                    "--timeout",
                    "20",
                    "--graceful-timeout",
                    "5",
                    # gunicorn's control socket defaults to one path per user
                    # (~/.gunicorn/gunicorn.ctl), shared with any other gunicorn running.
                    "--no-control-socket",
                ],
            ),
            "scheduler": Proc("scheduler", [python, *launch, "scheduler"]),
        }
        for index in range(1, args.task_workers + 1):
            name = f"task-{index}"
            self.procs[name] = Proc(
                name,
                [
                    python,
                    *launch,
                    "rqworker",
                    "--job-class",
                    "django_tasks_rq.Job",
                    *(["--worker-class", args.rq_worker_class] if args.rq_worker_class else []),
                    *(["--with-scheduler"] if args.rq_with_scheduler else []),
                    "default",
                ],
            )
        self.lock = threading.Lock()
        # pid -> what it was, for every process this run started or saw (the sink records
        # the sender's pid; the report explains duplicates with it).
        self.roles: dict[int, str] = {}
        # gunicorn workers left behind by a killed master: they exit by themselves once they
        # notice; killed at the end if they have not.
        self.orphans: set[int] = set()
        # orphan pid -> (when its master died, when it was last seen alive)
        self.orphan_seen: dict[int, tuple[float, float]] = {}

    def start(self, name: str) -> None:
        proc = self.procs[name]
        handle = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
        proc.popen = subprocess.Popen(  # noqa: S603
            proc.argv,
            env=self.env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        handle.close()
        proc.starts += 1
        self.roles[proc.popen.pid] = name

    def start_all(self) -> None:
        for name in self.procs:
            self.start(name)

    def task_names(self) -> list[str]:
        return [name for name in self.procs if name.startswith("task-")]

    def note_children(self) -> None:
        """Remember the role of every child (gunicorn workers, work-horses) seen now."""
        for name, proc in self.procs.items():
            if proc.running() and proc.pid is not None:
                for child in descendants(proc.pid):
                    self.roles.setdefault(child, f"{name} child")

    def note_orphans(self) -> None:
        now = time.time()
        for pid in self.orphans:
            if pid in self.orphan_seen and alive(pid):
                self.orphan_seen[pid] = (self.orphan_seen[pid][0], now)

    def orphan_lifetime(self) -> float:
        """The longest a gunicorn worker outlived its killed master (as far as seen)."""
        return max((last - died for died, last in self.orphan_seen.values()), default=0.0)

    def restart_dead(self, events: list[dict[str, Any]]) -> None:
        """Start again whatever exited without being told to (e.g. a gunicorn master that
        could not bind while the workers of its killed predecessor held the port)."""
        with self.lock:
            for name, proc in self.procs.items():
                if proc.popen is not None and proc.popen.poll() is not None:
                    events.append(
                        {
                            "kind": "exited",
                            "t": time.time(),
                            "process": name,
                            "code": proc.popen.returncode,
                        }
                    )
                    self.start(name)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.running():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.popen.pid, signal.SIGTERM)  # type: ignore[union-attr]
        deadline = time.time() + 15
        for proc in self.procs.values():
            if proc.popen is None:
                continue
            try:
                proc.popen.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                sigkill([proc.popen.pid, *descendants(proc.popen.pid)])
                proc.popen.wait(timeout=5)
        for proc in self.procs.values():
            if proc.popen is not None:
                sigkill(descendants(proc.popen.pid))
        sigkill(pid for pid in self.orphans if alive(pid))
        # Whatever else this run started and outlived its parent (the scheduler process of
        # an RQ worker killed with --with-scheduler, say): found by the run's own marker.
        sigkill(self.stragglers())

    def stragglers(self) -> list[int]:
        """Live processes, other than this one, whose environment carries this run's
        ``marker`` (a variable whose value names the run's work folder)."""
        name, value = self.marker
        needle = f"{name}={value}".encode()
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                with open(f"/proc/{entry}/environ", "rb") as handle:
                    if needle in handle.read().split(b"\0") and alive(int(entry)):
                        found.append(int(entry))
            except OSError:
                continue
        return found


# --- The PostgreSQL cluster of the test -----------------------------------------------------


class Cluster:
    """A throw-away PostgreSQL cluster: initdb into ``directory``, loopback, trust."""

    def __init__(self, directory: Path, port: int, bin_dir: Path):
        self.directory = directory
        self.data = directory / "data"
        self.logfile = directory / "postgres.log"
        self.port = port
        self.bin = bin_dir
        self.as_postgres = os.geteuid() == 0

    def _run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / argv[0]), *argv[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        # A plain environment: the server must not carry the application's settings (nor the
        # run's marker, by which the stragglers of the application are found).
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"}
        return subprocess.run(  # noqa: S603
            command, capture_output=True, text=True, timeout=timeout, check=False, env=env
        )

    def _check(self, result: subprocess.CompletedProcess[str], what: str) -> None:
        if result.returncode != 0:
            raise RuntimeError(
                f"{what} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
            )

    def init(self) -> None:
        if not (self.bin / "initdb").exists():
            raise SystemExit(
                f"PostgreSQL binaries not found in {self.bin} (apt-get install postgresql-15, "
                "or --pg-bin)."
            )
        self.directory.mkdir(parents=True)
        if self.as_postgres:
            shutil.chown(self.directory, "postgres", "postgres")
        self._check(
            self._run(
                "initdb",
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ),
            "initdb",
        )
        conf = {
            "port": str(self.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.directory}'",
            "max_connections": "200",
            "shared_buffers": "'64MB'",
            # Durable commits, as in production: what was acknowledged survives the crash.
            "fsync": "on",
            "synchronous_commit": "on",
            "logging_collector": "off",
        }
        with open(self.data / "postgresql.auto.conf", "a") as handle:
            for key, value in conf.items():
                handle.write(f"{key} = {value}\n")
        with open(self.data / "pg_hba.conf", "w") as handle:
            handle.write("local all all trust\nhost all all 127.0.0.1/32 trust\n")

    def start(self) -> None:
        self._check(
            self._run(
                "pg_ctl", "-D", str(self.data), "-l", str(self.logfile), "-w", "-t", "60", "start"
            ),
            "pg_ctl start",
        )

    def restart(self, mode: str) -> None:
        self._check(
            self._run(
                "pg_ctl",
                "-D",
                str(self.data),
                "-l",
                str(self.logfile),
                "-w",
                "-t",
                "60",
                "-m",
                mode,
                "restart",
            ),
            f"pg_ctl restart -m {mode}",
        )

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-w", "-t", "30", "-m", "fast", "stop")

    def createdb(self, name: str) -> None:
        self._check(
            self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name),
            "createdb",
        )

    def running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.data), "status").returncode == 0
