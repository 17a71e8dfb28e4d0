# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# The canary scan (issue 3): the SUPI, the MSISDN and the Local Group ID are
# the operator's own identifiers and must appear in no northbound answer, no
# notification, no log line at info level or above and no metric. Canary
# values are provisioned, then everything is driven: tokens, subscriptions
# by External ID and by External Group ID (created, read, listed, replaced,
# deleted, refused, malformed), movement alerts, test notifications,
# deliveries that fail and are retried, a 410, a consent revocation, reports
# from an unknown SUPI. Every byte the northbound zone answered, every
# request the sinks received, the daemon's log (at info, as in production)
# and /metrics are then searched for the canaries. The admin zone's device
# view is the operator's own and exempt: it is the positive control showing
# that the values were provisioned and that the search finds them.

LOG_LEVEL=info
CONF_DELIVERY='max_backoff_s = 1'

A01=000A001 B01=000B001
CANARY_SUPI=001019876543210
CANARY_MSISDN=15551234567
CANARY_LOCAL_GROUP=LOCALGRP-CANARY-7731
# A SUPI nobody provisioned, reported by the MME: it must not be logged either.
CANARY_UNKNOWN_SUPI=001019876543299
OTHER_SUPI=001010000000042
GROUP=canary-fleet@water.example

setup() {
    add_node mme-1 MME
    add_area home 2.30 48.82 2.40 48.88
    add_cells "$(printf 'ecgi:001-01:%s,EUTRA,"%s"\n' \
        $A01 "$(rect_wkt 2.34 48.84 2.36 48.86)" $B01 "$(rect_wkt 2.34 49.29 2.36 49.31)")"
    ctl device add --supi "imsi-$CANARY_SUPI" --msisdn "msisdn-$CANARY_MSISDN" \
        --external-id canary-1@water.example --mobility fixed >/dev/null
    add_device other-1@water.example $OTHER_SUPI fixed
    authorize canary-1@water.example home
    authorize other-1@water.example home
    add_scs scs-c --allow-private
    add_client client-c scs-c
    ctl group add "$GROUP" --local-id "$CANARY_LOCAL_GROUP" >/dev/null
    ctl group member add "$GROUP" canary-1@water.example >/dev/null
    ctl group member add "$GROUP" other-1@water.example >/dev/null
    ctl grant scs-c --device canary-1@water.example >/dev/null
    ctl grant scs-c --group "$GROUP" >/dev/null
    ctl consent grant canary-1@water.example --purpose location-monitoring >/dev/null
    ctl consent grant other-1@water.example --purpose location-monitoring >/dev/null
}

# nb METHOD PATH [BODY]: `north`, keeping every answer (headers and body)
# in $T/north.all for the scan.
nb() {
    local st
    st=$(north "$@")
    cat "$T/resp.headers" "$T/resp.body" >>"$T/north.all" 2>/dev/null || true
    echo "$st"
}

# keep: adds the last response to $T/north.all.
keep() { cat "$T/resp.headers" "$T/resp.body" >>"$T/north.all" 2>/dev/null || true; }

# at SUPI ECI: one report from mme-1, accepted.
at() { send_ok mme-1 "$(batch mme-1 "$(eutra "$1" "$2")")"; }
leave() {
    at "$1" $A01
    at "$1" $B01
    at "$1" $B01
}

# canaries: the values searched for, one per line (SUPI and MSISDN with and
# without their prefixes; the Local Group ID in any case).
canaries() {
    printf '%s\n' "$CANARY_SUPI" "$CANARY_MSISDN" "$CANARY_LOCAL_GROUP" "$CANARY_UNKNOWN_SUPI"
}

# scan FILE...: fails, naming the file and the line, when any canary occurs.
scan() {
    local f hits
    for f in "$@"; do
        [ -f "$f" ] || fail "nothing to scan: $f is missing"
        hits=$(canaries | grep -n -i -F -f - "$f" | head -n 5 || true)
        [ -z "$hits" ] || fail "a canary in $(basename "$f"): $hits"
    done
}

