#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# A private PostgreSQL 15 + PostGIS cluster in a directory: the embedded
# default for `make demo`, `make check` and `make bench`.
#
#   pgcluster.sh start DIR    create (initdb) if needed, start, create the
#                             "locguard" database with PostGIS; prints nothing
#   pgcluster.sh stop DIR     fast shutdown (no-op when not running)
#   pgcluster.sh kill DIR     immediate shutdown (crash simulation)
#   pgcluster.sh destroy DIR  immediate shutdown and removal of the cluster's
#                             files (as root they live under /var/tmp, not in
#                             DIR: removing DIR alone leaves them there)
#   pgcluster.sh conninfo DIR the libpq connection string for the cluster
#
# The server listens on a unix socket only (no TCP), on a port number
# picked free at creation time and kept beside the data directory.
# PGCLUSTER_OPTS, when set, holds server settings for this start only
# (postgres -c NAME=VALUE ...): `make bench` sizes shared_buffers to the
# machine with it. PostgreSQL refuses
# to run as root: as root, the cluster belongs to the "postgres" user.
set -euo pipefail

cmd=${1:?usage: pgcluster.sh start|stop|kill|destroy|conninfo DIR}
dir=${2:?usage: pgcluster.sh start|stop|kill|destroy|conninfo DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
bindir=${PG_BINDIR:-/usr/lib/postgresql/15/bin}

# As root the server runs as "postgres", which may not be able to reach DIR
# (a checkout under /root, mode 0700). Its files then live in a directory of
# its own under /var/tmp, named after DIR, and DIR/cluster links to it.
if [ "$(id -u)" = 0 ]; then
    base=/var/tmp/locguard-pg-$(printf '%s' "$dir" | md5sum | cut -c1-16)
    mkdir -p "$base"
    ln -sfn "$base" "$dir/cluster"
else
    base=$dir
fi
data=$base/data
run=$base/run
log=$base/postgres.log
[ "$base" = "$dir" ] || ln -sfn "$log" "$dir/postgres.log"

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

db_user() {
    if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi
}

conninfo() {
    echo "host=$run port=$(cat "$base/port") dbname=${PGCLUSTER_DB:-locguard} user=$(db_user)"
}

free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 30000))
        if ! ls /tmp/.s.PGSQL."$p" /var/run/postgresql/.s.PGSQL."$p" >/dev/null 2>&1 &&
           ! ss -ltn 2>/dev/null | grep -q ":$p "; then
            echo "$p"; return 0
        fi
    done
    echo "no free port" >&2; return 1
}

case "$cmd" in
start)
    if [ ! -f "$data/PG_VERSION" ]; then
        mkdir -p "$data" "$run"
        [ "$(id -u)" = 0 ] && chown -R postgres: "$base"
        chmod 700 "$data"
        free_port >"$base/port"
        as_owner "$bindir/initdb" -D "$data" -A trust -E UTF8 --locale=C.UTF-8 \
            -U "$(db_user)" >"$base/initdb.log" 2>&1 ||
            { cat "$base/initdb.log" >&2; exit 1; }
        cat >>"$data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$run'
port = $(cat "$base/port")
synchronous_commit = on
fsync = on
shared_buffers = 512MB
work_mem = 32MB
maintenance_work_mem = 512MB
max_wal_size = 4GB
checkpoint_timeout = 15min
# lz4, not pglz (what 'on' means): right after a checkpoint every first
# touch of a page logs a full-page image, and compressing those with pglz
# held lg_ingest to a third of its speed for several seconds.
wal_compression = lz4
plan_cache_mode = force_generic_plan
log_min_messages = warning
log_line_prefix = '%m [%p] %d '
CONF
    fi
    if ! as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        as_owner "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 -o "${PGCLUSTER_OPTS:-}" start \
            >/dev/null ||
            { tail -n 30 "$log" >&2; exit 1; }
    fi
    if ! psql "$(PGCLUSTER_DB=postgres conninfo)" -Atqc \
            "SELECT 1 FROM pg_database WHERE datname = '${PGCLUSTER_DB:-locguard}'" | grep -q 1; then
        psql "$(PGCLUSTER_DB=postgres conninfo)" -qc "CREATE DATABASE ${PGCLUSTER_DB:-locguard}" >/dev/null
    fi
    ;;
stop)
    [ -f "$data/PG_VERSION" ] || exit 0
    as_owner "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
    ;;
kill)
    [ -f "$data/PG_VERSION" ] || exit 0
    as_owner "$bindir/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
    ;;
destroy)
    if [ -f "$data/PG_VERSION" ]; then
        as_owner "$bindir/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    if [ "$base" != "$dir" ]; then
        rm -rf "$base"
        rm -f "$dir/cluster" "$dir/postgres.log"
    else
        rm -rf "$data" "$run" "$log" "$base/port" "$base/initdb.log"
    fi
    ;;
conninfo)
    conninfo
    ;;
*)
    echo "usage: pgcluster.sh start|stop|kill|destroy|conninfo DIR" >&2; exit 2
    ;;
esac
