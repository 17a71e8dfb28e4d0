#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# bench.sh: `make bench`. Measures the southbound hot path end to end and
# against the database's own limit, mix by mix, on a private PostgreSQL
# cluster, and prints a table. Not a test: it asserts nothing, it measures
# and prints (the targets met or not are printed, not enforced).
#
#   1. starts its own cluster (tests/tools/pgcluster.sh start $VAR/bench-pg),
#      applies the schema with `locguard migrate`, provisions the population
#      with tests/bench/provision.sql (skipped when already provisioned at
#      the same size), makes throwaway certificates (tests/tools/mkcerts.sh,
#      openssl CLI) under $VAR/bench-certs, writes a config and starts the
#      daemon, waiting for its ready file;
#   2. the traffic mixes (BENCH_MIXES, default b1..b6), each measured
#      directly (ingest-direct: lg_ingest() over libpq, 2 connections, calls
#      of BENCH_DIRECT_BATCH reports made of the mix's batches, each with its
#      own sequence number, as the daemon groups them) and through the API
#      (mme-sim against the daemon: mutual TLS, HTTP/1.1 keep-alive, JSON) at
#      full speed and at half of that rate, in the same run:
#        b1  today's mix: 500-report batches of random distinct devices, 99%
#            of the reports from the device's home cell;
#        b2  one report per request, as an AMF sends them: BENCH_B2_CONNECTIONS
#            keep-alive connections, each request a notification of one
#            report with no Locguard-* header (mme-sim --no-seq; direct: calls
#            of one-report batches with no sequence number, --no-seq);
#        b3  movers: as b1, and 10% of the devices change cell at every
#            report (home, far, far, home...: a "left" and a "returned"
#            alert every three of their reports);
#        b4  repeats: as b1, but devices come from a pool of
#            BENCH_REPEAT_POOL shared by every connection and each is
#            reported 3-8 times before it leaves the pool: the same device in
#            several batches of one round trip;
#        b6  one report per request over HTTP/2, as an AMF with many
#            notifications under way sends them: BENCH_H2_CONNECTIONS (4)
#            connections with BENCH_H2_STREAMS (128) concurrent streams each
#            (mme-sim --http2 --no-seq; direct: as b2);
#        b5  as b1 with refresh_ms = 0: every report written, no coalescing,
#            no daemon cache (the daemon is restarted with refresh_ms = 0
#            and cache_devices = 0 for it, and ingest-direct gets
#            --refresh-ms 0).
#      Order: a direct warm-up (not reported), the direct runs of every mix
#      (b5 first, so its wave of written rows comes due during the API
#      warm-up and not during a measured API phase), BENCH_API_WARMUP (60) s
#      of b1 through the API, not reported (the daemon's cache of coalescable
#      rows, README "The daemon's cache", is emptied by every row
#      ingest-direct writes and fills again as each device is reported), the
#      API runs of b1-b4 (full speed, then half), then (d), then b5 on the
#      restarted daemon, then (e);
#   3. the other phases (BENCH_EXTRA, default webhook,counts,floor):
#      (d) webhook latency (issue 3): an SCS record (`locguardctl scs add
#      --allow-private`) whose webhook is an scs-sink --latency on loopback;
#      tests/bench/webhook.sql grants it location monitoring of the first
#      BENCH_WEBHOOK_DEVICES devices, gives their consent and subscribes each
#      through lg_t8_sub_create (the SQL behind the T8 POST); then, for
#      BENCH_SECONDS, two simulators together send b1's half-load rate,
#      at most BENCH_WEBHOOK_LOAD (20000) reports/s:
#      mme-1 over all devices as in b1 (home fraction 0.99), and mme-2 at
#      BENCH_ALERT_RATE reports/s over the monitored devices only with home
#      fraction 0.5, so they leave and return and raise alerts; once the
#      outbox is drained (at most 30 s) the sink is stopped and prints the
#      report-to-webhook latency (its receivedAt minus each report's
#      eventTime, the simulator's timeStamp);
#      (e) count latency (issue 4): a third-party OAuth2 client (scope
#      region-device-count), one noisy release over every cell stored by
#      tests/bench/counts.sql, then count-load (its own token from the
#      exposure zone, keep-alive TLS, one request at a time) for circles of
#      5, 50 and 300 km around the middle of the provisioned region; then
#      count-eval, the in-memory evaluator alone (no TLS, HTTP, token or
#      audit) on the same release, for the same radii;
#      (f) the floor of b2 and b6: the same mme-sim runs (same options,
#      BENCH_SECONDS each) against nginx (Debian's nginx-core, one worker,
#      TLS 1.3 with the bench certificates and client certificates
#      required) answering every request 204 at once, without reading
#      it: what the client, the kernel and TLS leave on this machine for
#      one report per request, whatever the server does;
#   4. prints one row per mix (direct and API reports/s, their ratio, the
#      p50/p99 ack latency at full and at half load, the targets met or not:
#      b1 >= 100k reports/s through the API; b2-b4 >= 50k/s and >= 0.7 of
#      direct; b5 >= 0.7 of direct; b6 >= 100k/s and >= 0.7 of direct; ack
#      p99 <= 50 ms at half load in every mix), then the webhook and count
#      latencies and the floor of b2 and b6; stops the daemon
#      (SIGTERM), the sink and the cluster from a trap.
#
# Environment: BUILD (binaries), VAR (state), and for quick runs
# BENCH_MIXES (b1,b2,b3,b4,b5,b6), BENCH_EXTRA (webhook,counts,floor; "" for none),
# BENCH_DEVICES (1000000), BENCH_CELLS (100000), BENCH_SECONDS (20, each
# direct, full-speed and half-load run), BENCH_API_CONNECTIONS (8),
# BENCH_API_BATCH (500, reports per request of b1, b3, b4, b5),
# BENCH_B2_CONNECTIONS (2048), BENCH_H2_CONNECTIONS (4), BENCH_H2_STREAMS
# (128), BENCH_DIRECT_BATCH (1000 reports per direct
# call), BENCH_MOVERS (0.1), BENCH_REPEATS (3-8), BENCH_REPEAT_POOL (200),
# BENCH_WEBHOOK_DEVICES (10000), BENCH_ALERT_RATE (1000), BENCH_WEBHOOK_LOAD
# ((d)'s total reports/s, 20000, at most b1's half-load rate),
# BENCH_REFRESH_MS (60000, the daemon's [ingest] refresh_ms and
# ingest-direct's --refresh-ms alike, except in b5), BENCH_API_WARMUP (60 s
# of API load before the API runs, not reported), BENCH_COUNT_REQUESTS (2000
# per radius, at most 20 s each; 300 km: a hundredth, at most 60 s).
# A smoke run (every phase, a few seconds each, small population):
#   BENCH_DEVICES=20000 BENCH_CELLS=2000 BENCH_SECONDS=3 BENCH_API_WARMUP=3 \
#   BENCH_B2_CONNECTIONS=32 BENCH_COUNT_REQUESTS=50 make bench
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
mixes=${BENCH_MIXES-b1,b2,b3,b4,b5,b6}
extra=${BENCH_EXTRA-webhook,counts,floor}
api_conns=${BENCH_API_CONNECTIONS:-8}
api_batch=${BENCH_API_BATCH:-500}
b2_conns=${BENCH_B2_CONNECTIONS:-2048}
h2_conns=${BENCH_H2_CONNECTIONS:-4}
h2_streams=${BENCH_H2_STREAMS:-128}
direct_batch=${BENCH_DIRECT_BATCH:-1000}
movers=${BENCH_MOVERS:-0.1}
repeats=${BENCH_REPEATS:-3-8}
repeat_pool=${BENCH_REPEAT_POOL:-200}
wh_devices=${BENCH_WEBHOOK_DEVICES:-10000}
[ "$wh_devices" -le "$devices" ] || wh_devices=$devices
alert_rate=${BENCH_ALERT_RATE:-1000}
wh_load=${BENCH_WEBHOOK_LOAD:-20000}
refresh_ms=${BENCH_REFRESH_MS:-60000}
api_warm=${BENCH_API_WARMUP:-60}
count_requests=${BENCH_COUNT_REQUESTS:-2000}
# A b2 direct call holds direct_batch one-report batches; the others hold
# direct_batch / api_batch batches (at least one report each).
direct_per_batch=$api_batch
[ "$direct_per_batch" -le "$direct_batch" ] || direct_per_batch=$direct_batch
[ $((direct_batch % direct_per_batch)) = 0 ] || {
    echo "bench: BENCH_DIRECT_BATCH ($direct_batch) must be a multiple of BENCH_API_BATCH" \
        "($api_batch)" >&2
    exit 2
}
# The replay window: b2's hundreds of connections of one node, and direct
# calls of 1000 one-report batches on two connections, have sequence numbers
# thousands apart in flight at once; 1024 (the default) would refuse the
# slowest as stale. The window's size costs nothing per batch.
seq_window=65536