test_drive_everything() {
    local id gid st
    # Tokens: a good one and a refused one.
    token_request client-c "$(cat "$T/client.client-c.secret")" >/dev/null
    keep
    token_request client-c wrong >/dev/null
    keep
    login client-c
    keep
    start_sink one scs-c --fail-first 2
    start_sink group scs-c
    start_sink revoc scs-c

    # By External ID, with a test notification and a revocation URI.
    st=$(nb POST "$(subs_path scs-c)" "$(sub_body externalId canary-1@water.example "$(sink_url one)" \
        "\"requestTestNotification\":true,\"revocationNotifUri\":\"$(sink_url revoc revocation)\"")")
    assert_eq 201 "$st" "subscription by External ID: $(body)"
    id=$(header Location | sed 's#.*/##')
    # By External Group ID.
    st=$(nb POST "$(subs_path scs-c)" "$(sub_body externalGroupId "$GROUP" "$(sink_url group)" \
        '"requestTestNotification":true,"accuracy":"TA_RA"')")
    assert_eq 201 "$st" "subscription by External Group ID: $(body)"
    gid=$(header Location | sed 's#.*/##')
    assert_eq 200 "$(nb GET "$(subs_path scs-c "$id")")" "GET one"
    assert_eq 200 "$(nb GET "$(subs_path scs-c "$gid")")" "GET the group subscription"
    assert_eq 200 "$(nb GET "$(subs_path scs-c)")" "GET list"
    assert_eq 200 "$(nb PUT "$(subs_path scs-c "$gid")" "$(sub_body externalGroupId "$GROUP" "$(sink_url group)" \
        '"maximumNumberOfReports":50')")" "PUT the group subscription"
    # Refusals and errors of every kind.
    assert_eq 403 "$(nb POST "$(subs_path scs-c)" "$(sub_body externalId other-1@water.example "$(sink_url one)")")" \
        "no grant for other-1 alone"
    assert_eq 403 "$(nb POST "$(subs_path scs-c)" "$(sub_body externalGroupId nogroup@water.example "$(sink_url one)")")" \
        "unknown group"
    assert_eq 400 "$(nb POST "$(subs_path scs-c)" '{"externalId":"canary-1@water.example"}')" "malformed"
    assert_eq 400 "$(nb POST "$(subs_path scs-c)" '{not json')" "not JSON"
    assert_eq 400 "$(nb POST "$(subs_path scs-c)" "$(sub_body externalId canary-1@water.example http://127.0.0.1/x)")" \
        "http destination"
    assert_eq 404 "$(nb GET "$(subs_path scs-c nosuchsub)")" "unknown subscription"
    assert_eq 403 "$(nb GET "$(subs_path scs-other)")" "another SCS's subscriptions"
    assert_eq 401 "$(NORTH_TOKEN=bad nb GET "$(subs_path scs-c)")" "bad token"

    # Alerts (left and returned) for both devices, a report from an unknown
    # SUPI, deliveries (the first two attempts of each failing).
    leave $CANARY_SUPI
    leave $OTHER_SUPI
    at $CANARY_SUPI $A01
    send mme-1 "$(batch mme-1 "$(eutra $CANARY_UNKNOWN_SUPI $A01)")" >/dev/null
    wait_for 30 "test notification and two alerts at sink one" sink_count_is one 9
    wait_for 30 "test notification and three alerts at sink group" sink_count_is group 4
    assert_eq 3 "$(grep -c '"status":204' "$T/sink.one.jsonl")" "deliveries accepted at sink one"
    assert_eq 200 "$(nb GET "$(subs_path scs-c "$id")")" "GET one after the alerts"

    # A consent revocation: the revocation notification.
    ctl consent revoke canary-1@water.example --purpose location-monitoring >/dev/null
    wait_for 15 "the revocation notifications" sink_count_is revoc 1
    assert_eq 204 "$(nb DELETE "$(subs_path scs-c "$gid")")" "DELETE the group subscription"
    assert_eq 404 "$(nb GET "$(subs_path scs-c "$id")")" "GET the revoked subscription"

    # A 410 from an SCS ends a subscription.
    ctl consent grant canary-1@water.example --purpose location-monitoring >/dev/null
    start_sink gone scs-c --status 410
    st=$(nb POST "$(subs_path scs-c)" "$(sub_body externalId canary-1@water.example "$(sink_url gone)")")
    assert_eq 201 "$st" "subscription to the 410 sink: $(body)"
    leave $CANARY_SUPI
    wait_for 15 "the 410" sink_count_is gone 1
    curl -sS --max-time 10 -H "Authorization: Bearer $(cat "$T/admin.token")" \
        "http://127.0.0.1:$ADMIN_PORT/metrics" >"$T/metrics.txt"
    stop_sinks
}

test_the_canaries_appear_in_no_answer_notification_log_or_metric() {
    # Positive control: the operator's own view shows them, and scan finds them.
    ctl device show canary-1@water.example >"$T/admin.view"
    ! scan "$T/admin.view" 2>/dev/null || fail "the canaries are not in the admin view: the scan is blind"
    scan "$T/north.all" "$T/metrics.txt" "$DAEMON_LOG" "$T"/sink.*.jsonl
    # The daemon's log right now (after everything above was flushed) and
    # the metrics after the scan.
    curl -sS --max-time 10 -H "Authorization: Bearer $(cat "$T/admin.token")" \
        "http://127.0.0.1:$ADMIN_PORT/metrics" >"$T/metrics2.txt"
    scan "$T/metrics2.txt"
    assert_ne 0 "$(grep -c . "$T/north.all")" "northbound answers recorded"
}
