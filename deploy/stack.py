#!/usr/bin/env python3
"""A production-like iHaNoi on one machine: nginx → N gunicorn instances, RQ, scheduler.

    .venv/bin/python deploy/stack.py up [options]      # runs until Ctrl-C (make serve-prod)
    .venv/bin/python deploy/stack.py status [--json]   # what runs, with PIDs
    .venv/bin/python deploy/stack.py stop              # what Ctrl-C does, from elsewhere
    .venv/bin/python deploy/stack.py reload            # gunicorn and nginx: graceful reload
    .venv/bin/python deploy/stack.py render            # print the nginx config and the env

``up`` prepares, then supervises:

1. nginx (installed with apt-get when missing and run as root), the PostgreSQL database
   (created when missing; default ``ihanoi_prod`` on the local server), ``migrate``,
   ``collectstatic`` (hashed names: ``IHANOI_PRODUCTION=1``), the reference data when the
   tables are empty (``load-places``, the official ward polygons when the file is there,
   ``seed-agencies``, ``seed-feedback``), a secret key and a self-signed certificate kept
   under the var directory;
2. the processes, each in its own session with its output in ``<var>/log/<name>.log``:
   ``rqworker-N`` (``ihanoi rqworker --job-class django_tasks_rq.Job --with-scheduler
   default``), ``scheduler`` (``ihanoi scheduler``), ``app1``…``appN`` (gunicorn with
   deploy/gunicorn.conf.py, one port each, ready when ``/healthz`` answers) and ``nginx``
   (deploy/nginx.conf.template rendered to ``<var>/nginx/nginx.conf``, in the foreground).

Every process has a pid file ``<var>/run/<name>.pid``; ``<var>/run/stack.json`` holds all of
them (gunicorn's and nginx's worker PIDs too, refreshed every few seconds), the ports, the
logs and the restart counts, rewritten atomically on every change, for scripts that need to
find or kill a process (fault injection). A process that dies is reported on the terminal
and in ``<var>/log/stack.log`` and started again after a back-off (1 s, doubling to 30 s);
one that dies more than five times within a minute stops the whole stack, exit status 1
(``--no-restart``: the first death stops it). Ctrl-C (SIGINT) or SIGTERM stops everything
in order: nginx (graceful), the web instances (graceful), the scheduler, then the workers
(each finishes its job), SIGKILL after a timeout. The children also get SIGTERM should
the launcher itself be killed (PR_SET_PDEATHSIG), so nothing is left running.

Settings reach the Django processes as environment variables (docs/operations.md lists them):
the launcher sets the ones it manages (the database and its pool, Redis, the RQ task
backend, production mode) and leaves the tunable ones (``ALLOWED_HOSTS``,
``SECURE_SSL_REDIRECT``, ``SMS_BACKEND``…) to the caller's environment when set.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime
import ipaddress
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
NGINX_TEMPLATE = DEPLOY / "nginx.conf.template"
GUNICORN_CONF = DEPLOY / "gunicorn.conf.py"

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/ihanoi_prod"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/5"
DEFAULT_BOUNDARIES = ROOT.parent / "shared" / "data" / "hanoi" / "wards-2025.geojson"
MIME_TYPES = Path("/etc/nginx/mime.types")

READY_TIMEOUT = 90.0  # seconds for an instance to answer /healthz after its start
STOP_TIMEOUT = 30.0  # seconds for a process to stop before SIGKILL
RESTART_WINDOW = 60.0
RESTART_LIMIT = 5  # deaths of one process within RESTART_WINDOW before the stack gives up
REFRESH_EVERY = 2.0  # seconds between refreshes of the worker PIDs in stack.json


class StackError(Exception):
    """Something the operator must fix; the message says what."""


# --- Configuration ----------------------------------------------------------------------------


def _postgres_url_from_env() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else DEFAULT_DATABASE_URL


@dataclass
class StackConfig:
    var_dir: Path
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str = DEFAULT_REDIS_URL
    instances: int = 2
    worker_class: str = "sync"
    workers: int = 2
    threads: int = 1
    rq_workers: int = 1
    rq_worker_class: str = "rq.worker.SimpleWorker"
    scheduler: bool = True
    host: str = "127.0.0.1"
    http_port: int = 18080
    https_port: int = 18443  # 0: no TLS listener
    app_port: int = 18001  # the first instance's; the others follow
    nginx_workers: int = 1
    server_name: str = "localhost 127.0.0.1"
    boundaries: Path | None = None
    restart: bool = True
    collectstatic: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def log_dir(self) -> Path:
        return self.var_dir / "log"

    @property
    def run_dir(self) -> Path:
        return self.var_dir / "run"

    @property
    def nginx_dir(self) -> Path:
        return self.var_dir / "nginx"

    @property
    def tls_dir(self) -> Path:
        return self.var_dir / "tls"

    @property
    def static_root(self) -> Path:
        # settings.py: STATIC_ROOT = VAR_DIR / "static"
        return self.var_dir / "static"

    @property
    def media_root(self) -> Path:
        merged = {**os.environ, **self.extra_env}
        return Path(merged["MEDIA_ROOT"]) if merged.get("MEDIA_ROOT") else self.var_dir / "media"

    @property
    def state_file(self) -> Path:
        return self.run_dir / "stack.json"

    def instance_names(self) -> list[str]:
        return [f"app{i + 1}" for i in range(self.instances)]

    def instance_ports(self) -> dict[str, int]:
        return {name: self.app_port + i for i, name in enumerate(self.instance_names())}

    def pool_bounds(self) -> tuple[int, int]:
        """psycopg pool per web worker process: a sync worker serves one request at a time,
        so one connection (a second one only if a request ever needs it); a gthread worker
        one per thread."""
        if self.worker_class == "gthread":
            return 1, max(1, self.threads)
        return 1, 2

    def database_connections(self) -> int:
        """The most connections the stack may open: the pools' maxima."""
        _low, high = self.pool_bounds()
        return self.instances * self.workers * high + 2 * self.rq_workers + 2 * self.scheduler

    def public_url(self) -> str:
        if self.https_port:
            return f"https://{self.host}:{self.https_port}"
        return f"http://{self.host}:{self.http_port}"

    def urls(self) -> dict[str, str]:
        urls = {"http": f"http://{self.host}:{self.http_port}"}
        if self.https_port:
            urls["https"] = f"https://{self.host}:{self.https_port}"
        for name, port in self.instance_ports().items():
            urls[name] = f"http://{self.host}:{port}"
        return urls

    def ports(self) -> list[int]:
        ports = [self.http_port, *self.instance_ports().values()]
        return [*ports, self.https_port] if self.https_port else ports

    def validate(self) -> None:
        if self.instances < 1 or self.workers < 1 or self.threads < 1:
            raise StackError("--instances, --workers and --threads must be at least 1")
        if self.rq_workers < 0:
            raise StackError("--rq-workers cannot be negative")
        if self.worker_class not in ("sync", "gthread"):
            raise StackError("--worker-class is sync or gthread")
        if self.worker_class == "sync" and self.threads != 1:
            raise StackError("--threads needs --worker-class gthread")
        if not urlsplit(self.database_url).scheme.startswith("postgres"):
            raise StackError(f"the stack runs on PostgreSQL, not {mask_url(self.database_url)}")
        if not urlsplit(self.database_url).path.strip("/"):
            raise StackError("DATABASE_URL must name a database")
        if urlsplit(self.redis_url).scheme not in ("redis", "rediss", "unix"):
            raise StackError(f"REDIS_URL must be a redis:// URL, not {self.redis_url!r}")
        ports = self.ports()
        if len(set(ports)) != len(ports):
            raise StackError(f"the ports overlap: {ports}")


