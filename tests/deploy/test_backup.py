"""deploy/backup.sh and deploy/restore-check, run for real against the PostgreSQL test
database: a backup restores with the same rows and media files; a damaged or incomplete
backup fails the check; bad input gets a message, not a traceback."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from tests.feedback import conftest as feedback
from tests.oversight.conftest import at, submit

ROOT = Path(__file__).resolve().parents[2]

world = feedback.world
_media_in_tmp = feedback._media_in_tmp


def _run(script: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "DATABASE_REPLICA_URL"}
    full_env.update(env, LOG_LEVEL="WARNING")
    return subprocess.run(  # noqa: S603 - our own scripts, fixed arguments
        [str(ROOT / "deploy" / script), *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _test_database_url() -> str:
    db = connections[DEFAULT_DB_ALIAS].settings_dict
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgresql://{user}{password}@{host}{port}/{db['NAME']}"


@pytest.fixture
def postgres_url() -> str:
    if connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
        pytest.skip("backup.sh and restore-check need PostgreSQL (set DATABASE_URL)")
    return _test_database_url()


@pytest.mark.django_db(transaction=True)
def test_a_backup_restores_with_the_same_rows_and_media(postgres_url, world, settings, tmp_path):
    from ihanoi.feedback.models import Report, ReportPhoto

    for _ in range(2):
        submit(world, at("2026-03-02", "09:00"), photo=feedback.prepared_photo())
    media = Path(settings.MEDIA_ROOT)
    media_files = sum(1 for p in media.rglob("*") if p.is_file())
    assert media_files >= 2
    # As production runs it: with the pooled backend (ihanoi.lib.pgpool), which is PostgreSQL.
    env = {"DATABASE_URL": postgres_url, "MEDIA_ROOT": str(media), "DATABASE_POOL": "1"}

    made = _run("backup.sh", str(tmp_path / "backups"), **env)
    assert made.returncode == 0, made.stderr
    (backup,) = (tmp_path / "backups").iterdir()
    assert not backup.name.endswith(".partial")
    manifest = (backup / "MANIFEST").read_text().splitlines()
    assert f"table feedback_report {Report.objects.count()}" in manifest
    assert f"table feedback_reportphoto {ReportPhoto.objects.count()}" in manifest
    assert f"media_files {media_files}" in manifest

    checked = _run("restore-check", str(backup), **env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ihanoi migrate --check        ok" in checked.stdout
    report_line = next(
        line for line in checked.stdout.splitlines() if line.startswith("feedback_report ")
    )
    assert report_line.split()[1:] == ["2", "2"]
    assert checked.stdout.rstrip().endswith("RESTORE CHECK OK")

    # A count that does not match what the dump holds fails the check, naming the table.
    (backup / "MANIFEST").write_text(
        "\n".join(
            "table feedback_report 3" if line.startswith("table feedback_report ") else line
            for line in manifest
        )
        + "\n"
    )
    mismatch = _run("restore-check", str(backup), **env)
    assert mismatch.returncode == 1
    assert any(
        line.startswith("feedback_report ") and line.endswith("MISMATCH")
        for line in mismatch.stdout.splitlines()
    )
    assert "RESTORE CHECK FAILED" in mismatch.stdout

    # A damaged archive is caught by its checksum before anything is restored.
    with (backup / "database.dump").open("ab") as dump:
        dump.write(b"\0")
    damaged = _run("restore-check", str(backup), **env)
    assert damaged.returncode == 1
    assert "checksums do not match" in damaged.stderr


def test_bad_input_to_the_backup_scripts_gets_a_message(tmp_path):
    usage = _run("restore-check")
    assert usage.returncode == 2 and "usage: deploy/restore-check" in usage.stderr
    not_a_backup = _run("restore-check", str(tmp_path))
    assert not_a_backup.returncode == 1
    assert "not a backup made by deploy/backup.sh" in not_a_backup.stderr
    missing = _run("restore-check", str(tmp_path / "nowhere"))
    assert missing.returncode == 1 and "is not a folder" in missing.stderr
    sqlite = _run("backup.sh", str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3")
    assert sqlite.returncode == 1
    assert "DATABASE_URL must name the PostgreSQL database" in sqlite.stderr
    for result in (usage, not_a_backup, missing, sqlite):
        assert "Traceback" not in result.stderr
