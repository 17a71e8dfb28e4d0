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
# the signed notifications the sink received. Then 5G: locguard has
# subscribed at an AMF (amf-sim, pid in $VAR/amf-sim.pid, what it received
# in $VAR/amf-sim/; TS 29.518 Namf_EventExposure over HTTP/2), which notifies
# it of meter-3 leaving and coming back, one report per notification and no
# Locguard header. Finally a third party asks for
# anonymized counts: the meters and some city bikes consent to anonymous
# statistics and report, the daemon makes its own noisy release of that
# minute ([counts] bucket_s = 60: the demo waits up to ~65 s for it), a
# third-party OAuth2 client (scope region-device-count) gets a token from the
# exposure zone and asks the CAMARA Region Device Count API for a circle
# around riverside (twice: the same answer) and for a tiny area (suppressed
# below k), and the operator asks for the exact count with `locguardctl
# count`. The daemon, the sink and the AMF keep running afterwards; `make stop` stops
# them. Each run starts from an empty database.
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
EXPO_PORT=${DEMO_EXPO_PORT:-7445}
SINK_PIDFILE=$VAR/scs-sink.pid
AMF_PORT=${DEMO_AMF_PORT:-7446}
AMF_PIDFILE=$VAR/amf-sim.pid
AMF_DIR=$VAR/amf-sim
SINK_OUT=$VAR/scs-sink.jsonl
# Diameter: locguard's zone (MMEs over T6a) and the HSS simulator (S6t),
# TLS on both; freeDiameter binds the port it is given, so both are fixed.
DIA_PORT=${DEMO_DIA_PORT:-5868}
HSS_PORT=${DEMO_HSS_PORT:-5869}
HSS_PIDFILE=$VAR/hss-sim.pid
HSS_RECORD=$VAR/hss-sim.record

# The SUPIs of the story (test PLMN 001-01).
METER1=001010000000001 METER2=001010000000002 METER3=001010000000003 TRACKER=001010000000009
# City bikes for the counts: bike-N@bikes.example is SUPI 0010100000001NN.
BIKES=23 BIKES_CONSENTING=20
# The privacy filter's settings (written to [counts] below). k = 5 suits the
# demo population: about 23 consenting devices in the big circle, 1 in the
# tiny area; the continual counter's noise (lifetime epsilon 10) is a few
# devices per cell.
COUNT_K=5

