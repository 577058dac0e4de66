"""Faults under load: report submissions and notification deliveries while processes die.

    .venv/bin/python bench/fault/fault_test.py --duration 60

What it does, on a Debian machine with PostgreSQL 15 and Redis (run as root or as a user
that may run PostgreSQL's binaries):

1. Creates its own PostgreSQL 15 cluster in a temporary folder (``initdb`` as user
   ``postgres`` when run as root; loopback only, trust authentication, port ``--pg-port``)
   and empties its Redis database (``--redis-url``, db 8 by default: the load tests use 7;
   it refuses to when live RQ workers of another stack use it). The shared server on 5432
   is never touched.
2. ``ihanoi migrate`` + ``ihanoi demo_setup`` (Hanoi's wards, agencies, categories and the
   demo accounts: an officer and a lead of the Hoàn Kiếm ward's People's Committee), then
   one resident per client, with a verified phone number, an e-mail address and an API
   device token.
3. Starts the stack as in production, against that cluster: gunicorn (``--web-workers``
   sync workers), ``--task-workers`` RQ workers (``ihanoi rqworker --job-class
   django_tasks_rq.Job default``) and ``ihanoi scheduler``, with DATABASE_POOL=1,
   TASKS_BACKEND=rq, and SMS/e-mail backends that record every send in an append-only file
   (``bench/fault/sink.py``). The outbox's claim lease is ``--lease`` seconds
   (``IHANOI_DELIVERY_LEASE_SECONDS``), so that a short run settles.
4. For ``--duration`` seconds, ``--clients`` threads submit reports through
   ``POST /api/v1/reports`` (multipart, one photo) like the app's offline drafts: one
   ``client_key`` per draft, the same key on every retry, retrying on connection errors,
   timeouts and 5xx with backoff until a 2xx. Meanwhile faults are injected one after
   another: SIGKILL of a gunicorn worker, of the gunicorn master, of the master with all its
   workers, of an RQ worker with its work-horse, of a work-horse alone, and restarts of the
   cluster with ``pg_ctl restart -m fast`` and ``-m immediate`` (a crash). Killed processes
   are restarted (gunicorn's master respawns its own workers). Opt-in, faults that always
   hit the narrow windows: ``--crash-after-commit`` (a web worker dies after a submission
   committed, before answering; ``bench/fault/wsgi.py``), ``--crash-after-send`` (a sender
   dies after the provider took a message, before the row is marked sent) and
   ``--provider-errors`` (the provider refuses a message).
5. Stops the faults, lets the clients finish the drafts they hold (``--drain`` seconds at
   most), then lets the outbox settle (``--settle`` seconds at most: until no delivery is
   pending or being sent; expired claims are taken over by the scheduler's sweep, every
   minute), and prints the counts: reports per acknowledged client_key, reports nobody sent,
   and per delivery how many times it reached the sink (lost / once / more), both as raw
   sends and as a provider that deduplicates by the delivery's idempotency key passes them
   on (``checks.provider_view``).

Pass (exit status 0): every acknowledged draft has exactly one report and no report exists
that nobody sent; every delivery was sent, each send carried the application's key for its
delivery, and the deduplicating provider passed each delivery on exactly once. A raw resend
(a sender stopped between the provider taking a message and the row being marked sent) is
counted and explained, not failed: it carries the first send's key. ``--allow-duplicates``
also passes deliveries passed on twice or sent without a key (at-least-once), never a
loss. Otherwise exit status 1. ``--json`` writes the counts to a file. The work
folder (cluster, logs, sink) is removed afterwards unless a check failed or ``--keep``.
docs/faults.md explains the method and the counts.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.fault.checks import (  # noqa: E402
    FAULT_KINDS,
    TERMINAL_DELIVERY,
    count_everything,
    db_retry,
    django_setup,
    make_residents,
    outbox_status,
    report,
)
from bench.fault.clients import Client, Journal  # noqa: E402
from bench.fault.processes import (  # noqa: E402
    DEFAULT_PG_BIN,
    Cluster,
    Stack,
    alive,
    descendants,
    log,
    sigkill,
)
from bench.fault.sink import (  # noqa: E402
    CRASH_AFTER_COMMIT_ENV,
    CRASH_AFTER_SEND_ENV,
    EVENTS_ENV,
    FAULTS_OFF_ENV,
    PROVIDER_ERRORS_ENV,
    SINK_ENV,
    SLOW_PROVIDER_ENV,
)

# --- Faults ---------------------------------------------------------------------------------


class Injector(threading.Thread):
    """Injects one fault after another (never two at once) until told to stop; the first
    round goes through every kind in a random order, later ones pick at random."""

    def __init__(
        self,
        *,
        stack: Stack,
        cluster: Cluster,
        kinds: list[str],
        interval: float,
        seed: int,
        stop: threading.Event,
    ):
        super().__init__(name="faults", daemon=True)
        self.stack = stack
        self.cluster = cluster
        self.kinds = kinds
        self.interval = interval
        self.random = random.Random(seed)
        self.stop = stop
        self.events: list[dict[str, Any]] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._run()
        except BaseException as error:  # reported by the main thread
            self.error = error

    def _run(self) -> None:
        plan = list(self.kinds)
        self.random.shuffle(plan)
        skipped: collections.Counter[str] = collections.Counter()
        # Told to stop, it still finishes the first round, so that every kind has run.
        while not (self.stop.is_set() and not plan):
            self._wait(self.interval * self.random.uniform(0.5, 1.5))
            kind = plan.pop(0) if plan else self.random.choice(self.kinds)
            started = time.time()
            event: dict[str, Any] = {"kind": kind, "t": started}
            getattr(self, "_" + kind.replace("-", "_"))(event)
            event["took"] = round(time.time() - started, 2)
            self.events.append(event)
            log(f"fault {kind}: {event.get('detail', '')} ({event['took']} s)")
            if event.get("skipped") and skipped[kind] < 3:
                skipped[kind] += 1
                plan.append(kind)  # nothing to kill just then: try again later

    def _wait(self, seconds: float) -> None:
        """Sleep, watching the processes (restarting any that exited on their own)."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            self.stack.note_children()
            self.stack.note_orphans()
            self.stack.restart_dead(self.events)
            time.sleep(min(0.2, max(0.0, deadline - time.time())))

    def _downtime(self) -> None:
        time.sleep(self.random.uniform(0.2, 2.0))

    # Each fault: what it kills, and how the process comes back.

    def _web_worker(self, event: dict[str, Any]) -> None:
        # Right after a master was restarted its workers may still be booting.
        deadline = time.time() + 5
        while True:
            master = self.stack.procs["web"].pid
            workers = descendants(master) if master else []
            if workers or time.time() > deadline:
                break
            time.sleep(0.05)
        if not workers:
            event["skipped"] = True
            event["detail"] = "no gunicorn worker running within 5 s"
            return
        victim = self.random.choice(workers)
        event["killed"] = sigkill([victim])
        event["detail"] = f"SIGKILL worker {victim}; the master forks a new one"

    def _web_master(self, event: dict[str, Any]) -> None:
        with self.stack.lock:
            proc = self.stack.procs["web"]
            assert proc.popen is not None
            workers = descendants(proc.popen.pid)
            event["killed"] = sigkill([proc.popen.pid])
            proc.popen.wait()
            self.stack.orphans.update(workers)
            self.stack.orphan_seen.update((pid, (time.time(), time.time())) for pid in workers)
        self._downtime()
        with self.stack.lock:
            self.stack.start("web")
        event["detail"] = (
            f"SIGKILL master {event['killed']} (its {len(workers)} workers finish and exit); "
            "new master started"
        )

    def _web_all(self, event: dict[str, Any]) -> None:
        with self.stack.lock:
            proc = self.stack.procs["web"]
            assert proc.popen is not None
            event["killed"] = sigkill([*descendants(proc.popen.pid), proc.popen.pid])
            proc.popen.wait()
        self._downtime()
        with self.stack.lock:
            self.stack.start("web")
        event["detail"] = f"SIGKILL master and workers {event['killed']}; restarted"

    def _task_worker(self, event: dict[str, Any]) -> None:
        name = self.random.choice(self.stack.task_names())
        with self.stack.lock:
            proc = self.stack.procs[name]
            assert proc.popen is not None
            event["killed"] = sigkill([*descendants(proc.popen.pid), proc.popen.pid])
            proc.popen.wait()
        self._downtime()
        with self.stack.lock:
            self.stack.start(name)
        event["detail"] = f"SIGKILL {name} with its work-horse {event['killed']}; restarted"

    def _task_horse(self, event: dict[str, Any]) -> None:
        # A work-horse lives while it runs a job, and a send to the recording provider takes a
        # few ms: the provider is made slow meanwhile, so that the next delivery job's horse
        # is alive long enough to be found; it dies waiting on the provider.
        slow = Path(self.stack.env[SLOW_PROVIDER_ENV])
        slow.touch()
        try:
            deadline = time.time() + 20
            while time.time() < deadline:
                horses = [
                    child
                    for name in self.stack.task_names()
                    if self.stack.procs[name].pid
                    for child in descendants(self.stack.procs[name].pid)  # type: ignore[arg-type]
                ]
                if horses:
                    victim = self.random.choice(horses)
                    self.stack.roles.setdefault(victim, "work-horse")
                    event["killed"] = sigkill([victim])
                    event["detail"] = f"SIGKILL work-horse {victim} mid-job; its worker goes on"
                    return
                self.stack.restart_dead(self.events)  # a process that exited meanwhile
                time.sleep(0.01)
        finally:
            slow.unlink(missing_ok=True)
        event["skipped"] = True
        event["detail"] = "no work-horse running within 20 s"

    def _pg_fast(self, event: dict[str, Any]) -> None:
        self.cluster.restart("fast")
        event["detail"] = "pg_ctl restart -m fast"

    def _pg_immediate(self, event: dict[str, Any]) -> None:
        self.cluster.restart("immediate")
        event["detail"] = "pg_ctl restart -m immediate (crash and recovery)"