# has LIST ITEM: whether the comma-separated LIST names ITEM.
has() { case ",$1," in *",$2,"*) return 0 ;; *) return 1 ;; esac }
for m in ${mixes//,/ }; do
    case $m in b1 | b2 | b3 | b4 | b5 | b6) ;; *) echo "bench: unknown mix $m (b1..b6)" >&2; exit 2 ;; esac
done
for m in ${extra//,/ }; do
    case $m in webhook | counts | floor) ;; *) echo "bench: unknown phase $m (webhook, counts, floor)" >&2; exit 2 ;; esac
done

pgdir=$VAR/bench-pg
certs=$VAR/bench-certs
run=$VAR/bench-run
conf=$run/locguard.conf
daemon_pid=
sink_pid=
nginx_pid=

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

# stop_daemon: SIGTERM, then (after 10 s) SIGKILL; waits for it.
stop_daemon() {
    if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
        kill -TERM "$daemon_pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$daemon_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$daemon_pid" 2>/dev/null || true
        wait "$daemon_pid" 2>/dev/null || true
    fi
    daemon_pid=
}

cleanup() {
    local rc=$?
    local p
    for p in "$sink_pid" "$nginx_pid"; do
        if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
            kill -TERM "$p" 2>/dev/null || true
            wait "$p" 2>/dev/null || true
        fi
    done
    stop_daemon
    # b5 rewrote the configuration for its phase; leave the main phases' in
    # $run, so a daemon started by hand from it runs as theirs did.
    if declare -F write_conf >/dev/null && [ -f "$conf" ] && [ -n "${db:-}" ]; then
        write_conf "$refresh_ms" "$cache_devices"
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
scs_sink=$(tool scs-sink)
count_load=$(tool count-load)
count_eval=$(tool count-eval)
locguardctl=$(tool locguardctl)

mkdir -p "$run"
rm -f "$run/ready"

# shared_buffers: a quarter of the machine's memory, 512MB to 4GB, as an
# operator would size a dedicated server. The hot path touches ue_location,
# ue, ue_area, area_cell_verdict and area at random (about 1.8 GB at 1M
# devices): with the 512MB default of the private cluster most reports miss
# the buffer cache and pay a read from the kernel's page cache.
mem_kb=$(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)
buffers_mb=$((mem_kb / 4 / 1024))
[ "$buffers_mb" -ge 512 ] || buffers_mb=512
[ "$buffers_mb" -le 4096 ] || buffers_mb=4096
log "cluster $pgdir (shared_buffers ${buffers_mb}MB)"
tests/tools/pgcluster.sh stop "$pgdir"
# deadlock_timeout: a group commit that meets another in a lock cycle (rare
# since lg_ingest locks a call's device rows in one ordered pass; a new
# device's first row can still wait) is rolled back and sent again by the
# daemon; detect the cycle after 100 ms rather than the default second.
# wal_compression: set here too for a cluster made before pgcluster.sh chose
# lz4 (see there).
PGCLUSTER_OPTS="-c shared_buffers=${buffers_mb}MB -c deadlock_timeout=100ms -c wal_compression=lz4" \
    tests/tools/pgcluster.sh start "$pgdir"
db=$(tests/tools/pgcluster.sh conninfo "$pgdir")

log "certificates $certs"
tests/tools/mkcerts.sh "$certs" >/dev/null

if [ ! -s "$run/admin.token" ]; then
    (umask 077 && openssl rand -hex 32 >"$run/admin.token")
fi

# write_conf REFRESH_MS CACHE_DEVICES: the daemon's configuration.
write_conf() {
    cat >"$conf" <<CONF
# Written by tests/bench/bench.sh.
[daemon]
log_level = warn
schema_dir = $root
ready_file = $run/ready

[database]
conninfo = $db
pool_size = 3

[ingest]
hysteresis = 2
refresh_ms = $1
cache_devices = $2
seq_window = $seq_window

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

# (d) and (e): the token endpoint's key, the T8 API, webhook delivery to the
# loopback sink (trusted through the bench CA), and the count API.
[oauth]
signing_key = $certs/jwt.key
issuer = https://locguard.bench
token_ttl_s = 3600

[northbound]
public_url = https://locguard.bench:8443

[delivery]
ca_file = $certs/ca.pem

# The daemon releases once a day (at 00:00:05 UTC), not during a run; (e)
# stores its own release. 300 km circles allowed, no rate limit in effect.
[counts]
bucket_s = 86400
k = 10
max_area_m2 = 300000000000
rate_per_minute = 100000

[zone north]
kind = northbound
listen = 127.0.0.1:0
cert = $certs/server.pem
key = $certs/server.key

[zone expo]
kind = exposure
listen = 127.0.0.1:0
cert = $certs/server.pem
key = $certs/server.key
CONF
}

# The cache size of the daemon's default (README, [ingest] cache_devices).
cache_devices=1000000
[ "$devices" -le "$cache_devices" ] || cache_devices=$devices
write_conf "$refresh_ms" "$cache_devices"

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

# start_daemon: starts the daemon on $conf and reads its ports from the
# ready file.
start_daemon() {
    rm -f "$run/ready"
    "$locguard" -c "$conf" >>"$run/locguard.log" 2>&1 &
    daemon_pid=$!
    for _ in $(seq 1 300); do
        [ -s "$run/ready" ] && grep -q '^expo ' "$run/ready" && break
        kill -0 "$daemon_pid" 2>/dev/null || { echo "bench: the daemon exited" >&2; exit 1; }
        sleep 0.1
    done
    south_port=$(awk '$1 == "south" { print $2 }' "$run/ready")
    admin_port=$(awk '$1 == "admin" { print $2 }' "$run/ready")
    expo_port=$(awk '$1 == "expo" { print $2 }' "$run/ready")
    if [ -z "$south_port" ] || [ -z "$admin_port" ] || [ -z "$expo_port" ]; then
        echo "bench: a port is missing in $run/ready" >&2
        exit 1
    fi
}

log "starting the daemon"
: >"$run/locguard.log"
start_daemon

ctl() { "$locguardctl" --url "http://127.0.0.1:$admin_port" --token-file "$run/admin.token" "$@"; }

# daemon_metric NAME: a sample of the daemon's /metrics, e.g.
# locguard_reports_coalesced_total and, of those, locguard_reports_cached_total
# (coalesced from its own cache, not sent).
daemon_metric() { ctl metrics | awk -v m="$1" '$1 == m { print $2 }'; }
coalesced() { daemon_metric locguard_reports_coalesced_total; }
cached() { daemon_metric locguard_reports_cached_total; }

# next_seq NODE: the node's next batch sequence number, above every one it
# has sent. Each run starts there: a run that starts at the clock in ms (the
# tools' default) falls below the last one's numbers once that run has sent
# more than a batch a millisecond (b2, direct calls of one-report batches),
# and inside the replay window those are answered as duplicates, unstored.
next_seq() {
    psql "$db" -XAtqc "SELECT greatest(high_seq + 1,
                                       (extract(epoch FROM clock_timestamp()) * 1000)::bigint)
                         FROM network_node WHERE name = '$1'"
}

