#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Runs the unit tests that need a real database (the notifier against a real
# outbox and an in-process HTTPS sink, the count release against real
# tables): a private cluster in DIR, one freshly migrated database per test
# binary (the daemon's own `locguard migrate`), throwaway certificates.
#
#   BUILD=build tests/tools/run-dbunit.sh DIR TEST...
set -euo pipefail

dir=${1:?usage: run-dbunit.sh DIR TEST...}
shift
build=${BUILD:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
pgc=$top/tests/tools/pgcluster.sh
work=$(mktemp -d)

cleanup() {
    "$pgc" stop "$dir" || true
    rm -rf "$work"
}
trap cleanup EXIT

"$pgc" start "$dir"
"$top/tests/tools/mkcerts.sh" "$work/certs" >/dev/null
admin=$(PGCLUSTER_DB=postgres "$pgc" conninfo "$dir")

# fresh_db NAME: drops and creates NAME, migrates it, prints its conninfo.
fresh_db() {
    psql "$admin" -qAt -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null
    local conninfo
    conninfo=$(PGCLUSTER_DB=$1 "$pgc" conninfo "$dir")
    printf '[daemon]\nlog_level = warn\nschema_dir = %s\n[database]\nconninfo = %s\n' \
        "$top" "$conninfo" >"$work/$1.conf"
    "$build/locguard" migrate -c "$work/$1.conf" >&2
    echo "$conninfo"
}

rc=0
for t in "$@"; do
    name=$(basename "$t")
    db=locguard_${name#test_}
    conninfo=$(fresh_db "$db")
    echo "== $t (database $db)"
    LOCGUARD_TEST_DATABASE=$conninfo LG_TEST_DATABASE=$conninfo LOCGUARD_TEST_CERTS=$work/certs \
        "$t" || rc=1
done
exit "$rc"
