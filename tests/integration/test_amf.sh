# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# AMFs feed locguard as real ones do: locguard subscribes at the AMF
# (Namf_EventExposure over HTTP/2 with mutual TLS, amf-sim standing in for
# the AMF), and the AMF sends one report per notification with no
# Locguard-* header. The water-meter story of test_decisions.sh, fed this
# way, has the same outcomes. Every body locguard sent and every
# notification amf-sim sent is validated against TS29518_Namf_EventExposure.yaml
# (validate.mjs). A subscription lost at a restarted AMF is recreated; a
# restarted daemon resumes its subscription instead of making another.
# With supis_per_subscription = 2 (the last test), the devices are split
# over several subscriptions, each with its own correlation id; one
# provisioning change patches one of them, emptied ones are deleted.

A01=000A001 A02=000A002 B01=000B001 D01=000D001
TAI=001-01:0001

# The southbound zone on a port known before the daemon starts: it is the
# notifyUri locguard gives the AMF.
SOUTH_LISTEN=127.0.0.1:$("$LG_ROOT/tests/tools/free-port.sh")
AMF_DIR=$T/amf
mkdir -p "$AMF_DIR"

# start_amf: amf-sim on $T/amf.port (any free port the first time, the same
# one after), its state and the bodies it received in $AMF_DIR.
start_amf() {
    local port=0
    [ -s "$T/amf.port" ] && port=$(cat "$T/amf.port")
    rm -f "$T/amf.ready"
    timeout 600 "$BUILD/amf-sim" serve --listen "127.0.0.1:$port" --cert "$CERTS/server.pem" \
        --key "$CERTS/server.key" --ca "$CERTS/ca.pem" --dir "$AMF_DIR" \
        --ready-file "$T/amf.ready" 2>>"$T/amf.log" &
    echo $! >"$T/amf.pid"
    wait_for 10 "amf-sim to listen" test -s "$T/amf.ready"
    tr -dc '0-9' <"$T/amf.ready" >"$T/amf.port"
}

stop_amf() {
    [ -f "$T/amf.pid" ] || return 0
    kill -TERM "$(cat "$T/amf.pid")" 2>/dev/null || true
    wait "$(cat "$T/amf.pid")" 2>/dev/null || true
    rm -f "$T/amf.pid"
}

start_amf
trap stop_amf EXIT
CONF_EXTRA="[amf]
peer = amf-1 https://127.0.0.1:$(cat "$T/amf.port")
notify_uri = https://127.0.0.1:${SOUTH_LISTEN##*:}/v1/location-reports
nf_id = 3fa85f64-5717-4562-b3fc-2c963f66afa6
cert = $CERTS/nef.pem
key = $CERTS/nef.key
ca = $CERTS/ca.pem
expiry_s = 60
renew_before_s = 56
max_reports = 100000
poll_ms = 200
timeout_s = 5"

setup() {
    add_node amf-1 AMF
    add_node mme-1 MME
    add_area home 2.30 48.82 2.40 48.88
    add_cells "$(printf 'ecgi:001-01:%s,EUTRA,"%s"\n' \
        $A01 "$(rect_wkt 2.34 48.84 2.36 48.86)" \
        $A02 "$(rect_wkt 2.31 48.83 2.33 48.85)" \
        $B01 "$(rect_wkt 2.34 49.29 2.36 49.31)" \
        $D01 "$(rect_wkt 2.41 48.84 2.43 48.86)")"
    local i
    for i in $(seq 1 8); do
        add_device "meter-$i@water.example" "$(supi "$i")" fixed
        authorize "meter-$i@water.example" home
    done
    add_device tracker-1@fleet.example 001010000000200 unrestricted
    authorize tracker-1@fleet.example home
}

# supi N: meter N's IMSI digits.
supi() { printf '0010100000%05d' "$1"; }

# n_requests OP: how many OP requests (create, patch, delete) amf-sim received.
n_requests() { find "$AMF_DIR" -name "req-*-$1.json" | wc -l; }

# subs_json: what amf-sim holds now.
subs_json() { cat "$AMF_DIR/subscriptions.json" 2>/dev/null || echo '[]'; }

# n_subscribed: SUPIs in amf-sim's (one) subscription; 0 without one.
n_subscribed() {
    json "$(subs_json)" "coalesce(jsonb_array_length(j->0->'subscription'->'includeSupiList'), 0)"
}
subscribed_is() { [ "$(n_subscribed)" = "$1" ]; }