sim() {
    "$mme_sim" load --host 127.0.0.1 --port "$south_port" --cert "$certs/mme-1.pem" \
        --key "$certs/mme-1.key" --ca "$certs/ca.pem" --node mme-1 \
        --devices "$devices" --cell-count "$cells" --duration "$secs" \
        --seq-start "$(next_seq mme-1)" "$@"
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

# A server in service has its hot tables in its buffer cache; a cluster
# just started has not. Load them (pg_prewarm, contrib) rather than measure
# the first reads from the kernel's page cache. area is among them: a report
# from a cell other than the device's cached one reads the device's areas
# (1% of the load here), and left cold those reads took the general
# statement of lg_ingest from about 5 to 11-15 ms per call.
psql "$db" -XAtqc "CREATE EXTENSION IF NOT EXISTS pg_prewarm" >/dev/null
psql "$db" -XAtq >/dev/null <<'SQL'
SELECT pg_prewarm(c.oid)
  FROM pg_class c
 WHERE c.relname IN ('ue_location', 'ue', 'ue_area', 'area_cell_verdict', 'cell', 'area')
    OR c.oid IN (SELECT i.indexrelid FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
                  WHERE t.relname IN ('ue_location', 'ue', 'ue_area', 'area_cell_verdict', 'cell',
                                      'area'));
SQL

# (d)'s subscriptions end with the phase. Left active (a run stopped in the
# middle, or before this was done), they made the next run's ingest phases
# raise alerts for a sink that is gone, and the notifier's retries took
# half a core: the API phase measured 19-22k reports/s instead of 50k.
end_webhook_subscriptions() {
    psql "$db" -XAtq \
        -c "DELETE FROM notification_outbox o USING scs k
             WHERE k.id = o.scs_id AND k.scs_as_id = 'bench-scs'" \
        -c "DELETE FROM subscription s USING scs k
             WHERE k.id = s.scs_id AND k.scs_as_id = 'bench-scs'" >/dev/null
}
end_webhook_subscriptions

# ------------------------------------------------------------ the mixes

# mix_api_args MIX: mme-sim's options for the mix (without --rate).
mix_api_args() {
    case $1 in
    b2) echo "--connections $b2_conns --batch 1 --no-seq" ;;
    b6) echo "--http2 --connections $h2_conns --streams $h2_streams --batch 1 --no-seq" ;;
    b3) echo "--connections $api_conns --batch $api_batch --movers $movers" ;;
    b4) echo "--connections $api_conns --batch $api_batch --repeats $repeats --repeat-pool $repeat_pool" ;;
    *) echo "--connections $api_conns --batch $api_batch" ;;
    esac
}