# --- Main -----------------------------------------------------------------------------------


def photo_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "orange").save(buffer, "JPEG")
    return buffer.getvalue()


def wait_http(url: str, seconds: float) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer 200 within {seconds} s")


def run_cli(env: dict[str, str], logs: Path, *argv: str) -> None:
    with open(logs / "setup.log", "ab") as handle:
        result = subprocess.run(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "ihanoi.cli", *argv],
            env=env,
            cwd=ROOT,
            stdout=handle,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if result.returncode != 0:
        raise RuntimeError(f"ihanoi {' '.join(argv)} failed; see {logs / 'setup.log'}")


def app_env(args: argparse.Namespace, work: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("IHANOI_", "DATABASE_", "DJANGO_", "EMAIL_", "SMS_", "TASKS_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": args.settings,
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{args.pg_port}/ihanoi_fault",
            "DATABASE_POOL": "1",
            "REDIS_URL": args.redis_url,
            "TASKS_BACKEND": "rq",
            "SMS_BACKEND": "bench.fault.sink.RecordingSMSBackend",
            "EMAIL_BACKEND": "bench.fault.sink.RecordingEmailBackend",
            SINK_ENV: str(work / "sink.jsonl"),
            EVENTS_ENV: str(work / "events.jsonl"),
            FAULTS_OFF_ENV: str(work / "faults-off"),
            SLOW_PROVIDER_ENV: str(work / "slow-provider"),
            CRASH_AFTER_SEND_ENV: str(args.crash_after_send),
            CRASH_AFTER_COMMIT_ENV: str(args.crash_after_commit),
            PROVIDER_ERRORS_ENV: str(args.provider_errors),
            "IHANOI_VAR_DIR": str(work / "var"),
            "MEDIA_ROOT": str(work / "media"),
            "IHANOI_SITE_URL": f"http://127.0.0.1:{args.port}",
            "PYTHONPATH": os.pathsep.join(
                [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
            ),
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "WARNING",
        }
    )
    if args.lease:
        env["IHANOI_DELIVERY_LEASE_SECONDS"] = str(args.lease)
    if args.email_timeout:
        env["EMAIL_TIMEOUT"] = str(args.email_timeout)
    if not args.rq_with_scheduler:
        # Nothing would move a deferred task to the queue: the delivery task runs at once.
        env["IHANOI_DELIVERY_GATHER_MS"] = "0"
    return env


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60, help="seconds of load and faults")
    parser.add_argument(
        "--settle",
        type=float,
        default=180,
        help="most seconds to wait for the outbox to empty afterwards",
    )
    parser.add_argument(
        "--drain",
        type=float,
        default=60,
        help="most seconds for the clients to get their last drafts through",
    )
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument(
        "--think",
        type=float,
        default=0.3,
        help="seconds a client waits between drafts (on average)",
    )
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--task-workers", type=int, default=2)
    parser.add_argument(
        "--rq-worker-class",
        default="",
        help="RQ worker class (default rq's own, which forks a work-horse per job; "
        "rq.worker.SimpleWorker runs jobs in the worker's process, as deploy/stack.py does: "
        "then there is no work-horse to kill, and task-horse is left out)",
    )
    parser.add_argument(
        "--rq-with-scheduler",
        action="store_true",
        help="run the RQ workers with --with-scheduler (deferred jobs; without it the delivery "
        "task is enqueued to run at once, IHANOI_DELIVERY_GATHER_MS=0)",
    )
    parser.add_argument(
        "--email-timeout",
        type=int,
        default=0,
        help="EMAIL_TIMEOUT in seconds (0: the setting's default, 30); with --lease it sets how "
        "many deliveries one claim takes (half the lease over the slowest send's timeout, "
        "Web Push's 10 s included)",
    )
    parser.add_argument(
        "--lease",
        type=int,
        default=10,
        help="the outbox claim lease in seconds, IHANOI_DELIVERY_LEASE_SECONDS "
        "(at least 5; 0: the setting's default, 5 min)",
    )
    parser.add_argument(
        "--fault-interval",
        type=float,
        default=None,
        help="mean seconds between faults (default: every kind fits twice)",
    )
    parser.add_argument(
        "--faults",
        default=",".join(FAULT_KINDS),
        help=f"comma-separated kinds among {', '.join(FAULT_KINDS)}",
    )
    parser.add_argument(
        "--crash-after-send",
        type=float,
        default=0.0,
        metavar="P",
        help="probability that a sender is killed right after the provider "
        "took a message, before the outbox row is marked (default 0)",
    )
    parser.add_argument(
        "--crash-after-commit",
        type=float,
        default=0.0,
        metavar="P",
        help="probability that a gunicorn worker is killed after a submission "
        "committed, before the 201 is written (default 0)",
    )
    parser.add_argument(
        "--provider-errors",
        type=float,
        default=0.0,
        metavar="P",
        help="probability that the provider refuses a message, to be retried with backoff "
        "(default 0; the first retry waits a minute, so give --settle 240 or more)",
    )
    parser.add_argument(
        "--settings",
        default="ihanoi.settings",
        help="settings module of the stack (to try a settings change; it must "
        "be importable with the project root on PYTHONPATH)",
    )
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--port", type=int, default=18100)
    parser.add_argument("--pg-port", type=int, default=18150)
    parser.add_argument("--pg-bin", default=DEFAULT_PG_BIN)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/8")
    parser.add_argument(
        "--allow-duplicates",
        action="store_true",
        help="pass when a delivery reaches the provider under two keys or without one "
        "(at-least-once), never with a loss",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the counts here")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    kinds = [kind.strip() for kind in args.faults.split(",") if kind.strip()]
    unknown = set(kinds) - set(FAULT_KINDS)
    if unknown:
        parser.error(f"unknown fault kinds: {', '.join(sorted(unknown))}")
    if 0 < args.lease < 5:
        parser.error("--lease: at least 5 seconds (IHANOI_DELIVERY_LEASE_SECONDS), or 0")
    if args.email_timeout < 0:
        parser.error("--email-timeout: at least 1 second, or 0")
    if args.rq_worker_class.endswith("SimpleWorker") and "task-horse" in kinds:
        kinds.remove("task-horse")
    args.kinds = kinds
    if args.fault_interval is None:
        args.fault_interval = max(1.0, args.duration / (2 * max(1, len(kinds)) + 1))
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1_000_000)
    return args


