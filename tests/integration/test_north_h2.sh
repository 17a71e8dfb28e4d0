# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Webhooks through the HTTP client (service/core/httpc.c, libcurl): HTTP/2
# when the SCS offers it, HTTP/1.1 otherwise, no redirect followed, private
# destinations refused by name as by address.
#
# The HTTP/2 sink is nghttpd (Debian's nghttp2-server) with --echo-upload:
# it speaks HTTP/2 only (a client that falls back to HTTP/1.1 gets nothing
# from it), answers a POST with 200 and the body, and with -v logs every
# frame and header it receives, each line prefixed with its connection
# ("[id=1]") and stream. The HTTP/1.1 sinks are scs-sink.
#
# SCS "scs-h2" may use private (loopback) destinations; "scs-strict" may
# not. Both hold a grant and consent for meter-1; every notification here is
# a subscription's test notification (requestTestNotification).

CONF_DELIVERY='max_backoff_s = 1'

setup() {
    add_device meter-1@water.example 001010000000001 fixed
    add_scs scs-h2 --allow-private
    add_scs scs-strict
    add_client client-h2 scs-h2
    add_client client-strict scs-strict
    local scs
    for scs in scs-h2 scs-strict; do
        ctl grant "$scs" --device meter-1@water.example >/dev/null
        ctl consent grant meter-1@water.example --purpose location-monitoring --scs "$scs" >/dev/null
    done
}

# listening PORT: something listens on 127.0.0.1:PORT (for wait_for).
listening() { ss -ltnH "sport = :$1" | grep -q .; }

# start_h2_sink NAME: nghttpd on a free port with the harness's server
# certificate; its frame log in $T/h2.NAME.log, its port in $T/h2.NAME.port.
start_h2_sink() {
    local port
    port=$("$LG_ROOT/tests/tools/free-port.sh")
    timeout 600 nghttpd -v -a 127.0.0.1 --echo-upload -d "$T" "$port" \
        "$CERTS/server.key" "$CERTS/server.pem" >"$T/h2.$1.log" 2>&1 &
    echo $! >"$T/h2.$1.pid"
    echo "$port" >"$T/h2.$1.port"
    trap 'stop_h2_sinks; stop_sinks' EXIT
    wait_for 10 "nghttpd $1 to listen" listening "$port"
}

# stop_h2_sinks: every nghttpd this file started.
stop_h2_sinks() {
    local f
    for f in "$T"/h2.*.pid; do
        [ -f "$f" ] || continue
        kill -TERM "$(cat "$f")" 2>/dev/null || true
        wait "$(cat "$f")" 2>/dev/null || true
        rm -f "$f"
    done
}

# h2_url NAME [PATH]: the sink's https URL.
h2_url() { printf 'https://127.0.0.1:%s/%s' "$(cat "$T/h2.$1.port")" "${2:-notify}"; }

# h2_posts NAME [PATH]: the POSTs nghttpd NAME received (to PATH).
h2_posts() {
    local n
    if [ -n "${2:-}" ]; then
        n=$(grep -c ":path: /$2\$" "$T/h2.$1.log" || true)
    else
        n=$(grep -c ':method: POST$' "$T/h2.$1.log" || true)
    fi
    echo "${n:-0}"
}

# sub_with_test SCSASID DESTINATION: a subscription for meter-1 with a test
# notification to DESTINATION, made with the SCS's client; prints its id.
sub_with_test() {
    login "client-${1#scs-}"
    subscribe "$1" "$(sub_body externalId meter-1@water.example "$2" '"requestTestNotification":true')"
}

# row SUBID COLUMNS: the subscription's test notification row, as psql prints COLUMNS.
row() {
    sql "SELECT $2 FROM notification_outbox WHERE kind = 'test'
         AND subscription_id = (SELECT id FROM subscription WHERE sub_id = '$1')"
}

# row_is SUBID COLUMNS VALUE: for wait_for.
row_is() { [ "$(row "$1" "$2")" = "$3" ]; }

# ---------------------------------------------------------------- tests