# mix_direct_args MIX: ingest-direct's options for the same shape.
mix_direct_args() {
    local common="--connections 2 --batch $direct_batch --seq-window $seq_window"
    case $1 in
    b2 | b6) echo "$common --per-batch 1 --no-seq --refresh-ms $refresh_ms" ;;
    b3) echo "$common --per-batch $direct_per_batch --refresh-ms $refresh_ms --movers $movers" ;;
    b4) echo "$common --per-batch $direct_per_batch --refresh-ms $refresh_ms --repeats $repeats --repeat-pool $repeat_pool" ;;
    b5) echo "$common --per-batch $direct_per_batch --refresh-ms 0" ;;
    *) echo "$common --per-batch $direct_per_batch --refresh-ms $refresh_ms" ;;
    esac
}

# direct MIX SECONDS: ingest-direct in the mix's shape; prints its RESULT.
direct() {
    # shellcheck disable=SC2046 # the options are words
    "$ingest_direct" --db "$db" --node mme-1 --duration "$2" --devices "$devices" \
        --cell-count "$cells" --seq-start "$(next_seq mme-1)" $(mix_direct_args "$1") |
        only_result || true
}

# api_mix MIX: the mix through the daemon at full speed, then at half of
# that rate; sets out_full_MIX, out_half_MIX and half_rate_MIX.
api_mix() {
    local m=$1 full rate half c0 k0
    log "$m API at full speed: $(mix_api_args "$m"), ${secs} s"
    c0=$(coalesced) k0=$(cached)
    # shellcheck disable=SC2046
    full=$(sim $(mix_api_args "$m") | only_result || true)
    printf -v "coalesced_$m" '%s' "$(($(coalesced) - c0))"
    printf -v "cached_$m" '%s' "$(($(cached) - k0))"
    [ -n "$full" ] || { echo "bench: mme-sim load gave no RESULT ($m)" >&2; exit 1; }
    rate=$(result "$full" reports_per_s)
    half=$(awk -v r="$rate" 'BEGIN { printf "%d", r / 2 }')
    [ "$half" -ge 1 ] || half=1
    log "$m API at half speed: $half reports/s, ${secs} s"
    # shellcheck disable=SC2046
    printf -v "out_half_$m" '%s' "$(sim $(mix_api_args "$m") --rate "$half" | only_result || true)"
    printf -v "out_full_$m" '%s' "$full"
    printf -v "half_rate_$m" '%s' "$half"
}

