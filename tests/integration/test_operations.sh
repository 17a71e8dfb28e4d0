# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# What an operator scrapes and reads: the /metrics exposition (checked by
# promtool, Prometheus's own checker), locguard_db_errors_total left alone by
# bad requests, locguard_tls_handshake_failures_total counting only failed
# handshakes (once each), requests by zone and status class, build_info,
# and log lines (here "[daemon] log_format = json") that name the zone and
# the peer and keep identifiers out of info level.

CONF_EXTRA="[daemon]
log_format = json"

setup() {
    add_node mme-1 MME
    add_area home 2.30 48.82 2.40 48.88
    add_cells "$(printf 'ecgi:001-01:000A001,EUTRA,"%s"\n' "$(rect_wkt 2.34 48.84 2.36 48.86)")"
    add_device meter-1@water.example 001010000000001 fixed
    authorize meter-1@water.example home
}

# requests ZONE CLASS: locguard_http_requests_total of the zone and class.
requests() { metric "locguard_http_requests_total{zone=\"$1\",code=\"$2\"}"; }

HS=locguard_tls_handshake_failures_total

# handshakes_stay N: the failure counter is N now and still N a moment later
# (a second count of the same connection would come after its first).
handshakes_stay() {
    wait_for 10 "$HS to reach $1" metric_is "$HS" "$1"
    sleep 0.5
    assert_eq "$1" "$(metric "$HS")" "$HS"
}

# daemon_json JQ_FILTER: the daemon's JSON log lines that pass JQ_FILTER.
daemon_json() { jq -cR "fromjson? | select($1)" "$T/daemon.log"; }

# has_log_line JQ_FILTER: some JSON line of the daemon passes it; for wait_for.
has_log_line() { [ -n "$(daemon_json "$1")" ]; }

test_bad_admin_requests_are_not_database_errors() {
    local before
    before=$(requests admin 4xx)
    assert_eq 0 "$(metric locguard_db_errors_total)" "database errors before"
    # A unique violation (23505 -> 409), raised refusals (22023 -> 400),
    # not found (P0002 -> 404): the operator's typos, not the database's failures.
    assert_eq 409 "$(admin POST /v1/nodes '{"name":"mme-1","kind":"AMF"}')" \
        "node added again with another kind"
    assert_eq 400 "$(admin POST /v1/nodes '{"name":"mme-9","kind":"FAX"}')" "bad node kind"
    assert_eq 400 "$(admin PUT /v1/areas/bowtie \
        '{"geometry":{"type":"Polygon","coordinates":[[[2.30,48.82],[2.40,48.88],[2.40,48.82],[2.30,48.88],[2.30,48.82]]]}}')" \
        "self-intersecting area"
    assert_eq 404 "$(admin GET /v1/devices/nobody@water.example)" "unknown device"
    assert_eq 404 "$(admin DELETE /v1/nodes/mme-404)" "unknown node"
    assert_eq 404 "$(admin PUT /v1/devices/meter-1@water.example/areas/nowhere)" "unknown area"
    assert_eq 0 "$(metric locguard_db_errors_total)" "database errors after six bad requests"
    assert_eq $((before + 6)) "$(requests admin 4xx)" "admin 4xx answers"
}

test_requests_are_counted_by_zone_and_status_class() {
    local ok bad
    ok=$(requests southbound 2xx)
    bad=$(requests southbound 4xx)
    send_ok mme-1 "$(batch mme-1 "$(eutra 001010000000001 000A001)")"
    send_ok mme-1 "$(batch mme-1 "$(eutra 001010000000001 000A001)")"
    assert_eq 400 "$(south mme-1 "$(next_seq mme-1)" '{}')" "an empty batch"
    assert_eq $((ok + 2)) "$(requests southbound 2xx)" "southbound 2xx"
    assert_eq $((bad + 1)) "$(requests southbound 4xx)" "southbound 4xx"
    assert_eq 0 "$(requests southbound 5xx)" "southbound 5xx"
}

test_build_info_names_the_version() {
    local v
    v=$(sed -n 's/^#define LG_VERSION "\(.*\)"$/\1/p' "$LG_ROOT/include/locguard/core/version.h")
    [ -n "$v" ] || fail "no LG_VERSION in version.h"
    assert_eq 1 "$(metric "locguard_build_info{version=\"$v\"}")" "build_info"
}

