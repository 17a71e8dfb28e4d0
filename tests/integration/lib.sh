# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Helpers for the integration tests, sourced by run.sh (and by demo.sh for the
# payload builders). run.sh sets, per test file:
#   LG_ROOT   the repository          BUILD     the build directory
#   T         the file's scratch dir  CERTS     the throwaway PKI (mkcerts.sh)
#   PGDIR     the private cluster     DB        this file's database
# and start_daemon sets SOUTH_PORT, ADMIN_PORT, NORTH_PORT, DAEMON_PID,
# DAEMON_LOG.
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
    grep -Eq -- "$1" <<<"$2" || fail "$3: '$2' does not match /$1/"
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

# pg start|stop|kill: the private cluster itself, for the tests of a
# database outage.
pg() { PGCLUSTER_DB=$DB "$LG_ROOT/tests/tools/pgcluster.sh" "$1" "$PGDIR"; }

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

# ---------------------------------------------------------------- count grids
#
# The count tests lay their cells on a grid of squares of CELL_D degrees
# from (CELL_LON0, CELL_LAT0), each file with its own cell_key I J.

# cell_box I J: the square of cell (I, J) as "lon1 lat1 lon2 lat2".
cell_box() {
    awk -v i="$1" -v j="$2" -v x="$CELL_LON0" -v y="$CELL_LAT0" -v d="$CELL_D" \
        'BEGIN { printf "%.4f %.4f %.4f %.4f\n", x + i * d, y + j * d, x + (i + 1) * d, y + (j + 1) * d }'
}

# camara_box LON1 LAT1 LON2 LAT2: a CAMARA POLYGON area of that box.
camara_box() {
    printf '{"areaType":"POLYGON","boundary":[{"latitude":%s,"longitude":%s},{"latitude":%s,"longitude":%s},{"latitude":%s,"longitude":%s},{"latitude":%s,"longitude":%s}]}' \
        "$2" "$1" "$2" "$3" "$4" "$3" "$4" "$1"
}

# store_release START END 'KEY=N ...': a release over every cell of the
# cell table, N for the cells named and 0 for the others (the daemon's
# release.c stores the same shape); prints t/f.
store_release() {
    local kv vals=""
    for kv in $3; do vals+="${vals:+,}('${kv%%=*}',${kv#*=})"; done
    sql "SELECT lg_counts_store_release('$1', '$2', 1, 2, array_agg(c.cell_key ORDER BY c.cell_key),
                array_agg(coalesce(v.n, 0)::bigint ORDER BY c.cell_key))
         FROM cell c LEFT JOIN (VALUES ${vals:-('', 0)}) AS v(k, n) ON v.k = c.cell_key"
}

# ---------------------------------------------------------------- daemon

# The prefix of the northbound zone's self links and Location headers
# ([northbound] public_url): any https URL; the tests compare against it.
PUBLIC_URL=https://locguard.test:8443

# write_config FILE: the daemon's configuration for this test file: the
# southbound, admin and northbound zones on free ports (read back from the
# ready file), the test PKI (the token signing key is $CERTS/jwt.key; SCS
# sinks are trusted through the test CA), the file's database.
# $POOL_SIZE sets [database] pool_size (default 2: one connection for the
# group commit, one for the rest), $CONF_INGEST adds lines to [ingest] (e.g.
# retry_after_s), $CONF_DELIVERY to [delivery] (e.g. max_backoff_s),
# $CONF_ADMIN to [zone admin] (e.g. h2c = 1),
# $CONF_NORTH to [zone north] (e.g. a client_ca), and $CONF_EXTRA whole
# sections at the end (e.g. [counts] and an exposure zone: then list it in
# $ZONES). $NORTH_CERTS is the directory of the north zone's server
# certificate (default $CERTS).
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
pool_size = ${POOL_SIZE:-2}

[ingest]
hysteresis = 2
seq_window = 1024
freshness_s = 300
retry_after_s = 5
queue_max_reports = 65536
${CONF_INGEST:-}

[zone south]
kind = southbound
listen = ${SOUTH_LISTEN:-127.0.0.1:0}
cert = $CERTS/server.pem
key = $CERTS/server.key
client_ca = $CERTS/ca.pem

[zone admin]
kind = admin
listen = 127.0.0.1:0
token_file = $T/admin.token
${CONF_ADMIN:-}

[oauth]
signing_key = $CERTS/jwt.key
issuer = https://locguard.test
token_ttl_s = 300

[northbound]
public_url = $PUBLIC_URL

[delivery]
ca_file = $CERTS/ca.pem
poll_ms = 100
${CONF_DELIVERY:-}