# The direct runs send as node mme-1, the node of the API runs: one MME
# serving the devices, whichever way its reports come in. (As
# bench-direct, the first report of each device through the API changed the
# stored node, so it could not be coalesced, and the API measured a node
# switch of the whole population. Each run's sequence numbers start above
# the node's highest, next_seq.)
# Warm-up, not reported: the first touch of each page after the last
# checkpoint writes a full-page image to the WAL; let a direct run pay that
# instead of whichever phase comes first. 5 s was too short: the first
# phase still started at a third of its speed and climbed for 10 s.
psql "$db" -XAtqc CHECKPOINT
warm=$((secs < 15 ? secs : 15))
if [ -n "$mixes" ]; then
    log "warm-up: ingest-direct ${warm} s (not reported)"
    direct b1 "$warm" >/dev/null
fi
# b5 first: it writes every report, and those rows come due refresh_ms
# later; after it, the other direct runs and the API warm-up take that wave.
for m in b5 b1 b2 b6 b3 b4; do
    has "$mixes" "$m" || continue
    log "$m direct: $(mix_direct_args "$m"), ${secs} s"
    printf -v "out_direct_$m" '%s' "$(direct "$m" "$secs")"
done

api_first=
for m in b1 b2 b6 b3 b4; do has "$mixes" "$m" && api_first=$m && break; done
if [ -n "$api_first" ]; then
    log "warm-up through the API: ${api_warm} s of b1 at full speed (not reported)"
    # shellcheck disable=SC2046
    sim $(mix_api_args b1) --duration "$api_warm" >/dev/null || true
fi
for m in b1 b2 b6 b3 b4; do
    has "$mixes" "$m" && api_mix "$m"
done
# The daemon's cache resets so far. It claims the cache on its first round
# trip, after the direct runs, so their writes make none; a reset is a
# change of reference data or a write the daemon did not make.
cache_resets=$(daemon_metric locguard_ingest_cache_resets_total)

# ---------------------------------------------------------------- (d) webhooks

