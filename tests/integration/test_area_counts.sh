# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# T8 NUMBER_OF_UES_IN_AN_AREA (issue 4, last bullet of "The privacy
# filter"), end to end over HTTPS to the real daemon and real scs-sink
# processes: the per-SCS area-counts permission (the same 403 as every T8
# refusal without it), an immediate report whose ueCount is the CAMARA
# exposure zone's answer for the same area over the same release and which
# names no device, k suppression (no notification, no outbox row), periodic
# reports sent only when due, and `locguardctl scs deny-area-counts` ending
# the subscription.
#
# Releases are stored directly with lg_counts_store_release, as in
# test_counts.sh: the one the reports read is for a bucket in 2100 ([counts]
# bucket_s is one day here), so a release the daemon might make while the
# file runs is never "the latest".
#
# This file writes its own configuration: lib.sh's, plus a [counts] section
# and an exposure zone (to ask the CAMARA API the same question).

# Cells: a 3x3 grid of 0.02 x 0.02 degree cells, south-west corner 2.30 E
# 48.80 N; cell (i, j) is column i, row j, key ecgi:001-01:00002ij.
CELL_LON0=2.30
CELL_LAT0=48.80
CELL_D=0.02
COUNT_K=10

# lib.sh's daemon, plus the [counts] settings and an exposure zone to ask
# the same question.
ZONES="south admin north expo"
CONF_EXTRA="[counts]
bucket_s = 86400
epsilon = 1/2
daily_epsilon = 12
k = $COUNT_K
min_area_m2 = 1000000
max_area_m2 = 50000000000
rate_per_minute = 600

[zone expo]
kind = exposure
listen = 127.0.0.1:0
cert = $CERTS/server.pem
key = $CERTS/server.key"

# ---------------------------------------------------------------- helpers

cell_key() { printf 'ecgi:001-01:00002%d%d' "$1" "$2"; }
# gad_circle LAT LON RADIUS_M: a TS 29.572 POINT_UNCERTAINTY_CIRCLE.
gad_circle() {
    printf '{"shape":"POINT_UNCERTAINTY_CIRCLE","point":{"lat":%s,"lon":%s},"uncertainty":%s}' "$1" "$2" "$3"
}

# camara_circle LAT LON RADIUS_M: the same circle as a CAMARA Area.
camara_circle() {
    printf '{"areaType":"CIRCLE","center":{"latitude":%s,"longitude":%s},"radius":%s}' "$1" "$2" "$3"
}

# area_body GAD DESTINATION MORE_MEMBERS: a NUMBER_OF_UES_IN_AN_AREA subscription.
area_body() {
    printf '{"monitoringType":"NUMBER_OF_UES_IN_AN_AREA","notificationDestination":"%s","locationArea":{"geographicAreas":[%s]},%s}' \
        "$2" "$1" "$3"
}

# expo_count BODY: POSTs a CAMARA count request with the app's token; prints the status.
expo_count() {
    local st tok
    st=$(curl_status --cacert "$CERTS/ca.pem" -u "app:$(cat "$T/client.app.secret")" -X POST \
        -H 'Content-Type: application/x-www-form-urlencoded' \
        --data-binary grant_type=client_credentials "https://127.0.0.1:$EXPO_PORT/oauth2/token")
    [ "$st" = 200 ] || { fail "exposure token answered $st: $(body)"; return 1; }
    tok=$(json "$(body)" "j->>'access_token'")
    printf '%s' "$1" >"$T/expo.req.json"
    curl_status --cacert "$CERTS/ca.pem" -X POST -H 'Content-Type: application/json' \
        -H "Authorization: Bearer $tok" --data-binary "@$T/expo.req.json" \
        "https://127.0.0.1:$EXPO_PORT/regionDeviceCount/vwip/count"
}

# outbox_rows SUBID: how many outbox rows the subscription has, any status.
outbox_rows() {
    sql "SELECT count(*) FROM notification_outbox o JOIN subscription s ON s.id = o.subscription_id
         WHERE s.sub_id = '$1'"
}

# no_identity LINE: the recorded request names no device anywhere.
no_identity() {
    local raw
    raw=$(json "$1" "(j->'body')::text")
    case $raw in
    *externalId* | *msisdn* | *supi* | *imsi* | *externalGroupId* | *gpsi* | *@area.example*)
        fail "the notification names a device: $raw"
        ;;
    esac
}

# The circle over cells (0,0) and (1,0): centre on their shared edge.
BIG_LAT=48.81
BIG_LON=2.32
BIG_R=1500
# A circle well inside cell (2,2), which holds 3 (< k) in the release.
SMALL_LAT=48.85
SMALL_LON=2.35
SMALL_R=700

