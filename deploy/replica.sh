#!/usr/bin/env bash
# A streaming read replica of the PostgreSQL primary, as a second cluster on this machine.
#
#   deploy/replica.sh start     copy the primary (pg_basebackup -R), start, wait for streaming
#   deploy/replica.sh status    is it in recovery and streaming; how far behind (exit 1 if not)
#   deploy/replica.sh stop      stop the replica (its data stays; `start` resumes streaming)
#   deploy/replica.sh destroy   stop it, drop its replication slot, delete its folder
#
# Settings (environment):
#   REPLICA_DIR     the replica's folder (default: var/pg-replica in the checkout); data/,
#                   log/ and run/ (the Unix socket) live inside it
#   REPLICA_PORT    5433            the replica listens on 127.0.0.1 only
#   PRIMARY_HOST    127.0.0.1       PRIMARY_PORT 5432
#   REPLICATION_USER postgres       a role with REPLICATION on the primary
#   REPLICA_SLOT    (empty)         a physical slot name: the primary keeps WAL until the
#                                   replica has it (drop it with `destroy`, or WAL piles up)
#   PG_BIN          /usr/lib/postgresql/15/bin
#   WAIT_SECONDS    60
#
# Run as root (the server runs as the postgres user) or as postgres. Needs, on the primary,
# wal_level=replica and max_wal_senders>0 (Debian's defaults). If the primary refuses
# replication connections from 127.0.0.1 for lack of a pg_hba.conf line, `start` appends one
# (same method as the primary's line for ordinary loopback connections) and reloads the
# primary: a reload, never a restart.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPLICA_DIR="${REPLICA_DIR:-$ROOT/var/pg-replica}"
REPLICA_PORT="${REPLICA_PORT:-5433}"
PRIMARY_HOST="${PRIMARY_HOST:-127.0.0.1}"
PRIMARY_PORT="${PRIMARY_PORT:-5432}"
REPLICATION_USER="${REPLICATION_USER:-postgres}"
REPLICA_SLOT="${REPLICA_SLOT:-}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
WAIT_SECONDS="${WAIT_SECONDS:-60}"

DATA="$REPLICA_DIR/data"
LOG="$REPLICA_DIR/log/postgresql.log"
RUN="$REPLICA_DIR/run"
MARKER="$REPLICA_DIR/IHANOI-REPLICA"
CLUSTER_NAME="ihanoi_replica_$REPLICA_PORT"
HBA_MARK="# ihanoi deploy/replica.sh: streaming replication from loopback"

die() {
    echo "replica: $*" >&2
    exit 1
}
say() { echo "replica: $*"; }

as_postgres() {
    if [ "$(id -un)" = postgres ]; then
        "$@"
    elif [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        die "run as root or as the postgres user"
    fi
}

# psql on the primary (ordinary connection) and on the replica (over its own socket).
primary_sql() {
    as_postgres "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 \
        -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$REPLICATION_USER" -d postgres -c "$1"
}
replica_sql() {
    as_postgres "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 \
        -h "$RUN" -p "$REPLICA_PORT" -U postgres -d postgres -c "$1"
}

check_tools() {
    [ -x "$PG_BIN/pg_basebackup" ] && [ -x "$PG_BIN/pg_ctl" ] ||
        die "PostgreSQL binaries not found in $PG_BIN (set PG_BIN)"
    id postgres >/dev/null 2>&1 || die "there is no postgres user on this machine"
    case "$REPLICA_PORT" in '' | *[!0-9]*) die "REPLICA_PORT=$REPLICA_PORT is not a port number" ;; esac
    [ "$REPLICA_PORT" != "$PRIMARY_PORT" ] || die "REPLICA_PORT must differ from PRIMARY_PORT"
    case "$REPLICA_SLOT" in *[!a-z0-9_]*) die "REPLICA_SLOT may hold only a-z, 0-9 and _" ;; esac
}

