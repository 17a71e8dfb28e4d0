#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# `make demo`: the locguard story on the console, start to finish.
#
#   BUILD=build VAR=var tests/tools/demo.sh        run the demo
#   BUILD=build VAR=var tests/tools/demo.sh stop   stop the daemon and the cluster
#
# Starts a private PostgreSQL + PostGIS cluster in $VAR/pg, makes throwaway
# certificates in $VAR/certs, starts the daemon in the background (pid in
# $VAR/locguard.pid, log in $VAR/locguard.log), provisions a small town with
# locguardctl (nodes, three water meters and a tracker, a home area, cells),
# then plays the MME: meters report from home, one meter is carried to a town
# 50 km away (a "left" alert after two reports there) and brought back (a
# "returned" alert). Then an SCS/AS enters: its webhook endpoint (scs-sink,
# pid in $VAR/scs-sink.pid, what it receives in $VAR/scs-sink.jsonl), its
# SCS record, grant, consent and OAuth2 client made with locguardctl, a
# token and a T8 monitoring subscription for meter-2 made with curl over the
# northbound zone; meter-2 leaves again and comes back, and the console shows
# the signed notifications the sink received. The daemon and the sink keep
# running afterwards; `make stop` stops them. Each run starts from an empty
# database.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
VAR=${VAR:-$ROOT/var}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
case $VAR in /*) ;; *) VAR=$ROOT/$VAR ;; esac
PG=$VAR/pg
CERTS=$VAR/certs
CONF=$VAR/locguard.conf
PIDFILE=$VAR/locguard.pid
LOG=$VAR/locguard.log
export PGCLUSTER_DB=locguard

# Ports a user can type; another free port is taken when one is busy.
ADMIN_PORT=${DEMO_ADMIN_PORT:-7080}
SOUTH_PORT=${DEMO_SOUTH_PORT:-7443}
NORTH_PORT=${DEMO_NORTH_PORT:-7444}
SINK_PIDFILE=$VAR/scs-sink.pid
SINK_OUT=$VAR/scs-sink.jsonl

# The SUPIs of the story (test PLMN 001-01).
METER1=001010000000001 METER2=001010000000002 METER3=001010000000003 TRACKER=001010000000009

step() { printf '\n==> %s\n' "$*"; }
say() { printf '    %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

# port_or_any PORT: PORT when nobody listens on it, else 0 (any free port).
port_or_any() {
    if ss -ltn 2>/dev/null | awk '{ print $4 }' | grep -q ":$1\$"; then echo 0; else echo "$1"; fi
}

# daemon_pid: the running daemon's pid, or nothing.
daemon_pid() {
    local pid
    [ -f "$PIDFILE" ] || return 0
    pid=$(cat "$PIDFILE")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "$pid"; fi
}

# stop_daemon: SIGTERM and a bounded wait for the daemon to drain and exit.
stop_daemon() {
    local pid
    pid=$(daemon_pid)
    [ -n "$pid" ] || { rm -f "$PIDFILE"; return 0; }
    kill -TERM "$pid"
    for _ in $(seq 1 200); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "locguard (pid $pid) did not stop within 20 s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
    say "locguard stopped"
}

# stop_sink: the demo's SCS sink, if it runs.
stop_sink() {
    local pid
    [ -f "$SINK_PIDFILE" ] || return 0
    pid=$(cat "$SINK_PIDFILE")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        say "scs-sink stopped"
    fi
    rm -f "$SINK_PIDFILE"
}

stop() {
    step "Stopping the demo"
    stop_sink
    stop_daemon
    "$ROOT/tests/tools/pgcluster.sh" stop "$PG"
    say "PostgreSQL stopped (its data stays in $PG; \`make distclean\` removes var/)"
}

write_config() {
    cat >"$CONF" <<CONF
# locguard configuration written by tests/tools/demo.sh
[daemon]
log_level = info
schema_dir = $ROOT
ready_file = $VAR/locguard.ready
pid_file = $PIDFILE

[database]
conninfo = $("$ROOT/tests/tools/pgcluster.sh" conninfo "$PG")
pool_size = 2

[ingest]
hysteresis = 2
seq_window = 1024
freshness_s = 300
retry_after_s = 5
queue_max_reports = 65536

[zone south]
kind = southbound
listen = 127.0.0.1:$(port_or_any "$SOUTH_PORT")
cert = $CERTS/server.pem
key = $CERTS/server.key
client_ca = $CERTS/ca.pem

[zone admin]
kind = admin
listen = 127.0.0.1:$(port_or_any "$ADMIN_PORT")
token_file = $VAR/admin.token

[oauth]
signing_key = $CERTS/jwt.key
issuer = https://locguard.demo
token_ttl_s = 300

[northbound]
public_url = https://127.0.0.1:$NORTH_PORT

[delivery]
ca_file = $CERTS/ca.pem
poll_ms = 100

[zone north]
kind = northbound
listen = 127.0.0.1:$(port_or_any "$NORTH_PORT")
cert = $CERTS/server.pem
key = $CERTS/server.key
CONF
}

# start_daemon: in the background, detached from this shell; waits (bounded)
# for its ready file and reads the bound ports from it.
start_daemon() {
    local _
    rm -f "$VAR/locguard.ready"
    nohup "$BUILD/locguard" -c "$CONF" >>"$LOG" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    for _ in $(seq 1 300); do
        [ -f "$VAR/locguard.ready" ] && grep -q '^admin ' "$VAR/locguard.ready" &&
            grep -q '^south ' "$VAR/locguard.ready" && grep -q '^north ' "$VAR/locguard.ready" && break
        if [ -z "$(daemon_pid)" ]; then
            tail -n 30 "$LOG" >&2
            die "locguard exited during start-up (log: $LOG)"
        fi
        sleep 0.1
    done
    [ -f "$VAR/locguard.ready" ] || { tail -n 30 "$LOG" >&2; die "locguard not ready after 30 s"; }
    SOUTH_PORT=$(awk '$1 == "south" { print $2 }' "$VAR/locguard.ready")
    ADMIN_PORT=$(awk '$1 == "admin" { print $2 }' "$VAR/locguard.ready")
    NORTH_PORT=$(awk '$1 == "north" { print $2 }' "$VAR/locguard.ready")
}

# start_sink SECRET: the SCS/AS webhook endpoint (scs-sink over HTTPS with the
# demo certificate), detached; sets SINK_PORT.
start_sink() {
    local _
    stop_sink >/dev/null
    rm -f "$VAR/scs-sink.ready" "$SINK_OUT"
    nohup "$BUILD/scs-sink" --cert "$CERTS/server.pem" --key "$CERTS/server.key" --secret "$1" \
        --out "$SINK_OUT" --ready-file "$VAR/scs-sink.ready" >>"$VAR/scs-sink.log" 2>&1 </dev/null &
    echo $! >"$SINK_PIDFILE"
    for _ in $(seq 1 100); do
        [ -s "$VAR/scs-sink.ready" ] && break
        sleep 0.1
    done
    [ -s "$VAR/scs-sink.ready" ] || { tail -n 20 "$VAR/scs-sink.log" >&2; die "scs-sink did not start"; }
    SINK_PORT=$(tr -dc '0-9' <"$VAR/scs-sink.ready")
}

# jget JSON EXPR: EXPR (SQL over the jsonb value j) evaluated by the demo's
# PostgreSQL: no jq needed.
jget() {
    printf "SELECT %s FROM (SELECT :'doc'::jsonb AS j) s;\n" "$2" |
        psql "$("$ROOT/tests/tools/pgcluster.sh" conninfo "$PG")" -X -v ON_ERROR_STOP=1 -Atq -v doc="$1"
}

# show_notification N: waits (bounded) for the sink's Nth request and
# prints it, one line per field.
show_notification() {
    local line _
    for _ in $(seq 1 100); do
        line=$(sed -n "$1p" "$SINK_OUT" 2>/dev/null || true)
        [ -n "$line" ] && break
        sleep 0.1
    done
    [ -n "$line" ] || die "the sink received no notification $1 within 10 s (log: $LOG)"
    say "the SCS sink received:"
    jget "$line" "'webhook-id:      ' || (j->>'webhookId'),
                  'signature valid: ' || (j->>'signatureValid'),
                  'externalId:      ' || (j->'body'->'monitoringEventReports'->0->>'externalId'),
                  'movement:        ' || (j->'body'->'monitoringEventReports'->0->>'movement'),
                  'cell:            ' || (j->'body'->'monitoringEventReports'->0->'locationInfo'->>'cellId'),
                  'subscription:    ' || (j->'body'->>'subscription')" |
        tr '|' '\n' | sed 's/^/      /'
}

ctl() {
    "$BUILD/locguardctl" --url "http://127.0.0.1:$ADMIN_PORT" --token-file "$VAR/admin.token" "$@"
}

# Where the simulator is: build/mme-sim (or build/mme_sim); curl otherwise.
MME_SIM=
for f in "$BUILD/mme-sim" "$BUILD/mme_sim"; do
    if [ -x "$f" ]; then MME_SIM=$f; break; fi
done

# report NODE SUPI ECI: the node sends one location report for SUPI in
# E-UTRA cell ECI; prints the node's view of the answer.
report() {
    local node=$1 supi=$2 eci=$3 out
    if [ -n "$MME_SIM" ]; then
        out=$("$MME_SIM" report --host 127.0.0.1 --port "$SOUTH_PORT" --cert "$CERTS/$node.pem" \
            --key "$CERTS/$node.key" --ca "$CERTS/ca.pem" --node "$node" \
            --supi "imsi-$supi" --cell "$eci" --rat EUTRA 2>&1) || true
        out=$(printf '%s' "$out" | head -n 1)
    else
        local body
        body=$(printf '{"notifyCorrelationId":"%s","reportList":[{"type":"LOCATION_REPORT","state":{"active":true},"timeStamp":"%s","supi":"imsi-%s","location":{"eutraLocation":{"tai":{"plmnId":{"mcc":"001","mnc":"01"},"tac":"0001"},"ecgi":{"plmnId":{"mcc":"001","mnc":"01"},"eutraCellId":"%s"}}}}]}' \
            "$node" "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$supi" "$eci")
        out="HTTP $(curl -sS -o /dev/null -w '%{http_code}' --max-time 20 --cacert "$CERTS/ca.pem" \
            --cert "$CERTS/$node.pem" --key "$CERTS/$node.key" -H 'Content-Type: application/json' \
            -H "Locguard-Seq: $(date +%s%3N)" -H "Locguard-Sent-At: $(date -u +%Y-%m-%dT%H:%M:%SZ)" \
            --data-binary "$body" "https://127.0.0.1:$SOUTH_PORT/v1/location-reports" || true)"
    fi
    say "$node -> locguard: imsi-$supi in cell $eci: $out"
    case $out in "HTTP 2"*) ;; *) die "the report was not accepted (log: $LOG)" ;; esac
}

# rect WKT box and GeoJSON box of LON1 LAT1 LON2 LAT2.
rect_wkt() { printf 'POLYGON((%s %s,%s %s,%s %s,%s %s,%s %s))' "$1" "$2" "$3" "$2" "$3" "$4" "$1" "$4" "$1" "$2"; }
rect_geojson() {
    printf '{"type":"Polygon","coordinates":[[[%s,%s],[%s,%s],[%s,%s],[%s,%s],[%s,%s]]]}\n' \
        "$1" "$2" "$3" "$2" "$3" "$4" "$1" "$4" "$1" "$2"
}

show_alerts() {
    local out
    out=$(ctl alert list)
    if [ "$(printf '%s\n' "$out" | grep -c .)" -le 1 ]; then
        say "  (no alerts)"
    else
        printf '%s\n' "$out" | sed 's/^/      /'
    fi
}

demo() {
    if [ ! -x "$BUILD/locguard" ] || [ ! -x "$BUILD/locguardctl" ]; then die "build first: make all"; fi
    mkdir -p "$VAR"

    step "A private PostgreSQL 15 + PostGIS cluster in $PG (unix socket only)"
    stop_sink >/dev/null
    stop_daemon >/dev/null
    "$ROOT/tests/tools/pgcluster.sh" start "$PG"
    # Every run tells the story from the beginning: an empty database.
    psql "$(PGCLUSTER_DB=postgres "$ROOT/tests/tools/pgcluster.sh" conninfo "$PG")" \
        -X -q -c "DROP DATABASE IF EXISTS locguard" -c "CREATE DATABASE locguard" >/dev/null
    say "database: $("$ROOT/tests/tools/pgcluster.sh" conninfo "$PG")"

    step "Throwaway certificates in $CERTS: a CA, the server, one client certificate per node"
    "$ROOT/tests/tools/mkcerts.sh" "$CERTS"
    [ -s "$VAR/admin.token" ] || (umask 077 && openssl rand -hex 24 >"$VAR/admin.token")
    say "admin token in $VAR/admin.token"

    step "Starting locguard (it applies the schema itself, then listens)"
    write_config
    start_daemon
    say "pid $(cat "$PIDFILE"), log $LOG"
    say "southbound (mutual TLS) on 127.0.0.1:$SOUTH_PORT, admin on 127.0.0.1:$ADMIN_PORT,"
    say "northbound (TLS, OAuth2 bearer tokens) on 127.0.0.1:$NORTH_PORT"

    step "Provisioning with locguardctl"
    ctl node add mme-1 --kind MME >/dev/null
    ctl node add sgsn-1 --kind SGSN >/dev/null
    say "network nodes mme-1 (MME) and sgsn-1 (SGSN): only their certificates get reports in"
    rect_geojson 2.30 48.82 2.40 48.88 >"$VAR/riverside.geojson"
    ctl area add riverside --geojson "$VAR/riverside.geojson" >/dev/null
    say "area 'riverside': the district around lon 2.35 lat 48.85 where the meters are installed"
    {
        printf 'ecgi:001-01:000A001,EUTRA,"%s"\n' "$(rect_wkt 2.34 48.84 2.36 48.86)"
        printf 'ecgi:001-01:000A002,EUTRA,"%s"\n' "$(rect_wkt 2.31 48.83 2.33 48.85)"
        printf 'ecgi:001-01:000A003,EUTRA,2.37,48.86,400\n'
        printf 'ecgi:001-01:000B001,EUTRA,"%s"\n' "$(rect_wkt 2.34 49.29 2.36 49.31)"
    } >"$VAR/cells.csv"
    ctl cell import "$VAR/cells.csv" >/dev/null
    say "cells 000A001, 000A002, 000A003 in riverside; 000B001 in a town 50 km north"
    local n supi
    n=1
    for supi in $METER1 $METER2 $METER3; do
        ctl device add --supi "imsi-$supi" --external-id "meter-$n@water.example" --mobility fixed >/dev/null
        ctl authorize "meter-$n@water.example" riverside >/dev/null
        n=$((n + 1))
    done
    say "water meters meter-1..3@water.example: fixed, authorized in riverside only"
    ctl device add --supi "imsi-$TRACKER" --external-id tracker-1@fleet.example --mobility unrestricted >/dev/null
    say "tracker-1@fleet.example: unrestricted (a delivery van), never alerted on"

    step "The MME reports the meters at home ${MME_SIM:+(with $(basename "$MME_SIM"))}"
    report mme-1 $METER1 000A001
    report mme-1 $METER2 000A002
    report mme-1 $METER3 000A003
    say "all inside riverside: no alert"
    show_alerts

    step "The tracker drives around: recorded, never alerted on"
    report mme-1 $TRACKER 000A001
    report mme-1 $TRACKER 000B001
    report mme-1 $TRACKER 000B001

    step "Someone takes meter-2 to the town 50 km north"
    report mme-1 $METER2 000B001
    say "one report outside: no alert yet (hysteresis: two outside reports in a row are needed)"
    report mme-1 $METER2 000B001
    say "the second report outside raises the alert:"
    show_alerts

    step "meter-2 is brought back home"
    report mme-1 $METER2 000A002
    say "the first report inside again raises 'returned':"
    show_alerts
    say "what the operator sees for meter-2:"
    ctl device show meter-2@water.example | sed 's/^/      /'

    step "An SCS/AS (application server) subscribes to meter-2 over the northbound API"
    local secret client_secret token sub st
    secret="whsec_$(openssl rand -base64 32)"
    start_sink "$secret"
    say "scs-sink (the SCS's webhook endpoint) on https://127.0.0.1:$SINK_PORT, pid $(cat "$SINK_PIDFILE")"
    # --allow-private: the demo's webhook is on loopback, refused otherwise.
    ctl scs add scs-demo --name "Water utility" --secret "$secret" --allow-private >/dev/null
    ctl grant scs-demo --device meter-2@water.example >/dev/null
    ctl consent grant meter-2@water.example --purpose location-monitoring --scs scs-demo >/dev/null
    client_secret=$(ctl client add demo-client --scope monitoring-event --scs scs-demo 2>/dev/null |
        awk '$1 == "clientSecret" { print $2 }')
    [ -n "$client_secret" ] || die "locguardctl client add printed no secret"
    say "locguardctl: SCS scs-demo (webhook secret, loopback allowed), a grant and a consent for"
    say "meter-2, OAuth2 client demo-client (its secret is shown once)"
    token=$(curl -sS --max-time 10 --cacert "$CERTS/ca.pem" -u "demo-client:$client_secret" \
        -d grant_type=client_credentials "https://127.0.0.1:$NORTH_PORT/oauth2/token")
    token=$(jget "$token" "j->>'access_token'")
    [ -n "$token" ] || die "no access token from /oauth2/token"
    say "POST https://127.0.0.1:$NORTH_PORT/oauth2/token (client credentials) -> an ES256 access token"
    sub=$(printf '{"externalId":"meter-2@water.example","monitoringType":"LOCATION_REPORTING","notificationDestination":"https://127.0.0.1:%s/notify","maximumNumberOfReports":10,"accuracy":"CGI_ECGI"}' \
        "$SINK_PORT")
    st=$(curl -sS --max-time 10 --cacert "$CERTS/ca.pem" -o "$VAR/subscription.json" -D "$VAR/subscription.headers" \
        -w '%{http_code}' -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
        --data-binary "$sub" "https://127.0.0.1:$NORTH_PORT/3gpp-monitoring-event/v1/scs-demo/subscriptions")
    [ "$st" = 201 ] || die "the subscription answered $st: $(cat "$VAR/subscription.json")"
    say "POST /3gpp-monitoring-event/v1/scs-demo/subscriptions -> $st"
    say "Location: $(tr -d '\r' <"$VAR/subscription.headers" | awk -F': ' 'tolower($1) == "location" { print $2 }')"

    step "meter-2 is taken away again"
    report mme-1 $METER2 000B001
    report mme-1 $METER2 000B001
    say "'left' again: this time the SCS is told, with a signed webhook"
    show_notification 1

    step "meter-2 is brought back"
    report mme-1 $METER2 000A002
    show_notification 2

    step "Done. locguard keeps running (pid $(cat "$PIDFILE"))"
    say "try:  $BUILD/locguardctl --url http://127.0.0.1:$ADMIN_PORT --token-file $VAR/admin.token alert list"
    say "      $BUILD/locguardctl --url http://127.0.0.1:$ADMIN_PORT --token-file $VAR/admin.token metrics"
    say "      cat $SINK_OUT        (what the SCS sink received)"
    say "stop: make stop"
}

case ${1:-run} in
run) demo ;;
stop) stop ;;
*) die "usage: demo.sh [run|stop]" ;;
esac
