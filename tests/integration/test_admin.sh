# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# The admin zone: the bearer token, health and readiness, the metrics the
# operator scrapes, geometry validation, and locguardctl driving the
# provisioning API end to end (node, device, area, authorization, cell
# import, then a report away twice and the alert in `alert list`), and its
# exit statuses: not found, conflict, usage, refused input, daemon down.

# ctl ARGS...: locguardctl against this file's daemon.
ctl() {
    "$BUILD/locguardctl" --url "http://127.0.0.1:$ADMIN_PORT" --token-file "$T/admin.token" "$@"
}

# /healthz is left out on purpose: the daemon answers liveness probes
# without a token (it reveals nothing but "ok").
test_requests_without_the_token_get_401() {
    local p
    for p in /readyz /metrics /v1/alerts /v1/devices/meter-1@water.example; do
        assert_eq 401 "$(curl_status "http://127.0.0.1:$ADMIN_PORT$p")" "GET $p without a token"
        assert_eq 401 "$(curl_status -H 'Authorization: Bearer wrong' "http://127.0.0.1:$ADMIN_PORT$p")" \
            "GET $p with a wrong token"
    done
    assert_eq 401 "$(curl_status -X POST -H 'Content-Type: application/json' \
        --data-binary '{"name":"evil-1","kind":"MME"}' "http://127.0.0.1:$ADMIN_PORT/v1/nodes")" \
        "POST /v1/nodes without a token"
    assert_eq 0 "$(sql "SELECT count(*) FROM network_node WHERE name = 'evil-1'")" "node created"
}

test_health_and_readiness() {
    assert_eq 200 "$(admin GET /healthz)" "healthz"
    assert_eq 200 "$(admin GET /readyz)" "readyz"
}

test_metrics_name_every_series() {
    local m text
    assert_eq 200 "$(admin GET /metrics)" "status"
    assert_match '^text/plain' "$(header Content-Type)" "content type"
    text=$(body)
    for m in locguard_reports_total locguard_reports_refused_total locguard_decisions_total \
        locguard_unknown_devices_total locguard_tls_handshake_failures_total locguard_alerts_total locguard_batch_reports \
        locguard_db_roundtrip_seconds locguard_ingest_queue_reports; do
        # A here-string, not a pipe: grep -q leaves at its first match, and
        # under pipefail a printf still writing would fail the test (SIGPIPE).
        grep -Eq "^# TYPE $m (counter|gauge|histogram)\$" <<<"$text" ||
            fail "no '# TYPE $m' in /metrics"
    done
}

# refused_area NAME GEOMETRY REASON_REGEX: PUT /v1/areas/NAME must answer
# 400 with a problem whose text matches REASON_REGEX, and store nothing.
refused_area() {
    assert_eq 400 "$(admin PUT "/v1/areas/$1" "{\"geometry\":$2}")" "PUT area $1"
    assert_match '^application/problem\+json' "$(header Content-Type)" "content type for $1"
    grep -Eiq "$3" <<<"$(body)" || fail "area $1: reason /$3/ not in $(body)"
    assert_eq 0 "$(sql "SELECT count(*) FROM area WHERE name = '$1'")" "area $1 stored"
}

test_invalid_geometry_is_refused_with_the_reason() {
    refused_area bowtie '{"type":"Polygon","coordinates":[[[2.30,48.82],[2.40,48.88],[2.40,48.82],[2.30,48.88],[2.30,48.82]]]}' \
        'self.?intersect'
    refused_area open-ring '{"type":"Polygon","coordinates":[[[2.30,48.82],[2.40,48.82],[2.40,48.88],[2.30,48.88]]]}' \
        'closed|open|ring'
    refused_area out-of-range '{"type":"Polygon","coordinates":[[[2.30,88.82],[2.40,88.82],[2.40,95.0],[2.30,88.82]]]}' \
        'range|latitude'
    refused_area empty '{"type":"Polygon","coordinates":[]}' 'empty'
    refused_area point '{"type":"Point","coordinates":[2.35,48.85]}' 'Polygon|MultiPolygon|type'
    # And a valid MultiPolygon goes in.
    admin_ok PUT /v1/areas/two-parts "{\"geometry\":{\"type\":\"MultiPolygon\",\"coordinates\":[[$(rect_ring 2.30 48.82 2.32 48.84)],[$(rect_ring 2.35 48.85 2.37 48.87)]]}}"
    assert_eq 2 "$(sql "SELECT ST_NumGeometries(geom) FROM area WHERE name = 'two-parts'")" "parts stored"
}

