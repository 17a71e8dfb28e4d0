#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# run-pgtap.sh DIR: the SQL test suite. Starts the private cluster in DIR,
# recreates the database locguard_sqltest, applies the schema (migrations/
# then sql/), installs pgTAP and runs pg_prove on tests/sql/*.sql. Stops the
# cluster on exit; exits non-zero when anything fails.
set -euo pipefail

dir=${1:?usage: run-pgtap.sh DIR [tests/sql/FILE.sql ...]}
shift
root=$(cd "$(dirname "$0")/../.." && pwd)
pgcluster=$root/tests/tools/pgcluster.sh
export PGCLUSTER_DB=locguard_sqltest

cleanup() { "$pgcluster" stop "$dir" || true; }
trap cleanup EXIT

"$pgcluster" start "$dir"
conninfo=$(PGCLUSTER_DB=postgres "$pgcluster" conninfo "$dir")
psql "$conninfo" -v ON_ERROR_STOP=1 -qc "DROP DATABASE IF EXISTS locguard_sqltest" \
    -c "CREATE DATABASE locguard_sqltest" >/dev/null
db=$("$pgcluster" conninfo "$dir")

# Apply the schema the way the daemon will: every migration in order, then
# every function file. `build/locguard migrate` replaces this step later.
apply_schema() {
    local f
    for f in "$root"/migrations/*.sql "$root"/sql/*.sql; do
        [ -e "$f" ] || continue
        psql "$db" -v ON_ERROR_STOP=1 -q -X -1 -f "$f" >/dev/null
    done
}

apply_schema
psql "$db" -v ON_ERROR_STOP=1 -qc "CREATE EXTENSION IF NOT EXISTS pgtap" >/dev/null

shopt -s nullglob
# The files named after DIR, else every file in tests/sql.
if [ $# -gt 0 ]; then tests=("$@"); else tests=("$root"/tests/sql/*.sql); fi
if [ ${#tests[@]} -eq 0 ]; then
    echo "run-pgtap.sh: no tests in tests/sql" >&2
    exit 1
fi
# pg_prove takes a database name, not a conninfo string: pass the rest of
# the conninfo through the libpq environment.
for kv in $db; do
    case $kv in
    host=*) export PGHOST=${kv#host=} ;;
    port=*) export PGPORT=${kv#port=} ;;
    user=*) export PGUSER=${kv#user=} ;;
    dbname=*) export PGDATABASE=${kv#dbname=} ;;
    esac
done
pg_prove ${PG_PROVE_OPTS:-} -d "$PGDATABASE" "${tests[@]}"