[zone north]
kind = northbound
listen = 127.0.0.1:0
cert = ${NORTH_CERTS:-$CERTS}/server.pem
key = ${NORTH_CERTS:-$CERTS}/server.key
${CONF_NORTH:-}

${CONF_EXTRA:-}
CONF
}

# start_daemon: starts the real daemon in the background on this file's
# configuration and waits (bounded) until its ready file names every zone of
# $ZONES (default: south admin north); sets SOUTH_PORT, ADMIN_PORT,
# NORTH_PORT and, with an "expo" zone, EXPO_PORT.
start_daemon() {
    local deadline=$((SECONDS + ${DAEMON_START_TIMEOUT_S:-60}))
    [ -f "$T/admin.token" ] || (umask 077 && openssl rand -hex 24 >"$T/admin.token")
    write_config "$T/locguard.conf"
    rm -f "$T/ready"
    DAEMON_LOG=$T/daemon.log
    "$BUILD/locguard" -c "$T/locguard.conf" 2>>"$DAEMON_LOG" &
    DAEMON_PID=$!
    echo "$DAEMON_PID" >"$T/daemon.pid"
    until [ -f "$T/ready" ] && all_zones_ready; do
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
    NORTH_PORT=$(awk '$1 == "north" { print $2 }' "$T/ready")
    EXPO_PORT=$(awk '$1 == "expo" { print $2 }' "$T/ready")
}

# all_zones_ready: the ready file names every zone of $ZONES.
all_zones_ready() {
    local z
    for z in ${ZONES:-south admin north}; do
        grep -q "^$z " "$T/ready" || return 1
    done
}

# is_gone PID: the process has exited (or is a zombie waiting to be reaped).
is_gone() {
    [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null || echo Z)" = Z ]
}

# kill_daemon: SIGKILL, a crash: nothing drained, nothing flushed. Waits until
# the process is gone. A test may then start_daemon again on the same
# database; run.sh's own stop_daemon at the end of the file knows (from
# $T/daemon.killed) that the daemon it started was killed on purpose.
kill_daemon() {
    [ -n "${DAEMON_PID:-}" ] || return 0
    echo "$DAEMON_PID" >>"$T/daemon.killed"
    kill -KILL "$DAEMON_PID" 2>/dev/null || true
    wait_for 10 "the killed daemon to be gone" is_gone "$DAEMON_PID"
    # Reaped here when this shell started it; else by run.sh's stop_daemon.
    wait "$DAEMON_PID" 2>/dev/null || true
    DAEMON_PID=
    rm -f "$T/daemon.pid"
}

