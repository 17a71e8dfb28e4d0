# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Helpers for the integration tests, sourced by run.sh (and by demo.sh for the
# payload builders). run.sh sets, per test file:
#   LG_ROOT   the repository          BUILD     the build directory
#   T         the file's scratch dir  CERTS     the throwaway PKI (mkcerts.sh)
#   PGDIR     the private cluster     DB        this file's database
# and start_daemon sets SOUTH_PORT, ADMIN_PORT, DAEMON_PID, DAEMON_LOG.
#
# HTTP helpers print the status code only (000 when the connection or the
# handshake failed) so a test reads `st=$(south mme-1 1 "$b")`; the last
# response's body, headers and curl exit code are kept in $T/resp.* and read
# with body / header / curl_rc.

# ---------------------------------------------------------------- assertions

# fail MESSAGE: reports a failed check and ends the test function (the test
# runs in a subshell under set -e, so returning 1 stops it at the first
# failed check with its message on stderr).
fail() {
    echo "    FAILED: $*" >&2
    return 1
}

# assert_eq EXPECTED ACTUAL WHAT
assert_eq() {
    [ "$1" = "$2" ] || fail "$3: expected '$1', got '$2'"
}

# assert_ne UNEXPECTED ACTUAL WHAT
assert_ne() {
    [ "$1" != "$2" ] || fail "$3: expected anything but '$1'"
}

# assert_match REGEX ACTUAL WHAT (grep -E)
assert_match() {
    printf '%s' "$2" | grep -Eq -- "$1" || fail "$3: '$2' does not match /$1/"
}

# wait_for SECONDS WHAT COMMAND...: polls COMMAND every 0.1 s until it
# succeeds; fails with WHAT after SECONDS. For effects that are asynchronous
# by design (a reconnect, a metric updated after the answer).
wait_for() {
    local timeout_s=$1 what=$2 deadline
    shift 2
    deadline=$((SECONDS + timeout_s))
    until "$@"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            fail "timed out after ${timeout_s}s waiting for: $what"
            return 1
        fi
        sleep 0.1
    done
}

# ---------------------------------------------------------------- database

# conninfo_for DBNAME: the libpq connection string of DBNAME in the cluster.
conninfo_for() {
    PGCLUSTER_DB=$1 "$LG_ROOT/tests/tools/pgcluster.sh" conninfo "$PGDIR"
}

# sql QUERY: runs QUERY on this file's database, prints unaligned tuples.
sql() {
    psql "$(conninfo_for "$DB")" -X -v ON_ERROR_STOP=1 -Atq -c "$1"
}

# json TEXT EXPR: evaluates the SQL expression EXPR over `j`, the jsonb value
# of TEXT, in PostgreSQL (always present; jq is not). Invalid JSON fails.
#   json "$(body)" "j->>'status'"
json() {
    printf "SELECT %s FROM (SELECT :'doc'::jsonb AS j) s;\n" "$2" |
        psql "$(conninfo_for "$DB")" -X -v ON_ERROR_STOP=1 -Atq -v doc="$1"
}

# ---------------------------------------------------------------- HTTP

# curl_status ARGS...: runs curl with ARGS, keeping the body, headers and exit
# code of the response, and prints the HTTP status (000 on failure).
curl_status() {
    local rc=0 code
    # A failed connection writes nothing: no stale body from the last answer.
    rm -f "$T/resp.body" "$T/resp.headers"
    code=$(curl -sS --max-time 20 -o "$T/resp.body" -D "$T/resp.headers" \
        -w '%{http_code}' "$@" 2>"$T/resp.err") || rc=$?
    echo "$rc" >"$T/resp.rc"
    echo "${code:-000}"
}

# body / header NAME / curl_rc: the last response's parts.
body() { cat "$T/resp.body" 2>/dev/null || true; }
header() {
    tr -d '\r' <"$T/resp.headers" 2>/dev/null |
        awk -v n="$(echo "$1" | tr '[:upper:]' '[:lower:]')" -F': ' 'tolower($1) == n { print $2; exit }'
}
curl_rc() { cat "$T/resp.rc"; }

