# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Movement alerts to the SCS/AS, end to end (issue 3, "Must show"): OAuth2
# client credentials on the northbound zone, T8 MonitoringEvent
# subscriptions, per-device grants and consent, groups, and signed, durable
# webhook delivery to scs-sink processes standing in for the SCS.
#
# The geography of test_decisions.sh: the authorized area "home" is the box
# 2.30..2.40 x 48.82..48.88; cell A01 is inside it, B01 in a town 50 km
# north. Hysteresis is 2, so two reports in B01 after one in A01 make one
# "left" alert, and one report back in A01 makes one "returned" alert.
#
# SCS "scs-a" (loopback destinations allowed, client "client-a") holds a
# location-monitoring grant and a consent for every meter except meter-2
# (no grant) and meter-3 (flagged "do not monitor"). SCS "scs-strict" (no
# --allow-private) may monitor meter-11 but its loopback sink must never be
# contacted. Each test uses its own meters and its own sinks; retries are
# bounded to at most 1 s apart (max_backoff_s) so the tests stay short.

CONF_DELIVERY='max_backoff_s = 1'

A01=000A001 B01=000B001
GROUP=fleet-a@water.example
LOCAL_GROUP=LOCALGRP-FLEET-A-0042

setup() {
    add_node mme-1 MME
    add_area home 2.30 48.82 2.40 48.88
    add_cells "$(printf 'ecgi:001-01:%s,EUTRA,"%s"\n' \
        $A01 "$(rect_wkt 2.34 48.84 2.36 48.86)" $B01 "$(rect_wkt 2.34 49.29 2.36 49.31)")"
    local i
    for i in $(seq 1 25); do
        if [ "$i" = 3 ]; then
            ctl device add --supi "imsi-$(supi 3)" --external-id meter-3@water.example \
                --mobility fixed --no-monitoring >/dev/null
        else
            add_device "meter-$i@water.example" "$(supi "$i")" fixed
        fi
        authorize "meter-$i@water.example" home
    done
    add_scs scs-a --allow-private
    add_scs scs-b --allow-private
    add_scs scs-strict
    add_client client-a scs-a
    add_client client-b scs-b
    add_client client-strict scs-strict
    add_client client-noscope scs-a other-scope
    for i in $(seq 1 25); do
        [ "$i" = 2 ] && continue
        ctl grant scs-a --device "meter-$i@water.example" >/dev/null
        ctl consent grant "meter-$i@water.example" --purpose location-monitoring --scs scs-a >/dev/null
    done
    ctl grant scs-strict --device meter-11@water.example >/dev/null
    ctl consent grant meter-11@water.example --purpose location-monitoring >/dev/null
    # scs-b holds a grant but no consent for meter-1.
    ctl grant scs-b --device meter-1@water.example >/dev/null
    ctl group add "$GROUP" --local-id "$LOCAL_GROUP" >/dev/null
    ctl group member add "$GROUP" meter-6@water.example >/dev/null
    ctl group member add "$GROUP" meter-7@water.example >/dev/null
    ctl grant scs-a --group "$GROUP" >/dev/null
}

# supi N: the SUPI digits of meter-N.
supi() { printf '0010100000%05d' "$1"; }

# at N ECI: meter N reported by mme-1 in E-UTRA cell ECI, accepted.
at() { send_ok mme-1 "$(batch mme-1 "$(eutra "$(supi "$1")" "$2")")"; }

# leave N: meter N at home, then twice away: exactly one "left" alert.
leave() {
    at "$1" $A01
    at "$1" $B01
    at "$1" $B01
}

# sub_for N DESTINATION [MORE]: scs-a subscribes to meter-N; prints the id.
sub_for() {
    subscribe scs-a "$(sub_body externalId "meter-$1@water.example" "$2" "${3:-}")"
}

# field LINE EXPR: a jq-like look into one recorded sink line.
field() { json "$1" "$2"; }

# no_more NAME N SECONDS: the sink still holds exactly N requests after SECONDS.
no_more() {
    sleep "$3"
    assert_eq "$2" "$(sink_count "$1")" "requests at sink $1 after ${3}s more"
}