setup() {
    local i j box out reports=()
    add_node mme-1 MME
    add_cells "$(for i in 0 1 2; do for j in 0 1 2; do
        read -r box <<<"$(cell_box "$i" "$j")"
        # shellcheck disable=SC2086
        printf '%s,EUTRA,"%s"\n' "$(cell_key "$i" "$j")" "$(rect_wkt $box)"
    done; done)"
    # Devices with identities a leaking report could carry.
    for i in 1 2 3; do
        add_device "ac-$i@area.example" "$(printf '0010188%08d' "$i")" unrestricted
        ctl consent grant "ac-$i@area.example" --purpose anonymous-statistics >/dev/null
        reports+=("$(eutra "$(printf '0010188%08d' "$i")" 0000200)")
    done
    send_ok mme-1 "$(batch mme-1 "${reports[@]}")"
    add_scs scs-area --allow-private
    add_scs scs-plain --allow-private
    add_client client-area scs-area
    add_client client-plain scs-plain
    # An exposure-zone client (no SCS), to ask the CAMARA API.
    out=$(ctl client add app --scope region-device-count 2>/dev/null) || fail "client add app failed"
    printf '%s\n' "$out" | awk '$1 == "clientSecret" { print $2 }' >"$T/client.app.secret"
    [ -s "$T/client.app.secret" ] || fail "client add app printed no clientSecret: $out"
    ctl scs allow-area-counts scs-area >/dev/null || fail "allow-area-counts failed"
    [ "$(store_release 2100-01-01T00:00Z 2100-01-02T00:00Z \
        "$(cell_key 0 0)=14 $(cell_key 1 0)=9 $(cell_key 0 1)=-2 $(cell_key 2 2)=3")" = t ]
}

# ---------------------------------------------------------------- tests

test_scs_without_the_permission_gets_the_one_refusal() {
    local st ref
    login client-plain
    # The reference refusal: a device the SCS holds no grant for.
    st=$(north POST "$(subs_path scs-plain)" \
        "$(sub_body externalId ac-1@area.example https://127.0.0.1:1/n)")
    assert_eq 403 "$st" "LOCATION_REPORTING without a grant: $(body)"
    ref=$(body)
    st=$(north POST "$(subs_path scs-plain)" "$(area_body "$(gad_circle $BIG_LAT $BIG_LON $BIG_R)" \
        https://127.0.0.1:1/n '"immediateRep":true,"maximumNumberOfReports":1')")
    assert_eq 403 "$st" "NUMBER_OF_UES_IN_AN_AREA without the permission: $(body)"
    assert_eq "$ref" "$(body)" "the refusal's body is the one of any refusal"
    assert_eq 0 "$(sql "SELECT count(*) FROM subscription s JOIN scs k ON k.id = s.scs_id
                        WHERE k.scs_as_id = 'scs-plain'")" "no subscription stored"
}

test_immediate_report_is_the_camara_count_and_names_no_device() {
    local st id line want
    st=$(expo_count "{\"area\":$(camara_circle $BIG_LAT $BIG_LON $BIG_R)}")
    assert_eq 200 "$st" "CAMARA count of the circle: $(body)"
    want=$(json "$(body)" "j->>'count'")
    assert_match '^[0-9]+$' "$want" "CAMARA count"
    [ "$want" -ge "$COUNT_K" ] || fail "the CAMARA count $want is below k: the test needs one above"

    login client-area
    start_sink imm scs-area
    id=$(subscribe scs-area "$(area_body "$(gad_circle $BIG_LAT $BIG_LON $BIG_R)" "$(sink_url imm)" \
        '"immediateRep":true,"maximumNumberOfReports":1')")
    wait_for 15 "one notification at the sink" sink_count_is imm 1
    sleep 2
    assert_eq 1 "$(sink_count imm)" "requests at the sink 2 s later"
    line=$(sink_line imm 1)
    assert_eq "true 204 /notify" "$(json "$line" "j->>'signatureValid', j->>'status', j->>'path'" | tr '|' ' ')" \
        "signature, answer, path"
    assert_eq "$PUBLIC_URL$(subs_path scs-area "$id")" "$(json "$line" "j->'body'->>'subscription'")" \
        "subscription link"
    assert_eq "1 NUMBER_OF_UES_IN_AN_AREA $want" \
        "$(json "$line" "jsonb_array_length(j->'body'->'monitoringEventReports'),
                         j->'body'->'monitoringEventReports'->0->>'monitoringType',
                         j->'body'->'monitoringEventReports'->0->'uePerLocationReport'->>'ueCount'" | tr '|' ' ')" \
        "the report's ueCount is the CAMARA answer"
    assert_match '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$' \
        "$(json "$line" "j->'body'->'monitoringEventReports'->0->>'eventTime'")" "eventTime (RFC 3339, UTC)"
    assert_eq t "$(json "$line" "(j->'body'->'monitoringEventReports'->0->>'eventTime')::timestamptz
                                 = '2100-01-02T00:00:00Z'")" "eventTime is the end of the release's bucket"
    no_identity "$line"
    assert_eq "delivered:area-count" "$(outbox_status "$id")" "outbox"
    assert_eq "ended MAX_REPORTS" "$(sub_status "$id")" "one report of one: ended"
}

