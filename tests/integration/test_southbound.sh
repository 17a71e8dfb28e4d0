# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# The southbound zone's gate: who may send (mutual TLS, enabled nodes only,
# the batch names its own node), replay protection (sequence window,
# freshness of Locguard-Sent-At) and validation (400 with invalidParams,
# nothing stored). Every refusal is checked to have stored nothing.

HOME_CELL=000A001 AWAY_CELL=000B001

setup() {
    add_node mme-1 MME
    add_node sgsn-1 SGSN
    add_node mme-2 MME
    # amf-1 has a certificate from the right CA but is not provisioned.
    add_area home 2.30 48.82 2.40 48.88
    add_cells "$(printf 'ecgi:001-01:%s,EUTRA,"%s"\n' \
        $HOME_CELL "$(rect_wkt 2.34 48.84 2.36 48.86)" \
        $AWAY_CELL "$(rect_wkt 2.34 49.29 2.36 49.31)")"
    local i
    for i in $(seq 1 9); do
        add_device "meter-$i@water.example" "00101000000000$i" fixed
        authorize "meter-$i@water.example" home
    done
}

# stored_nothing_for METER_N: the device has no location and no alert.
stored_nothing_for() {
    assert_eq "" "$(decision "meter-$1@water.example")" "meter-$1 location stored"
    assert_eq 0 "$(alerts "meter-$1@water.example")" "meter-$1 alerts"
}

# away N: a batch from NODE ($2, default mme-1) putting meter N in the other town.
away() {
    batch "${2:-mme-1}" "$(eutra "00101000000000$1" $AWAY_CELL)"
}

test_resent_batch_is_acknowledged_and_stored_once() {
    local seq b
    seq=$(next_seq mme-1)
    b=$(away 1)
    assert_eq 204 "$(south mme-1 "$seq" "$b")" "first send"
    assert_eq 204 "$(south mme-1 "$seq" "$b")" "resend of the same batch"
    assert_eq 1 "$(batches mme-1 "$seq")" "stored batches"
    # Processed twice, the two outside decisions would have raised "left".
    assert_eq 1 "$(sql "SELECT outside_streak FROM ue_location l JOIN ue u ON u.id = l.ue_id
                        WHERE u.external_id = 'meter-1@water.example'")" "outside streak"
    assert_eq 0 "$(alerts meter-1@water.example)" "alerts"
}

test_bad_batch_gets_400_naming_each_invalid_param_and_stores_nothing() {
    local seq b
    seq=$(next_seq mme-1)
    # Report 0 is fine; 1 has a bad SUPI; 2 a bad E-UTRA cell id. None of it
    # may be stored.
    b=$(batch mme-1 "$(eutra 001010000000002 $AWAY_CELL)" \
        "$(eutra 00101000000abc $AWAY_CELL)" "$(eutra 001010000000002 XYZ)")
    assert_eq 400 "$(south mme-1 "$seq" "$b")" "status"
    assert_match '^application/problem\+json' "$(header Content-Type)" "content type"
    assert_eq "t t" "$(json "$(body)" "
        j->'invalidParams' @> '[{\"param\": \"/reportList/1/supi\"}]',
        j->'invalidParams' @> '[{\"param\": \"/reportList/2/location/eutraLocation/ecgi/eutraCellId\"}]'" |
        tr '|' ' ')" "invalidParams names /reportList/1/supi and .../ecgi/eutraCellId: $(body)"
    assert_eq 0 "$(json "$(body)" "(SELECT count(*) FROM jsonb_array_elements(j->'invalidParams') p
                                     WHERE coalesce(p->>'reason', '') = '')")" "params without a reason"
    assert_eq 2 "$(json "$(body)" "jsonb_array_length(j->'invalidParams')")" "number of invalid params"
    assert_eq 0 "$(batches mme-1 "$seq")" "stored batches"
    stored_nothing_for 2
    # Nothing stored means the sequence number is still free.
    assert_eq 204 "$(south mme-1 "$seq" "$(away 2)")" "the corrected batch with the same seq"
}

test_malformed_json_gets_400() {
    local seq
    seq=$(next_seq mme-1)
    assert_eq 400 "$(south mme-1 "$seq" '{"notifyCorrelationId":"mme-1","reportList":[{')" "status"
    assert_match '^application/problem\+json' "$(header Content-Type)" "content type"
    assert_eq 0 "$(batches mme-1 "$seq")" "stored batches"
}