test_token_endpoint_client_credentials() {
    local st
    st=$(token_request client-a "$(cat "$T/client.client-a.secret")")
    assert_eq 200 "$st" "token with the right secret: $(body)"
    assert_eq "Bearer monitoring-event t" \
        "$(json "$(body)" "j->>'token_type', j->>'scope', (j->>'expires_in')::int > 0" | tr '|' ' ')" \
        "token answer"
    assert_match '^no-store' "$(header Cache-Control)" "Cache-Control"
    # Client authentication in the form body works too.
    st=$(curl_status --cacert "$CERTS/ca.pem" -X POST \
        --data-urlencode grant_type=client_credentials --data-urlencode client_id=client-a \
        --data-urlencode "client_secret=$(cat "$T/client.client-a.secret")" \
        "https://127.0.0.1:$NORTH_PORT/oauth2/token")
    assert_eq 200 "$st" "token with client_secret in the body: $(body)"

    st=$(token_request client-a "wrong-$(cat "$T/client.client-a.secret")")
    assert_eq 401 "$st" "token with a wrong secret"
    assert_eq invalid_client "$(json "$(body)" "j->>'error'")" "error of a wrong secret"
    st=$(token_request no-such-client "$(cat "$T/client.client-a.secret")")
    assert_eq 401 "$st" "token for an unknown client"
    assert_eq invalid_client "$(json "$(body)" "j->>'error'")" "error of an unknown client"
    st=$(token_request client-a "$(cat "$T/client.client-a.secret")" grant_type=password)
    assert_eq 400 "$st" "grant_type password"
    assert_eq unsupported_grant_type "$(json "$(body)" "j->>'error'")" "error of grant_type password"

    # The token opens the SCS's own subscriptions, nobody else's; no token, a
    # forged one and a token without the scope get 401 / 401 / 403.
    login client-a
    assert_eq 200 "$(north GET "$(subs_path scs-a)")" "GET own subscriptions: $(body)"
    assert_eq 403 "$(north GET "$(subs_path scs-b)")" "GET scs-b's subscriptions with scs-a's token"
    assert_eq 401 "$(NORTH_TOKEN=x.y.z north GET "$(subs_path scs-a)")" "GET with a forged token"
    assert_eq 401 "$(curl_status --cacert "$CERTS/ca.pem" "https://127.0.0.1:$NORTH_PORT$(subs_path scs-a)")" \
        "GET without a token"
    login client-noscope
    assert_eq 403 "$(north GET "$(subs_path scs-a)")" "GET with a token without monitoring-event"
}

test_client_id_never_passes_for_an_scs_id() {
    local out secret st
    # A client named like SCS scs-b but bound to no SCS: no northbound token.
    out=$(ctl client add scs-b --scope monitoring-event 2>/dev/null) || fail "client add scs-b: $out"
    secret=$(printf '%s\n' "$out" | awk '$1 == "clientSecret" { print $2 }')
    st=$(token_request scs-b "$secret")
    assert_eq 400 "$st" "token for a client bound to no SCS: $(body)"
    assert_eq unauthorized_client "$(json "$(body)" "j->>'error'")" "its error"
    # A client bound to scs-a acts as scs-a only, whatever its name.
    out=$(ctl client add scs-b-bound --scope monitoring-event --scs scs-a 2>/dev/null) ||
        fail "client add scs-b-bound: $out"
    printf '%s\n' "$out" | awk '$1 == "clientSecret" { print $2 }' >"$T/client.scs-b-bound.secret"
    login scs-b-bound
    assert_eq scs-a "$(json "$(cut -d. -f2 "$T/token.scs-b-bound" | tr '_-' '/+' |
        awk '{ n = length($0) % 4; if (n) $0 = $0 substr("===", 1, 4 - n); print }' | base64 -d)" "j->>'sub'")" \
        "the token's subject is the SCS"
    assert_eq 200 "$(north GET "$(subs_path scs-a)")" "GET scs-a's subscriptions"
    assert_eq 403 "$(north GET "$(subs_path scs-b)")" "GET scs-b's subscriptions"
}