if has "$extra" webhook; then
    # SCS bench-scs: its webhook secret, made once and kept; `scs add`
    # replaces the record (same id) on every run.
    if [ ! -s "$run/scs.secret" ]; then
        (umask 077 && printf 'whsec_%s\n' "$(openssl rand -base64 32)" >"$run/scs.secret")
    fi
    rm -f "$run/sink.ready" "$run/sink.jsonl"
    "$scs_sink" --cert "$certs/server.pem" --key "$certs/server.key" \
        --secret "$(cat "$run/scs.secret")" --port 0 --out "$run/sink.jsonl" \
        --ready-file "$run/sink.ready" --latency >"$run/sink.out" 2>"$run/sink.log" &
    sink_pid=$!
    for _ in $(seq 1 100); do
        [ -s "$run/sink.ready" ] && break
        kill -0 "$sink_pid" 2>/dev/null || { cat "$run/sink.log" >&2; exit 1; }
        sleep 0.1
    done
    sink_port=$(tr -dc '0-9' <"$run/sink.ready")
    [ -n "$sink_port" ] || { echo "bench: the scs-sink gave no port" >&2; exit 1; }

    ctl scs add bench-scs --secret "$(cat "$run/scs.secret")" --allow-private --name bench \
        >/dev/null
    log "(d) $wh_devices monitored devices: grants, consents, subscriptions (tests/bench/webhook.sql)"
    psql "$db" -XAtq -v scs=bench-scs -v n="$wh_devices" -v dest="https://127.0.0.1:$sink_port/notify" \
        -f tests/bench/webhook.sql >"$run/webhook.log" 2>&1 || { cat "$run/webhook.log" >&2; exit 1; }
    wh_subs=$(psql "$db" -XAtqc "SELECT count(*) FROM subscription s JOIN scs k ON k.id = s.scs_id
                                  WHERE k.scs_as_id = 'bench-scs' AND s.status = 'active'")
    # (d)'s offered load is b1's half-load rate, at most BENCH_WEBHOOK_LOAD
    # (20000/s): a fixed load keeps the latency comparable from run to run
    # (issue 3 was measured at 12-20k/s) now that coalescing raised the full
    # speed; above it, (d) ran into the refresh writes of the devices the
    # API runs had written a minute before (see the README).
    if [ -n "${half_rate_b1:-}" ] && [ "$wh_load" -gt "$half_rate_b1" ]; then
        wh_load=$half_rate_b1
    fi
    alert_rate=$(awk -v a="$alert_rate" -v h="$wh_load" 'BEGIN { printf "%d", (a > h / 2 ? h / 2 : a) }')
    main_rate=$((wh_load - alert_rate))
    log "(d) webhook latency: mme-1 $main_rate reports/s over all devices + mme-2 $alert_rate reports/s" \
        "over the $wh_subs monitored ones (home fraction 0.5), ${secs} s"
    alerts0=$(psql "$db" -XAtqc "SELECT coalesce(max(id), 0) FROM alert")
    "$mme_sim" load --host 127.0.0.1 --port "$south_port" --cert "$certs/mme-2.pem" \
        --key "$certs/mme-2.key" --ca "$certs/ca.pem" --node mme-2 --devices "$wh_devices" \
        --seq-start "$(next_seq mme-2)" \
        --cell-count "$cells" --duration "$secs" --connections 2 --batch 50 --rate "$alert_rate" \
        --home-fraction 0.5 >"$run/alert-sim.out" 2>&1 &
    alert_sim_pid=$!
    out_wh_load=$(sim --connections "$api_conns" --batch "$api_batch" --rate "$main_rate" |
        only_result || true)
    wait "$alert_sim_pid" || true
    out_alert_sim=$(grep '^RESULT' "$run/alert-sim.out" || true)
    # Let the notifier deliver what the last reports raised (bounded).
    outbox_pending() {
        psql "$db" -XAtqc "SELECT count(*) FROM notification_outbox o JOIN scs k ON k.id = o.scs_id
                            WHERE k.scs_as_id = 'bench-scs' AND o.status = 'pending'"
    }
    for _ in $(seq 1 300); do
        [ "$(outbox_pending)" = 0 ] && break
        sleep 0.1
    done
    wh_pending=$(outbox_pending)
    wh_alerts=$(psql "$db" -XAtqc "SELECT count(*) FROM alert WHERE id > $alerts0 AND ue_id <= $wh_devices")
    kill -TERM "$sink_pid" 2>/dev/null || true
    wait "$sink_pid" 2>/dev/null || true
    sink_pid=
    out_wh=$(grep '^RESULT' "$run/sink.out" || true)
    printf '%s\n' "$out_wh" >&2
    end_webhook_subscriptions
fi

# ------------------------------------------------------------ b5: refresh_ms = 0

if has "$mixes" b5; then
    log "b5: restarting the daemon with refresh_ms = 0, cache_devices = 0"
    stop_daemon
    write_conf 0 0
    start_daemon
    # A short warm-up (the new daemon's connections, TLS sessions and plans).
    # shellcheck disable=SC2046
    sim $(mix_api_args b5) --duration "$warm" >/dev/null || true
    api_mix b5
fi

# ---------------------------------------------------------------- (e) counts

if has "$extra" counts; then
    log "(e) third-party client, one release over $cells cells (tests/bench/counts.sql)"
    ctl client remove bench-counts >/dev/null 2>&1 || true
    client_out=$(ctl client add bench-counts --scope region-device-count 2>/dev/null) ||
        { echo "bench: locguardctl client add failed: $client_out" >&2; exit 1; }
    (umask 077 && printf '%s\n' "$client_out" | awk '$1 == "clientSecret" { print $2 }' \
        >"$run/counts.secret")
    [ -s "$run/counts.secret" ] || { echo "bench: client add printed no secret" >&2; exit 1; }
    psql "$db" -XAtq -v devices="$devices" -v cells="$cells" -f tests/bench/counts.sql \
        >"$run/counts.log" 2>&1 || { cat "$run/counts.log" >&2; exit 1; }
    # The daemon's in-memory evaluator picks the release up at its next poll
    # ([counts] memory_poll_ms, 1 s) plus the load: let that happen before timing.
    sleep 3

    # count_run RADIUS_KM REQUESTS SPREAD_M WARMUP MAX_S: count-load against the
    # exposure zone, circles centred on the middle of the provisioned region
    # (47 N, 5 E), moved by up to SPREAD_M metres; stops after MAX_S seconds.
    count_run() {
        log "(e) count latency, ${1} km circles: $2 requests (at most ${5} s)"
        "$count_load" --host 127.0.0.1 --port "$expo_port" --ca "$certs/ca.pem" \
            --client-id bench-counts --secret-file "$run/counts.secret" --lat 47 --lon 5 \
            --radius-m "$(($1 * 1000))" --spread-m "$3" --requests "$2" --warmup "$4" \
            --duration "$5" --seed 7 | only_result || true
    }
    out_c5=$(count_run 5 "$count_requests" 50000 5 20)
    out_c50=$(count_run 50 "$count_requests" 50000 5 20)
    # A 300 km circle covers most of the region: few requests, no warm-up (the
    # sessions' plans are warm from the 5 and 50 km runs).
    out_c300=$(count_run 300 "$(((count_requests + 99) / 100))" 0 0 60)

    # eval_run RADIUS_KM SPREAD_M: the evaluator alone (count-eval loads the
    # release the way the daemon does), microseconds per count.
    eval_run() {
        log "(e) count evaluator alone, ${1} km circles"
        "$count_eval" --db "$db" --lat 47 --lon 5 --radius-m "$(($1 * 1000))" --spread-m "$2" \
            --requests "$count_requests" --seed 7 | only_result || true
    }
    out_e5=$(eval_run 5 50000)
    out_e50=$(eval_run 50 50000)
    out_e300=$(eval_run 300 0)
fi

# ---------------------------------------------------------------- (f) the floor

# What is left for the server: mme-sim with b2's and b6's options against a
# server that does nothing. nginx answers from its rewrite phase and drops
# the body; one worker, as the daemon has one event loop.
if has "$extra" floor; then
    nginx=$(command -v nginx || echo /usr/sbin/nginx)
    if [ ! -x "$nginx" ]; then
        log "(f) skipped: no nginx (make bench installs nginx-core as root)"
    else
        mkdir -p "$run/nginx"
        floor_port=$(tests/tools/free-port.sh) # nginx cannot be told port 0
        cat >"$run/nginx/nginx.conf" <<EOF
# Written by tests/bench/bench.sh: the floor of b2 and b6.
worker_processes 1;
daemon off;
pid $run/nginx/nginx.pid;
error_log $run/nginx/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    client_body_temp_path $run/nginx/body;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    server {
        listen 127.0.0.1:$floor_port ssl http2;
        ssl_certificate $certs/server.pem;
        ssl_certificate_key $certs/server.key;
        ssl_client_certificate $certs/ca.pem;
        ssl_verify_client on;
        ssl_protocols TLSv1.3;
        http2_max_concurrent_streams $h2_streams;
        location / { return 204; }
    }
}
EOF
        "$nginx" -p "$run/nginx" -e "$run/nginx/error.log" -c "$run/nginx/nginx.conf" &
        nginx_pid=$!
        for _ in $(seq 1 50); do
            ss -ltn 2>/dev/null | grep -q "127.0.0.1:$floor_port " && break
            kill -0 "$nginx_pid" 2>/dev/null || { cat "$run/nginx/error.log" >&2; exit 1; }
            sleep 0.1
        done
        for m in b2 b6; do
            log "(f) $m floor: $(mix_api_args "$m") against nginx answering 204, ${secs} s"
            # shellcheck disable=SC2046
            printf -v "out_floor_$m" '%s' "$("$mme_sim" load --host 127.0.0.1 --port "$floor_port" \
                --cert "$certs/mme-1.pem" --key "$certs/mme-1.key" --ca "$certs/ca.pem" \
                --node mme-1 --devices "$devices" --cell-count "$cells" --duration "$secs" \
                $(mix_api_args "$m") 2>&1 | only_result || true)"
        done
        kill -TERM "$nginx_pid" 2>/dev/null || true
        wait "$nginx_pid" 2>/dev/null || true
        nginx_pid=
    fi