# stop_daemon: SIGTERM, then waits (bounded: SIGKILL after 20 s) and returns
# the daemon's exit status; 0 when it drained and exited cleanly.
stop_daemon() {
    local rc=0 deadline=$((SECONDS + 20)) pid
    # A daemon this shell started but a test killed (kill_daemon) in its
    # subshell: reap it; a replacement the test started is not this shell's
    # child, so it is stopped and waited for without an exit status (the test
    # that started it checks that itself).
    if [ -n "${DAEMON_PID:-}" ] && grep -qx "$DAEMON_PID" "$T/daemon.killed" 2>/dev/null; then
        wait "$DAEMON_PID" 2>/dev/null || true
        DAEMON_PID=
        if [ -f "$T/daemon.pid" ]; then
            pid=$(cat "$T/daemon.pid")
            kill -TERM "$pid" 2>/dev/null || true
            while ! is_gone "$pid"; do
                if [ "$SECONDS" -ge "$deadline" ]; then
                    echo "replacement daemon still running 20s after SIGTERM: killed" >&2
                    kill -KILL "$pid" 2>/dev/null || true
                    rc=1
                    break
                fi
                sleep 0.1
            done
            rm -f "$T/daemon.pid"
        fi
        return "$rc"
    fi
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

# ---------------------------------------------------------------- crafted tokens
# ES256 JWTs made by hand, to present tokens the token endpoints never issue.

# b64url: base64url without padding (RFC 7515 §2) of stdin.
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# mint HEADER_JSON CLAIMS_JSON [KEY]: an ES256 JWT signed with KEY (default
# the daemon's own signing key), the signature as JOSE r||s.
mint() {
    local key=${3:-$CERTS/jwt.key} input r s
    input="$(printf '%s' "$1" | b64url).$(printf '%s' "$2" | b64url)"
    printf '%s' "$input" | openssl dgst -sha256 -sign "$key" -binary >"$T/sig.der"
    # The two INTEGERs of the DER signature, each as 64 hex digits.
    read -r r s < <(openssl asn1parse -inform DER -in "$T/sig.der" |
        awk -F: '/INTEGER/ { v = $NF; sub(/^0+/, "", v); while (length(v) < 64) v = "0" v; printf "%s ", v } END { print "" }')
    printf '%s.%s\n' "$input" "$(printf '%s%s' "$r" "$s" | xxd -r -p | b64url)"
}

# kid [KEY]: the key id the daemon derives from KEY (default its own signing
# key): the first 16 hex digits of SHA-256 of the public key DER.
kid() {
    openssl pkey -in "${1:-$CERTS/jwt.key}" -pubout -outform DER 2>/dev/null | openssl dgst -sha256 -r | cut -c1-16
}

# ---------------------------------------------------------------- northbound and SCS sinks
# The T8 MonitoringEvent API on the northbound zone, OAuth2 client
# credentials, and scs-sink processes standing in for SCS/AS webhooks.

# ctl ARGS...: locguardctl against this file's daemon.
ctl() {
    "$BUILD/locguardctl" --url "http://127.0.0.1:$ADMIN_PORT" --token-file "$T/admin.token" "$@"
}

# new_whsec: a fresh Standard Webhooks signing secret (whsec_ + base64).
new_whsec() { printf 'whsec_%s\n' "$(openssl rand -base64 32)"; }

# add_scs SCSASID [LOCGUARDCTL SCS ADD ARGS...]: creates (or replaces) an SCS
# record; its webhook secret is made once and kept in $T/scs.SCSASID.secret.
add_scs() {
    local id=$1
    shift
    [ -s "$T/scs.$id.secret" ] || new_whsec >"$T/scs.$id.secret"
    ctl scs add "$id" --secret "$(cat "$T/scs.$id.secret")" "$@" >/dev/null ||
        fail "locguardctl scs add $id failed"
}

# add_client CLIENTID SCSASID [SCOPE]: an OAuth2 client of the SCS (scope
# monitoring-event unless told); the secret locguardctl prints once is kept
# in $T/client.CLIENTID.secret.
add_client() {
    local out secret
    # Not --json: `locguardctl --json client add` prints the daemon's answer,
    # which cannot hold the secret (only its hash reaches the daemon).
    out=$(ctl client add "$1" --scope "${3:-monitoring-event}" --scs "$2" 2>/dev/null) ||
        fail "locguardctl client add $1 failed: $out"
    secret=$(printf '%s\n' "$out" | awk '$1 == "clientSecret" { print $2 }')
    [ -n "$secret" ] || fail "client add $1 printed no clientSecret: $out"
    printf '%s\n' "$secret" >"$T/client.$1.secret"
}

# token_request CLIENTID SECRET [FORM]: POST /oauth2/token with HTTP Basic
# client authentication (RFC 6749 §4.4); prints the status.
token_request() {
    curl_status --cacert "$CERTS/ca.pem" -u "$1:$2" -X POST \
        -H 'Content-Type: application/x-www-form-urlencoded' \
        --data-binary "${3:-grant_type=client_credentials}" \
        "https://127.0.0.1:$NORTH_PORT/oauth2/token"
}

# login CLIENTID: gets an access token for the client with its stored
# secret, kept in $T/token.CLIENTID; the next `north` calls use it.
login() {
    local st
    st=$(token_request "$1" "$(cat "$T/client.$1.secret")")
    [ "$st" = 200 ] || fail "token for $1 answered $st: $(body)"
    json "$(body)" "j->>'access_token'" >"$T/token.$1"
    echo "$1" >"$T/north.client"
}

# north METHOD PATH [BODY]: a request to the northbound zone (TLS, the test
# CA) with the bearer token of the last `login` ($NORTH_TOKEN overrides).
north() {
    local tok=${NORTH_TOKEN:-}
    [ -n "$tok" ] || tok=$(cat "$T/token.$(cat "$T/north.client")")
    local args=(-X "$1" -H "Authorization: Bearer $tok")
    if [ $# -ge 3 ]; then
        printf '%s' "$3" >"$T/north.req.json"
        args+=(-H 'Content-Type: application/json' --data-binary "@$T/north.req.json")
    fi
    curl_status --cacert "$CERTS/ca.pem" "${args[@]}" "https://127.0.0.1:$NORTH_PORT$2"
}

# subs_path SCSASID [SUBID]: the T8 subscriptions collection (or one).
subs_path() {
    printf '/3gpp-monitoring-event/v1/%s/subscriptions%s' "$1" "${2:+/$2}"
}

# subscribe SCSASID BODY: POSTs a subscription, fails unless 201; prints its
# subscriptionId (the last segment of the Location header).
subscribe() {
    local st
    st=$(north POST "$(subs_path "$1")" "$2")
    # Explicit returns: this runs in $(...), where set -e does not hold.
    [ "$st" = 201 ] || { fail "subscription for $1 answered $st: $(body)"; return 1; }
    header Location | sed 's#.*/##'
}

# sub_body KEY ID DESTINATION [MORE_MEMBERS]: a LOCATION_REPORTING
# MonitoringEventSubscription for externalId (KEY externalId) or
# externalGroupId; MORE_MEMBERS is JSON text without braces. One of
# maximumNumberOfReports / monitorExpireTime is required: 100 reports
# unless MORE_MEMBERS names either.
sub_body() {
    local more=${4:-}
    case $more in
    *maximumNumberOfReports* | *monitorExpireTime*) ;;
    *) more='"maximumNumberOfReports":100'${more:+,$more} ;;
    esac
    printf '{"%s":"%s","monitoringType":"LOCATION_REPORTING","notificationDestination":"%s",%s}' \
        "$1" "$2" "$3" "$more"
}

