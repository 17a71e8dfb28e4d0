#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# bench.sh: `make bench`. Measures the southbound hot path end to end and
# against the database's own limit, on a private PostgreSQL cluster, and
# prints a table. Not a test: it asserts nothing, it measures and prints.
#
#   1. starts its own cluster (tests/tools/pgcluster.sh start $VAR/bench-pg),
#      applies the schema with `locguard migrate`, provisions the population
#      with tests/bench/provision.sql (skipped when already provisioned at
#      the same size), makes throwaway certificates (tests/tools/mkcerts.sh,
#      openssl CLI) under $VAR/bench-certs, writes a config and starts the
#      daemon, waiting for its ready file;
#   2. (a) ingest-direct: lg_ingest() called over libpq, 2 connections, for
#      BENCH_SECONDS: what the database alone sustains;
#      (b) mme-sim load through the daemon (mutual TLS, HTTP/1.1, JSON) at
#      full speed: 4 connections x 500 reports per batch by default;
#      (c) mme-sim load at half of (b)'s rate, for the ack latency under a
#      load the system keeps up with;
#   3. prints direct and API reports/s, their ratio, and the p50/p99 ack
#      latency at full and half load; stops the daemon (SIGTERM) and the
#      cluster from a trap.
#
# Environment: BUILD (binaries), VAR (state), and for quick runs
# BENCH_DEVICES (1000000), BENCH_CELLS (100000), BENCH_SECONDS (20),
# BENCH_API_CONNECTIONS (4), BENCH_API_BATCH (500), BENCH_DIRECT_BATCH (1000).
# The cluster and the provisioned data are kept under $VAR/bench-pg between
# runs; `make distclean` removes them.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
BUILD=$(cd "${BUILD:-build}" && pwd)
VAR=${VAR:-$root/var}
mkdir -p "$VAR"
VAR=$(cd "$VAR" && pwd)

devices=${BENCH_DEVICES:-1000000}
cells=${BENCH_CELLS:-100000}
secs=${BENCH_SECONDS:-20}
api_conns=${BENCH_API_CONNECTIONS:-4}
api_batch=${BENCH_API_BATCH:-500}
direct_batch=${BENCH_DIRECT_BATCH:-1000}

pgdir=$VAR/bench-pg
certs=$VAR/bench-certs
run=$VAR/bench-run
conf=$run/locguard.conf
daemon_pid=

log() { printf '== %s\n' "$*" >&2; }

# tool NAME: the built binary for tests/tools/NAME.c (build/mme_sim for
# tests/tools/mme_sim.c; build/mme-sim is accepted too).
tool() {
    local n
    for n in "$1" "${1//-/_}" "${1//_/-}"; do
        if [ -x "$BUILD/$n" ]; then echo "$BUILD/$n"; return 0; fi
    done
    echo "bench: $BUILD/$1 is not built (make all)" >&2
    return 1
}