def mask_url(url: str) -> str:
    """The URL without its password, for logs and stack.json."""
    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def secret_key(config: StackConfig) -> str:
    """SECRET_KEY from the environment, else one kept in <var>/secret_key (mode 600).

    All instances must share it: a session signed by one is checked by the others."""
    given = config.extra_env.get("SECRET_KEY") or os.environ.get("SECRET_KEY", "")
    if len(given) >= 50:
        return given
    path = config.var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(64)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


# Values the stack chooses for a local run unless the caller's environment says otherwise.
LOCAL_DEFAULTS = {
    "ALLOWED_HOSTS": "localhost,127.0.0.1,[::1]",
    # nginx listens on plain HTTP too (local load tests); a real deployment redirects port 80
    # to HTTPS in nginx and keeps SECURE_SSL_REDIRECT=1 (docs/operations.md).
    "SECURE_SSL_REDIRECT": "0",
    # HSTS for "localhost" would stick in a developer's browser for a year.
    "SECURE_HSTS_SECONDS": "0",
    # nginx overwrites X-Real-IP with the client's address (see the template).
    "TRUSTED_CLIENT_IP_HEADER": "X-Real-IP",
    "LOG_LEVEL": "INFO",
}


def app_env(config: StackConfig, key: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of every Django process of the stack."""
    env = dict(os.environ if base is None else base)
    for name, value in LOCAL_DEFAULTS.items():
        env.setdefault(name, value)
    env.setdefault("IHANOI_SITE_URL", config.public_url())
    pool_min, pool_max = config.pool_bounds()
    env.update(
        {
            "IHANOI_PRODUCTION": "1",
            "DEBUG": "0",
            "SECRET_KEY": key,
            "IHANOI_VAR_DIR": str(config.var_dir),
            "MEDIA_ROOT": str(config.media_root),
            "DATABASE_URL": config.database_url,
            "DATABASE_POOL": "1",
            "DATABASE_POOL_MIN": str(pool_min),
            "DATABASE_POOL_MAX": str(pool_max),
            "REDIS_URL": config.redis_url,
            "TASKS_BACKEND": "rq",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(config.extra_env)
    return env


def web_env(config: StackConfig, env: Mapping[str, str], name: str, port: int) -> dict[str, str]:
    return {
        **env,
        "IHANOI_INSTANCE": name,
        "IHANOI_BIND": f"{config.host}:{port}",
        "GUNICORN_WORKER_CLASS": config.worker_class,
        "GUNICORN_WORKERS": str(config.workers),
        "GUNICORN_THREADS": str(config.threads),
        "IHANOI_LOG_DIR": str(config.log_dir),
        "IHANOI_RUN_DIR": str(config.run_dir),
    }


def worker_env(env: Mapping[str, str]) -> dict[str, str]:
    """The RQ worker and the scheduler: a small pool (one connection in use at a time)."""
    return {**env, "DATABASE_POOL_MIN": "1", "DATABASE_POOL_MAX": "2"}


# --- nginx ------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def render_template(template: str, values: Mapping[str, str]) -> str:
    """Fill ``{{ name }}`` placeholders; an unknown one is an error, not an empty string."""
    missing = sorted({m[1] for m in _PLACEHOLDER.finditer(template)} - set(values))
    if missing:
        raise StackError(f"nginx template: no value for {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda m: values[m[1]], template)


def nginx_user() -> str:
    """nginx's workers drop root for www-data (Debian's nginx user) or nobody."""
    if os.geteuid() != 0:
        return ""
    import grp
    import pwd

    for user, group in (("www-data", "www-data"), ("nobody", "nogroup")):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(user)
            grp.getgrnam(group)
            return f"{user} {group}"
    return ""


def nginx_values(config: StackConfig, *, user: str | None = None) -> dict[str, str]:
    user = nginx_user() if user is None else user
    host = config.host
    servers = "\n".join(
        f"        server {host}:{port} max_fails=1 fail_timeout=5s;"
        for port in config.instance_ports().values()
    )
    https = ""
    if config.https_port:
        https = "\n".join(
            [
                f"        listen {host}:{config.https_port} ssl http2;",
                f"        ssl_certificate {config.tls_dir / 'local.crt'};",
                f"        ssl_certificate_key {config.tls_dir / 'local.key'};",
                "        ssl_protocols TLSv1.2 TLSv1.3;",
                "        ssl_session_cache shared:ihanoi_tls:1m;",
            ]
        )
    return {
        "user_directive": f"user {user};" if user else "",
        "worker_processes": str(config.nginx_workers),
        "run_dir": str(config.run_dir),
        "log_dir": str(config.log_dir),
        "temp_dir": str(config.nginx_dir / "tmp"),
        "mime_types": str(MIME_TYPES if MIME_TYPES.exists() else config.nginx_dir / "mime.types"),
        "upstream_servers": servers,
        "listen_http": f"{host}:{config.http_port}",
        "listen_https": https,
        "server_name": config.server_name,
        "static_root": str(config.static_root),
        "media_root": str(config.media_root),
    }


def render_nginx(config: StackConfig, *, user: str | None = None) -> str:
    return render_template(NGINX_TEMPLATE.read_text(), nginx_values(config, user=user))


# Enough for what the stack serves when the system's mime.types is missing.
FALLBACK_MIME_TYPES = """types {
    text/html html; text/css css; text/plain txt; application/javascript js mjs;
    application/json json map; application/manifest+json webmanifest;
    image/png png; image/jpeg jpeg jpg; image/webp webp; image/svg+xml svg;
    image/x-icon ico; font/woff2 woff2; font/woff woff; application/pdf pdf;
}
"""


def nginx_binary() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    for candidate in ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def ensure_nginx(say: Any) -> str:
    """The nginx binary; installs Debian's nginx-light (else nginx) when root may.

    The package must not start the system's nginx service: when no policy-rc.d says so
    already, one that refuses every service start exists for the length of the install."""
    found = nginx_binary()
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise StackError("nginx is not installed: apt-get install nginx-light (or nginx)")
    say("installing nginx (apt-get install nginx-light)")
    policy = Path("/usr/sbin/policy-rc.d")
    placed = False
    if not policy.exists():
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        placed = True
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)  # noqa: S607
        for package in ("nginx-light", "nginx"):
            done = subprocess.run(  # noqa: S603
                ["apt-get", "install", "-y", "-qq", package],  # noqa: S607
                env=env,
                stdout=subprocess.DEVNULL,
                check=False,
            )
            if done.returncode == 0 and nginx_binary():
                break
    finally:
        if placed:
            policy.unlink(missing_ok=True)
    found = nginx_binary()
    if not found:
        raise StackError("could not install nginx: apt-get install nginx-light")
    return found


def nginx_command(binary: str, config: StackConfig) -> list[str]:
    conf = config.nginx_dir / "nginx.conf"
    # -e: the error log before the config is read (the default path may not be writable).
    return [
        binary,
        "-p",
        str(config.nginx_dir),
        "-e",
        str(config.log_dir / "nginx-error.log"),
        "-c",
        str(conf),
    ]


def write_nginx_config(binary: str, config: StackConfig) -> Path:
    user = nginx_user()
    config.nginx_dir.mkdir(parents=True, exist_ok=True)
    if not MIME_TYPES.exists():
        (config.nginx_dir / "mime.types").write_text(FALLBACK_MIME_TYPES)
    temp = config.nginx_dir / "tmp"
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (temp / sub).mkdir(parents=True, exist_ok=True)
    if user:  # the workers write request bodies there
        import grp
        import pwd

        uid, gid = pwd.getpwnam(user.split()[0]).pw_uid, grp.getgrnam(user.split()[1]).gr_gid
        for path in [temp, *temp.iterdir()]:
            os.chown(path, uid, gid)
    conf = config.nginx_dir / "nginx.conf"
    conf.write_text(render_nginx(config, user=user))
    test = subprocess.run(  # noqa: S603
        [*nginx_command(binary, config), "-t", "-q"], capture_output=True, text=True, check=False
    )
    if test.returncode != 0:
        raise StackError(f"nginx refuses {conf}:\n{test.stderr.strip()}")
    return conf


# --- TLS --------------------------------------------------------------------------------------


def ensure_certificate(config: StackConfig) -> None:
    """A self-signed certificate for localhost and the host address, kept in <var>/tls.

    Clients of the local stack trust it by file (``verify=<var>/tls/local.crt``); a real
    deployment puts its own certificate in the same two nginx lines."""
    cert, key = config.tls_dir / "local.crt", config.tls_dir / "local.key"
    if cert.exists() and key.exists():
        return
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    config.tls_dir.mkdir(parents=True, exist_ok=True)
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "iHaNoi local stack")])
    alt_names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    for address in {"127.0.0.1", "::1", config.host}:
        with contextlib.suppress(ValueError):
            alt_names.append(x509.IPAddress(ipaddress.ip_address(address)))
    now = datetime.datetime.now(datetime.UTC)
    public = private.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(private, hashes.SHA256())
    )
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(
            private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


# --- Database and set-up ----------------------------------------------------------------------


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def server_url(url: str) -> str:
    """The same server's maintenance database (to create or drop others)."""
    return urlunsplit(urlsplit(url)._replace(path="/postgres", query=""))