fi

# ---------------------------------------------------------------- the table

# share PART WHOLE: PART / WHOLE with two decimals, n/a when WHOLE is 0.
share() { awk -v c="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.2f", c / n; else print "n/a" }'; }

# targets MIX API_RATE RATIO HALF_P99 ERRORS: "met", or what is not (a run
# with refused or failed requests measured something else: not met either).
targets() {
    awk -v m="$1" -v r="$2" -v q="$3" -v p="$4" -v e="$5" 'BEGIN {
        miss = ""
        if (e != "0") miss = miss " errors"
        if ((m == "b1" || m == "b6") && r + 0 < 100000) miss = miss " <100k/s"
        if ((m == "b2" || m == "b3" || m == "b4") && r + 0 < 50000) miss = miss " <50k/s"
        if (m != "b1" && (q == "n/a" || q + 0 < 0.7)) miss = miss " ratio<0.7"
        if (p == "" || p + 0 > 50) miss = miss " half-p99>50ms"
        print (miss == "" ? "met" : "NOT met:" miss) }'
}

echo
echo "locguard bench: $devices devices, $cells cells, ${secs} s per phase, $(nproc) CPUs"
if [ -n "$mixes" ]; then
    printf '%-4s %9s %13s %9s %6s %13s %9s %13s  %s\n' "mix" "direct/s" "direct p50/99" \
        "API/s" "ratio" "full p50/99" "half/s" "half p50/99" "targets"
    for m in b1 b2 b6 b3 b4 b5; do
        has "$mixes" "$m" || continue
        d=out_direct_$m f=out_full_$m h=out_half_$m hr=half_rate_$m
        drate=$(result "${!d}" reports_per_s) arate=$(result "${!f}" reports_per_s)
        ratio=$(share "$arate" "$drate")
        printf '%-4s %9s %13s %9s %6s %13s %9s %13s  %s\n' "$m" "${drate:-n/a}" \
            "$(result "${!d}" p50_ms)/$(result "${!d}" p99_ms)" "${arate:-n/a}" "$ratio" \
            "$(result "${!f}" p50_ms)/$(result "${!f}" p99_ms)" "${!hr:-n/a}" \
            "$(result "${!h}" p50_ms)/$(result "${!h}" p99_ms)" \
            "$(targets "$m" "$arate" "$ratio" "$(result "${!h}" p99_ms)" \
                "$(($(result "${!f}" errors) + $(result "${!h}" errors) + $(result "${!d}" errors)))")"
    done
    echo "  (direct p50/99: per lg_ingest call of $direct_batch reports; API: per request, ms)"
    printf '%-44s %12s\n' "measure" "value"
    for m in b1 b2 b6 b3 b4 b5; do
        has "$mixes" "$m" || continue
        d=out_direct_$m f=out_full_$m h=out_half_$m c=coalesced_$m k=cached_$m
        printf '%-44s %12s\n' "$m API errors / 503s (full, half)" \
            "$(result "${!f}" errors)/$(result "${!f}" busy), $(result "${!h}" errors)/$(result "${!h}" busy)"
        printf '%-44s %12s\n' "$m coalesced share, direct / API" \
            "$(share "$(result "${!d}" coalesced)" "$(result "${!d}" reports)") / $(share "${!c:-0}" "$(result "${!f}" reports)")"
        printf '%-44s %12s\n' "  of which by the daemon's cache, API" \
            "$(share "${!k:-0}" "$(result "${!f}" reports)")"
        printf '%-44s %12s\n' "$m direct inside/outside/ambig./alerts" \
            "$(result "${!d}" inside)/$(result "${!d}" outside)/$(result "${!d}" ambiguous)/$(result "${!d}" alerts)"
    done
    printf '%-44s %12s\n' "cache resets, start to (d)" "${cache_resets:-n/a}"