# admin METHOD PATH [BODY [CONTENT_TYPE]]: a request to the admin zone with
# the admin token. BODY may be @FILE.
admin() {
    local args=(-X "$1" -H "Authorization: Bearer $(cat "$T/admin.token")")
    if [ $# -ge 3 ]; then
        args+=(-H "Content-Type: ${4:-application/json}" --data-binary "$3")
    fi
    curl_status "${args[@]}" "http://127.0.0.1:$ADMIN_PORT$2"
}

# admin_ok METHOD PATH [BODY [TYPE]]: admin, failing unless the answer is 2xx.
admin_ok() {
    local st
    st=$(admin "$@")
    case $st in
    2??) ;;
    *) fail "$1 $2 answered $st: $(body)" ;;
    esac
}

# sent_at: the Locguard-Sent-At of a request made now ($SENT_AT overrides).
sent_at() {
    if [ -n "${SENT_AT:-}" ]; then echo "$SENT_AT"; else date -u +%Y-%m-%dT%H:%M:%SZ; fi
}

# south NODE SEQ BODY_OR_FILE [CURL ARGS...]: POSTs a batch to the southbound
# zone with NODE's client certificate ($CERTS/NODE.pem; NODE "-" sends none).
# SEQ "" omits the Locguard-Seq header. Prints the status.
south() {
    local node=$1 seq=$2 payload=$3 args=()
    shift 3
    if [ -f "$payload" ]; then
        args+=(--data-binary "@$payload")
    else
        printf '%s' "$payload" >"$T/req.json"
        args+=(--data-binary "@$T/req.json")
    fi
    if [ "$node" != - ]; then
        args+=(--cert "$CERTS/$node.pem" --key "$CERTS/$node.key")
    fi
    [ -n "$seq" ] && args+=(-H "Locguard-Seq: $seq")
    curl_status --cacert "$CERTS/ca.pem" -X POST -H 'Content-Type: application/json' \
        -H "Locguard-Sent-At: $(sent_at)" "${args[@]}" "$@" \
        "https://127.0.0.1:$SOUTH_PORT/v1/location-reports"
}

# next_seq NODE: the node's next batch sequence number, kept in a file so it
# survives the subshell each test runs in. set_seq NODE N sets the last one.
next_seq() {
    local f="$T/seq.$1" n=0
    [ -f "$f" ] && n=$(cat "$f")
    n=$((n + 1))
    echo "$n" >"$f"
    echo "$n"
}
set_seq() { echo "$2" >"$T/seq.$1"; }

# send NODE BODY: a batch with the node's next sequence number; prints status.
send() {
    south "$1" "$(next_seq "$1")" "$2"
}

# send_ok NODE BODY: send, failing unless the batch is accepted (204).
send_ok() {
    local st
    st=$(send "$1" "$2")
    [ "$st" = 204 ] || fail "batch from $1 answered $st: $(body)"
}

# metric 'NAME{labels}': the value of one sample from /metrics (0 when the
# sample is absent, as Prometheus counters that never fired are).
metric() {
    curl -sS --max-time 10 -H "Authorization: Bearer $(cat "$T/admin.token")" \
        "http://127.0.0.1:$ADMIN_PORT/metrics" |
        awk -v m="$1" '$1 == m { v = $2 } END { print (v == "" ? 0 : v) }'
}

# metric_is 'NAME{labels}' VALUE: succeeds when the sample equals VALUE
# (numerically, so 3 and 3.0 agree); for wait_for.
metric_is() {
    awk -v a="$(metric "$1")" -v b="$2" 'BEGIN { exit !(a + 0 == b + 0) }'
}

# ---------------------------------------------------------------- payloads
# TS 29.518 AmfEventNotification batches built with printf. PLMN 001-01 (the
# test network) unless MCC / MNC are set.

# now_ts: the present as RFC 3339 with milliseconds; successive reports get
# increasing timestamps, as a real MME's do.
now_ts() { date -u +%Y-%m-%dT%H:%M:%S.%3NZ; }

plmn() { printf '{"mcc":"%s","mnc":"%s"}' "${MCC:-001}" "${MNC:-01}"; }