test_subscription_create_get_list_put_delete() {
    local id self loc st
    login client-a
    start_sink crud scs-a
    st=$(north POST "$(subs_path scs-a)" "$(sub_body externalId meter-16@water.example "$(sink_url crud)" \
        '"maximumNumberOfReports":5,"accuracy":"CGI_ECGI","locationType":"CURRENT_LOCATION"')")
    assert_eq 201 "$st" "POST: $(body)"
    loc=$(header Location)
    id=${loc##*/}
    assert_match '^[A-Za-z0-9_-]+$' "$id" "subscriptionId"
    assert_eq "$PUBLIC_URL$(subs_path scs-a "$id")" "$loc" "Location"
    self=$(json "$(body)" "j->>'self'")
    assert_eq "$loc" "$self" "self in the created body"
    assert_eq "meter-16@water.example LOCATION_REPORTING 5" \
        "$(json "$(body)" "j->>'externalId', j->>'monitoringType', j->>'maximumNumberOfReports'" | tr '|' ' ')" \
        "created body"

    assert_eq 200 "$(north GET "$(subs_path scs-a "$id")")" "GET one"
    assert_eq "$self meter-16@water.example" "$(json "$(body)" "j->>'self', j->>'externalId'" | tr '|' ' ')" "GET one body"
    assert_eq 200 "$(north GET "$(subs_path scs-a)")" "GET list"
    assert_eq 1 "$(json "$(body)" "(SELECT count(*) FROM jsonb_array_elements(j) e WHERE e->>'self' = '$self')")" \
        "the list holds the subscription once"
    # Another SCS sees none of it.
    login client-b
    assert_eq 404 "$(north GET "$(subs_path scs-b "$id")")" "scs-b GETs scs-a's subscription"
    login client-a

    st=$(north PUT "$(subs_path scs-a "$id")" "$(sub_body externalId meter-16@water.example "$(sink_url crud other)" \
        '"maximumNumberOfReports":7')")
    assert_eq 200 "$st" "PUT: $(body)"
    assert_eq "7 $(sink_url crud other) $self" \
        "$(json "$(body)" "j->>'maximumNumberOfReports', j->>'notificationDestination', j->>'self'" | tr '|' ' ')" \
        "PUT body"
    assert_eq 200 "$(north GET "$(subs_path scs-a "$id")")" "GET after PUT"
    assert_eq 7 "$(json "$(body)" "j->>'maximumNumberOfReports'")" "maximumNumberOfReports after PUT"

    assert_eq 204 "$(north DELETE "$(subs_path scs-a "$id")")" "DELETE"
    assert_eq "" "$(body)" "DELETE body"
    assert_eq 404 "$(north GET "$(subs_path scs-a "$id")")" "GET after DELETE"
    assert_eq 404 "$(north DELETE "$(subs_path scs-a "$id")")" "DELETE again"
    # An unsupported monitoring type gets a clear 4xx with invalidParams.
    st=$(north POST "$(subs_path scs-a)" \
        '{"externalId":"meter-16@water.example","monitoringType":"LOSS_OF_CONNECTIVITY","notificationDestination":"https://127.0.0.1:1/x","maximumNumberOfReports":1}')
    assert_match '^4[0-9][0-9]$' "$st" "unsupported monitoringType"
    # InvalidParam.param is a JSON Pointer (TS 29.122 / TS 29.571).
    assert_eq /monitoringType "$(json "$(body)" "j->'invalidParams'->0->>'param'")" "invalidParams of monitoringType"
}

test_left_alert_reaches_the_sink_once_signed() {
    local id line
    login client-a
    start_sink left scs-a
    id=$(sub_for 1 "$(sink_url left)")
    leave 1
    wait_for 15 "one notification at the sink" sink_count_is left 1
    no_more left 1 2
    line=$(sink_line left 1)
    assert_eq "true 204 /notify" "$(field "$line" "j->>'signatureValid', j->>'status', j->>'path'" | tr '|' ' ')" \
        "signature, answer, path"
    assert_match '^.+$' "$(field "$line" "j->>'webhookId'")" "webhook-id"
    assert_eq "$PUBLIC_URL$(subs_path scs-a "$id")" "$(field "$line" "j->'body'->>'subscription'")" "subscription link"
    assert_eq "1 LOCATION_REPORTING meter-1@water.example LEFT_AUTHORIZED_AREA" \
        "$(field "$line" "jsonb_array_length(j->'body'->'monitoringEventReports'),
                          j->'body'->'monitoringEventReports'->0->>'monitoringType',
                          j->'body'->'monitoringEventReports'->0->>'externalId',
                          j->'body'->'monitoringEventReports'->0->>'movement'" | tr '|' ' ')" \
        "report"
    assert_eq "$B01" "$(field "$line" "upper(j->'body'->'monitoringEventReports'->0->'locationInfo'->>'cellId')")" \
        "cellId of the report (accuracy CGI_ECGI)"
    assert_match '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' "$(field "$line" "j->'body'->'monitoringEventReports'->0->>'eventTime'")" \
        "eventTime"
    assert_eq "delivered:alert" "$(outbox_status "$id")" "outbox"
    # Timed from the alert's commit to the sink's 2xx; its debug line names the SCS.
    [ "$(metric locguard_delivery_latency_seconds_count)" -ge 1 ] ||
        fail "no delivery latency observed"
    grep -Eq "DEBUG \[northbound scs-a\] row [0-9]+ to .*: delivered" "$T/daemon.log" ||
        fail "no delivery line naming scs-a in the daemon's log"
    # Coming back home is one more, a "returned" notification.
    at 1 $A01
    wait_for 15 "the returned notification" sink_count_is left 2
    assert_eq RETURNED_TO_AUTHORIZED_AREA \
        "$(field "$(sink_line left 2)" "j->'body'->'monitoringEventReports'->0->>'movement'")" "movement back home"
    assert_ne "$(field "$line" "j->>'webhookId'")" "$(field "$(sink_line left 2)" "j->>'webhookId'")" \
        "webhook-ids of two notifications"
}

test_accuracy_ta_ra_never_carries_the_cell() {
    local line
    login client-a
    start_sink tara scs-a
    sub_for 17 "$(sink_url tara)" '"accuracy":"TA_RA"' >/dev/null
    assert_eq TA_RA "$(json "$(body)" "j->>'accuracy'")" "accuracy in the created subscription"
    leave 17
    wait_for 15 "the notification" sink_count_is tara 1
    line=$(sink_line tara 1)
    assert_eq "meter-17@water.example LEFT_AUTHORIZED_AREA" \
        "$(field "$line" "j->'body'->'monitoringEventReports'->0->>'externalId',
                          j->'body'->'monitoringEventReports'->0->>'movement'" | tr '|' ' ')" "report"
    assert_eq "" "$(field "$line" "j->'body'->'monitoringEventReports'->0->'locationInfo'->>'cellId'")" \
        "cellId in a TA_RA report: $line"
    assert_eq "" "$(field "$line" "j->'body'->'monitoringEventReports'->0->'locationInfo'->>'geographicArea'")" \
        "geographicArea in a TA_RA report"
}

test_test_notification_arrives() {
    local id line
    login client-a
    start_sink testnotif scs-a
    id=$(sub_for 15 "$(sink_url testnotif)" '"requestTestNotification":true')
    wait_for 15 "the test notification" sink_count_is testnotif 1
    line=$(sink_line testnotif 1)
    assert_eq true "$(field "$line" "j->>'signatureValid'")" "signature of the test notification"
    assert_eq "$PUBLIC_URL$(subs_path scs-a "$id")" "$(field "$line" "j->'body'->>'subscription'")" \
        "subscription link of the test notification"
    assert_eq 0 "$(field "$line" "coalesce(jsonb_array_length(j->'body'->'monitoringEventReports'), 0)")" \
        "reports in the test notification"
    no_more testnotif 1 1
}

test_no_grant_unknown_device_and_do_not_monitor_get_the_same_answer() {
    local dest st ref i what
    login client-a
    dest=https://127.0.0.1:9/notify
    # meter-2: exists, scs-a has no grant. The reference answer.
    st=$(north POST "$(subs_path scs-a)" "$(sub_body externalId meter-2@water.example $dest)")
    assert_eq 403 "$st" "subscription without a grant: $(body)"
    cp "$T/resp.body" "$T/refusal.ref"
    ref=$(header Content-Type)
    for what in "externalId nobody-404@water.example:unknown device" \
        "externalId meter-3@water.example:do-not-monitor device (granted, consented)" \
        "externalGroupId nogroup@water.example:unknown group"; do
        i=${what%%:*}
        st=$(north POST "$(subs_path scs-a)" "$(sub_body ${i% *} ${i#* } $dest)")
        assert_eq 403 "$st" "${what#*:}"
        cmp -s "$T/refusal.ref" "$T/resp.body" ||
            fail "${what#*:}: body differs from the no-grant refusal: '$(body)' vs '$(cat "$T/refusal.ref")'"
        assert_eq "$ref" "$(header Content-Type)" "${what#*:}: Content-Type"
    done
    # A grant without consent (scs-b for meter-1) is refused the same way.
    login client-b
    st=$(north POST "$(subs_path scs-b)" "$(sub_body externalId meter-1@water.example $dest)")
    assert_eq 403 "$st" "grant without consent"
    cmp -s "$T/refusal.ref" "$T/resp.body" || fail "grant without consent: body differs: '$(body)'"
    assert_eq 0 "$(sql "SELECT count(*) FROM subscription s JOIN ue u ON u.id = s.ue_id
                         WHERE u.external_id IN ('meter-2@water.example', 'meter-3@water.example')")" \
        "subscriptions stored for meter-2 / meter-3"
}

test_consent_revoked_before_delivery_drops_the_alert_and_notifies() {
    local id line
    login client-a
    # The alert sink's port is taken, then the sink stopped: delivery fails
    # (connection refused) until it is started again, after the revocation.
    start_sink revoked scs-a
    stop_sink revoked
    start_sink revocnotif scs-a
    id=$(sub_for 4 "$(sink_url revoked)" "\"revocationNotifUri\":\"$(sink_url revocnotif revocation)\"")
    leave 4
    assert_eq 1 "$(alerts meter-4@water.example left)" "left alert recorded"
    assert_eq "pending:alert" "$(outbox_status "$id")" "outbox before the revocation"
    ctl consent revoke meter-4@water.example --purpose location-monitoring --scs scs-a >/dev/null
    assert_match '^dropped:alert( pending:revocation| delivered:revocation)?$' "$(outbox_status "$id")" \
        "outbox after the revocation"
    start_sink revoked scs-a
    wait_for 15 "the ConsentRevocNotif" sink_count_is revocnotif 1
    line=$(sink_line revocnotif 1)
    assert_eq "true /revocation $id" "$(field "$line" "j->>'signatureValid', j->>'path', j->'body'->>'subscriptionId'" | tr '|' ' ')" \
        "ConsentRevocNotif"
    assert_eq meter-4@water.example "$(field "$line" "j->'body'->'consentsRevoked'->0->>'externalId'")" \
        "consentsRevoked externalId"
    no_more revoked 0 3
    assert_eq "ended CONSENT_REVOKED" "$(sub_status "$id")" "subscription after the revocation"
    assert_eq 404 "$(north GET "$(subs_path scs-a "$id")")" "GET the subscription after the revocation"
}

test_sink_failing_five_times_gets_it_with_the_same_webhook_id() {
    local id ids
    login client-a
    start_sink flaky scs-a --fail-first 5
    id=$(sub_for 5 "$(sink_url flaky)")
    leave 5
    wait_for 30 "six attempts" sink_count_is flaky 6
    no_more flaky 6 2
    ids=$(sed 's/.*"webhookId":"\([^"]*\)".*/\1/' "$T/sink.flaky.jsonl" | sort -u)
    assert_eq 1 "$(printf '%s\n' "$ids" | grep -c .)" "distinct webhook-ids over six attempts"
    assert_eq "500 500 500 500 500 204" "$(sed 's/.*"status":\([0-9]*\).*/\1/' "$T/sink.flaky.jsonl" | tr '\n' ' ' | sed 's/ $//')" \
        "answers"
    assert_eq 6 "$(grep -c '"signatureValid":true' "$T/sink.flaky.jsonl")" "valid signatures"
    assert_eq "delivered:alert" "$(outbox_status "$id")" "outbox"
    assert_eq 6 "$(sql "SELECT o.attempts FROM notification_outbox o JOIN subscription s ON s.id = o.subscription_id
                        WHERE s.sub_id = '$id'")" "attempts recorded"
}

test_maximum_number_of_reports_ends_the_subscription() {
    local id
    login client-a
    start_sink maxrep scs-a
    id=$(sub_for 8 "$(sink_url maxrep)" '"maximumNumberOfReports":1')
    leave 8
    wait_for 15 "the one report" sink_count_is maxrep 1
    at 8 $A01
    assert_eq 1 "$(alerts meter-8@water.example returned)" "returned alert recorded"
    no_more maxrep 1 2
    assert_eq "ended MAX_REPORTS" "$(sub_status "$id")" "subscription"
    assert_eq 404 "$(north GET "$(subs_path scs-a "$id")")" "GET after the last report"
}

test_monitor_expire_time_ends_the_subscription() {
    local id exp st
    login client-a
    start_sink expiry scs-a
    exp=$(date -u -d '+3 seconds' +%Y-%m-%dT%H:%M:%SZ)
    id=$(sub_for 9 "$(sink_url expiry)" "\"monitorExpireTime\":\"$exp\"")
    assert_eq 200 "$(north GET "$(subs_path scs-a "$id")")" "GET before expiry"
    sleep 4
    leave 9
    assert_eq 1 "$(alerts meter-9@water.example left)" "left alert recorded"
    no_more expiry 0 2
    assert_eq 404 "$(north GET "$(subs_path scs-a "$id")")" "GET after expiry"
    # A monitorExpireTime in the past is refused.
    st=$(north POST "$(subs_path scs-a)" "$(sub_body externalId meter-9@water.example "$(sink_url expiry)" \
        '"monitorExpireTime":"2001-01-01T00:00:00Z"')")
    assert_eq 400 "$st" "monitorExpireTime in the past"
}

test_group_subscription_names_members_never_the_local_group_id() {
    local id st
    login client-a
    start_sink group scs-a
    st=$(north POST "$(subs_path scs-a)" "$(sub_body externalGroupId "$GROUP" "$(sink_url group)")")
    assert_eq 201 "$st" "group subscription: $(body)"
    id=$(header Location | sed 's#.*/##')
    assert_eq "$GROUP" "$(json "$(body)" "j->>'externalGroupId'")" "externalGroupId in the answer"
    leave 6
    leave 7
    wait_for 15 "two notifications" sink_count_is group 2
    no_more group 2 1
    assert_eq "meter-6@water.example meter-7@water.example" \
        "$(for i in 1 2; do field "$(sink_line group $i)" "j->'body'->'monitoringEventReports'->0->>'externalId'"; done |
            sort | tr '\n' ' ' | sed 's/ $//')" "members reported"
    assert_eq 2 "$(grep -c '"signatureValid":true' "$T/sink.group.jsonl")" "valid signatures"
    assert_eq "$PUBLIC_URL$(subs_path scs-a "$id")" "$(field "$(sink_line group 1)" "j->'body'->>'subscription'")" \
        "subscription link"
    assert_eq 200 "$(north GET "$(subs_path scs-a "$id")")" "GET the group subscription"
    ! grep -q "$LOCAL_GROUP" "$T/resp.body" || fail "the Local Group ID in the GET answer"
    ! grep -q "$LOCAL_GROUP" "$T/sink.group.jsonl" || fail "the Local Group ID in a notification"
    ! grep -qE '00101000000000(6|7)' "$T/sink.group.jsonl" || fail "a SUPI in a notification"
}