running() {
    [ -f "$DATA/PG_VERSION" ] && as_postgres "$PG_BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

replication_works() {
    as_postgres "$PG_BIN/psql" -X -q -At \
        "host=$PRIMARY_HOST port=$PRIMARY_PORT user=$REPLICATION_USER replication=true dbname=postgres" \
        -c "IDENTIFY_SYSTEM" >/dev/null 2>"$REPLICA_DIR/log/replication-check.err"
}

allow_replication_from_loopback() {
    if replication_works; then
        return
    fi
    if ! grep -q "no pg_hba.conf entry for replication connection" "$REPLICA_DIR/log/replication-check.err"; then
        cat "$REPLICA_DIR/log/replication-check.err" >&2
        die "the primary refuses replication connections as $REPLICATION_USER (see above)"
    fi
    local hba method
    hba="$(primary_sql 'SHOW hba_file')"
    [ -w "$hba" ] || die "add 'host replication $REPLICATION_USER 127.0.0.1/32 <method>' to $hba and reload the primary"
    # The method of the primary's own line for loopback connections to every database.
    method="$(primary_sql "SELECT auth_method FROM pg_hba_file_rules
        WHERE type = 'host' AND database = '{all}' AND address = '127.0.0.1'
        ORDER BY line_number LIMIT 1")"
    [ -n "$method" ] || die "no 'host all ... 127.0.0.1/32' line in $hba to copy the method from"
    say "allowing replication from 127.0.0.1 in $hba (method $method) and reloading the primary"
    printf '\n%s\nhost    replication     %s     127.0.0.1/32    %s\n' \
        "$HBA_MARK" "$REPLICATION_USER" "$method" >>"$hba"
    primary_sql "SELECT pg_reload_conf()" >/dev/null
    sleep 1
    replication_works || die "replication connections still refused after the reload: $(cat "$REPLICA_DIR/log/replication-check.err")"
}

check_primary() {
    as_postgres "$PG_BIN/pg_isready" -q -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" ||
        die "the primary does not answer on $PRIMARY_HOST:$PRIMARY_PORT"
    local wal_level senders
    wal_level="$(primary_sql 'SHOW wal_level')"
    senders="$(primary_sql 'SHOW max_wal_senders')"
    [ "$wal_level" != minimal ] || die "the primary has wal_level=minimal; replication needs 'replica' (a restart)"
    [ "$senders" -gt 0 ] || die "the primary has max_wal_senders=0; replication needs more (a restart)"
}

write_config() {
    # Hot standby refuses to start with fewer of these than the primary has.
    local setting lines=""
    for setting in max_connections max_worker_processes max_wal_senders \
        max_prepared_transactions max_locks_per_transaction; do
        lines+="$setting = $(primary_sql "SHOW $setting")"$'\n'
    done
    local method
    method="$(primary_sql "SELECT auth_method FROM pg_hba_file_rules
        WHERE type = 'host' AND database = '{all}' AND address = '127.0.0.1'
        ORDER BY line_number LIMIT 1")"
    as_postgres tee "$DATA/postgresql.conf" >/dev/null <<EOF
# Written by deploy/replica.sh: a hot standby of $PRIMARY_HOST:$PRIMARY_PORT.
# primary_conninfo is in postgresql.auto.conf (pg_basebackup -R), standby.signal beside it.
cluster_name = '$CLUSTER_NAME'
listen_addresses = '127.0.0.1'
port = $REPLICA_PORT
unix_socket_directories = '$RUN'
hot_standby = on
hot_standby_feedback = on
shared_buffers = 128MB
$lines
EOF
    as_postgres tee "$DATA/pg_hba.conf" >/dev/null <<EOF
# Written by deploy/replica.sh
local   all     all                     trust
host    all     all     127.0.0.1/32    ${method:-scram-sha-256}
EOF
    as_postgres touch "$DATA/pg_ident.conf"
}

cmd_start() {
    check_tools
    if running; then
        say "already running on 127.0.0.1:$REPLICA_PORT ($DATA)"
        wait_streaming
        return
    fi
    if [ -e "$REPLICA_DIR" ] && [ ! -f "$MARKER" ] && [ -n "$(ls -A "$REPLICA_DIR" 2>/dev/null)" ]; then
        die "$REPLICA_DIR exists and was not made by this script; choose another REPLICA_DIR"
    fi
    mkdir -p "$REPLICA_DIR/log" "$RUN"
    touch "$MARKER"
    chown -R postgres:postgres "$REPLICA_DIR" 2>/dev/null || true
    as_postgres test -w "$REPLICA_DIR" || die "the postgres user cannot write to $REPLICA_DIR"
    check_primary
    allow_replication_from_loopback
    if [ ! -f "$DATA/PG_VERSION" ]; then
        local slot_args=()
        if [ -n "$REPLICA_SLOT" ]; then
            if [ -n "$(primary_sql "SELECT 1 FROM pg_replication_slots WHERE slot_name = '$REPLICA_SLOT'")" ]; then
                slot_args=(-S "$REPLICA_SLOT")
            else
                slot_args=(-C -S "$REPLICA_SLOT")
            fi
        fi
        say "copying the primary $PRIMARY_HOST:$PRIMARY_PORT into $DATA (pg_basebackup -R)"
        as_postgres "$PG_BIN/pg_basebackup" -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" \
            -U "$REPLICATION_USER" -D "$DATA" -R -X stream -c fast --no-password "${slot_args[@]}" ||
            {
                rm -rf "$DATA"
                die "pg_basebackup failed"
            }
        write_config
    fi
    say "starting on 127.0.0.1:$REPLICA_PORT (log: $LOG)"
    as_postgres "$PG_BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t "$WAIT_SECONDS" start >/dev/null ||
        {
            tail -n 20 "$LOG" >&2 || true
            die "the replica did not start"
        }
    wait_streaming
}

wait_streaming() {
    local deadline=$((SECONDS + WAIT_SECONDS)) state=""
    while [ "$SECONDS" -lt "$deadline" ]; do
        state="$(primary_sql "SELECT state FROM pg_stat_replication WHERE application_name = '$CLUSTER_NAME'" 2>/dev/null || true)"
        if [ "$state" = streaming ] && [ "$(replica_sql 'SELECT pg_is_in_recovery()' 2>/dev/null)" = t ]; then
            cmd_status
            echo "DATABASE_REPLICA_URL=postgres://postgres@127.0.0.1:$REPLICA_PORT/<database>"
            return
        fi
        sleep 1
    done
    tail -n 20 "$LOG" >&2 || true
    die "not streaming after ${WAIT_SECONDS}s (primary reports state '${state:-none}'); if the log says the WAL was removed, run destroy, then start"
}

cmd_status() {
    check_tools
    running || die "not running ($DATA)"
    local recovery receiver row
    recovery="$(replica_sql 'SELECT pg_is_in_recovery()')"
    receiver="$(replica_sql 'SELECT status FROM pg_stat_wal_receiver')"
    row="$(primary_sql "SELECT state || ' sent=' || sent_lsn || ' replayed=' || coalesce(replay_lsn::text, '-')
        || ' behind=' || coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint, 0) || ' bytes'
        || ' replay_lag=' || coalesce(replay_lag::text, '0')
        FROM pg_stat_replication WHERE application_name = '$CLUSTER_NAME'")"
    say "127.0.0.1:$REPLICA_PORT in recovery: $recovery; WAL receiver: ${receiver:-none}"
    say "primary $PRIMARY_HOST:$PRIMARY_PORT sees: ${row:-no replication connection}"
    [ "$recovery" = t ] && [ "$receiver" = streaming ] && [ -n "$row" ] || exit 1
}