step() { printf '\n==> %s\n' "$*"; }
say() { printf '    %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

# port_or_any PORT: PORT when nobody listens on it, else 0 (any free port).
port_or_any() {
    if ss -ltn 2>/dev/null | awk '{ print $4 }' | grep -q ":$1\$"; then echo 0; else echo "$1"; fi
}

# free_port PORT: PORT when nobody listens on it, else another free one
# (for freeDiameter, which cannot take port 0, and for the southbound port,
# which must be known before the daemon starts: it is the notifyUri the AMF gets).
free_port() {
    local p=$1
    while ss -ltn 2>/dev/null | awk '{ print $4 }' | grep -q ":$p\$"; do p=$((p + 10)); done
    echo "$p"
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

# stop_pidfile FILE NAME: stops the process FILE names (SIGTERM, 5 s), if it
# runs, and removes FILE.
stop_pidfile() {
    local pid
    [ -f "$1" ] || return 0
    pid=$(cat "$1")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        say "$2 stopped"
    fi
    rm -f "$1"
}

# stop_sink: the demo's SCS sink, if it runs.
stop_sink() {
    stop_pidfile "$SINK_PIDFILE" scs-sink
}

# stop_amf: the demo's AMF simulator, if it runs.
stop_amf() {
    stop_pidfile "$AMF_PIDFILE" amf-sim
}

# start_amf: the AMF (amf-sim over HTTP/2 with the demo certificate, a
# client certificate required), detached; sets AMF_PORT. Started before the
# daemon, which subscribes at it.
start_amf() {
    local _
    stop_amf >/dev/null
    rm -rf "$AMF_DIR" "$VAR/amf-sim.ready"
    mkdir -p "$AMF_DIR"
    nohup "$BUILD/amf-sim" serve --listen "127.0.0.1:$(port_or_any "$AMF_PORT")" \
        --cert "$CERTS/server.pem" --key "$CERTS/server.key" --ca "$CERTS/ca.pem" --dir "$AMF_DIR" \
        --ready-file "$VAR/amf-sim.ready" >>"$VAR/amf-sim.log" 2>&1 </dev/null &
    echo $! >"$AMF_PIDFILE"
    for _ in $(seq 1 100); do
        [ -s "$VAR/amf-sim.ready" ] && break
        sleep 0.1
    done
    [ -s "$VAR/amf-sim.ready" ] || { tail -n 20 "$VAR/amf-sim.log" >&2; die "amf-sim did not start"; }
    AMF_PORT=$(tr -dc '0-9' <"$VAR/amf-sim.ready")
}

# amf_story LINES: the AMF notifies locguard of each "SUPI TAI CELL" line,
# one report per notification, no Locguard header; prints the answers.
amf_story() {
    local out
    out=$(printf '%s\n' "$@" | "$BUILD/amf-sim" notify --dir "$AMF_DIR" --cert "$CERTS/amf-1.pem" \
        --key "$CERTS/amf-1.key" --ca "$CERTS/ca.pem" 2>>"$VAR/amf-sim.log") ||
        die "amf-sim's notifications were not all accepted: $out (log: $VAR/amf-sim.log)"
    printf '%s\n' "$out" | paste -sd ' '
}

# stop_hss: the HSS simulator, if it runs.
stop_hss() {
    stop_pidfile "$HSS_PIDFILE" hss-sim
}

# start_hss: hss-sim as "hss" (its certificate from mkcerts.sh), accepting
# locguard, recording each configuration to $HSS_RECORD; detached.
start_hss() {
    local _
    stop_hss >/dev/null
    rm -f "$HSS_RECORD" "$VAR/hss-sim.out"
    nohup "$BUILD/hss-sim" --identity hss --realm demo --listen "127.0.0.1:$HSS_PORT" --accept locguard \
        --cert "$CERTS/dia-hss.pem" --key "$CERTS/dia-hss.key" --ca "$CERTS/ca.pem" --record "$HSS_RECORD" \
        >"$VAR/hss-sim.out" 2>&1 </dev/null &
    echo $! >"$HSS_PIDFILE"
    for _ in $(seq 1 100); do
        grep -q listening "$VAR/hss-sim.out" 2>/dev/null && return 0
        sleep 0.1
    done
    cat "$VAR/hss-sim.out" >&2
    die "hss-sim did not start"
}

stop() {
    step "Stopping the demo"
    stop_sink
    stop_amf
    stop_daemon
    stop_hss
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
listen = 127.0.0.1:$SOUTH_PORT
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

# Anonymized counts. One noisy release a minute (the default is an hour) so
# that the demo sees the daemon's own release, through the continual counter:
# each device's privacy loss is bounded over a year (lifetime_epsilon), so a
# release every minute costs no more than one an hour.
[counts]
bucket_s = 60
mechanism = continual
lifetime_epsilon = 10
k = $COUNT_K

[zone expo]
kind = exposure
listen = 127.0.0.1:$(port_or_any "$EXPO_PORT")
cert = $CERTS/server.pem
key = $CERTS/server.key

# The AMF (amf-sim): locguard subscribes there for every provisioned device,
# and the AMF notifies the southbound zone.
[amf]
peer = amf-1 https://127.0.0.1:$AMF_PORT
notify_uri = https://127.0.0.1:$SOUTH_PORT/v1/location-reports
nf_id = 3fa85f64-5717-4562-b3fc-2c963f66afa6
cert = $CERTS/nef.pem
key = $CERTS/nef.key
ca = $CERTS/ca.pem
poll_ms = 500

# MMEs over Diameter (T6a), TLS; the HSS where locguard configures location
# reporting for each checked device (S6t), a pass every 2 s for the demo.
[diameter]
identity = locguard
realm = demo
listen = 127.0.0.1:$DIA_PORT
cert = $CERTS/server.pem
key = $CERTS/server.key
ca = $CERTS/ca.pem
work_dir = $VAR
peer = mme-1 mme-1
hss = hss
hss_connect = 127.0.0.1:$HSS_PORT
hss_sync_s = 2
tc_timer_s = 2
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
            grep -q '^south ' "$VAR/locguard.ready" && grep -q '^north ' "$VAR/locguard.ready" &&
            grep -q '^expo ' "$VAR/locguard.ready" && break
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
    EXPO_PORT=$(awk '$1 == "expo" { print $2 }' "$VAR/locguard.ready")
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

# send_batch NODE FILE: the node posts one batch of reports (the body in
# FILE); prints the node's view of the answer.
send_batch() {
    local node=$1 file=$2 out
    if [ -n "$MME_SIM" ]; then
        out=$("$MME_SIM" send --host 127.0.0.1 --port "$SOUTH_PORT" --cert "$CERTS/$node.pem" \
            --key "$CERTS/$node.key" --ca "$CERTS/ca.pem" --node "$node" --file "$file" 2>&1) || true
        out=$(printf '%s' "$out" | head -n 1)
    else
        out="HTTP $(curl -sS -o /dev/null -w '%{http_code}' --max-time 20 --cacert "$CERTS/ca.pem" \
            --cert "$CERTS/$node.pem" --key "$CERTS/$node.key" -H 'Content-Type: application/json' \
            -H "Locguard-Seq: $(date +%s%3N)" -H "Locguard-Sent-At: $(date -u +%Y-%m-%dT%H:%M:%SZ)" \
            --data-binary "@$file" "https://127.0.0.1:$SOUTH_PORT/v1/location-reports" || true)"
    fi
    printf '%s\n' "$out"
}

# eutra_report SUPI ECI: one LOCATION_REPORT of a batch, timestamped now.
eutra_report() {
    printf '{"type":"LOCATION_REPORT","state":{"active":true},"timeStamp":"%s","supi":"imsi-%s","location":{"eutraLocation":{"tai":{"plmnId":{"mcc":"001","mnc":"01"},"tac":"0001"},"ecgi":{"plmnId":{"mcc":"001","mnc":"01"},"eutraCellId":"%s"}}}}' \
        "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$1" "$2"
}

# bike_supi N / bike_cell N: city bike N's SUPI and the riverside cell it
# stands in (000A001 and 000A003 in turn; none in 000A002).
bike_supi() { printf '0010100000001%02d' "$1"; }
bike_cell() { if [ $(($1 % 2)) -eq 1 ]; then echo 000A001; else echo 000A003; fi; }

# sql QUERY: one value from the demo's database.
sql() {
    psql "$("$ROOT/tests/tools/pgcluster.sh" conninfo "$PG")" -X -v ON_ERROR_STOP=1 -Atq -c "$1"
}

# camara_circle LAT LON RADIUS_M: a CAMARA count request for that circle.
camara_circle() {
    printf '{"area":{"areaType":"CIRCLE","center":{"latitude":%s,"longitude":%s},"radius":%s}}' "$1" "$2" "$3"
}

# third_party_count TOKEN BODY: the third party's POST to the exposure zone;
# prints "STATUS BODY".
third_party_count() {
    local st
    st=$(curl -sS --max-time 10 --cacert "$CERTS/ca.pem" -o "$VAR/count.json" -w '%{http_code}' \
        -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
        -H "x-correlator: demo-$(openssl rand -hex 4)" --data-binary "$2" \
        "https://127.0.0.1:$EXPO_PORT/regionDeviceCount/vwip/count") || st=000
    printf '%s %s\n' "$st" "$(cat "$VAR/count.json" 2>/dev/null)"
}

ctl() {
    "$BUILD/locguardctl" --url "http://127.0.0.1:$ADMIN_PORT" --token-file "$VAR/admin.token" "$@"
}

# Where the MME simulator is: build/mme-sim (or build/mme_sim); curl otherwise.
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
    stop_amf >/dev/null
    stop_daemon >/dev/null
    "$ROOT/tests/tools/pgcluster.sh" start "$PG"
    # Every run tells the story from the beginning: an empty database.
    psql "$(PGCLUSTER_DB=postgres "$ROOT/tests/tools/pgcluster.sh" conninfo "$PG")" \
        -X -q -c "DROP DATABASE IF EXISTS locguard" -c "CREATE DATABASE locguard" >/dev/null
    say "database: $("$ROOT/tests/tools/pgcluster.sh" conninfo "$PG")"

    step "Throwaway certificates in $CERTS: a CA, the server, one client certificate per node"
    MKCERTS_DIAMETER="hss mme-1" "$ROOT/tests/tools/mkcerts.sh" "$CERTS"
    [ -s "$VAR/admin.token" ] || (umask 077 && openssl rand -hex 24 >"$VAR/admin.token")
    say "admin token in $VAR/admin.token"

    step "An AMF (amf-sim: TS 29.518 Namf_EventExposure over HTTP/2, mutual TLS)"
    start_amf
    say "amf-sim on https://127.0.0.1:$AMF_PORT, pid $(cat "$AMF_PIDFILE"); what it receives in $AMF_DIR"
    step "The HSS (hss-sim): where locguard configures location reporting over S6t"
    DIA_PORT=$(free_port "$DIA_PORT")
    HSS_PORT=$(free_port "$HSS_PORT")
    [ "$HSS_PORT" != "$DIA_PORT" ] || HSS_PORT=$(free_port $((DIA_PORT + 1)))
    start_hss
    say "hss-sim on 127.0.0.1:$HSS_PORT (Diameter over TLS), pid $(cat "$HSS_PIDFILE")"

    step "Starting locguard (it applies the schema itself, then listens)"
    SOUTH_PORT=$(free_port "$SOUTH_PORT")
    write_config
    start_daemon
    say "pid $(cat "$PIDFILE"), log $LOG"
    say "southbound (mutual TLS) on 127.0.0.1:$SOUTH_PORT, admin on 127.0.0.1:$ADMIN_PORT,"
    say "northbound (TLS, OAuth2 bearer tokens) on 127.0.0.1:$NORTH_PORT"
    say "diameter (T6a from MMEs, TLS) on 127.0.0.1:$DIA_PORT; connected to the HSS for S6t"

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

    step "5G: an AMF reports as real ones do, after locguard subscribed"
    ctl node add amf-1 --kind AMF >/dev/null
    say "network node amf-1 (AMF); locguard holds one subscription at it naming every device"
    for _ in $(seq 1 100); do
        [ "$(jget "$(cat "$AMF_DIR/subscriptions.json" 2>/dev/null || echo '[]')" \
            "coalesce(jsonb_array_length(j->0->'subscription'->'includeSupiList'), 0)")" -ge 4 ] && break
        sleep 0.1
    done
    jget "$(cat "$AMF_DIR/subscriptions.json")" "'subscription at the AMF: ' || (j->0->>'uri'),
        'notifyCorrelationId: ' || (j->0->'subscription'->>'notifyCorrelationId'),
        'devices (includeSupiList): ' || jsonb_array_length(j->0->'subscription'->'includeSupiList'),
        'expiry: ' || (j->0->'subscription'->'options'->>'expiry')" | tr '|' '\n' | sed 's/^/    /'
    say "the AMF notifies: meter-3 taken north twice, then home (one report per notification):"
    say "answers: $(amf_story "imsi-$METER3 001-01:0001 001-01:000B001" \
        "imsi-$METER3 001-01:0001 001-01:000B001" "imsi-$METER3 001-01:0001 001-01:000A003")"
    show_alerts
    step "Over Diameter, as real MMEs report: the HSS configuration (S6t) and a RIR (T6a)"
    local _ line ref out
    for _ in $(seq 1 100); do
        [ "$(grep -c ' result=2001$' "$HSS_RECORD" 2>/dev/null || true)" -ge 3 ] && break
        sleep 0.1
    done
    say "for each checked device locguard sent the HSS a Configuration-Information-Request:"
    say "LOCATION_REPORTING (type 2), current location to the cell, an SCEF-Reference-ID it allocated;"
    say "the HSS passes it to the serving MME. What hss-sim received (the IMSIs stay inside):"
    sed 's/imsi=[0-9]*/imsi=.../' "$HSS_RECORD" | sed 's/^/      /'
    say "the tracker is not configured: nobody subscribed to it"
    ref=$(awk -v u="imsi=$METER1" '$1 == "configure" && $2 == u && / result=2001$/ { r = substr($3, 5) }
        END { print r }' "$HSS_RECORD")
    [ -n "$ref" ] || die "the HSS holds no configuration for meter-1 (log: $LOG)"
    out=$("$BUILD/dia-sim" --identity mme-1 --realm demo --server locguard --server-realm demo \
        --connect "127.0.0.1:$DIA_PORT" --cert "$CERTS/dia-mme-1.pem" --key "$CERTS/dia-mme-1.key" \
        --ca "$CERTS/ca.pem" --timeout-s 10 "imsi=$METER1,ecgi=001-01:000A001,tai=001-01:0001,ref=$ref" \
        "imsi=$METER1,ecgi=001-01:000B001,ref=4000000000" 2>&1) || die "dia-sim: $out"
    say "mme-1 (dia-sim) -> locguard: a Reporting-Information-Request for meter-1 in 000A001 naming"
    say "reference $ref, and one naming a reference locguard never configured:"
    printf '%s\n' "$out" | sed 's/^/      /'
    say "2001: committed like an HTTP report; 5515 DIAMETER_ERROR_SCEF_REFERENCE_ID_UNKNOWN: nothing stored"


    step "Anonymized counts: who agreed to be counted"
    local i bid reports out bucket now release_at big tiny a1 a2 first
    for n in 1 2 3; do
        ctl consent grant "meter-$n@water.example" --purpose anonymous-statistics >/dev/null
    done
    say "the water utility lets its meters be counted: consent 'anonymous-statistics' for meter-1..3"
    for i in $(seq 1 "$BIKES"); do
        bid="bike-$i@bikes.example"
        ctl device add --supi "imsi-$(bike_supi "$i")" --external-id "$bid" --mobility unrestricted >/dev/null
        if [ "$i" -le "$BIKES_CONSENTING" ]; then
            ctl consent grant "$bid" --purpose anonymous-statistics >/dev/null
        fi
    done
    say "$BIKES city bikes bike-N@bikes.example, parked in cells 000A001 and 000A003;"
    say "$BIKES_CONSENTING of them consent to anonymous statistics, $((BIKES - BIKES_CONSENTING)) do not (never counted, nor is the tracker)"
    # A count needs cell coverage of at least half the area asked about (else
    # AREA_NOT_SUPPORTED); the three small cells cover little of the district.
    printf 'ecgi:001-01:000A000,EUTRA,"%s"\n' "$(rect_wkt 2.30 48.82 2.40 48.88)" >"$VAR/cells-macro.csv"
    ctl cell import "$VAR/cells-macro.csv" >/dev/null
    say "macro cell 000A000 covering all of riverside: counts are only given where there is coverage"

    step "The MME reports them all in one batch"
    # A release counts the devices whose latest report falls in its bucket
    # (one minute here): the batch must not straddle a minute boundary.
    if [ $(($(date +%s) % 60)) -ge 57 ]; then
        sleep $((60 - $(date +%s) % 60)).2
    fi
    reports=()
    reports+=("$(eutra_report $METER1 000A001)" "$(eutra_report $METER2 000A002)" "$(eutra_report $METER3 000A003)")
    for i in $(seq 1 "$BIKES"); do reports+=("$(eutra_report "$(bike_supi "$i")" "$(bike_cell "$i")")"); done
    (IFS=,; printf '{"notifyCorrelationId":"mme-1","reportList":[%s]}\n' "${reports[*]}") >"$VAR/count-batch.json"
    out=$(send_batch mme-1 "$VAR/count-batch.json")
    say "mme-1 -> locguard: ${#reports[@]} reports (3 meters, $BIKES bikes): $out"
    case $out in "HTTP 2"*) ;; *) die "the batch was not accepted (log: $LOG)" ;; esac
    now=$(date +%s)
    bucket=$((now / 60 * 60))
    release_at=$((bucket + 60 + 5))

    step "The daemon's noisy release of this minute"
    say "third parties never see live data: once per bucket ([counts] bucket_s = 60 here, an hour by"
    say "default) the daemon releases each cell's count of consenting devices through a continual"
    say "counter: a device's arrival in a cell is released once, with noise, and each device's privacy"
    say "loss is bounded over a year (lifetime epsilon 10); it answers only from those releases."
    say "the bucket $(date -u -d "@$bucket" +%H:%M)-$(date -u -d "@$((bucket + 60))" +%H:%M) UTC is released 5 s after it ends: waiting $((release_at - now)) s ..."
    until [ "$(sql "SELECT count(*) FROM count_release WHERE bucket_start = to_timestamp($bucket)")" = 1 ]; do
        [ "$(date +%s)" -lt $((release_at + 30)) ] || die "no release of bucket $bucket (log: $LOG)"
        [ -n "$(daemon_pid)" ] || die "locguard exited (log: $LOG)"
        sleep 1
    done
    say "released after $(($(date +%s) - now)) s; the daemon's log says:"
    grep 'counts: released bucket' "$LOG" | tail -n 1 | sed 's/^/      /'

    step "A third party (a mobility start-up) asks how many devices are around riverside"
    client_secret=$(ctl client add demo-app --scope region-device-count 2>/dev/null |
        awk '$1 == "clientSecret" { print $2 }')
    [ -n "$client_secret" ] || die "locguardctl client add demo-app printed no secret"
    say "locguardctl client add demo-app --scope region-device-count: an OAuth2 client for the"
    say "exposure zone (https://127.0.0.1:$EXPO_PORT), tied to no SCS and to no device"
    st=$(curl -sS --max-time 10 --cacert "$CERTS/ca.pem" -o "$VAR/count-token.json" -w '%{http_code}' \
        -u "demo-app:$client_secret" -d grant_type=client_credentials "https://127.0.0.1:$EXPO_PORT/oauth2/token")
    [ "$st" = 200 ] || die "the exposure zone's token endpoint answered $st: $(cat "$VAR/count-token.json")"
    token=$(jget "$(cat "$VAR/count-token.json")" "j->>'access_token'")
    say "POST /oauth2/token (client credentials) -> $st"
    big=$(camara_circle 48.85 2.35 3000)
    say "POST /regionDeviceCount/vwip/count  area: circle of 3 km around lat 48.85 lon 2.35"
    a1=$(third_party_count "$token" "$big")
    say "  -> $a1"
    first=$(jget "${a1#* }" "coalesce('a count of ' || (j->>'count'), j->>'status')")
    say "the same question again:"
    a2=$(third_party_count "$token" "$big")
    say "  -> $a2"
    if [ "${a1#* }" = "${a2#* }" ]; then
        say "the identical answer: both come from the same stored release, so asking again teaches nothing new"
    else
        say "a different answer: a new release was made between the two questions (one a minute here)"
    fi
    tiny=$(camara_circle 48.84 2.32 570)
    say "a tiny area: a circle of 570 m (about 1 km2, the smallest allowed) in cell 000A002, where only meter-2 is:"
    a1=$(third_party_count "$token" "$tiny")
    say "  -> $a1"
    case $a1 in
    *DENSITY_BELOW_PRIVACY_THRESHOLD*) say "below k = $COUNT_K: no count at all, so a small area cannot single out a device" ;;
    *) say "(the noise happened to lift this one above k = $COUNT_K: the answer is still noise, not meter-2)" ;;
    esac
    say "every question, its client, area and answer are in the audit log:"
    sql "SELECT actor || ' ' || action || ' -> ' || answer::text FROM audit_log
         WHERE actor_kind = 'third_party' ORDER BY id" | sed 's/^/      /'

    step "The operator asks for the exact count of the same circle"
    say "locguardctl count --circle 48.85,2.35,3000   (admin zone only; audited too)"
    ctl count --circle 48.85,2.35,3000 | sed 's/^/      /'
    say "3 meters + $BIKES_CONSENTING consenting bikes; the $((BIKES - BIKES_CONSENTING)) other bikes and the tracker are not counted"
    say "the third party was told $first instead: the same devices plus the release's noise"
    say "(a cell partly inside an area counts by its overlapped share); no identities, no exact numbers"

    step "Done. locguard keeps running (pid $(cat "$PIDFILE"))"
    say "try:  $BUILD/locguardctl --url http://127.0.0.1:$ADMIN_PORT --token-file $VAR/admin.token alert list"
    say "      $BUILD/locguardctl --url http://127.0.0.1:$ADMIN_PORT --token-file $VAR/admin.token metrics"
    say "      $BUILD/locguardctl --url http://127.0.0.1:$ADMIN_PORT --token-file $VAR/admin.token count --circle 48.85,2.35,3000"
    say "      cat $SINK_OUT        (what the SCS sink received)"
    say "(a release is made every minute, of the devices seen in the last week; each device pays its arrival once)"
    say "stop: make stop"
}

case ${1:-run} in
run) demo ;;
stop) stop ;;
*) die "usage: demo.sh [run|stop]" ;;
esac