test_locguardctl_provisions_end_to_end() {
    local out
    ctl --help >"$T/help.txt" || fail "locguardctl --help failed"

    ctl node add mme-1 --kind MME >/dev/null
    assert_eq "MME true" "$(sql "SELECT kind || ' ' || enabled FROM network_node WHERE name = 'mme-1'")" "node"

    ctl device add --supi imsi-001010000000042 --external-id meter-42@water.example --mobility fixed >/dev/null
    assert_eq "001010000000042 fixed" "$(sql "SELECT imsi || ' ' || mobility FROM ue
                                              WHERE external_id = 'meter-42@water.example'")" "device"

    printf '{"type":"Polygon","coordinates":[%s]}\n' "$(rect_ring 2.30 48.82 2.40 48.88)" >"$T/home.geojson"
    ctl area add home-42 --geojson "$T/home.geojson" >/dev/null
    assert_eq 1 "$(sql "SELECT count(*) FROM area WHERE name = 'home-42'
                        AND ST_Covers(geom, ST_SetSRID(ST_MakePoint(2.35, 48.85), 4326))")" "area"

    ctl authorize meter-42@water.example home-42 >/dev/null
    assert_eq 1 "$(sql "SELECT count(*) FROM ue_area ua JOIN ue u ON u.id = ua.ue_id
                        JOIN area a ON a.id = ua.area_id
                        WHERE u.external_id = 'meter-42@water.example' AND a.name = 'home-42'")" "authorization"

    # One cell as a polygon, one as a site and a radius.
    {
        printf 'ecgi:001-01:000A042,EUTRA,"%s"\n' "$(rect_wkt 2.34 48.84 2.36 48.86)"
        printf 'ecgi:001-01:000B042,EUTRA,2.35,49.30,500\n'
    } >"$T/cells.csv"
    ctl cell import "$T/cells.csv" >/dev/null
    assert_eq 2 "$(sql "SELECT count(*) FROM cell WHERE cell_key LIKE 'ecgi:001-01:000_042'")" "cells"
    assert_eq t "$(sql "SELECT ST_Covers(coverage, ST_SetSRID(ST_MakePoint(2.35, 49.30), 4326))
                        AND NOT ST_Covers(coverage, ST_SetSRID(ST_MakePoint(2.35, 49.32), 4326))
                        FROM cell WHERE cell_key = 'ecgi:001-01:000B042'")" "site + 500 m radius coverage"

    send_ok mme-1 "$(batch mme-1 "$(eutra 001010000000042 000A042)")"
    send_ok mme-1 "$(batch mme-1 "$(eutra 001010000000042 000B042)")"
    send_ok mme-1 "$(batch mme-1 "$(eutra 001010000000042 000B042)")"
    out=$(ctl alert list --device meter-42@water.example)
    assert_match 'left' "$out" "alert list"
    assert_match 'meter-42@water.example' "$out" "alert list"
    out=$(ctl --json alert list --device meter-42@water.example)
    assert_eq "1 left" "$(json "$out" "jsonb_array_length(j), j->0->>'kind'" | tr '|' ' ')" "alert list --json"
}

test_locguardctl_fails_on_a_refused_request() {
    printf '{"type":"Polygon","coordinates":[[[2.30,48.82],[2.40,48.82]]]}\n' >"$T/bad.geojson"
    if ctl area add broken --geojson "$T/bad.geojson" >"$T/ctl.out" 2>&1; then
        fail "locguardctl exited 0 for an invalid area: $(cat "$T/ctl.out")"
    fi
    assert_eq 0 "$(sql "SELECT count(*) FROM area WHERE name = 'broken'")" "area stored"
}