test_a_finished_handshake_dropped_without_close_notify_is_not_a_failure() {
    local before pid i
    before=$(metric "$HS")
    # s_client completes the mutual-TLS handshake and waits on a FIFO we hold
    # open; then it is killed: the connection ends with a FIN and no
    # close_notify, as a crashed node's does.
    mkfifo "$T/s_client.in"
    openssl s_client -connect "127.0.0.1:$SOUTH_PORT" -CAfile "$CERTS/ca.pem" \
        -cert "$CERTS/mme-1.pem" -key "$CERTS/mme-1.key" <"$T/s_client.in" >"$T/s_client.out" 2>&1 &
    pid=$!
    exec 3>"$T/s_client.in"
    for i in $(seq 100); do
        grep -q '^Verify return code: 0' "$T/s_client.out" && break
        sleep 0.1
    done
    sleep 0.3 # the server has read the client's Finished by now
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    exec 3>&-
    grep -q '^Verify return code: 0' "$T/s_client.out" ||
        fail "s_client did not complete its handshake: $(cat "$T/s_client.out")"
    # A TCP check (connect, close, nothing sent) had no handshake to fail.
    exec 5<>"/dev/tcp/127.0.0.1/$SOUTH_PORT"
    exec 5>&-
    # And curl, which completes its handshakes too.
    for i in 1 2 3; do
        assert_eq 405 "$(curl_status --cacert "$CERTS/ca.pem" --cert "$CERTS/mme-1.pem" \
            --key "$CERTS/mme-1.key" "https://127.0.0.1:$SOUTH_PORT/v1/location-reports")" "curl $i"
    done
    handshakes_stay "$before"
}

test_failed_handshakes_count_once_each() {
    local before
    before=$(metric "$HS")
    # No client certificate on the mutual-TLS zone.
    assert_eq 000 "$(curl_status --cacert "$CERTS/ca.pem" "https://127.0.0.1:$SOUTH_PORT/v1/location-reports")" \
        "without a certificate"
    handshakes_stay $((before + 1))
    # A certificate from a CA the zone does not trust.
    assert_eq 000 "$(curl_status --cacert "$CERTS/ca.pem" --cert "$CERTS/rogue-mme-1.pem" \
        --key "$CERTS/rogue-mme-1.key" "https://127.0.0.1:$SOUTH_PORT/v1/location-reports")" \
        "rogue certificate"
    handshakes_stay $((before + 2))
    # Plain HTTP to a TLS port: no alert is sent for it, but it is a failed handshake.
    curl_status "http://127.0.0.1:$SOUTH_PORT/v1/location-reports" >/dev/null
    handshakes_stay $((before + 3))
}

test_southbound_refusal_log_names_the_zone_and_the_node() {
    local st
    # A stale Locguard-Sent-At (400) from mme-1, and a batch from mme-2, which
    # has a certificate but is not provisioned (403 from the database).
    st=$(SENT_AT=2020-01-01T00:00:00Z south mme-1 "$(next_seq mme-1)" \
        "$(batch mme-1 "$(eutra 001010000000001 000A001)")")
    assert_eq 400 "$st" "stale batch"
    assert_eq 403 "$(south mme-2 1 "$(batch mme-2 "$(eutra 001010000000001 000A001)")")" \
        "unprovisioned node"
    wait_for 5 "the refusal of mme-1 in the log" has_log_line \
        '.zone == "southbound" and .peer == "mme-1" and .level == "info" and (.msg | test("refused with 400"))'
    wait_for 5 "the refusal of mme-2 in the log" has_log_line \
        '.zone == "southbound" and .peer == "mme-2" and (.msg | test("refused with 403"))'
    # Every line has the five fields, and a timestamp in RFC 3339.
    assert_eq 0 "$(daemon_json '(has("ts") and has("level") and has("zone") and has("peer") and has("msg") and (.ts | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$"))) | not' | wc -l)" \
        "JSON lines without the five fields"
}

test_no_identifiers_above_debug() {
    # The SUPI and the External ID went through the daemon in every test above.
    assert_eq 0 "$(daemon_json '.level != "debug"' | grep -c -e 001010000000001 -e meter-1@water.example || true)" \
        "info lines with the SUPI or the External ID"
}

test_metrics_exposition_passes_promtool() {
    assert_eq 200 "$(admin GET /metrics)" "metrics"
    promtool check metrics <"$T/resp.body" >"$T/promtool.out" 2>&1 ||
        fail "promtool check metrics: $(cat "$T/promtool.out")"
}