def ensure_database(url: str) -> bool:
    """Create the database when missing; True when it was created."""
    import psycopg
    from psycopg import sql

    name = database_name(url)
    try:
        with psycopg.connect(server_url(url), autocommit=True, connect_timeout=10) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                return False
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return True
    except psycopg.OperationalError as exc:
        raise StackError(
            f"cannot reach PostgreSQL at {mask_url(server_url(url))}: {exc}".strip()
        ) from exc


def empty_tables(url: str, tables: Sequence[str]) -> set[str]:
    """Which of ``tables`` hold no row."""
    import psycopg
    from psycopg import sql

    empty = set()
    with psycopg.connect(url, autocommit=True) as conn:
        for table in tables:
            query = sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(table))
            row = conn.execute(query).fetchone()
            if not (row and row[0]):
                empty.add(table)
    return empty


def ihanoi_command(*args: str) -> list[str]:
    script = Path(sys.executable).parent / "ihanoi"
    head = [str(script)] if script.exists() else [sys.executable, "-m", "ihanoi.cli"]
    return [*head, *args]


def messages_stale() -> bool:
    """A .po without a .mo (or older than its .po): compilemessages is due."""
    for po in (ROOT / "locale").rglob("*.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            return True
    return False


@dataclass
class Setup:
    """The steps before the processes start, with their output in <var>/log/setup.log."""

    config: StackConfig
    env: dict[str, str]
    say: Any

    def run(self, *args: str) -> None:
        log = self.config.log_dir / "setup.log"
        started = time.monotonic()
        with log.open("a") as handle:
            handle.write(f"\n$ ihanoi {shlex.join(args)}\n")
            handle.flush()
            done = subprocess.run(  # noqa: S603
                ihanoi_command(*args),
                env=self.env,
                cwd=ROOT,
                stdout=handle,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if done.returncode != 0:
            raise StackError(f"`ihanoi {shlex.join(args)}` failed; see {log}:\n{tail(log)}")
        self.say(f"  ihanoi {shlex.join(args)} ({time.monotonic() - started:.1f} s)")

    def all(self) -> None:
        config = self.config
        if ensure_database(config.database_url):
            self.say(f"  created database {database_name(config.database_url)}")
        self.run("migrate", "--noinput", "-v0")
        if messages_stale():
            self.run("compilemessages", "--ignore=.venv", "--ignore=var", "-v0")
        manifest = config.static_root / "staticfiles.json"
        if config.collectstatic or not manifest.exists():
            # Production pages name hashed files: without the manifest every page is a 500.
            self.run("collectstatic", "--noinput", "-v0")
        empty = empty_tables(
            config.database_url,
            ["places_administrativeunit", "agencies_agency", "feedback_category"],
        )
        if "places_administrativeunit" in empty:
            self.run("load_places")
            if config.boundaries is not None and config.boundaries.exists():
                self.run("import_boundaries", str(config.boundaries))
        if "agencies_agency" in empty:
            self.run("seed_agencies")
        if "feedback_category" in empty:
            self.run("seed_feedback")


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join("    " + line for line in text[-lines:])


# --- Processes --------------------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1


def _die_with_launcher() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class ProcessSpec:
    name: str
    role: str  # web, proxy, worker, scheduler
    argv: list[str]
    env: dict[str, str]
    port: int | None = None
    ready_url: str | None = None
    stop_signal: int = signal.SIGTERM
    extra: dict[str, Any] = field(default_factory=dict)


def process_specs(config: StackConfig, env: dict[str, str], nginx: str) -> list[ProcessSpec]:
    """In start order: workers, scheduler, web instances, nginx."""
    specs = []
    for i in range(config.rq_workers):
        specs.append(
            ProcessSpec(
                name=f"rqworker-{i + 1}",
                role="worker",
                argv=ihanoi_command(
                    "rqworker",
                    "--job-class",
                    "django_tasks_rq.Job",
                    "--worker-class",
                    config.rq_worker_class,
                    # Moves tasks that must wait (delivery retries) to the queue when due.
                    "--with-scheduler",
                    "default",
                ),
                env=worker_env(env),
            )
        )
    if config.scheduler:
        specs.append(
            ProcessSpec(
                name="scheduler",
                role="scheduler",
                argv=ihanoi_command("scheduler"),
                env=worker_env(env),
            )
        )
    gunicorn = Path(sys.executable).parent / "gunicorn"
    for name, port in config.instance_ports().items():
        specs.append(
            ProcessSpec(
                name=name,
                role="web",
                argv=[str(gunicorn), "--config", str(GUNICORN_CONF)],
                env=web_env(config, env, name, port),
                port=port,
                ready_url=f"http://{config.host}:{port}/healthz",
                extra={"access_log": str(config.log_dir / f"{name}-access.log")},
            )
        )
    specs.append(
        ProcessSpec(
            name="nginx",
            role="proxy",
            argv=nginx_command(nginx, config),
            env=dict(os.environ),
            port=config.http_port,
            ready_url=f"http://{config.host}:{config.http_port}/healthz",
            stop_signal=signal.SIGQUIT,  # graceful: finish the requests in flight
            extra={
                "https_port": config.https_port or None,
                "access_log": str(config.log_dir / "nginx-access.log"),
                "config": str(config.nginx_dir / "nginx.conf"),
            },
        )
    )
    return specs


def children_of(pid: int) -> list[int]:
    """PIDs whose parent is ``pid`` (gunicorn's and nginx's workers, RQ's work horse)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid …": comm may hold spaces and parentheses.
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(pid):
            found.append(int(entry.name))
    return sorted(found)


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purposes
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[:1]
    except OSError:
        return True
    return state != ["Z"]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def http_ok(url: str, timeout: float = 2.0) -> bool:
    """The health check answers 200. It says "https" as nginx does for TLS traffic, so that
    an instance with SECURE_SSL_REDIRECT=1 answers instead of redirecting; through nginx's
    plain listener (which overwrites the header) the redirect to HTTPS counts as an answer."""
    request = urllib.request.Request(url, headers={"X-Forwarded-Proto": "https"})  # noqa: S310
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            return bool(response.status == 200)
    except urllib.error.HTTPError as exc:
        return exc.code in (301, 302) and exc.headers.get("Location", "").startswith("https://")
    except (urllib.error.URLError, OSError, ValueError):
        return False


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def describe_exit(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
        return f"killed by signal {-code}"
    return f"exit code {code}"


@dataclass
class Child:
    spec: ProcessSpec
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    deaths: list[float] = field(default_factory=list)
    restart_at: float | None = None
    last_exit: str = ""
    workers: list[int] = field(default_factory=list)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None


class Supervisor:
    def __init__(self, config: StackConfig, specs: list[ProcessSpec], out: TextIO) -> None:
        self.config = config
        self.children = [Child(spec) for spec in specs]
        self.out = out
        self.state = "starting"
        self.stopping = False
        self.exit_status = 0
        self.started_at = time.time()
        self.stack_log = (config.log_dir / "stack.log").open("a", buffering=1)

    # -- reporting --

    def say(self, message: str) -> None:
        stamp = datetime.datetime.now().strftime("%H:%M:%S")
        line = f"[stack {stamp}] {message}"
        print(line, file=self.out, flush=True)
        self.stack_log.write(line + "\n")

    def log_path(self, child: Child) -> Path:
        return self.config.log_dir / f"{child.spec.name}.log"

    def pid_path(self, child: Child) -> Path:
        return self.config.run_dir / f"{child.spec.name}.pid"

    def snapshot(self) -> dict[str, Any]:
        processes = {}
        for child in self.children:
            spec = child.spec
            processes[spec.name] = {
                "role": spec.role,
                "pid": child.pid if child.process and child.process.poll() is None else None,
                "port": spec.port,
                "workers": child.workers,
                "log": str(self.log_path(child)),
                "pidfile": str(self.pid_path(child)),
                "started_at": iso(child.started_at) if child.started_at else None,
                "restarts": child.restarts,
                "last_exit": child.last_exit or None,
                "command": spec.argv,
                **spec.extra,
            }
        config = self.config
        return {
            "state": self.state,
            "launcher": {"pid": os.getpid(), "started_at": iso(self.started_at)},
            "var_dir": str(config.var_dir),
            "urls": config.urls(),
            "database": mask_url(config.database_url),
            "redis": mask_url(config.redis_url),
            "static_root": str(config.static_root),
            "media_root": str(config.media_root),
            "gunicorn": {
                "worker_class": config.worker_class,
                "workers": config.workers,
                "threads": config.threads,
                "pool": list(config.pool_bounds()),
            },
            "log_dir": str(config.log_dir),
            "processes": processes,
        }

    def write_state(self) -> None:
        path = self.config.state_file
        temp = path.with_suffix(".json.tmp")
        temp.write_text(json.dumps(self.snapshot(), indent=2) + "\n")
        temp.replace(path)

    # -- starting --

    def start(self, child: Child) -> None:
        spec = child.spec
        log = self.log_path(child).open("ab")
        log.write(f"\n=== {iso(time.time())} starting: {shlex.join(spec.argv)}\n".encode())
        log.flush()
        child.process = subprocess.Popen(  # noqa: S603 - our own commands
            spec.argv,
            env=spec.env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the launcher only, which stops in order
            preexec_fn=_die_with_launcher,  # the launcher has one thread: fork-safe
        )
        log.close()
        child.started_at = time.time()
        child.restart_at = None
        child.workers = []
        self.pid_path(child).write_text(f"{child.process.pid}\n")
        self.write_state()

    def wait_ready(self, child: Child, timeout: float = READY_TIMEOUT) -> None:
        if child.spec.ready_url is None:
            # No endpoint to ask: alive after a moment is all that can be said.
            deadline = time.monotonic() + 1.5
            while time.monotonic() < deadline:
                self._check_started(child)
                time.sleep(0.1)
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_started(child)
            if http_ok(child.spec.ready_url):
                return
            time.sleep(0.25)
        raise StackError(
            f"{child.spec.name} did not answer {child.spec.ready_url} within {timeout:.0f} s; "
            f"see {self.log_path(child)}:\n{tail(self.log_path(child))}"
        )

    def _check_started(self, child: Child) -> None:
        assert child.process is not None
        code = child.process.poll()
        if code is not None:
            raise StackError(
                f"{child.spec.name} {describe_exit(code)} while starting; "
                f"see {self.log_path(child)}:\n{tail(self.log_path(child))}"
            )
        if self.stopping:
            raise KeyboardInterrupt

    def start_all(self) -> None:
        for child in self.children:
            self.start(child)
            self.wait_ready(child)
            self.refresh_workers(child)
            self.say(f"{child.spec.name} running (pid {child.pid}){self._where(child)}")
        self.state = "running"
        self.write_state()

    def _where(self, child: Child) -> str:
        spec = child.spec
        if spec.role == "web":
            return f" on {spec.port}, workers {child.workers}"
        if spec.role == "proxy":
            tls = f" and https {self.config.https_port}" if self.config.https_port else ""
            return f" on http {spec.port}{tls}"
        return ""

    # -- watching --

    def refresh_workers(self, child: Child) -> bool:
        pid = child.pid
        workers = children_of(pid) if pid and alive(pid) else []
        changed = workers != child.workers
        child.workers = workers
        return changed

    def watch(self) -> None:
        last_refresh = 0.0
        while not self.stopping:
            now = time.monotonic()
            for child in self.children:
                self._watch_one(child, now)
                if self.stopping:
                    return
            if now - last_refresh >= REFRESH_EVERY:
                last_refresh = now
                if any([self.refresh_workers(child) for child in self.children]):
                    self.write_state()
            time.sleep(0.25)

    def _watch_one(self, child: Child, now: float) -> None:
        if child.process is None:
            return
        if child.restart_at is not None:
            if now >= child.restart_at:
                self.say(f"restarting {child.spec.name} (restart {child.restarts})")
                self.start(child)
            return
        code = child.process.poll()
        if code is None:
            return
        child.last_exit = describe_exit(code)
        child.workers = []
        self.pid_path(child).unlink(missing_ok=True)
        child.deaths = [t for t in child.deaths if now - t < RESTART_WINDOW] + [now]
        message = f"{child.spec.name} (pid {child.pid}) died: {child.last_exit}"
        if not self.config.restart:
            self.say(f"{message}; stopping the stack (--no-restart)")
            self.exit_status = 1
            self.stopping = True
        elif len(child.deaths) > RESTART_LIMIT:
            self.say(
                f"{message}; it died {len(child.deaths)} times within "
                f"{RESTART_WINDOW:.0f} s: stopping the stack. Last lines of "
                f"{self.log_path(child)}:\n{tail(self.log_path(child))}"
            )
            self.exit_status = 1
            self.stopping = True
        else:
            delay = min(30.0, 2.0 ** (len(child.deaths) - 1))
            child.restarts += 1
            child.restart_at = now + delay
            self.say(f"{message}; starting it again in {delay:.0f} s")
        self.write_state()

    def reload(self) -> None:
        """SIGHUP: gunicorn starts new workers with fresh code, nginx rereads its config."""
        for child in self.children:
            if child.spec.role in ("web", "proxy") and child.pid and alive(child.pid):
                os.kill(child.pid, signal.SIGHUP)
        self.say("reload: SIGHUP sent to the web instances and nginx")

    # -- stopping --

    def stop_all(self) -> None:
        self.state = "stopping"
        with contextlib.suppress(OSError):
            self.write_state()
        order = {"proxy": 0, "web": 1, "scheduler": 2, "worker": 3}
        groups: dict[int, list[Child]] = {}
        for child in self.children:
            groups.setdefault(order.get(child.spec.role, 9), []).append(child)
        for _rank, group in sorted(groups.items()):
            running = [c for c in group if c.process is not None and c.process.poll() is None]
            for child in running:
                assert child.process is not None
                with contextlib.suppress(ProcessLookupError):
                    child.process.send_signal(child.spec.stop_signal)
            for child in running:
                assert child.process is not None
                try:
                    child.process.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.say(f"{child.spec.name} did not stop in {STOP_TIMEOUT:.0f} s: SIGKILL")
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(child.process.pid, signal.SIGKILL)
                    child.process.wait()
                self.say(f"{child.spec.name} stopped ({describe_exit(child.process.returncode)})")
        for child in self.children:
            self.pid_path(child).unlink(missing_ok=True)
            child.workers = []
        self.state = "stopped"
        with contextlib.suppress(OSError):
            self.write_state()
        (self.config.run_dir / "stack.pid").unlink(missing_ok=True)


def iso(stamp: float) -> str:
    return datetime.datetime.fromtimestamp(stamp).astimezone().isoformat(timespec="seconds")


# --- Commands ---------------------------------------------------------------------------------


def read_state(var_dir: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads((var_dir / "run" / "stack.json").read_text()))
    except (OSError, ValueError):
        return None


def launcher_running(var_dir: Path) -> int | None:
    state = read_state(var_dir)
    pid = state["launcher"]["pid"] if state else None
    if not pid or not alive(pid) or state is None or state.get("state") == "stopped":
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return int(pid) if b"stack.py" in cmdline else None


def command_up(config: StackConfig) -> int:
    config.validate()

    def say(message: str) -> None:
        print(f"[stack] {message}", flush=True)

    for directory in (config.var_dir, config.log_dir, config.run_dir, config.media_root):
        directory.mkdir(parents=True, exist_ok=True)
    other = launcher_running(config.var_dir)
    if other:
        raise StackError(
            f"a stack already runs from {config.var_dir} (launcher pid {other}); "
            f"`deploy/stack.py stop --var-dir {config.var_dir}` stops it"
        )
    busy = [port for port in config.ports() if not port_free(config.host, port)]
    if busy:
        raise StackError(f"port(s) {busy} on {config.host} are in use: choose others")

    say(f"preparing in {config.var_dir} (logs: {config.log_dir}/setup.log)")
    nginx = ensure_nginx(say)
    key = secret_key(config)
    env = app_env(config, key)
    if config.https_port:
        ensure_certificate(config)
    Setup(config, env, say).all()
    write_nginx_config(nginx, config)
    (config.run_dir / "stack.pid").write_text(f"{os.getpid()}\n")

    supervisor = Supervisor(config, process_specs(config, env, nginx), sys.stdout)

    def stop(*_: Any) -> None:
        supervisor.stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, lambda *_: supervisor.reload())
    supervisor.say(
        f"database {mask_url(config.database_url)} (pools: {config.pool_bounds()} per web "
        f"worker, at most {config.database_connections()} connections), "
        f"cache and queue {mask_url(config.redis_url)}"
    )
    try:
        supervisor.start_all()
        urls = config.urls()
        supervisor.say(
            f"ready: {urls['http']}/"
            + (f" and {urls['https']}/" if "https" in urls else "")
            + f" → {', '.join(config.instance_names())} ({config.workers} {config.worker_class}"
            f" workers each); PIDs in {config.state_file}; Ctrl-C stops everything"
        )
        supervisor.watch()
    except KeyboardInterrupt:
        pass
    except StackError as exc:
        supervisor.say(str(exc))
        supervisor.exit_status = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        supervisor.say("stopping")
        supervisor.stop_all()
        supervisor.say("stopped")
        supervisor.stack_log.close()
    return supervisor.exit_status


def command_status(var_dir: Path, as_json: bool) -> int:
    state = read_state(var_dir)
    if state is None:
        print(f"no stack state in {var_dir / 'run' / 'stack.json'}", file=sys.stderr)
        return 1
    launcher = launcher_running(var_dir)
    everything_alive = launcher is not None
    for process in state["processes"].values():
        process["alive"] = alive(process.get("pid"))
        process["workers"] = [pid for pid in process.get("workers", []) if alive(pid)]
        everything_alive = everything_alive and process["alive"]
    state["launcher"]["alive"] = launcher is not None
    if as_json:
        print(json.dumps(state, indent=2))
    else:
        print(
            f"stack {state['state']} (launcher pid {state['launcher']['pid']}, "
            f"{'alive' if launcher else 'gone'}); {', '.join(state['urls'].values())}"
        )
        for name, process in state["processes"].items():
            where = f":{process['port']}" if process.get("port") else ""
            print(
                f"  {name:<12} {process['role']:<9} pid {process.get('pid') or '-':<8} "
                f"{'alive' if process['alive'] else 'DEAD':<5} {where:<7} "
                f"workers {process['workers']} restarts {process['restarts']}"
            )
    return 0 if everything_alive else 1


def command_signal(var_dir: Path, signum: int, wait: bool) -> int:
    pid = launcher_running(var_dir)
    if pid is None:
        print(f"no stack runs from {var_dir}", file=sys.stderr)
        return 1
    os.kill(pid, signum)
    if wait:
        deadline = time.monotonic() + STOP_TIMEOUT * 4 + 10
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if alive(pid):
            print(f"the launcher (pid {pid}) is still running", file=sys.stderr)
            return 1
    return 0


def command_render(config: StackConfig) -> int:
    config.validate()
    print("# nginx.conf")
    print(render_nginx(config))
    print("# environment of the Django processes (secrets masked)")
    env = app_env(config, "<SECRET_KEY>", base={})
    for name in sorted(env):
        value = env[name]
        shown = mask_url(value) if name.endswith("_URL") else value
        print(f"{name}={shown}")
    return 0


# --- Command line -----------------------------------------------------------------------------


def _env_pair(raw: str) -> tuple[str, str]:
    name, sep, value = raw.partition("=")
    if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, not {raw!r}")
    return name, value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="A production-like iHaNoi stack on this machine (docs/operations.md).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--var-dir",
        type=Path,
        default=ROOT / "var",
        help="logs, PIDs, static and media files, nginx config, TLS key",
    )
    config_options = argparse.ArgumentParser(add_help=False)
    add = config_options.add_argument
    add("--database-url", default=_postgres_url_from_env(), help="PostgreSQL (DATABASE_URL)")
    add("--redis-url", default=os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL)
    add("--instances", type=int, default=2, help="gunicorn instances, one port each")
    add("--worker-class", choices=["sync", "gthread"], default="sync")
    add("--workers", type=int, default=2, help="gunicorn workers per instance")
    add("--threads", type=int, default=1, help="threads per worker (gthread)")
    add("--rq-workers", type=int, default=1, help="RQ worker processes")
    add(
        "--rq-worker-class",
        default="rq.worker.SimpleWorker",
        help="rq.worker.SimpleWorker runs jobs in the worker's process (its database pool "
        "serves every job); rq.worker.Worker forks a process per job",
    )
    add("--no-scheduler", dest="scheduler", action="store_false")
    add("--host", default="127.0.0.1")
    add("--http-port", type=int, default=18080)
    add("--https-port", type=int, default=18443, help="0: no TLS listener")
    add("--app-port", type=int, default=18001, help="the first instance's port")
    add("--nginx-workers", type=int, default=1)
    add(
        "--boundaries",
        type=Path,
        default=DEFAULT_BOUNDARIES,
        help="official ward polygons, imported with the reference data when present",
    )
    add("--no-restart", dest="restart", action="store_false", help="a death stops the stack")
    add(
        "--no-collectstatic",
        dest="collectstatic",
        action="store_false",
        help="reuse the collected files (collected anyway when there are none)",
    )
    add(
        "--env",
        type=_env_pair,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra setting for the Django processes (repeatable)",
    )
    sub.add_parser("up", parents=[common, config_options], help="prepare and run until Ctrl-C")
    sub.add_parser("render", parents=[common, config_options], help="print nginx.conf and env")
    status = sub.add_parser("status", parents=[common], help="the processes and their PIDs")
    status.add_argument("--json", action="store_true")
    sub.add_parser("stop", parents=[common], help="stop a running stack")
    sub.add_parser("reload", parents=[common], help="graceful reload of gunicorn and nginx")
    return parser


def config_from_args(args: argparse.Namespace) -> StackConfig:
    return StackConfig(
        var_dir=args.var_dir.resolve(),
        database_url=args.database_url,
        redis_url=args.redis_url,
        instances=args.instances,
        worker_class=args.worker_class,
        workers=args.workers,
        threads=args.threads,
        rq_workers=args.rq_workers,
        rq_worker_class=args.rq_worker_class,
        scheduler=args.scheduler,
        host=args.host,
        http_port=args.http_port,
        https_port=args.https_port,
        app_port=args.app_port,
        nginx_workers=args.nginx_workers,
        boundaries=args.boundaries,
        restart=args.restart,
        collectstatic=args.collectstatic,
        extra_env=dict(args.env),
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "up":
            return command_up(config_from_args(args))
        if args.command == "render":
            return command_render(config_from_args(args))
        if args.command == "status":
            return command_status(args.var_dir.resolve(), args.json)
        if args.command == "stop":
            return command_signal(args.var_dir.resolve(), signal.SIGTERM, wait=True)
        if args.command == "reload":
            return command_signal(args.var_dir.resolve(), signal.SIGHUP, wait=False)
    except StackError as exc:
        print(f"[stack] {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("[stack] interrupted", file=sys.stderr)
        return 130
    return 2


@contextlib.contextmanager
def running_stack(
    argv: Sequence[str], *, var_dir: Path, log: Path, timeout: float = 300.0
) -> Iterator[dict[str, Any]]:
    """Run ``stack.py up ARGV`` in the background until it is ready; yield its state; stop it.

    For scripts (the scale-out check, the load tests): the launcher's output goes to ``log``;
    if it exits before it is ready, StackError carries the end of that output."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as handle:
        launcher = subprocess.Popen(  # noqa: S603
            [sys.executable, str(Path(__file__).resolve()), "up", "--var-dir", str(var_dir), *argv],
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if launcher.poll() is not None:
                raise StackError(f"the stack did not start; {log}:\n{tail(log, 25)}")
            state = read_state(var_dir)
            if (
                state
                and state.get("state") == "running"
                and state["launcher"]["pid"] == launcher.pid
            ):
                yield state
                break
            if time.monotonic() > deadline:
                raise StackError(f"the stack was not ready in {timeout:.0f} s; {log}")
            time.sleep(0.5)
    finally:
        if launcher.poll() is None:
            launcher.send_signal(signal.SIGINT)
            try:
                launcher.wait(timeout=STOP_TIMEOUT * 4 + 10)
            except subprocess.TimeoutExpired:
                os.killpg(launcher.pid, signal.SIGKILL)
                launcher.wait()


if __name__ == "__main__":
    sys.exit(main())