test_410_from_the_sink_ends_the_subscription() {
    local id
    login client-a
    start_sink gone scs-a --status 410
    id=$(sub_for 10 "$(sink_url gone)")
    leave 10
    wait_for 15 "the delivery answered 410" sink_count_is gone 1
    wait_for 5 "the subscription to end" eval '[ "$(sub_status "$id")" = "ended GONE" ]'
    assert_eq 404 "$(north GET "$(subs_path scs-a "$id")")" "GET after 410"
    at 10 $A01
    assert_eq 1 "$(alerts meter-10@water.example returned)" "returned alert recorded"
    no_more gone 1 2
    assert_eq "failed:alert" "$(outbox_status "$id")" "outbox"
    assert_eq 1 "$(metric 'locguard_deliveries_total{outcome="gone"}')" "deliveries gone"
}

test_loopback_destination_without_allow_private_is_never_contacted() {
    local id st
    start_sink strict scs-strict
    login client-strict
    st=$(north POST "$(subs_path scs-strict)" "$(sub_body externalId meter-11@water.example "$(sink_url strict)")")
    case $st in
    201)
        id=$(header Location | sed 's#.*/##')
        leave 11
        assert_eq 1 "$(alerts meter-11@water.example left)" "left alert recorded"
        wait_for 10 "the outbox row to be refused" \
            eval '[ "$(outbox_status "$id")" = "failed:alert" ]'
        ;;
    4??) ;; # refused at subscription time: fine too
    *) fail "subscription with a loopback destination answered $st: $(body)" ;;
    esac
    no_more strict 0 2
}

