#!/usr/bin/env bash
# A backup of the site: the PostgreSQL database (pg_dump -Fc) and the media files (tar).
#
#   deploy/backup.sh [DEST]        DEST defaults to $BACKUP_DIR, else var/backups
#
# Uses the application's own settings: DATABASE_URL (must be PostgreSQL) and MEDIA_ROOT.
# Writes DEST/ihanoi-<database>-<UTC time>/ with
#   database.dump   pg_dump -Fc (custom format: pg_restore can restore tables selectively)
#   media.tar.gz    every file under MEDIA_ROOT
#   MANIFEST        row counts of every table in the schema, taken in the dump's own
#                   snapshot (so they are exactly what the dump holds), and the media count
#   SHA256SUMS      checksums of the two archives
# The folder is built under a ".partial" name and renamed only when complete. Exits
# non-zero on any failure. Check a backup with deploy/restore-check.
#
# The database is dumped first, then the media: a file uploaded in between is in the tar
# without a row (harmless); every row in the dump finds its file.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
DEST="${1:-${BACKUP_DIR:-$ROOT/var/backups}}"

die() {
    echo "backup: $*" >&2
    exit 1
}

[ -x "$PYTHON" ] || die "no Python at $PYTHON (set PYTHON to the virtualenv's python)"
[ -x "$PG_BIN/pg_dump" ] || die "pg_dump not found in $PG_BIN (set PG_BIN)"

# What the application itself would use.
settings="$(DJANGO_SETTINGS_MODULE=ihanoi.settings "$PYTHON" -c '
import django
django.setup()
from django.conf import settings
from django.db import connection
db = settings.DATABASES["default"]
print(connection.vendor); print(db["NAME"]); print(settings.MEDIA_ROOT)
')" || die "could not read the application settings (see above)"
vendor="$(sed -n 1p <<<"$settings")"  # "postgresql" for Django's backend and the pooled one
dbname="$(sed -n 2p <<<"$settings")"
media_root="$(sed -n 3p <<<"$settings")"
[ "$vendor" = postgresql ] ||
    die "DATABASE_URL must name the PostgreSQL database (the settings use $vendor)"
[ -n "${DATABASE_URL:-}" ] || die "set DATABASE_URL"

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
name="ihanoi-$dbname-$stamp"
mkdir -p "$DEST" || die "cannot create $DEST"
work="$DEST/$name.partial"
mkdir "$work" || die "cannot create $work"
cleanup() {
    if [ -n "${SNAP_PID:-}" ]; then kill "$SNAP_PID" 2>/dev/null || true; fi
    if [ -d "$work" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

# A read-only transaction that exports its snapshot: pg_dump dumps that snapshot and the
# row counts are taken in it, while the site keeps writing.
coproc SNAP { "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 --dbname="$DATABASE_URL" 2>&1; }
echo "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SELECT pg_export_snapshot();" >&"${SNAP[1]}"
read -t 30 -r snapshot <&"${SNAP[0]}" || die "could not open a snapshot on the database"
[[ "$snapshot" =~ ^[0-9A-F-]+$ ]] || die "could not open a snapshot: $snapshot"

echo "backup: dumping $dbname (snapshot $snapshot)"
"$PG_BIN/pg_dump" --dbname="$DATABASE_URL" --snapshot="$snapshot" --format=custom \
    --file="$work/database.dump" || die "pg_dump failed"

{
    echo "created_at $stamp"
    echo "database $dbname"
    echo "snapshot $snapshot"
    echo "pg_dump $("$PG_BIN/pg_dump" --version)"
} >"$work/MANIFEST"
cat >&"${SNAP[1]}" <<'SQL'
SELECT format('SELECT %L, count(*) FROM %I.%I', tablename, schemaname, tablename)
FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename \gexec
SELECT '-- end of counts';
COMMIT;
SQL
while read -t 600 -r line <&"${SNAP[0]}"; do
    [ "$line" = "-- end of counts" ] && break
    [[ "$line" =~ ^[a-z0-9_]+\|[0-9]+$ ]] || die "counting rows failed: $line"
    echo "table ${line%%|*} ${line##*|}" >>"$work/MANIFEST"
done
[ "$line" = "-- end of counts" ] || die "counting rows did not finish"
exec {SNAP[1]}>&-
wait "$SNAP_PID" || die "the snapshot session ended with an error"
unset SNAP_PID

if [ -d "$media_root" ]; then
    media_files="$(find "$media_root" -type f | wc -l)"
    echo "backup: archiving $media_files media files from $media_root"
    tar -C "$media_root" -czf "$work/media.tar.gz" . || die "tar of $media_root failed"
else
    echo "backup: MEDIA_ROOT $media_root does not exist; the media archive is empty"
    media_files=0
    tar -czf "$work/media.tar.gz" -T /dev/null
fi
echo "media_root $media_root" >>"$work/MANIFEST"
echo "media_files $media_files" >>"$work/MANIFEST"

(cd "$work" && sha256sum database.dump media.tar.gz >SHA256SUMS)
mv "$work" "$DEST/$name"
echo "backup: $DEST/$name ($(du -sh "$DEST/$name" | cut -f1); $(grep -c '^table ' "$DEST/$name/MANIFEST") tables)"