test_count_below_k_sends_nothing() {
    local st id
    st=$(expo_count "{\"area\":$(camara_circle $SMALL_LAT $SMALL_LON $SMALL_R)}")
    assert_eq 200 "$st" "CAMARA count of the small circle: $(body)"
    assert_eq "DENSITY_BELOW_PRIVACY_THRESHOLD -" \
        "$(json "$(body)" "j->>'status', coalesce(j->>'count', '-')" | tr '|' ' ')" "CAMARA answer below k"

    login client-area
    start_sink low scs-area
    id=$(subscribe scs-area "$(area_body "$(gad_circle $SMALL_LAT $SMALL_LON $SMALL_R)" "$(sink_url low)" \
        '"immediateRep":true,"maximumNumberOfReports":1')")
    sleep 3
    assert_eq 0 "$(sink_count low)" "requests at the sink"
    assert_eq 0 "$(outbox_rows "$id")" "outbox rows of the suppressed report"
    assert_eq "ended COMPLETED 0" "$(sql "SELECT status || ' ' || ended_reason || ' ' || reports_sent
                                         FROM subscription WHERE sub_id = '$id'")" \
        "a one-time subscription ends after its suppressed report, none counted"
    assert_eq 1 "$(sql "SELECT count(*) FROM audit_log WHERE action = 't8-number-of-ues-in-an-area'
                        AND request->>'subscriptionId' = '$id'")" "the suppressed query is audited"
}

test_periodic_report_only_when_due_and_deny_ends_it() {
    local id exp next
    login client-area
    start_sink per scs-area
    exp=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
    id=$(subscribe scs-area "$(area_body "$(gad_circle $BIG_LAT $BIG_LON $BIG_R)" "$(sink_url per)" \
        "\"immediateRep\":true,\"repPeriod\":60,\"monitorExpireTime\":\"$exp\"")")
    wait_for 15 "the immediate report" sink_count_is per 1
    assert_eq "active -" "$(sub_status "$id")" "status after the immediate report"
    assert_eq t "$(sql "SELECT next_report_at BETWEEN now() + interval '50 s' AND now() + interval '61 s'
                        FROM subscription WHERE sub_id = '$id'")" "next report one period ahead"
    # Several ticks of the 1 s timer: nothing is due yet.
    sleep 3
    assert_eq 1 "$(sink_count per)" "requests before the period is over"
    assert_eq 1 "$(outbox_rows "$id")" "outbox rows before the period is over"

    # The period is over (moved, rather than waited for).
    sql "UPDATE subscription SET next_report_at = now() - interval '1 second' WHERE sub_id = '$id'" >/dev/null
    wait_for 15 "the periodic report" sink_count_is per 2
    assert_eq "$(json "$(sink_line per 1)" "j->'body'")" "$(json "$(sink_line per 2)" "j->'body'")" \
        "the periodic report is the immediate one again (same release)"
    no_identity "$(sink_line per 2)"
    next=$(sql "SELECT next_report_at > now() + interval '50 s' FROM subscription WHERE sub_id = '$id'")
    assert_eq t "$next" "next_report_at moved one period past now"
    sleep 3
    assert_eq 2 "$(sink_count per)" "requests 3 s after the periodic report"
    assert_eq "delivered:area-count delivered:area-count" "$(outbox_status "$id")" "outbox"

    # Revoking the service ends the subscription; nothing more is sent.
    ctl scs deny-area-counts scs-area >/dev/null || fail "deny-area-counts failed"
    assert_eq "ended SERVICE_REVOKED" "$(sub_status "$id")" "status after deny-area-counts"
    assert_eq "" "$(sql "SELECT next_report_at FROM subscription WHERE sub_id = '$id'")" "no next report"
    sql "UPDATE subscription SET next_report_at = now() - interval '1 second' WHERE sub_id = '$id'" >/dev/null
    sleep 3
    assert_eq 2 "$(sink_count per)" "requests after deny-area-counts"
    assert_eq 404 "$(north GET "$(subs_path scs-area "$id")")" "GET the ended subscription"
    # And a new one is refused with the one refusal.
    assert_eq 403 "$(north POST "$(subs_path scs-area)" "$(area_body "$(gad_circle $BIG_LAT $BIG_LON $BIG_R)" \
        "$(sink_url per)" '"immediateRep":true,"maximumNumberOfReports":1')")" "subscribing after deny"
}