# retried_pending: some pending notification has had a failed attempt.
retried_pending() {
    [ "$(sql "SELECT count(*) FROM notification_outbox WHERE attempts > 0 AND status = 'pending'")" -ge 1 ]
}

# Last: it replaces the daemon run.sh started.
test_grant_removed_while_the_sink_is_down_is_final() {
    local dev grp line
    login client-a
    ctl group add fleet-b@water.example --local-id LOCALGRP-FLEET-B-0043 >/dev/null
    ctl group member add fleet-b@water.example meter-19@water.example >/dev/null
    ctl group member add fleet-b@water.example meter-20@water.example >/dev/null
    ctl grant scs-a --group fleet-b@water.example >/dev/null
    # Both sinks' ports are taken, then the sinks stopped: delivery fails
    # (connection refused) until they start again, after the removal.
    start_sink grdev scs-a
    stop_sink grdev
    start_sink grgrp scs-a
    stop_sink grgrp
    dev=$(sub_for 18 "$(sink_url grdev)")
    grp=$(subscribe scs-a "$(sub_body externalGroupId fleet-b@water.example "$(sink_url grgrp)")")
    leave 18
    leave 19
    assert_eq "pending:alert" "$(outbox_status "$dev")" "device subscription's outbox before the removal"
    assert_eq "pending:alert" "$(outbox_status "$grp")" "group subscription's outbox before the removal"
    ctl revoke-grant scs-a --device meter-18@water.example >/dev/null
    ctl revoke-grant scs-a --device meter-19@water.example >/dev/null
    assert_match '^dropped:alert (pending|delivered):revocation$' "$(outbox_status "$dev")" \
        "device subscription's outbox after the removal"
    assert_eq "dropped:alert" "$(outbox_status "$grp")" "group subscription's outbox after the removal"
    assert_eq "ended GRANT_REMOVED" "$(sub_status "$dev")" "device subscription after the removal"
    assert_eq "active -" "$(sub_status "$grp")" "group subscription after the removal"
    assert_eq 404 "$(north GET "$(subs_path scs-a "$dev")")" "GET the ended subscription"

    # The sinks come back: the device subscription's sink gets the cancel
    # notice and nothing else; the group's gets no alert about meter-19,
    # then meter-20's.
    start_sink grdev scs-a
    start_sink grgrp scs-a
    wait_for 15 "the cancel notice" sink_count_is grdev 1
    line=$(sink_line grdev 1)
    assert_eq "true $PUBLIC_URL$(subs_path scs-a "$dev") true" \
        "$(field "$line" "j->>'signatureValid', j->'body'->>'subscription', j->'body'->>'cancelInd'" | tr '|' ' ')" \
        "MonitoringNotification with cancelInd"
    at 19 $A01
    leave 20
    wait_for 15 "meter-20's alert" sink_count_is grgrp 1
    no_more grgrp 1 2
    assert_eq meter-20@water.example \
        "$(field "$(sink_line grgrp 1)" "j->'body'->'monitoringEventReports'->0->>'externalId'")" \
        "the group's only report"
    no_more grdev 1 0
}