# story: "SUPI TAI CELL" lines on stdin to amf-sim notify; prints its output.
story() {
    "$BUILD/amf-sim" notify --dir "$AMF_DIR" --cert "$CERTS/amf-1.pem" --key "$CERTS/amf-1.key" \
        --ca "$CERTS/ca.pem" "$@" 2>>"$T/amf.log"
}

# at METER_N ECI...: one notification per cell, each answered 204.
at() {
    local n=$1 out
    shift
    out=$(for c in "$@"; do echo "imsi-$(supi "$n") $TAI 001-01:$c"; done | story) ||
        fail "amf-sim notify for meter-$n: $out"
    [ -z "$(echo "$out" | grep -v '^204$')" ] || fail "notifications for meter-$n answered: $out"
}

# validate FILE SCHEMA: FILE against SCHEMA of TS29518_Namf_EventExposure.yaml.
validate() {
    local out
    out=$(node "$LG_SPECS/validate.mjs" "$LG_SPECS/3gpp/TS29518_Namf_EventExposure.yaml" "$2" "$1" 2>&1) ||
        fail "$(basename "$1") against $2: $out: $(cat "$1")"
}

# validate_requests: every body locguard sent amf-sim, against its schema: a
# create is an AmfCreateEventSubscription, each item of a patch an
# AmfUpdateEventSubscriptionItem (/includeSupiList) or AmfUpdateEventOptionItem.
validate_requests() {
    local f i n=0 path
    for f in "$AMF_DIR"/req-*-create.json; do
        [ -f "$f" ] || continue
        validate "$f" AmfCreateEventSubscription
        n=$((n + 1))
    done
    for f in "$AMF_DIR"/req-*-patch.json; do
        [ -f "$f" ] || continue
        i=0
        while IFS= read -r item; do
            i=$((i + 1))
            printf '%s' "$item" >"$T/item.json"
            path=$(json "$item" "j->>'path'")
            case $path in
            /options/*) validate "$T/item.json" AmfUpdateEventOptionItem ;;
            *) validate "$T/item.json" AmfUpdateEventSubscriptionItem ;;
            esac
        done < <(json "$(cat "$f")" "jsonb_array_elements(j)")
        [ "$i" -ge 1 ] || fail "$(basename "$f"): an empty patch"
        n=$((n + 1))
    done
    [ "$n" -ge 1 ] || fail "no request body to validate"
}

test_locguard_subscribes_at_the_amf_with_a_valid_body() {
    # 8 meters and a tracker.
    wait_for 15 "a subscription naming the 9 devices" subscribed_is 9
    local sub corr
    sub=$(subs_json)
    assert_eq "1 LOCATION_REPORT true CONTINUOUS 100000" "$(json "$sub" "jsonb_array_length(j),
        j->0->'subscription'->'eventList'->0->>'type', j->0->'subscription'->>'anyUE',
        j->0->'subscription'->'options'->>'trigger', j->0->'subscription'->'options'->>'maxReports'" |
        tr '|' ' ')" "subscription: $sub"
    assert_eq "https://127.0.0.1:${SOUTH_LISTEN##*:}/v1/location-reports" \
        "$(json "$sub" "j->0->'subscription'->>'eventNotifyUri'")" "eventNotifyUri"
    corr=$(json "$sub" "j->0->'subscription'->>'notifyCorrelationId'")
    assert_match '^amf-1\.[0-9a-f]{8}$' "$corr" "notifyCorrelationId"
    assert_eq "$(json "$sub" "j->0->>'uri'") ${corr#amf-1.}" \
        "$(sql "SELECT sub_uri || ' ' || token FROM amf_subscription WHERE node = 'amf-1'")" \
        "the subscription recorded in amf_subscription"
    assert_eq 1 "$(metric locguard_amf_subscriptions)" "locguard_amf_subscriptions"
    validate_requests
}

test_water_meter_story_fed_by_the_amf_has_the_http1_outcomes() {
    wait_for 15 "the subscription" subscribed_is 9
    # At home: no alert.
    at 1 $A01 $A02
    assert_eq inside "$(decision meter-1@water.example)" "meter-1 decision"
    assert_eq 0 "$(alerts meter-1@water.example)" "meter-1 alerts"
    # Another town twice: exactly one "left".
    at 2 $A01 $B01
    assert_eq 0 "$(alerts meter-2@water.example)" "meter-2 alerts after one report away"
    at 2 $B01 $B01
    assert_eq 1 "$(alerts meter-2@water.example left)" "meter-2 left alerts"
    assert_eq 1 "$(alerts meter-2@water.example)" "meter-2 alerts"
    # Back home: exactly one "returned".
    at 3 $A01 $B01 $B01 $A01 $A02
    assert_eq "1 1 2" "$(alerts meter-3@water.example left) $(alerts meter-3@water.example returned) $(alerts meter-3@water.example)" \
        "meter-3 left, returned, all alerts"
    # In and out of the border: no storm.
    at 4 $A01 $D01 $A01 $D01 $A01 $D01 $A01
    assert_eq 0 "$(alerts meter-4@water.example)" "meter-4 alerts while flapping"
    # A tracker is never alerted on.
    local out
    out=$(printf 'imsi-001010000000200 %s 001-01:%s\n' "$TAI" $A01 "$TAI" $B01 "$TAI" $B01 "$TAI" $B01 |
        story) || fail "tracker notifications: $out"
    assert_eq 0 "$(alerts tracker-1@fleet.example)" "tracker alerts"
    assert_eq unchecked "$(decision tracker-1@fleet.example)" "tracker decision (location only recorded)"
    # A device nobody subscribed to is not sent by the AMF.
    assert_eq skip "$(echo "imsi-001010000099999 $TAI 001-01:$A01" | story)" "unsubscribed SUPI"
    # No node_batch row: the notifications carried no sequence number.
    assert_eq 0 "$(sql "SELECT count(*) FROM node_batch b JOIN network_node n ON n.id = b.node_id
                        WHERE n.name = 'amf-1'")" "replay window rows of amf-1"
    local f n=0
    for f in "$AMF_DIR"/notify-*.json; do
        validate "$f" AmfEventNotification
        n=$((n + 1))
    done
    [ "$n" -ge 20 ] || fail "only $n notifications validated"
}

test_retried_notification_is_counted_once() {
    wait_for 15 "the subscription" subscribed_is 9
    at 5 $A01
    # Sent three times, as an AMF retrying: one outside decision, not three
    # (three would have raised "left" with hysteresis 2).
    local out
    out=$(echo "imsi-$(supi 5) $TAI 001-01:$B01" | story --repeat 3) || fail "retries: $out"
    assert_eq "204 204 204" "$(echo $out)" "answers to the retries"
    assert_eq "outside 1" "$(sql "SELECT l.decision || ' ' || l.outside_streak FROM ue_location l
                                  JOIN ue u ON u.id = l.ue_id
                                  WHERE u.external_id = 'meter-5@water.example'")" "decision and streak"
    assert_eq 0 "$(alerts meter-5@water.example)" "alerts"
}

# notification METER_N ECI CORR: a header-less notification body.
notification() {
    printf '{"notifyCorrelationId":"%s","reportList":[%s]}' "$3" "$(eutra "$(supi "$1")" "$2")"
}

corr() { json "$(subs_json)" "j->0->'subscription'->>'notifyCorrelationId'"; }

test_nghttp_and_curl_http2_post_a_headerless_notification_and_get_204() {
    wait_for 15 "the subscription" subscribed_is 9
    local url="https://127.0.0.1:${SOUTH_LISTEN##*:}/v1/location-reports" out
    notification 6 $A01 "$(corr)" >"$T/n1.json"
    assert_eq "204 2" "$(curl_status --http2 --cacert "$CERTS/ca.pem" --cert "$CERTS/amf-1.pem" \
        --key "$CERTS/amf-1.key" -H 'Content-Type: application/json' --data-binary "@$T/n1.json" \
        -w '%{http_code} %{http_version}' "$url")" "curl --http2"
    notification 6 $A02 "$(corr)" >"$T/n2.json"
    out=$(nghttp -v --cert "$CERTS/amf-1.pem" --key "$CERTS/amf-1.key" \
        -H 'content-type: application/json' -d "$T/n2.json" "$url" 2>&1) || fail "nghttp: $out"
    assert_match ':status: 204' "$out" "nghttp's answer"
    notification 6 $A01 "$(corr)" >"$T/n3.json"
    assert_eq "204 1.1" "$(curl_status --http1.1 --cacert "$CERTS/ca.pem" --cert "$CERTS/amf-1.pem" \
        --key "$CERTS/amf-1.key" -H 'Content-Type: application/json' --data-binary "@$T/n3.json" \
        -w '%{http_code} %{http_version}' "$url")" "an HTTP/1.1 client"
    assert_eq inside "$(decision meter-6@water.example)" "meter-6 decision"
    # Locguard-Seq alone is half of the batching nodes' extension: refused.
    assert_eq 400 "$(curl_status --http2 --cacert "$CERTS/ca.pem" --cert "$CERTS/amf-1.pem" \
        --key "$CERTS/amf-1.key" -H 'Content-Type: application/json' -H 'Locguard-Seq: 7' \
        --data-binary "@$T/n3.json" "$url")" "Locguard-Seq without Locguard-Sent-At"
}

test_notification_of_no_live_subscription_is_refused() {
    wait_for 15 "the subscription" subscribed_is 9
    local out
    # Another token of this AMF: 404, as TS 29.500 has for a gone subscription.
    out=$(echo "imsi-$(supi 7) $TAI 001-01:$B01" | story --corr amf-1.00000000) || true
    assert_eq 404 "$out" "a stale correlation"
    # Another node's name from amf-1's certificate: 403.
    out=$(echo "imsi-$(supi 7) $TAI 001-01:$B01" | story --corr mme-1) || true
    assert_eq 403 "$out" "another node's name"
    out=$(echo "imsi-$(supi 7) $TAI 001-01:$B01" | story --corr mme-1.abcdef12) || true
    assert_eq 403 "$out" "another node's subscription"
    assert_eq "" "$(decision meter-7@water.example)" "meter-7 stored nothing"
    notification 7 $B01 amf-1.00000000 >"$T/n4.json"
    assert_eq 404 "$(curl_status --http2 --cacert "$CERTS/ca.pem" --cert "$CERTS/amf-1.pem" \
        --key "$CERTS/amf-1.key" -H 'Content-Type: application/json' --data-binary "@$T/n4.json" \
        "https://127.0.0.1:${SOUTH_LISTEN##*:}/v1/location-reports")" "curl, stale correlation"
    assert_match '^application/problem\+json' "$(header Content-Type)" "content type"
    body >"$T/problem.json"
    out=$(node "$LG_SPECS/validate.mjs" "$LG_SPECS/3gpp/TS29571_CommonData.yaml" ProblemDetails \
        "$T/problem.json" 2>&1) || fail "ProblemDetails: $out"
}

test_provisioning_a_device_updates_the_subscription() {
    wait_for 15 "the subscription" subscribed_is 9
    local creates
    creates=$(n_requests create)
    add_device meter-9@water.example "$(supi 9)" fixed
    wait_for 15 "meter-9 in the subscription" subscribed_is 10
    assert_eq "$creates" "$(n_requests create)" "subscriptions created"
    assert_eq t "$(json "$(subs_json)" "j->0->'subscription'->'includeSupiList' ? 'imsi-$(supi 9)'")" \
        "meter-9's SUPI"
    admin_ok DELETE /v1/devices/meter-9@water.example
    wait_for 15 "meter-9 out of the subscription" subscribed_is 9
    validate_requests
}

test_subscription_lost_at_a_restarted_amf_is_recreated() {
    wait_for 15 "the subscription" subscribed_is 9
    local before
    before=$(json "$(subs_json)" "j->0->>'uri'")
    stop_amf
    start_amf
    assert_eq 0 "$(json "$(subs_json)" "jsonb_array_length(j)")" "subscriptions at the restarted AMF"
    # The next renewal (every 4 s here) gets 404, and a new subscription follows.
    wait_for 20 "the subscription made again" subscribed_is 9
    assert_ne "$before" "$(json "$(subs_json)" "j->0->>'uri'")" "the new subscription's URI"
    wait_for 10 "the new URI recorded" sh -c "[ \"\$(psql '$(conninfo_for "$DB")' -XAtqc \"SELECT sub_uri FROM amf_subscription\")\" = '$(json "$(subs_json)" "j->0->>'uri'")' ]"
    at 8 $A01
    assert_eq inside "$(decision meter-8@water.example)" "a notification of the new subscription"
    validate_requests
}

test_no_device_left_deletes_the_subscription_and_the_next_makes_one() {
    wait_for 15 "the subscription" subscribed_is 9
    local i deletes
    deletes=$(n_requests delete)
    for i in $(seq 1 8); do admin_ok DELETE "/v1/devices/meter-$i@water.example"; done
    admin_ok DELETE /v1/devices/tracker-1@fleet.example
    wait_for 15 "no subscription at the AMF" sh -c "grep -q '^\[\]\$' '$AMF_DIR/subscriptions.json'"
    assert_eq $((deletes + 1)) "$(n_requests delete)" "DELETEs sent"
    assert_eq "" "$(sql "SELECT sub_uri FROM amf_subscription WHERE node = 'amf-1'")" "recorded"
    wait_for 5 "locguard_amf_subscriptions 0" metric_is locguard_amf_subscriptions 0
    # A notification in flight for the deleted subscription: 404.
    notification 8 $A01 "$(sql "SELECT 'amf-1.' || token FROM amf_subscription")" >"$T/n5.json"
    assert_eq 404 "$(curl_status --http2 --cacert "$CERTS/ca.pem" --cert "$CERTS/amf-1.pem" \
        --key "$CERTS/amf-1.key" -H 'Content-Type: application/json' --data-binary "@$T/n5.json" \
        "https://127.0.0.1:${SOUTH_LISTEN##*:}/v1/location-reports")" \
        "a notification of the deleted subscription"
    for i in $(seq 1 8); do
        add_device "meter-$i@water.example" "$(supi "$i")" fixed
        authorize "meter-$i@water.example" home
    done
    add_device tracker-1@fleet.example 001010000000200 unrestricted
    wait_for 15 "a new subscription naming the 9 devices" subscribed_is 9
    wait_for 5 "locguard_amf_subscriptions 1" metric_is locguard_amf_subscriptions 1
}

# Last: it restarts the daemon.
test_restarted_daemon_resumes_its_subscription() {
    wait_for 15 "the subscription" subscribed_is 9
    local creates uri
    creates=$(n_requests create)
    uri=$(json "$(subs_json)" "j->0->>'uri'")
    kill_daemon
    start_daemon
    # Several polls and a renewal later: the same subscription, no new one.
    sleep 6
    assert_eq "$creates" "$(n_requests create)" "subscriptions created"
    assert_eq "$uri" "$(json "$(subs_json)" "j->0->>'uri'")" "the subscription's URI"
    at 8 $A02
    assert_eq inside "$(decision meter-8@water.example)" "a notification after the restart"
}

# n_subs: how many subscriptions amf-sim holds.
n_subs() { json "$(subs_json)" "jsonb_array_length(j)"; }

# n_subscribed_all: SUPIs over all of amf-sim's subscriptions.
n_subscribed_all() {
    json "$(subs_json)" "coalesce((SELECT sum(jsonb_array_length(e->'subscription'->'includeSupiList'))
                                   FROM jsonb_array_elements(j) e), 0)"
}

# subs_are N M: amf-sim holds N subscriptions naming M SUPIs in all.
subs_are() { [ "$(n_subs)" = "$1" ] && [ "$(n_subscribed_all)" = "$2" ]; }

# n_list_patches: the PATCHes that replaced a list (not renewals).
n_list_patches() { grep -l includeSupiList "$AMF_DIR"/req-*-patch.json 2>/dev/null | wc -l; }

# Last: it restarts the daemon with 2 SUPIs per subscription.
test_devices_are_split_into_subscriptions_of_supis_per_subscription() {
    wait_for 15 "the subscription" subscribed_is 9
    local uri0 creates deletes patches corr
    uri0=$(json "$(subs_json)" "j->0->>'uri'")
    # The daemon running may be the one an earlier test started (in its subshell).
    # shellcheck disable=SC2034 # read by kill_daemon (lib.sh)
    DAEMON_PID=$(cat "$T/daemon.pid")
    kill_daemon
    CONF_EXTRA="$CONF_EXTRA
supis_per_subscription = 2"
    start_daemon
    # 9 devices, 2 a subscription: 5 subscriptions, the old one kept as chunk 0.
    wait_for 20 "5 subscriptions naming the 9 devices" subs_are 5 9
    assert_eq 2 "$(json "$(subs_json)" "(SELECT max(jsonb_array_length(e->'subscription'->'includeSupiList'))
                                         FROM jsonb_array_elements(j) e)")" "the largest list"
    assert_eq "$uri0" "$(sql "SELECT sub_uri FROM amf_subscription WHERE node = 'amf-1' AND chunk = 0")" \
        "chunk 0 is the subscription made before"
    assert_eq 5 "$(json "$(subs_json)" "(SELECT count(DISTINCT e->'subscription'->>'notifyCorrelationId')
                                         FROM jsonb_array_elements(j) e)")" "a correlation id each"
    wait_for 5 "locguard_amf_subscriptions 5" metric_is locguard_amf_subscriptions 5

    # Four devices removed: their two chunks empty, their subscriptions deleted.
    deletes=$(n_requests delete)
    local i
    for i in 5 6 7 8; do admin_ok DELETE "/v1/devices/meter-$i@water.example"; done
    wait_for 15 "3 subscriptions naming 5 devices" subs_are 3 5
    assert_eq $((deletes + 2)) "$(n_requests delete)" "DELETEs sent"
    wait_for 5 "locguard_amf_subscriptions 3" metric_is locguard_amf_subscriptions 3

    # One device removed, one provisioned: one PATCH of one chunk each, no create.
    creates=$(n_requests create)
    patches=$(n_list_patches)
    admin_ok DELETE /v1/devices/meter-3@water.example
    wait_for 15 "meter-3 out" subs_are 3 4
    assert_eq $((patches + 1)) "$(n_list_patches)" "list PATCHes for one device removed"
    add_device meter-9@water.example "$(supi 9)" fixed
    authorize meter-9@water.example home
    wait_for 15 "meter-9 in" subs_are 3 5
    assert_eq $((patches + 2)) "$(n_list_patches)" "list PATCHes for one device provisioned"
    assert_eq "$creates" "$(n_requests create)" "subscriptions created"
    # meter-9 took meter-3's place, beside meter-4.
    assert_eq '["imsi-001010000000004", "imsi-001010000000009"]' \
        "$(json "$(subs_json)" "(SELECT e->'subscription'->'includeSupiList' FROM jsonb_array_elements(j) e
                                 WHERE e->'subscription'->'includeSupiList' ? 'imsi-$(supi 9)')")" \
        "meter-9's chunk"

    # The water-meter story through that chunk's correlation id.
    at 9 $A01 $A02
    assert_eq inside "$(decision meter-9@water.example)" "meter-9 decision"
    corr=$(sql "SELECT 'amf-1.' || s.token FROM amf_subscription s JOIN amf_chunk_member m
                ON m.chunk = s.chunk WHERE s.node = 'amf-1' AND m.imsi = '$(supi 9)'")
    assert_eq "$corr" "$(json "$(cat "$(ls "$AMF_DIR"/notify-*.json | sort | tail -1)")" \
        "j->>'notifyCorrelationId'")" "the notification's correlation id"
    at 9 $B01 $B01
    assert_eq 1 "$(alerts meter-9@water.example left)" "meter-9 left alerts"
    at 1 $A01
    assert_eq inside "$(decision meter-1@water.example)" "meter-1 through chunk 0"

    # A restarted daemon resumes the three.
    creates=$(n_requests create)
    kill_daemon
    start_daemon
    sleep 3
    assert_eq "$creates" "$(n_requests create)" "subscriptions created after a restart"
    subs_are 3 5 || fail "after a restart: $(n_subs) subscriptions, $(n_subscribed_all) SUPIs"

    # A restarted AMF: each chunk's renewal gets 404 and that chunk is made
    # again, with its correlation id.
    local corrs
    corrs=$(sql "SELECT string_agg(token, ' ' ORDER BY token) FROM amf_subscription
                 WHERE node = 'amf-1' AND sub_uri IS NOT NULL")
    stop_amf
    start_amf
    wait_for 20 "the 3 subscriptions made again" subs_are 3 5
    assert_eq "$creates" "$(($(n_requests create) - 3))" "subscriptions created after the AMF's restart"
    assert_eq "$corrs" "$(json "$(subs_json)" "(SELECT string_agg(substr(e->'subscription'->>'notifyCorrelationId', 7),
                                                 ' ' ORDER BY substr(e->'subscription'->>'notifyCorrelationId', 7))
                                                 FROM jsonb_array_elements(j) e)")" \
        "their correlation ids"
    at 1 $A02
    assert_eq inside "$(decision meter-1@water.example)" "a notification after the AMF's restart"
    validate_requests
}