cmd_stop() {
    check_tools
    if running; then
        as_postgres "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
        say "stopped"
    else
        say "not running"
    fi
}

cmd_destroy() {
    check_tools
    if [ -e "$REPLICA_DIR" ] && [ ! -f "$MARKER" ]; then
        die "$REPLICA_DIR was not made by this script; not deleting it"
    fi
    cmd_stop
    if [ -n "$REPLICA_SLOT" ]; then
        # The primary's WAL sender lets go of the slot a moment after the replica stops.
        local tries=0
        while [ -n "$(primary_sql "SELECT 1 FROM pg_replication_slots WHERE slot_name = '$REPLICA_SLOT' AND active")" ]; do
            tries=$((tries + 1))
            [ "$tries" -le 20 ] || die "the slot $REPLICA_SLOT is still in use; is another replica using it?"
            sleep 0.5
        done
        primary_sql "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
            WHERE slot_name = '$REPLICA_SLOT'" >/dev/null
        say "dropped the replication slot $REPLICA_SLOT (if it was there)"
    fi
    rm -rf "$REPLICA_DIR"
    say "deleted $REPLICA_DIR"
}

case "${1:-}" in
start) cmd_start ;;
status) cmd_status ;;
stop) cmd_stop ;;
destroy) cmd_destroy ;;
*)
    echo "usage: deploy/replica.sh start|status|stop|destroy  (settings: see the top of this file)" >&2
    exit 2
    ;;
esac