# attempts_of SUBID: 'status:attempts:last_error' of the subscription's first outbox row.
attempts_of() {
    sql "SELECT o.status || ':' || o.attempts || ':' || coalesce(o.last_error, '') FROM notification_outbox o
         JOIN subscription s ON s.id = o.subscription_id WHERE s.sub_id = '$1' ORDER BY o.id LIMIT 1"
}

test_numeric_host_is_refused_and_never_retried() {
    local id st h before
    login client-a
    # At the API: an IPv4 address only in dotted-decimal form.
    for h in 2130706433 0x7f000001 127.1; do
        st=$(north POST "$(subs_path scs-a)" "$(sub_body externalId meter-21@water.example "https://$h:8443/n")")
        assert_eq 400 "$st" "notificationDestination https://$h:8443/n: $(body)"
        assert_eq /notificationDestination "$(json "$(body)" "j->'invalidParams'->0->>'param'")" "the member named"
    done
    # A row made before that check (its destination set behind the API's back) fails at once.
    before=$(metric 'locguard_delivery_dead_ends_total{reason="unresolvable"}')
    start_sink numeric scs-a
    id=$(sub_for 21 "$(sink_url numeric)")
    sql "UPDATE subscription SET notification_destination = 'https://0x7f000001:$(cat "$T/sink.numeric.port")/n'
          WHERE sub_id = '$id'" >/dev/null
    leave 21
    wait_for 15 "the numeric destination's row to fail" outbox_is "$id" failed:alert
    assert_eq "failed:1:destination host is a numeric non-standard address" "$(attempts_of "$id")" \
        "given up at the first attempt, nothing sent"
    assert_eq $((before + 1)) "$(metric 'locguard_delivery_dead_ends_total{reason="unresolvable"}')" \
        "dead ends: unresolvable"
    assert_eq 0 "$(sink_count numeric)" "requests at the sink"
}

test_unresolvable_destination_fails_after_five_attempts() {
    local id before
    login client-a
    before=$(metric 'locguard_delivery_dead_ends_total{reason="unresolvable"}')
    id=$(sub_for 22 "https://no-such-scs.invalid:8443/n")
    leave 22
    wait_for 30 "the unresolvable row to fail" outbox_is "$id" failed:alert
    assert_match '^failed:5:name resolution failed' "$(attempts_of "$id")" "five attempts, then failed"
    assert_eq $((before + 1)) "$(metric 'locguard_delivery_dead_ends_total{reason="unresolvable"}')" \
        "dead ends: unresolvable"
}

test_redirect_fails_after_five_attempts() {
    local id
    login client-a
    start_sink redirect scs-a --status 302
    id=$(sub_for 23 "$(sink_url redirect)")
    leave 23
    wait_for 30 "the redirected row to fail" outbox_is "$id" failed:alert
    assert_eq "failed:5:HTTP 302 (redirects are not followed)" "$(attempts_of "$id")" "five attempts, then failed"
    no_more redirect 5 2
    assert_eq 1 "$(metric 'locguard_delivery_dead_ends_total{reason="redirect"}')" "dead ends: redirect"
}

# outbox_is SUBID STATUSES: for wait_for.
outbox_is() { [ "$(outbox_status "$1")" = "$2" ]; }

# yaml_valid SCHEMA WHAT [SPEC]: the last answer's body validates against
# components.schemas.SCHEMA of SPEC (TS29122_MonitoringEvent.yaml unless
# told) with validate.mjs in $LG_SPECS, which run.sh prepares
# (tests/tools/specs.sh).
yaml_valid() {
    local out
    cp "$T/resp.body" "$T/yaml.json"
    out=$(cd "$LG_SPECS" && node validate.mjs "3gpp/${3:-TS29122_MonitoringEvent.yaml}" "$1" "$T/yaml.json" 2>&1) ||
        fail "$2: not a valid $1: $out: $(body)"
}

# patch SUBID BODY [CONTENT_TYPE]: PATCH of scs-a's subscription; prints the status.
patch() {
    local tok
    tok=$(cat "$T/token.$(cat "$T/north.client")")
    printf '%s' "$2" >"$T/north.req.json"
    curl_status --cacert "$CERTS/ca.pem" -X PATCH -H "Authorization: Bearer $tok" \
        -H "Content-Type: ${3:-application/json-patch+json}" --data-binary "@$T/north.req.json" \
        "https://127.0.0.1:$NORTH_PORT$(subs_path scs-a "$1")"
}

test_patch_excludes_and_adds_group_ues_and_features_are_negotiated() {
    local id dev st m24=meter-24@water.example m25=meter-25@water.example
    login client-a
    ctl group add fleet-c@water.example --local-id LOCALGRP-FLEET-C-0044 >/dev/null
    ctl group member add fleet-c@water.example "$m24" >/dev/null
    ctl group member add fleet-c@water.example "$m25" >/dev/null
    ctl grant scs-a --group fleet-c@water.example >/dev/null
    start_sink patch scs-a
    st=$(north POST "$(subs_path scs-a)" "$(sub_body externalGroupId fleet-c@water.example "$(sink_url patch)" \
        '"supportedFeatures":"3f"')")
    assert_eq 201 "$st" "POST with supportedFeatures: $(body)"
    yaml_valid MonitoringEventSubscription "the created subscription"
    assert_eq 00 "$(json "$(body)" "j->>'supportedFeatures'")" "supportedFeatures negotiated (none supported)"
    id=$(header Location | sed 's#.*/##')
    assert_eq 400 "$(north POST "$(subs_path scs-a)" "$(sub_body externalId meter-24@water.example \
        "$(sink_url patch)" '"supportedFeatures":"xyz"')")" "supportedFeatures not hex"
    yaml_valid ProblemDetails "400 for supportedFeatures" TS29122_CommonData.yaml
    assert_eq /supportedFeatures "$(json "$(body)" "j->'invalidParams'->0->>'param'")" "the member named"

    # Exclude meter-24: GET shows it, its alerts are not made for this subscription.
    assert_eq 415 "$(patch "$id" '[{"op":"add","path":"/excludedExternalIds","value":["'"$m24"'"]}]' \
        application/json)" "PATCH as application/json"
    yaml_valid ProblemDetails "415" TS29122_CommonData.yaml
    assert_eq 204 "$(patch "$id" '[{"op":"add","path":"/excludedExternalIds","value":["'"$m24"'"]}]')" \
        "PATCH excluding meter-24: $(body)"
    assert_eq "" "$(body)" "no body with 204"
    assert_eq 200 "$(north GET "$(subs_path scs-a "$id")")" "GET after the PATCH"
    yaml_valid MonitoringEventSubscription "the patched subscription"
    assert_eq "[\"$m24\"] 00" "$(json "$(body)" "j->>'excludedExternalIds', j->>'supportedFeatures'" | tr '|' ' ')" \
        "excludedExternalIds and supportedFeatures in GET"
    leave 24
    leave 25
    wait_for 15 "meter-25's alert" sink_count_is patch 1
    no_more patch 1 2
    assert_eq "$m25" "$(field "$(sink_line patch 1)" "j->'body'->'monitoringEventReports'->0->>'externalId'")" \
        "only meter-25 is reported"
    json "$(sink_line patch 1)" "j->'body'" >"$T/resp.body"
    yaml_valid MonitoringNotification "the delivered notification"

    # Add it back: its next alert is reported.
    assert_eq 204 "$(patch "$id" '[{"op":"replace","path":"/addedExternalIds","value":["'"$m24"'"]}]')" \
        "PATCH adding meter-24 back: $(body)"
    assert_eq 200 "$(north GET "$(subs_path scs-a "$id")")" "GET after adding back"
    assert_eq "" "$(json "$(body)" "j->>'excludedExternalIds'")" "no excludedExternalIds any more"
    at 24 $A01
    wait_for 15 "meter-24's returned alert" sink_count_is patch 2
    assert_eq "$m24 RETURNED_TO_AUTHORIZED_AREA" \
        "$(field "$(sink_line patch 2)" "j->'body'->'monitoringEventReports'->0->>'externalId', j->'body'->'monitoringEventReports'->0->>'movement'" | tr '|' ' ')" \
        "meter-24 reported again"

    # Refusals: a UE not in the group (the one 403), a member PATCH does not
    # allow (400), a device subscription (400), an unknown subscription (404).
    assert_eq 403 "$(patch "$id" '[{"op":"add","path":"/excludedExternalIds","value":["meter-1@water.example"]}]')" \
        "PATCH naming a UE outside the group"
    yaml_valid ProblemDetails "403" TS29122_CommonData.yaml
    assert_eq 400 "$(patch "$id" '[{"op":"replace","path":"/monitorExpireTime","value":"2099-01-01T00:00:00Z"}]')" \
        "PATCH of another member"
    yaml_valid ProblemDetails "400 for the path" TS29122_CommonData.yaml
    assert_eq /0/path "$(json "$(body)" "j->'invalidParams'->0->>'param'")" "the PatchItem named"
    dev=$(sub_for 25 "$(sink_url patch)")
    assert_eq 400 "$(patch "$dev" '[{"op":"add","path":"/excludedExternalIds","value":["'"$m25"'"]}]')" \
        "PATCH of a device subscription"
    yaml_valid ProblemDetails "400 for a device subscription" TS29122_CommonData.yaml
    assert_eq 404 "$(patch no-such-sub '[{"op":"add","path":"/excludedExternalIds","value":["'"$m25"'"]}]')" \
        "PATCH of an unknown subscription"
    yaml_valid ProblemDetails "404" TS29122_CommonData.yaml
}

test_sigkill_while_the_sink_is_down_delivers_everything_after_restart() {
    local i ids rc=0
    login client-a
    start_sink crash scs-a
    stop_sink crash
    for i in 12 13 14; do sub_for $i "$(sink_url crash)" >/dev/null; done
    for i in 12 13 14; do leave $i; done
    wait_for 10 "a failed attempt" retried_pending
    kill_daemon
    assert_eq 3 "$(sql "SELECT count(*) FROM notification_outbox o JOIN ue u ON u.id = o.ue_id
                        WHERE o.status = 'pending' AND u.external_id IN
                        ('meter-12@water.example', 'meter-13@water.example', 'meter-14@water.example')")" \
        "pending after the crash"
    start_sink crash scs-a
    start_daemon
    wait_for 30 "three notifications after the restart" sink_count_is crash 3
    no_more crash 3 2
    ids=$(for i in 1 2 3; do field "$(sink_line crash $i)" "j->'body'->'monitoringEventReports'->0->>'externalId'"; done |
        sort | tr '\n' ' ')
    assert_eq "meter-12@water.example meter-13@water.example meter-14@water.example " "$ids" "delivered"
    assert_eq 3 "$(grep -c '"signatureValid":true' "$T/sink.crash.jsonl")" "valid signatures"
    stop_daemon || rc=$?
    assert_eq 0 "$rc" "the restarted daemon's exit status on SIGTERM"
}
