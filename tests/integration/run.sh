#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Integration test harness: the real daemon, over real TLS, against a real
# PostgreSQL + PostGIS. Never a mocked database.
#
#   BUILD=build tests/integration/run.sh [tests/integration/test_foo.sh ...]
#   ONLY=REGEX ...   runs only the test functions whose name matches REGEX
#   KEEP_WORK=1 ...  keeps the scratch directory (logs, configs) afterwards
#
# Once per run: a private cluster (tests/tools/pgcluster.sh) in a temporary
# directory, a template database migrated by the daemon's own
# `locguard migrate`, and throwaway certificates (tests/tools/mkcerts.sh).
# Per test file: a fresh database copied from the template, the daemon
# started on its own configuration and free ports, the file's `setup`
# function, then each `test_*` function in the order written, each in a
# subshell under `set -e` so the first failed check ends it. Then SIGTERM:
# the daemon must exit 0, which is counted as one more test.
#
# A failed test prints its part of the daemon's log and the tail of
# PostgreSQL's log. The last line is exactly "N passed, N failed"; the exit
# status is non-zero when anything failed. A trap tears everything down.
set -euo pipefail

LG_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$LG_ROOT/$BUILD ;; esac
export LG_ROOT BUILD

# shellcheck source=tests/integration/lib.sh
. "$LG_ROOT/tests/integration/lib.sh"

# The daemons here are not systemd's: test_systemd.sh sets its own socket.
unset NOTIFY_SOCKET

WORK=$(mktemp -d "${TMPDIR:-/tmp}/locguard-it.XXXXXX")
# As root the cluster runs as "postgres", which must be able to reach its
# directory inside ours: traverse only.
chmod 711 "$WORK"
PGDIR=$WORK/pg
CERTS=$WORK/certs
TEMPLATE_DB=lg_template
RESULTS=$WORK/results
: >"$RESULTS"