# gad LAT LON RADIUS_M: TS 23.032 ellipsoid point with uncertainty circle as
# 16 hex digits (shape 0x10; latitude sign bit + 23 bits; longitude 24-bit
# two's complement; uncertainty code k with r = 10 * (1.1^k - 1) >= RADIUS_M).
gad() {
    awk -v lat="$1" -v lon="$2" -v r="$3" 'BEGIN {
        s = lat < 0 ? 8388608 : 0; a = lat < 0 ? -lat : lat
        la = s + int(a / 90 * 8388608)
        lo = int(lon / 360 * 16777216); if (lo < 0) lo += 16777216
        k = 0; while (k < 127 && 10 * (1.1 ^ k - 1) < r) k++
        printf "10%06X%06X%02X\n", la, lo, k }'
}

# report SUPI LOCATION_JSON: one LOCATION_REPORT AmfEventReport.
report() {
    printf '{"type":"LOCATION_REPORT","state":{"active":true},"timeStamp":"%s","supi":"imsi-%s","location":%s}' \
        "${TS:-$(now_ts)}" "$1" "$2"
}

# eutra SUPI ECI [GAD]: a report from an MME (ECGI + TAI), with an optional
# position (geographicalInformation, see gad).
eutra() {
    local geo=""
    [ -n "${3:-}" ] && geo=$(printf ',"geographicalInformation":"%s"' "$3")
    report "$1" "$(printf '{"eutraLocation":{"tai":{"plmnId":%s,"tac":"0001"},"ecgi":{"plmnId":%s,"eutraCellId":"%s"}%s}}' \
        "$(plmn)" "$(plmn)" "$2" "$geo")"
}

# nr SUPI NCI: a report from an AMF (NCGI + TAI).
nr() {
    report "$1" "$(printf '{"nrLocation":{"tai":{"plmnId":%s,"tac":"0001"},"ncgi":{"plmnId":%s,"nrCellId":"%s"}}}' \
        "$(plmn)" "$(plmn)" "$2")"
}

# utra SUPI LAC CELLID: a report from an SGSN (CGI).
utra() {
    report "$1" "$(printf '{"utraLocation":{"cgi":{"plmnId":%s,"lac":"%s","cellId":"%s"}}}' \
        "$(plmn)" "$2" "$3")"
}

# batch NODE REPORT...: the AmfEventNotification carrying the reports.
batch() {
    local node=$1 list
    shift
    list=$(IFS=,; echo "$*")
    printf '{"notifyCorrelationId":"%s","reportList":[%s]}' "$node" "$list"
}

# ---------------------------------------------------------------- provisioning

# rect_ring LON1 LAT1 LON2 LAT2: a closed GeoJSON ring of a lon/lat box.
rect_ring() {
    printf '[[%s,%s],[%s,%s],[%s,%s],[%s,%s],[%s,%s]]' "$1" "$2" "$3" "$2" "$3" "$4" "$1" "$4" "$1" "$2"
}

# rect_wkt LON1 LAT1 LON2 LAT2: the same box as WKT.
rect_wkt() {
    printf 'POLYGON((%s %s,%s %s,%s %s,%s %s,%s %s))' "$1" "$2" "$3" "$2" "$3" "$4" "$1" "$4" "$1" "$2"
}

# add_node NAME KIND
add_node() {
    admin_ok POST /v1/nodes "$(printf '{"name":"%s","kind":"%s"}' "$1" "$2")"
}

# add_device EXTID SUPI MOBILITY [AMBIGUOUS_POLICY]
add_device() {
    admin_ok PUT "/v1/devices/$1" "$(printf '{"supi":"imsi-%s","externalId":"%s","mobility":"%s","ambiguousPolicy":"%s"}' \
        "$2" "$1" "$3" "${4:-inside}")"
}

# add_area NAME LON1 LAT1 LON2 LAT2: a rectangular authorized area.
add_area() {
    admin_ok PUT "/v1/areas/$1" \
        "$(printf '{"geometry":{"type":"Polygon","coordinates":[%s]}}' "$(rect_ring "$2" "$3" "$4" "$5")")"
}

# authorize EXTID AREA
authorize() {
    admin_ok PUT "/v1/devices/$1/areas/$2"
}

# add_cells CSV_LINES: imports cells (cell_key,rat,"POLYGON(...)" per line).
add_cells() {
    admin_ok POST /v1/cells "$1" text/csv
}