test_webhook_goes_over_http2_when_the_sink_offers_it() {
    local id nid conns
    start_h2_sink h2
    id=$(sub_with_test scs-h2 "$(h2_url h2)")
    wait_for 15 "the test notification delivered over HTTP/2" row_is "$id" status delivered
    assert_eq "delivered|200|1" "$(row "$id" "status || '|' || last_status || '|' || attempts")" \
        "the row: delivered at the first attempt, answered 200"
    assert_eq 1 "$(h2_posts h2)" "POSTs at the HTTP/2 sink"
    nid=$(row "$id" notif_id)
    grep -q "webhook-id: $nid\$" "$T/h2.h2.log" || fail "no webhook-id $nid in the HTTP/2 sink's log"
    grep -q 'webhook-signature: v1,' "$T/h2.h2.log" || fail "no webhook-signature over HTTP/2"
    grep -q 'content-type: application/json$' "$T/h2.h2.log" || fail "no JSON content type over HTTP/2"
    grep -q 'user-agent: locguard$' "$T/h2.h2.log" || fail "no locguard user agent over HTTP/2"
    # Four more: streams of the same kept-alive HTTP/2 connection.
    local i
    for i in 1 2 3 4; do
        id=$(sub_with_test scs-h2 "$(h2_url h2)")
    done
    wait_for 15 "five POSTs at the HTTP/2 sink" eval '[ "$(h2_posts h2)" = 5 ]'
    conns=$(grep ':method: POST$' "$T/h2.h2.log" | grep -o '^\[id=[0-9]*\]' | sort -u | wc -l)
    assert_eq 1 "$conns" "HTTP/2 connections the five notifications came over"
    grep -q '(stream_id=9) :method: POST$' "$T/h2.h2.log" ||
        fail "the fifth notification is not stream 9 of that connection: $(grep ':method: POST$' "$T/h2.h2.log")"
}

test_http11_sink_still_gets_webhooks() {
    local id line
    start_sink h1 scs-h2
    id=$(sub_with_test scs-h2 "$(sink_url h1)")
    wait_for 15 "the test notification at the HTTP/1.1 sink" sink_count_is h1 1
    line=$(sink_line h1 1)
    assert_eq true "$(json "$line" "j->>'signatureValid'")" "signature over HTTP/1.1"
    wait_for 10 "the row delivered" row_is "$id" status delivered
}

test_redirect_is_not_followed() {
    local id before
    start_h2_sink elsewhere
    start_sink redirect scs-h2 --status 302 --location "$(h2_url elsewhere elsewhere)"
    # start_sink set its own EXIT trap: the HTTP/2 sink must be stopped too.
    trap 'stop_h2_sinks; stop_sinks' EXIT
    before=$(metric 'locguard_delivery_dead_ends_total{reason="redirect"}')
    id=$(sub_with_test scs-h2 "$(sink_url redirect)")
    wait_for 30 "the redirected row to fail" row_is "$id" status failed
    assert_eq "5|302|HTTP 302 (redirects are not followed)" \
        "$(row "$id" "attempts || '|' || last_status || '|' || last_error")" "five attempts, then failed"
    assert_eq 5 "$(sink_count redirect)" "requests at the redirecting sink"
    sleep 1
    assert_eq 0 "$(h2_posts elsewhere)" "POSTs at the redirect's target"
    assert_eq $((before + 1)) "$(metric 'locguard_delivery_dead_ends_total{reason="redirect"}')" \
        "dead ends: redirect"
}

test_private_destinations_are_refused_by_name_and_by_address() {
    local port id url
    start_sink strict scs-strict
    port=$(cat "$T/sink.strict.port")
    # localhost resolves to loopback only; [::1] and 127.0.0.1 are loopback literals.
    for url in "https://localhost:$port/notify" "https://[::1]:$port/notify" \
        "https://127.0.0.1:$port/notify"; do
        id=$(sub_with_test scs-strict "$url")
        wait_for 15 "the row to $url to be refused" row_is "$id" status failed
        assert_eq "1||destination not allowed" \
            "$(row "$id" "attempts || '|' || coalesce(last_status::text, '') || '|' || last_error")" \
            "the row to $url"
    done
    sleep 1
    assert_eq 0 "$(sink_count strict)" "requests at the private destination"
}