# cleanup: stops whatever is still running (a daemon of an interrupted test
# file, the cluster) and removes the scratch directory. Keeps it when
# KEEP_WORK is set, for poking at a failure by hand.
cleanup() {
    local f
    for f in "$WORK"/*/daemon.pid; do
        if [ -f "$f" ]; then kill -KILL "$(cat "$f")" 2>/dev/null || true; fi
    done
    PGCLUSTER_DB=$TEMPLATE_DB "$LG_ROOT/tests/tools/pgcluster.sh" stop "$PGDIR" || true
    if [ -n "${KEEP_WORK:-}" ]; then
        echo "kept $WORK" >&2
    else
        # Every cluster made under WORK (the template's, and a test's own):
        # as root its files live under /var/tmp, which rm -rf WORK misses.
        while IFS= read -r f; do
            "$LG_ROOT/tests/tools/pgcluster.sh" destroy "$(dirname "$f")" || true
        done < <(find "$WORK" -maxdepth 4 -name cluster -type l 2>/dev/null)
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# record ok|FAIL NAME: one test outcome.
record() {
    echo "$1 $2" >>"$RESULTS"
    printf '%-4s %s\n' "$1" "$2"
}

# log_mark: "DAEMON_LINE PG_LINE", where the two logs stand now.
log_mark() {
    echo "$(($(wc -l 2>/dev/null <"$T/daemon.log" || echo 0) + 1))" \
        "$(($(wc -l 2>/dev/null <"$PGDIR/postgres.log" || echo 0) + 1))"
}

# show_logs "DAEMON_LINE PG_LINE": after a failure, the daemon's log and the
# tail of PostgreSQL's from that mark on, indented.
show_logs() {
    local d p
    read -r d p <<<"$1"
    echo "    --- daemon log ($T/daemon.log from line $d) ---"
    tail -n "+$d" "$T/daemon.log" 2>/dev/null | tail -n 200 | sed 's/^/    | /'
    echo "    --- postgres log (tail) ---"
    tail -n "+$p" "$PGDIR/postgres.log" 2>/dev/null | tail -n 30 | sed 's/^/    | /'
}

# ensure_cluster: (re)starts the cluster; a test that stopped it and then
# failed must not take the following files down with it.
ensure_cluster() {
    PGCLUSTER_DB=$TEMPLATE_DB "$LG_ROOT/tests/tools/pgcluster.sh" start "$PGDIR"
}

# prepare: the cluster, the migrated template database and the certificates.
prepare() {
    local t0=$SECONDS
    if [ ! -x "$BUILD/locguard" ]; then
        echo "no $BUILD/locguard: build it first (make all)" >&2
        exit 1
    fi
    ensure_cluster
    "$LG_ROOT/tests/tools/mkcerts.sh" "$CERTS"
    # The published OpenAPI files and their validator, for checking answers.
    LG_SPECS=$("$LG_ROOT/tests/tools/specs.sh" "$BUILD/specs")
    export LG_SPECS
    # The daemon's own migration path builds the schema every test starts from.
    LOCGUARD_DATABASE=$(conninfo_for "$TEMPLATE_DB") T=$WORK DB=$TEMPLATE_DB \
        run_migrate >"$WORK/migrate.log" 2>&1 || {
        echo "locguard migrate failed:" >&2
        sed 's/^/    | /' "$WORK/migrate.log" >&2
        tail -n 30 "$PGDIR/postgres.log" >&2 || true
        exit 1
    }
    echo "prepared cluster, template database and certificates in $((SECONDS - t0))s"
}

# run_migrate: `locguard migrate` with a configuration like the tests' one.
run_migrate() {
    write_config "$WORK/migrate.conf"
    "$BUILD/locguard" migrate -c "$WORK/migrate.conf"
}

# run_test NAME FUNCTION: one test function in a subshell with set -e; its
# outcome recorded, with the logs when it failed.
run_test() {
    local name=$1 fn=$2 from rc=0
    from=$(log_mark)
    set +e
    (set -e; "$fn")
    rc=$?
    set -e
    if [ "$rc" = 0 ]; then
        record ok "$name: $fn"
    else
        record FAIL "$name: $fn"
        show_logs "$from"
    fi
}

# run_file FILE: everything for one test file, in a subshell of its own so
# its functions and variables do not leak into the next file.
run_file() {
    local file=$1 name fns fn from
    name=$(basename "$file" .sh)
    T=$WORK/$name
    DB=t_${name//[^a-z0-9]/_}
    mkdir -p "$T"
    export T DB PGDIR CERTS
    psql "$(conninfo_for postgres)" -X -q -v ON_ERROR_STOP=1 \
        -c "CREATE DATABASE $DB TEMPLATE $TEMPLATE_DB" >/dev/null
    # Test functions in the order they are written.
    fns=$(grep -oE '^test_[A-Za-z0-9_]+\(\)' "$file" | tr -d '()' | grep -E -- "${ONLY:-.}" || true)
    # shellcheck source=/dev/null
    . "$file"
    from=$(log_mark)
    if ! start_daemon; then
        for fn in $fns; do record FAIL "$name: $fn (daemon did not start)"; done
        show_logs "$from"
        return 0
    fi
    if declare -F setup >/dev/null; then
        set +e
        (set -e; setup)
        local rc=$?
        set -e
        if [ "$rc" != 0 ]; then
            for fn in $fns; do record FAIL "$name: $fn (setup failed)"; done
            show_logs "$from"
            fns=
        fi
    fi
    for fn in $fns; do
        run_test "$name" "$fn"
    done
    rc=0
    stop_daemon || rc=$?
    if [ "$rc" = 0 ]; then
        record ok "$name: daemon exits 0 on SIGTERM"
    else
        record FAIL "$name: daemon exits 0 on SIGTERM (exit status $rc)"
        show_logs "$from"
    fi
}

main() {
    local files=("$@") f rc
    [ ${#files[@]} -gt 0 ] || files=("$LG_ROOT"/tests/integration/test_*.sh)
    prepare
    for f in "${files[@]}"; do
        echo "== $(basename "$f")"
        # Not `(run_file) || ...`: that would switch set -e off inside it.
        set +e
        (run_file "$f")
        rc=$?
        set -e
        [ "$rc" = 0 ] || record FAIL "$(basename "$f" .sh): harness error (status $rc)"
        ensure_cluster
    done
    local passed failed
    passed=$(grep -c '^ok ' "$RESULTS" || true)
    failed=$(grep -c '^FAIL ' "$RESULTS" || true)
    echo "$passed passed, $failed failed"
    [ "$failed" = 0 ]
}

main "$@"