# alerts EXTID [KIND]: how many alerts (of KIND) the database holds for EXTID.
alerts() {
    local kind=""
    [ -n "${2:-}" ] && kind="AND a.kind = '$2'"
    sql "SELECT count(*) FROM alert a JOIN ue u ON u.id = a.ue_id
         WHERE u.external_id = '$1' $kind"
}

# decision EXTID: the device's latest stored decision ('' when none).
decision() {
    sql "SELECT l.decision FROM ue_location l JOIN ue u ON u.id = l.ue_id WHERE u.external_id = '$1'"
}

# batches NODE SEQ: how many times that batch is stored (0 or 1).
batches() {
    sql "SELECT count(*) FROM node_batch b JOIN network_node n ON n.id = b.node_id
         WHERE n.name = '$1' AND b.seq = $2"
}

# ---------------------------------------------------------------- daemon

# write_config FILE: the daemon's configuration for this test file: both
# zones on free ports (read back from the ready file), the test PKI, the
# file's database. $CONF_INGEST adds lines to [ingest] (e.g. retry_after_s).
write_config() {
    cat >"$1" <<CONF
# Written by tests/integration/lib.sh for one test file.
[daemon]
log_level = ${LOG_LEVEL:-debug}
schema_dir = $LG_ROOT
ready_file = $T/ready
pid_file = $T/locguard.pid

[database]
conninfo = $(conninfo_for "$DB")
pool_size = 2

[ingest]
hysteresis = 2
seq_window = 1024
freshness_s = 300
retry_after_s = 5
queue_max_reports = 65536
${CONF_INGEST:-}

[zone south]
kind = southbound
listen = 127.0.0.1:0
cert = $CERTS/server.pem
key = $CERTS/server.key
client_ca = $CERTS/ca.pem

[zone admin]
kind = admin
listen = 127.0.0.1:0
token_file = $T/admin.token
CONF
}

# start_daemon: starts the real daemon in the background on this file's
# configuration and waits (bounded) until its ready file names both ports.
start_daemon() {
    local deadline=$((SECONDS + ${DAEMON_START_TIMEOUT_S:-60}))
    [ -f "$T/admin.token" ] || (umask 077 && openssl rand -hex 24 >"$T/admin.token")
    write_config "$T/locguard.conf"
    rm -f "$T/ready"
    DAEMON_LOG=$T/daemon.log
    "$BUILD/locguard" -c "$T/locguard.conf" 2>>"$DAEMON_LOG" &
    DAEMON_PID=$!
    echo "$DAEMON_PID" >"$T/daemon.pid"
    until [ -f "$T/ready" ] && grep -q '^south ' "$T/ready" && grep -q '^admin ' "$T/ready"; do
        if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
            wait "$DAEMON_PID" || true
            echo "daemon exited during start-up" >&2
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "daemon not ready after ${DAEMON_START_TIMEOUT_S:-60}s" >&2
            return 1
        fi
        sleep 0.1
    done
    SOUTH_PORT=$(awk '$1 == "south" { print $2 }' "$T/ready")
    ADMIN_PORT=$(awk '$1 == "admin" { print $2 }' "$T/ready")
}

# stop_daemon: SIGTERM, then waits (bounded: SIGKILL after 20 s) and returns
# the daemon's exit status; 0 when it drained and exited cleanly.
stop_daemon() {
    local rc=0 deadline=$((SECONDS + 20))
    [ -n "${DAEMON_PID:-}" ] || return 0
    kill -TERM "$DAEMON_PID" 2>/dev/null || true
    # An exited child stays a zombie (state Z) until waited for; a hung
    # shutdown becomes a failure instead of a hang.
    while [ "$(awk '{ print $3 }' "/proc/$DAEMON_PID/stat" 2>/dev/null || echo Z)" != Z ]; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "daemon still running 20s after SIGTERM: killed" >&2
            kill -KILL "$DAEMON_PID" 2>/dev/null || true
            break
        fi
        sleep 0.1
    done
    wait "$DAEMON_PID" || rc=$?
    DAEMON_PID=
    rm -f "$T/daemon.pid"
    return "$rc"
}