# ctl_rc ARGS...: runs locguardctl, its stdout in $T/ctl.out and stderr in
# $T/ctl.err; prints its exit status.
ctl_rc() {
    local rc=0
    ctl "$@" >"$T/ctl.out" 2>"$T/ctl.err" || rc=$?
    echo "$rc"
}

test_locguardctl_exit_status_says_not_found() {
    assert_eq 3 "$(ctl_rc node remove no-such-node)" "node remove of an unknown node"
    assert_eq 3 "$(ctl_rc device show nobody@nowhere.example)" "device show of an unknown device"
    # --json: the daemon's problem as it sent it, on stdout.
    assert_eq 3 "$(ctl_rc --json node remove no-such-node)" "--json node remove"
    assert_eq "404|RESOURCE_NOT_FOUND|node no-such-node not found" \
        "$(json "$(cat "$T/ctl.out")" "j->>'status', j->>'cause', j->>'detail'")" "--json problem"
    assert_match 'not found' "$(cat "$T/ctl.err")" "message on stderr"
}

test_node_add_is_idempotent_and_a_different_kind_conflicts() {
    assert_eq 0 "$(ctl_rc node add mme-idem --kind MME)" "first node add"
    assert_eq 0 "$(ctl_rc node add mme-idem --kind MME)" "the same node add again"
    assert_eq 1 "$(sql "SELECT count(*) FROM network_node WHERE name = 'mme-idem'")" "rows"
    assert_eq 4 "$(ctl_rc node add mme-idem --kind AMF)" "node add with another kind"
    assert_eq 4 "$(ctl_rc --json node add mme-idem --kind SGSN)" "--json node add with another kind"
    assert_eq "409|RESOURCE_CONFLICT|node mme-idem already exists with kind MME" \
        "$(json "$(cat "$T/ctl.out")" "j->>'status', j->>'cause', j->>'detail'")" "--json conflict problem"
    assert_eq "MME true" "$(sql "SELECT kind || ' ' || enabled FROM network_node WHERE name = 'mme-idem'")" \
        "node after the refused adds"
}

test_locguardctl_usage_error_exits_2_and_sends_nothing() {
    assert_eq 2 "$(ctl_rc node add --kind MME)" "node add without a name"
    assert_eq 2 "$(ctl_rc node add usage-1 --kind HSS)" "node add with a bad kind"
    assert_eq 2 "$(ctl_rc --json node frobnicate)" "--json unknown verb"
    assert_eq "400|INVALID_USAGE" "$(json "$(cat "$T/ctl.out")" "j->>'status', j->>'cause'")" \
        "--json usage problem"
    assert_eq 0 "$(sql "SELECT count(*) FROM network_node WHERE name = 'usage-1'")" "node created"
}

test_locguardctl_refused_input_exits_1() {
    printf '{"type":"Polygon","coordinates":[[[2.30,48.82],[2.40,48.82]]]}\n' >"$T/open.geojson"
    assert_eq 1 "$(ctl_rc --json area add open-1 --geojson "$T/open.geojson")" "invalid area"
    assert_eq 400 "$(json "$(cat "$T/ctl.out")" "j->>'status'")" "--json problem status"
    assert_eq 1 "$(ctl_rc area add open-1 --geojson "$T/no-such-file.geojson")" "unreadable file"
}

# Last in this file: it kills the daemon (run.sh's stop_daemon knows).
test_locguardctl_exits_5_when_the_daemon_is_down() {
    kill_daemon
    assert_eq 5 "$(ctl_rc node list)" "node list with the daemon down"
    assert_eq 5 "$(ctl_rc health)" "health with the daemon down"
    assert_eq 5 "$(ctl_rc --json node list)" "--json node list with the daemon down"
    assert_eq "503|DAEMON_UNREACHABLE" "$(json "$(cat "$T/ctl.out")" "j->>'status', j->>'cause'")" \
        "--json local problem"
    assert_match 'cannot reach' "$(cat "$T/ctl.err")" "message on stderr"
}