fi
if has "$extra" floor; then
    for m in b2 b6; do
        v=out_floor_$m f=out_full_$m
        [ -n "${!v:-}" ] || continue
        printf '%-44s %12s\n' "$m floor: nginx answering 204, reports/s" "$(result "${!v}" reports_per_s)"
        printf '%-44s %12s\n' "  its p50 / p99 ms (errors)" \
            "$(result "${!v}" p50_ms) / $(result "${!v}" p99_ms) ($(result "${!v}" errors))"
        has "$mixes" "$m" || continue # no API run to compare
        printf '%-44s %12s\n' "  $m API / floor" "$(share "$(result "${!f}" reports_per_s)" "$(result "${!v}" reports_per_s)")"
    done
fi
if has "$extra" webhook; then
    printf '%-44s %12s\n' "webhook latency p50 / p99 ms (target 100)" \
        "$(result "$out_wh" p50_ms) / $(result "$out_wh" p99_ms)"
    printf '%-44s %12s\n' "webhook notifications, max ms" \
        "$(result "$out_wh" notifications), $(result "$out_wh" max_ms)"
    printf '%-44s %12s\n' "  alerts of monitored devices, left pending" "$wh_alerts, $wh_pending"
    printf '%-44s %12s\n' "  load reports/s mme-1 + mme-2 (errors)" \
        "$(result "$out_wh_load" reports_per_s) + $(result "$out_alert_sim" reports_per_s) ($(result "$out_wh_load" errors)/$(result "$out_alert_sim" errors))"
fi
if has "$extra" counts; then
    for r in 5 50 300; do
        v=out_c$r
        printf '%-44s %12s\n' "count latency p50 / p99 ms, ${r} km" \
            "$(result "${!v}" p50_ms) / $(result "${!v}" p99_ms)"
    done
    for r in 5 50 300; do
        v=out_e$r
        printf '%-44s %12s\n' "count evaluator alone p50 / p99 us, ${r} km" \
            "$(result "${!v}" p50_us) / $(result "${!v}" p99_us)"
    done
    printf '%-44s %12s\n' "count requests (errors) 5 / 50 / 300 km" \
        "$(result "$out_c5" requests)($(result "$out_c5" errors)) / $(result "$out_c50" requests)($(result "$out_c50" errors)) / $(result "$out_c300" requests)($(result "$out_c300" errors))"
    printf '%-44s %12s\n' "count answers 5 / 50 / 300 km (last)" \
        "$(result "$out_c5" count) / $(result "$out_c50" count) / $(result "$out_c300" count)"
fi
