"""Settings come from the environment; production refuses unsafe values."""

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from ihanoi.lib.env import env_bool, env_choice, env_int, env_list


def _run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Start Django with ``env`` (and this process's environment) and run ``code``."""
    full_env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    full_env.update(env)
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env={**full_env, "DJANGO_SETTINGS_MODULE": "ihanoi.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _start(**env: str) -> subprocess.CompletedProcess[str]:
    return _run("print('started')", **env)


def test_zero_configuration_starts():
    result = _start()
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_production_refuses_the_development_secret_key():
    result = _start(IHANOI_PRODUCTION="1")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_debug():
    result = _start(IHANOI_PRODUCTION="1", SECRET_KEY="x" * 64, DEBUG="1")
    assert result.returncode != 0
    assert "DEBUG" in result.stderr


def test_production_with_a_real_key_starts():
    result = _start(IHANOI_PRODUCTION="1", SECRET_KEY="k" * 64, ALLOWED_HOSTS="ihanoi.example.vn")
    assert result.returncode == 0, result.stderr


def test_a_typo_in_a_boolean_stops_start_up():
    result = _start(DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_an_unknown_sms_backend_stops_start_up():
    result = _start(SMS_BACKEND="carrier-pigeon")
    assert result.returncode != 0
    assert "SMS_BACKEND" in result.stderr


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("yes", True), ("off", False), ("", False)]
)
def test_env_bool_reads_common_spellings(raw, expected):
    assert env_bool("X", not expected, {"X": raw}) is expected


def test_env_int_refuses_garbage_and_values_below_minimum():
    assert env_int("N", 5, {}) == 5
    assert env_int("N", 5, {"N": " 7 "}) == 7
    with pytest.raises(ImproperlyConfigured):
        env_int("N", 5, {"N": "seven"})
    with pytest.raises(ImproperlyConfigured):
        env_int("N", 5, {"N": "-1"}, minimum=0)
    assert env_int("N", 5, {"N": "9"}, minimum=0, maximum=9) == 9
    with pytest.raises(ImproperlyConfigured, match="above the maximum 9"):
        env_int("N", 5, {"N": "10"}, maximum=9)


def test_env_list_splits_on_commas_and_drops_blanks():
    assert env_list("H", ["a"], {"H": "a.vn, b.vn,,"}) == ["a.vn", "b.vn"]
    assert env_list("H", ["a"], {}) == ["a"]


def test_env_choice_maps_names_and_accepts_dotted_paths():
    choices = {"console": "pkg.Console"}
    assert env_choice("B", "console", choices, {}) == "pkg.Console"
    assert env_choice("B", "console", choices, {"B": "my.Gateway"}) == "my.Gateway"
    with pytest.raises(ImproperlyConfigured):
        env_choice("B", "console", choices, {"B": "nope"})


@pytest.mark.vietnamese
def test_time_zone_is_hanoi_and_the_language_vietnamese(settings):
    assert settings.TIME_ZONE == "Asia/Ho_Chi_Minh"
    assert settings.LANGUAGE_CODE == "vi"


def test_argon2_is_the_password_hasher():
    from ihanoi import settings as project_settings

    assert project_settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def _show(expression: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Start with ``env`` and print ``expression`` evaluated on the settings."""
    return _run(f"from django.conf import settings as s; print(repr({expression}))", **env)


def test_the_connection_pool_is_sized_from_the_environment():
    result = _show(
        "(s.DATABASES['default']['OPTIONS']['pool'], s.DATABASES['default']['CONN_MAX_AGE'],"
        " s.DATABASES['default']['ENGINE'])",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/ihanoi",
        DATABASE_CONN_MAX_AGE="60",
        DATABASE_POOL="1",
        DATABASE_POOL_MAX="8",
    )
    assert result.returncode == 0, result.stderr
    # Django refuses persistent connections beside a pool: the pool wins. The backend is
    # Django's with the pool's check by socket (ihanoi.lib.pgpool).
    assert result.stdout.strip() == (
        "({'min_size': 2, 'max_size': 8, 'timeout': 10}, 0, 'ihanoi.lib.pgpool')"
    )


def test_the_pool_checks_connections_by_their_socket_on_both_aliases():
    # Django builds the pool (without connecting: it opens on the first loan).
    result = _run(
        "from django.db import connections; "
        "print([connections[a].pool._check.__module__ for a in ('default', 'replica')])",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/ihanoi",
        DATABASE_REPLICA_URL="postgres://postgres@127.0.0.1:5433/ihanoi",
        DATABASE_POOL="1",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['ihanoi.lib.pgpool', 'ihanoi.lib.pgpool']"


def test_a_replica_on_another_engine_is_refused_with_the_pool_too():
    result = _start(
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/ihanoi",
        DATABASE_REPLICA_URL="sqlite:///var/replica.sqlite3",
        DATABASE_POOL="1",
    )
    assert result.returncode != 0
    expected = "same database engine as DATABASE_URL (django.db.backends.postgresql)"
    assert expected in result.stderr


def test_sqlite_has_no_pool_even_when_asked():
    result = _show(
        "'pool' in s.DATABASES['default']['OPTIONS']",
        DATABASE_URL="sqlite:///var/pool-check.sqlite3",
        DATABASE_POOL="1",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_a_pool_size_that_is_not_a_number_stops_start_up():
    result = _start(
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/ihanoi",
        DATABASE_POOL="1",
        DATABASE_POOL_MAX="lots",
    )
    assert result.returncode != 0
    assert "DATABASE_POOL_MAX" in result.stderr


def test_the_rq_task_backend_needs_redis():
    result = _start(TASKS_BACKEND="rq", REDIS_URL="")
    assert result.returncode != 0
    assert "TASKS_BACKEND=rq needs REDIS_URL" in result.stderr


def test_the_rq_task_backend_queues_in_redis():
    result = _show(
        "(s.TASKS['default'], s.RQ_QUEUES['default']['URL'], 'django_tasks_rq' in "
        "s.INSTALLED_APPS)",
        TASKS_BACKEND="rq",
        REDIS_URL="redis://127.0.0.1:6379/3",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "({'BACKEND': 'django_tasks_rq.RQBackend', 'QUEUES': ['default']}, "
        "'redis://127.0.0.1:6379/3', True)"
    )


def test_the_public_pages_have_a_cache_of_their_own():
    # Evicting them must never take rate limits or used TOTP codes along (the database
    # cache deletes a third of its rows when it is full).
    alone = _show("(s.CACHES['default']['LOCATION'], s.CACHES['public']['LOCATION'])", REDIS_URL="")
    assert alone.returncode == 0, alone.stderr
    assert alone.stdout.strip() == "('ihanoi_cache', 'ihanoi_public_cache')"
    redis = _show(
        "(s.CACHES['public']['LOCATION'], s.CACHES['public']['KEY_PREFIX'])",
        REDIS_URL="redis://127.0.0.1:6379/3",
    )
    assert redis.returncode == 0, redis.stderr
    assert redis.stdout.strip() == "('redis://127.0.0.1:6379/3', 'public')"


def test_the_delivery_gather_is_read_in_milliseconds_between_0_and_10_s():
    assert _show("s.IHANOI_DELIVERY_GATHER_MS").stdout.strip() == "500"
    assert _show("s.IHANOI_DELIVERY_GATHER_MS", IHANOI_DELIVERY_GATHER_MS="0").stdout.strip() == "0"
    for bad in ("-5", "10001", "half"):
        refused = _show("s.IHANOI_DELIVERY_GATHER_MS", IHANOI_DELIVERY_GATHER_MS=bad)
        assert refused.returncode != 0
        assert "IHANOI_DELIVERY_GATHER_MS" in refused.stderr
