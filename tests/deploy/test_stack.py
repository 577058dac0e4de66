"""The production-like launcher (deploy/stack.py): its generated nginx config and
environment, its checks, and how it supervises processes; the X-Instance WSGI wrapper."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


stack = _load("ihanoi_deploy_stack", ROOT / "deploy" / "stack.py")


def _config(tmp_path: Path, **overrides):
    values = {"var_dir": tmp_path / "var", "https_port": 0}
    values.update(overrides)
    return stack.StackConfig(**values)


# --- nginx ------------------------------------------------------------------------------------


def test_every_placeholder_of_the_nginx_template_is_filled(tmp_path):
    text = stack.render_nginx(_config(tmp_path, https_port=18443), user="")
    assert "{{" not in text and "}}" not in text
    assert "daemon off;" in text


def test_an_unknown_placeholder_is_an_error_not_an_empty_string():
    with pytest.raises(stack.StackError, match="no value for nope"):
        stack.render_template("listen {{ nope }};", {})


def test_nginx_balances_over_one_upstream_server_per_instance(tmp_path):
    text = stack.render_nginx(_config(tmp_path, instances=3, app_port=18201), user="")
    for port in (18201, 18202, 18203):
        assert f"server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" in text
    assert "server 127.0.0.1:18204" not in text
    assert "least_conn;" in text
    assert "proxy_pass http://ihanoi_web;" in text


def test_nginx_passes_the_client_address_and_scheme_to_the_instances(tmp_path):
    text = stack.render_nginx(_config(tmp_path), user="")
    assert "proxy_set_header X-Real-IP $remote_addr;" in text
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in text
    assert "proxy_set_header Host $http_host;" in text


def test_static_and_media_are_served_from_the_stack_folders(tmp_path):
    config = _config(tmp_path)
    text = stack.render_nginx(config, user="")
    assert f"alias {config.static_root}/;" in text
    assert f"alias {config.media_root}/;" in text
    assert 'add_header Cache-Control "public, max-age=31536000, immutable" always;' in text


def test_media_root_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDIA_ROOT", str(tmp_path / "shared-media"))
    config = _config(tmp_path)
    assert config.media_root == tmp_path / "shared-media"
    assert f"alias {tmp_path / 'shared-media'}/;" in stack.render_nginx(config, user="")


def test_the_tls_listener_is_there_only_with_an_https_port(tmp_path):
    without = stack.render_nginx(_config(tmp_path, https_port=0), user="")
    assert " ssl" not in without
    with_tls = stack.render_nginx(_config(tmp_path, https_port=18443), user="")
    assert "listen 127.0.0.1:18443 ssl http2;" in with_tls
    assert "ssl_certificate_key" in with_tls


def test_nginx_drops_root_only_when_it_runs_as_root(tmp_path):
    assert (
        stack.render_nginx(_config(tmp_path), user="www-data www-data").count(
            "user www-data www-data;"
        )
        == 1
    )
    assert "\nuser " not in stack.render_nginx(_config(tmp_path), user="")


@pytest.mark.skipif(stack.nginx_binary() is None, reason="nginx is not installed")
@pytest.mark.parametrize("https_port", [0, 18443])
def test_nginx_accepts_the_generated_config(tmp_path, https_port):
    config = _config(tmp_path, https_port=https_port)
    config.log_dir.mkdir(parents=True)
    config.run_dir.mkdir(parents=True)
    if https_port:
        stack.ensure_certificate(config)
    conf = stack.write_nginx_config(stack.nginx_binary(), config)  # runs `nginx -t`
    assert conf.exists()


def test_the_certificate_names_localhost_and_the_loopback_address(tmp_path):
    from cryptography import x509

    config = _config(tmp_path, https_port=18443)
    stack.ensure_certificate(config)
    cert = x509.load_pem_x509_certificate((config.tls_dir / "local.crt").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert "127.0.0.1" in [str(ip) for ip in names.get_values_for_type(x509.IPAddress)]
    assert oct((config.tls_dir / "local.key").stat().st_mode & 0o777) == "0o600"


# --- Environment and configuration ------------------------------------------------------------


def test_the_stack_manages_database_cache_queue_and_production_mode(tmp_path):
    config = _config(tmp_path, database_url="postgres://u@db:5432/city", workers=3)
    env = stack.app_env(config, "k" * 60, base={"DATABASE_URL": "sqlite:///x", "DEBUG": "1"})
    assert env["DATABASE_URL"] == "postgres://u@db:5432/city"
    assert env["DEBUG"] == "0"
    assert env["IHANOI_PRODUCTION"] == "1"
    assert env["TASKS_BACKEND"] == "rq"
    assert env["DATABASE_POOL"] == "1"
    assert (env["DATABASE_POOL_MIN"], env["DATABASE_POOL_MAX"]) == ("1", "2")
    assert env["IHANOI_VAR_DIR"] == str(config.var_dir)


def test_tunable_settings_keep_the_callers_values(tmp_path):
    config = _config(tmp_path)
    env = stack.app_env(
        config, "k" * 60, base={"SECURE_SSL_REDIRECT": "1", "ALLOWED_HOSTS": "ihanoi.vn"}
    )
    assert env["SECURE_SSL_REDIRECT"] == "1"
    assert env["ALLOWED_HOSTS"] == "ihanoi.vn"
    assert stack.app_env(config, "k" * 60, base={})["SECURE_SSL_REDIRECT"] == "0"


def test_extra_settings_win_over_everything(tmp_path):
    config = _config(tmp_path, extra_env={"DATABASE_POOL_MAX": "9", "SMS_BACKEND": "locmem"})
    env = stack.app_env(config, "k" * 60, base={})
    assert env["DATABASE_POOL_MAX"] == "9"
    assert env["SMS_BACKEND"] == "locmem"


def test_a_gthread_worker_gets_one_pooled_connection_per_thread(tmp_path):
    config = _config(tmp_path, worker_class="gthread", threads=4, workers=1, instances=2)
    assert config.pool_bounds() == (1, 4)
    # 2 instances × 1 worker × 4, plus the worker's and the scheduler's pools.
    assert config.database_connections() == 8 + 2 + 2


def test_each_instance_gets_its_own_port_and_name(tmp_path):
    config = _config(tmp_path, instances=3, app_port=18101)
    assert config.instance_ports() == {"app1": 18101, "app2": 18102, "app3": 18103}
    web = stack.web_env(config, {}, "app2", 18102)
    assert web["IHANOI_INSTANCE"] == "app2"
    assert web["IHANOI_BIND"] == "127.0.0.1:18102"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"database_url": "sqlite:///var/x.sqlite3"}, "PostgreSQL"),
        ({"database_url": "postgres://u@h:5432/"}, "must name a database"),
        ({"http_port": 18001}, "overlap"),
        ({"threads": 4}, "gthread"),
        ({"instances": 0}, "at least 1"),
        ({"redis_url": "memcached://x"}, "redis://"),
    ],
)
def test_bad_configurations_are_refused_with_a_reason(tmp_path, overrides, message):
    with pytest.raises(stack.StackError, match=message):
        _config(tmp_path, **overrides).validate()


def test_the_secret_key_is_made_once_and_kept_private(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    config = _config(tmp_path)
    first = stack.secret_key(config)
    assert len(first) >= 50
    assert stack.secret_key(config) == first
    assert oct((config.var_dir / "secret_key").stat().st_mode & 0o777) == "0o600"
    monkeypatch.setenv("SECRET_KEY", "s" * 64)
    assert stack.secret_key(config) == "s" * 64


def test_passwords_never_reach_the_state_file():
    assert stack.mask_url("postgres://ihanoi:hunter2@db:5432/city") == (
        "postgres://ihanoi:***@db:5432/city"
    )
    assert stack.mask_url("redis://127.0.0.1:6379/5") == "redis://127.0.0.1:6379/5"


def test_render_prints_the_config_without_the_secret(tmp_path, capsys):
    assert stack.main(["render", "--var-dir", str(tmp_path), "--https-port", "0"]) == 0
    out = capsys.readouterr().out
    assert "upstream ihanoi_web" in out
    assert "SECRET_KEY=<SECRET_KEY>" in out


# --- Supervision ------------------------------------------------------------------------------


def _sleeper(name: str, role: str = "worker"):
    return stack.ProcessSpec(
        name=name,
        role=role,
        argv=[sys.executable, "-c", "import time; time.sleep(60)"],
        env=dict(os.environ),
    )


def _wait(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def supervisor(tmp_path):
    config = _config(tmp_path)
    config.log_dir.mkdir(parents=True)
    config.run_dir.mkdir(parents=True)
    out = open(os.devnull, "w")  # noqa: SIM115 - closed below
    made = stack.Supervisor(config, [_sleeper("one"), _sleeper("two", "scheduler")], out)
    yield made
    made.stopping = True
    made.stop_all()
    made.stack_log.close()
    out.close()


def test_pids_are_written_to_pid_files_and_the_state_file(supervisor):
    supervisor.start_all()
    state = stack.read_state(supervisor.config.var_dir)
    assert state["state"] == "running"
    for child in supervisor.children:
        pid = child.pid
        assert state["processes"][child.spec.name]["pid"] == pid
        pid_file = supervisor.config.run_dir / f"{child.spec.name}.pid"
        assert pid_file.read_text().strip() == str(pid)
        assert stack.alive(pid)


def test_a_process_that_dies_is_reported_and_started_again(supervisor):
    supervisor.start_all()
    child = supervisor.children[0]
    old = child.pid
    os.kill(old, signal.SIGKILL)
    assert _wait(lambda: child.process.poll() is not None)
    supervisor._watch_one(child, time.monotonic())
    assert child.last_exit == "killed by SIGKILL"
    assert child.restarts == 1
    supervisor._watch_one(child, time.monotonic() + 5)  # past the back-off
    assert child.pid != old and stack.alive(child.pid)
    log = (supervisor.config.log_dir / "stack.log").read_text()
    assert f"one (pid {old}) died: killed by SIGKILL" in log
    assert stack.read_state(supervisor.config.var_dir)["processes"]["one"]["restarts"] == 1


def test_without_restarts_a_death_stops_the_stack(supervisor):
    supervisor.config.restart = False
    supervisor.start_all()
    child = supervisor.children[1]
    child.process.terminate()
    child.process.wait()
    supervisor._watch_one(child, time.monotonic())
    assert supervisor.stopping and supervisor.exit_status == 1


def test_stopping_ends_every_process_and_removes_the_pid_files(supervisor):
    supervisor.start_all()
    pids = [child.pid for child in supervisor.children]
    supervisor.stop_all()
    assert not any(stack.alive(pid) for pid in pids)
    assert not list(supervisor.config.run_dir.glob("*.pid"))
    assert stack.read_state(supervisor.config.var_dir)["state"] == "stopped"


def test_a_process_that_cannot_start_is_an_error_with_its_log(tmp_path):
    config = _config(tmp_path)
    config.log_dir.mkdir(parents=True)
    config.run_dir.mkdir(parents=True)
    spec = stack.ProcessSpec(
        name="broken",
        role="worker",
        argv=[sys.executable, "-c", "import sys; print('no database'); sys.exit(3)"],
        env=dict(os.environ),
    )
    with open(os.devnull, "w") as out:
        supervisor = stack.Supervisor(config, [spec], out)
        with pytest.raises(stack.StackError, match="exit code 3") as raised:
            supervisor.start_all()
        supervisor.stop_all()
        supervisor.stack_log.close()
    assert "no database" in str(raised.value)


def test_children_of_finds_a_process_s_children():
    grandchild = "import time; time.sleep(30)"
    code = f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {grandchild!r}])"
    parent = subprocess.Popen([sys.executable, "-c", code + "; time.sleep(30)"])  # noqa: S603
    try:
        assert _wait(lambda: len(stack.children_of(parent.pid)) == 1)
    finally:
        for pid in stack.children_of(parent.pid):
            os.kill(pid, signal.SIGKILL)
        parent.kill()
        parent.wait()


# --- X-Instance -------------------------------------------------------------------------------


def test_responses_name_the_instance_that_served_them():
    from ihanoi.web.instance import HEADER, with_instance_header

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["headers"] = headers

    body = with_instance_header(app, "app2")({}, start_response)
    assert list(body) == [b"ok"]
    assert (HEADER, "app2") in seen["headers"]


@pytest.mark.parametrize(
    ("raw", "name"),
    [("app1", "app1"), (" web-3.hn ", "web-3.hn"), ("", ""), ("a b", ""), ("x\r\nEvil: 1", "")],
)
def test_only_a_header_safe_instance_name_is_used(raw, name):
    from ihanoi.web.instance import instance_name

    assert instance_name({"IHANOI_INSTANCE": raw}) == name