def foreign_workers(redis_url: str, own: set[int]) -> list[str]:
    """RQ workers registered in the test's Redis database that are not this run's and still
    alive (another stack on the same database would take the test's jobs, and the other
    way round)."""
    import redis

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    found = []
    for key in client.smembers("rq:workers"):
        info = {str(k): str(v) for k, v in client.hgetall(key).items()}
        pid = int(info.get("pid") or 0)
        host = info.get("hostname", socket.gethostname())
        if pid not in own and (host != socket.gethostname() or (pid and alive(pid))):
            found.append(f"pid {pid} on {host}")
    return found


def read_events(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def settle(args: argparse.Namespace, stack: Stack, events: list[dict[str, Any]]) -> float:
    """Wait until no delivery is pending or being sent; returns the seconds it took."""
    started = time.time()
    deadline = started + args.settle
    quiet_since = None
    while time.time() < deadline:
        stack.restart_dead(events)
        stack.note_children()
        status = db_retry(outbox_status)
        open_rows = sum(n for s, n in status.items() if s not in TERMINAL_DELIVERY)
        if open_rows == 0:
            # A couple of seconds more: a sender still running would show up now.
            quiet_since = quiet_since or time.time()
            if time.time() - quiet_since > 3:
                break
        else:
            quiet_since = None
        time.sleep(1)
    return time.time() - started


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    others = foreign_workers(args.redis_url, set())
    if others:
        raise SystemExit(
            f"{args.redis_url} is in use by other RQ workers ({', '.join(others)}); the test "
            "empties its Redis database: give it a free one with --redis-url."
        )
    work = Path(tempfile.mkdtemp(prefix="ihanoi-fault-"))
    os.chmod(work, 0o755)  # noqa: S103 - the cluster's owner (postgres) must reach its folder
    logs = work / "logs"
    logs.mkdir()
    log(
        f"work folder {work}; seed {args.seed}; faults every ~{args.fault_interval:.1f} s: "
        f"{', '.join(args.kinds)}"
    )
    cluster = Cluster(work / "pg", args.pg_port, Path(args.pg_bin))
    env = app_env(args, work)
    stack = Stack(env=env, logs=logs, port=args.port, args=args, marker=(SINK_ENV, env[SINK_ENV]))
    passed = False
    try:
        cluster.init()
        cluster.start()
        cluster.createdb("ihanoi_fault")
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()
        log("migrate + demo_setup")
        run_cli(env, logs, "migrate", "--noinput", "-v0")
        run_cli(env, logs, "demo_setup")
        django_setup(env)
        residents = make_residents(args.clients)
        stack.start_all()
        base_url = f"http://127.0.0.1:{args.port}"
        wait_http(f"{base_url}/healthz", 60)
        log(
            f"stack up: gunicorn ({args.web_workers} workers), {args.task_workers} RQ workers, "
            f"scheduler; lease {args.lease or 300} s, e-mail timeout {args.email_timeout or 30} s"
            f", delivery gather {'on' if args.rq_with_scheduler else 'off'}; {args.clients} "
            f"clients for {args.duration:.0f} s"
        )

        journal = Journal()
        stop_drafting = threading.Event()
        stop_faults = threading.Event()
        give_up_at = [float("inf")]
        photo = photo_bytes()
        clients = [
            Client(
                index=i,
                base_url=base_url,
                reporter=pk,
                token=token,
                photo=photo,
                journal=journal,
                stop_drafting=stop_drafting,
                give_up_at=give_up_at,
                think=args.think,
                seed=args.seed + i,
            )
            for i, (pk, token) in enumerate(residents)
        ]
        injector = Injector(
            stack=stack,
            cluster=cluster,
            kinds=args.kinds,
            interval=args.fault_interval,
            seed=args.seed,
            stop=stop_faults,
        )
        load_started = time.time()
        for client in clients:
            client.start()
        injector.start()
        time.sleep(args.duration)
        stop_faults.set()
        injector.join()  # after the last fault of its round, if the time was too short
        stop_drafting.set()
        (work / "faults-off").touch()  # the in-process faults (crash after send/commit) too
        load_seconds = time.time() - load_started
        if injector.error is not None:
            raise RuntimeError(f"fault injection failed: {injector.error!r}")
        events = injector.events
        stack.restart_dead(events)
        if not cluster.running():
            cluster.start()
        log(
            f"faults stopped after {sum(1 for e in events if not e.get('skipped'))}; clients "
            "finish their drafts "
            f"(at most {args.drain:.0f} s)"
        )
        give_up_at[0] = time.time() + args.drain
        for client in clients:
            while client.is_alive():
                stack.restart_dead(events)
                client.join(0.5)
        broken = [f"{c.name}: {c.error!r}" for c in clients if c.error is not None]
        if broken:
            raise RuntimeError(f"client threads failed: {broken}")
        log("settling the outbox")
        seconds = settle(args, stack, events)
        events.extend(read_events(work / "events.jsonl"))
        counts = db_retry(
            lambda: count_everything(
                journal=journal,
                residents=residents,
                sink=work / "sink.jsonl",
                stack=stack,
                events=events,
            )
        )
        status = db_retry(outbox_status)
        counts["settle_seconds"] = seconds
        counts["settled"] = all(s in TERMINAL_DELIVERY for s in status)
        counts["orphan_seconds"] = stack.orphan_lifetime()
        counts["unplanned_exits"] = sum(1 for e in events if e["kind"] == "exited")
        counts["faults"] = dict(
            collections.Counter(
                e["kind"] for e in events if e["kind"] != "exited" and not e.get("skipped")
            )
        )
        counts["faults_skipped"] = sum(1 for e in events if e.get("skipped"))
        counts["foreign_workers"] = foreign_workers(args.redis_url, set(stack.roles))
        counts["seed"] = args.seed
        counts["duration"] = args.duration
        counts["load_seconds"] = load_seconds
        passed = report(counts, args)
        if args.json:
            args.json.write_text(json.dumps(counts, indent=1, default=str))
    finally:
        stack.stop_all()
        cluster.stop()
        if passed and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"kept {work} (logs/, sink.jsonl, pg/postgres.log)")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