test_missing_seq_header_gets_400() {
    assert_eq 400 "$(south mme-1 "" "$(away 3)")" "status"
    stored_nothing_for 3
}

test_rogue_ca_certificate_fails_the_handshake_and_stores_nothing() {
    local seq
    seq=$(next_seq mme-1)
    assert_eq 000 "$(south rogue-mme-1 "$seq" "$(away 4)")" "HTTP status (no answer expected)"
    assert_ne 0 "$(curl_rc)" "curl exit code"
    assert_eq 0 "$(batches mme-1 "$seq")" "stored batches"
    stored_nothing_for 4
}

test_no_client_certificate_fails_and_stores_nothing() {
    local seq
    seq=$(next_seq mme-1)
    assert_eq 000 "$(south - "$seq" "$(away 4)")" "HTTP status (no answer expected)"
    assert_ne 0 "$(curl_rc)" "curl exit code"
    assert_eq 0 "$(batches mme-1 "$seq")" "stored batches"
    stored_nothing_for 4
}

test_plain_http_gets_no_answer() {
    local st
    st=$(curl_status -X POST --data-binary "$(away 4)" "http://127.0.0.1:$SOUTH_PORT/v1/location-reports")
    # Either nothing or a 400 for the non-TLS bytes: never a 2xx.
    assert_match '^(000|400)$' "$st" "status over plain HTTP"
    stored_nothing_for 4
}

test_disabled_node_gets_403() {
    # The certificate works while the node is enabled...
    send_ok mme-2 "$(batch mme-2 "$(eutra 001010000000005 $HOME_CELL)")"
    admin_ok PATCH /v1/nodes/mme-2 '{"enabled":false}'
    # ... and stops working when it is disabled.
    local seq
    seq=$(next_seq mme-2)
    assert_eq 403 "$(south mme-2 "$seq" "$(away 5 mme-2)")" "status"
    assert_eq 0 "$(batches mme-2 "$seq")" "stored batches"
    assert_eq inside "$(decision meter-5@water.example)" "decision (the refused report is not stored)"
}

test_unprovisioned_node_gets_403() {
    assert_eq 403 "$(south amf-1 1 "$(away 6 amf-1)")" "status"
    stored_nothing_for 6
}

test_batch_naming_another_node_gets_403() {
    local seq
    seq=$(next_seq mme-1)
    assert_eq 403 "$(south mme-1 "$seq" "$(away 7 sgsn-1)")" "mme-1 certificate, batch of sgsn-1"
    assert_eq 0 "$(batches mme-1 "$seq")" "stored batches of mme-1"
    assert_eq 0 "$(batches sgsn-1 "$seq")" "stored batches of sgsn-1"
    stored_nothing_for 7
}

test_seq_below_the_window_gets_409() {
    # sgsn-1 jumps ahead to 5000; the window (1024) then starts at 3976.
    assert_eq 204 "$(south sgsn-1 5000 "$(batch sgsn-1 "$(eutra 001010000000008 $HOME_CELL)")")" "seq 5000"
    assert_eq 409 "$(south sgsn-1 10 "$(away 8 sgsn-1)")" "seq 10, below the window"
    assert_eq 0 "$(batches sgsn-1 10)" "stored batches with seq 10"
    assert_eq inside "$(decision meter-8@water.example)" "decision (the refused report is not stored)"
    # A number inside the window that was never used is still accepted.
    assert_eq 204 "$(south sgsn-1 4999 "$(batch sgsn-1 "$(eutra 001010000000008 $HOME_CELL)")")" "seq 4999"
    set_seq sgsn-1 5000
}

test_stale_or_future_sent_at_gets_400() {
    local seq
    seq=$(next_seq mme-1)
    assert_eq 400 "$(SENT_AT=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ) south mme-1 "$seq" "$(away 9)")" \
        "Sent-At an hour old"
    assert_eq 400 "$(SENT_AT=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ) south mme-1 "$seq" "$(away 9)")" \
        "Sent-At an hour ahead"
    assert_eq 400 "$(SENT_AT=yesterday south mme-1 "$seq" "$(away 9)")" "Sent-At not a date"
    assert_eq 0 "$(batches mme-1 "$seq")" "stored batches"
    stored_nothing_for 9
}