# start_sink NAME SCSASID [SCS-SINK ARGS...]: an scs-sink verifying the
# SCS's secret, recording to $T/sink.NAME.jsonl. It keeps the port of an
# earlier sink of the same NAME (so a destination given before it starts, or
# while it was down, reaches it). Stopped by stop_sink NAME, or when the
# test's subshell exits (an EXIT trap), passing or failing.
start_sink() {
    local name=$1 scs=$2 port=0
    shift 2
    [ -s "$T/sink.$name.port" ] && port=$(cat "$T/sink.$name.port")
    rm -f "$T/sink.$name.ready"
    # timeout: a sink outlives no interrupted run by more than ten minutes.
    timeout 600 "$BUILD/scs-sink" --cert "$CERTS/server.pem" --key "$CERTS/server.key" \
        --secret "$(cat "$T/scs.$scs.secret")" --port "$port" --out "$T/sink.$name.jsonl" \
        --ready-file "$T/sink.$name.ready" "$@" 2>>"$T/sink.$name.log" &
    echo $! >"$T/sink.$name.pid"
    trap stop_sinks EXIT
    wait_for 10 "sink $name to listen" test -s "$T/sink.$name.ready"
    tr -dc '0-9' <"$T/sink.$name.ready" >"$T/sink.$name.port"
}

# stop_sink NAME: SIGTERM and wait.
stop_sink() {
    local f=$T/sink.$1.pid pid
    [ -f "$f" ] || return 0
    pid=$(cat "$f")
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -f "$f"
}

# stop_sinks: every sink still running.
stop_sinks() {
    local f
    for f in "$T"/sink.*.pid; do
        [ -f "$f" ] || continue
        f=${f##*/sink.}
        stop_sink "${f%.pid}"
    done
}

# sink_url NAME [PATH]: the https URL of the sink (port known once started).
sink_url() { printf 'https://127.0.0.1:%s/%s' "$(cat "$T/sink.$1.port")" "${2:-notify}"; }

# sink_count NAME [PATH]: how many requests the sink recorded (to PATH).
sink_count() {
    local f=$T/sink.$1.jsonl
    [ -f "$f" ] || { echo 0; return 0; }
    if [ -n "${2:-}" ]; then
        grep -c "\"path\": *\"/$2\"" "$f" || true
    else
        grep -c . "$f" || true
    fi
}

# sink_count_is NAME N [PATH]: for wait_for.
sink_count_is() { [ "$(sink_count "$1" "${3:-}")" = "$2" ]; }

# sink_line NAME N [PATH]: the Nth (1-based) JSON line the sink recorded (to PATH).
sink_line() {
    if [ -n "${3:-}" ]; then
        grep "\"path\": *\"/$3\"" "$T/sink.$1.jsonl" | sed -n "$2p"
    else
        sed -n "$2p" "$T/sink.$1.jsonl"
    fi
}

# outbox_status SUBID: the statuses of the subscription's outbox rows, in order.
outbox_status() {
    sql "SELECT string_agg(o.status || ':' || o.kind, ' ' ORDER BY o.id) FROM notification_outbox o
         JOIN subscription s ON s.id = o.subscription_id WHERE s.sub_id = '$1'"
}

# sub_status SUBID: 'status ended_reason' of a subscription.
sub_status() {
    sql "SELECT status || ' ' || coalesce(ended_reason, '-') FROM subscription WHERE sub_id = '$1'"
}