cleanup() {
    local rc=$?
    if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
        kill -TERM "$daemon_pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$daemon_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$daemon_pid" 2>/dev/null || true
        wait "$daemon_pid" 2>/dev/null || true
    fi
    tests/tools/pgcluster.sh stop "$pgdir" || true
    if [ "$rc" != 0 ] && [ -f "$run/locguard.log" ]; then
        echo "---- last lines of $run/locguard.log" >&2
        tail -n 30 "$run/locguard.log" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# result LINE KEY: the value of KEY=... in a RESULT line.
result() { sed -n "s/.*[ ]$2=\([^ ]*\).*/\1/p" <<<"$1"; }

locguard=$BUILD/locguard
[ -x "$locguard" ] || { echo "bench: $locguard is not built" >&2; exit 1; }
mme_sim=$(tool mme-sim)
ingest_direct=$(tool ingest-direct)

mkdir -p "$run"
rm -f "$run/ready"

log "cluster $pgdir"
tests/tools/pgcluster.sh start "$pgdir"
db=$(tests/tools/pgcluster.sh conninfo "$pgdir")

log "certificates $certs"
tests/tools/mkcerts.sh "$certs" >/dev/null

if [ ! -s "$run/admin.token" ]; then
    (umask 077 && openssl rand -hex 32 >"$run/admin.token")
fi
cat >"$conf" <<CONF
# Written by tests/bench/bench.sh.
[daemon]
log_level = warn
schema_dir = $root
ready_file = $run/ready

[database]
conninfo = $db
pool_size = 2

[ingest]
hysteresis = 2

[zone south]
kind = southbound
listen = 127.0.0.1:0
cert = $certs/server.pem
key = $certs/server.key
client_ca = $certs/ca.pem

[zone admin]
kind = admin
listen = 127.0.0.1:0
token_file = $run/admin.token
CONF

log "schema (locguard migrate)"
"$locguard" migrate -c "$conf" >"$run/migrate.log" 2>&1 ||
    { cat "$run/migrate.log" >&2; exit 1; }

have=$(psql "$db" -XAtqc "SELECT (SELECT count(*) FROM ue) || ' ' || (SELECT count(*) FROM cell)
                                || ' ' || (SELECT count(*) FROM area)
                                || ' ' || (SELECT count(*) FROM network_node
                                            WHERE name IN ('mme-1', 'mme-2', 'bench-direct'))")
if [ "$have" = "$devices $cells $devices 3" ]; then
    log "population already provisioned ($devices devices, $cells cells)"
else
    log "provisioning $devices devices, $cells cells"
    t0=$(date +%s.%N)
    psql "$db" -XAtq -v devices="$devices" -v cells="$cells" -f tests/bench/provision.sql \
        >"$run/provision.log" 2>&1 || { cat "$run/provision.log" >&2; exit 1; }
    t1=$(date +%s.%N)
    log "provisioned in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
fi

log "starting the daemon"
"$locguard" -c "$conf" >"$run/locguard.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 1 300); do
    [ -s "$run/ready" ] && break
    kill -0 "$daemon_pid" 2>/dev/null || { echo "bench: the daemon exited" >&2; exit 1; }
    sleep 0.1
done
south_port=$(awk '$1 == "south" { print $2 }' "$run/ready")
[ -n "$south_port" ] || { echo "bench: no southbound port in $run/ready" >&2; exit 1; }

sim() {
    "$mme_sim" load --host 127.0.0.1 --port "$south_port" --cert "$certs/mme-1.pem" \
        --key "$certs/mme-1.key" --ca "$certs/ca.pem" --node mme-1 \
        --devices "$devices" --cell-count "$cells" --duration "$secs" "$@"
}

# only_result: copies a tool's per-second lines to stderr and prints its
# RESULT line (tee /dev/stderr would truncate a stderr redirected to a file).
only_result() {
    local line
    while IFS= read -r line; do
        printf '%s\n' "$line" >&2
        case $line in RESULT*) printf '%s\n' "$line" ;; esac
    done
}

# Warm-up, not reported: the first touch of each page after the last
# checkpoint writes a full-page image to the WAL; let a short direct run pay
# that instead of whichever phase comes first.
psql "$db" -XAtqc CHECKPOINT
warm=$((secs < 5 ? secs : 5))
log "warm-up: ingest-direct ${warm} s (not reported)"
"$ingest_direct" --db "$db" --connections 2 --batch "$direct_batch" --duration "$warm" \
    --devices "$devices" --cell-count "$cells" >/dev/null || true

log "(a) ingest-direct: 2 connections x $direct_batch reports, ${secs} s"
out_direct=$("$ingest_direct" --db "$db" --connections 2 --batch "$direct_batch" \
    --duration "$secs" --devices "$devices" --cell-count "$cells" | only_result || true)

log "(b) mme-sim load at full speed: $api_conns connections x $api_batch reports, ${secs} s"
out_full=$(sim --connections "$api_conns" --batch "$api_batch" | only_result || true)
[ -n "$out_full" ] || { echo "bench: mme-sim load gave no RESULT" >&2; exit 1; }
full_rate=$(result "$out_full" reports_per_s)
half_rate=$(awk -v r="$full_rate" 'BEGIN { printf "%d", r / 2 }')

log "(c) mme-sim load at half speed: $half_rate reports/s, ${secs} s"
out_half=$(sim --connections "$api_conns" --batch "$api_batch" --rate "$half_rate" |
    only_result || true)

direct_rate=$(result "$out_direct" reports_per_s)
ratio=$(awk -v a="$full_rate" -v d="$direct_rate" 'BEGIN { if (d > 0) printf "%.2f", a / d; else print "n/a" }')

echo
echo "locguard bench: $devices devices, $cells cells, ${secs} s per phase, $(nproc) CPUs"
printf '%-44s %12s\n' "measure" "value"
printf '%-44s %12s\n' "direct lg_ingest reports/s (2 conns x $direct_batch)" "$direct_rate"
printf '%-44s %12s\n' "API reports/s ($api_conns conns x $api_batch, full speed)" "$full_rate"
printf '%-44s %12s\n' "ratio API / direct" "$ratio"
printf '%-44s %12s\n' "ack latency p50 / p99 ms, full speed" \
    "$(result "$out_full" p50_ms) / $(result "$out_full" p99_ms)"
printf '%-44s %12s\n' "ack latency p50 / p99 ms, half ($half_rate/s)" \
    "$(result "$out_half" p50_ms) / $(result "$out_half" p99_ms)"
printf '%-44s %12s\n' "API errors / 503s (full, half)" \
    "$(result "$out_full" errors)/$(result "$out_full" busy), $(result "$out_half" errors)/$(result "$out_half" busy)"
printf '%-44s %12s\n' "direct decisions inside / outside / ambig." \
    "$(result "$out_direct" inside)/$(result "$out_direct" outside)/$(result "$out_direct" ambiguous)"
