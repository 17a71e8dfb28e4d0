# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Authorized-area decisions and movement alerts, end to end: reports over
# mutual TLS, decided in PostGIS, alerts written in the same transaction.
#
# The made-up geography: a home town around lon 2.35 lat 48.85 whose
# authorized area "home" is the box 2.30..2.40 x 48.82..48.88, and another
# town 50 km north (lat 49.30). Cells are small boxes:
#   A01, A02  inside home           B01  in the other town
#   C01       straddles the east border of home (lon 2.40): ambiguous
#   D01       just east of home, disjoint from it
#   F0F       never imported: an unknown cell
# plus the same home / away pair for NR (AMF) and UTRA CGI (SGSN).
# Hysteresis is 2: "left" after two outside decisions in a row.

A01=000A001 A02=000A002 B01=000B001 C01=000C001 D01=000D001 F0F=000FF0F

setup() {
    add_node mme-1 MME
    add_node sgsn-1 SGSN
    add_node amf-1 AMF
    add_area home 2.30 48.82 2.40 48.88
    add_cells "$(
        printf 'ecgi:001-01:%s,EUTRA,"%s"\n' \
            $A01 "$(rect_wkt 2.34 48.84 2.36 48.86)" \
            $A02 "$(rect_wkt 2.31 48.83 2.33 48.85)" \
            $B01 "$(rect_wkt 2.34 49.29 2.36 49.31)" \
            $C01 "$(rect_wkt 2.39 48.84 2.41 48.86)" \
            $D01 "$(rect_wkt 2.41 48.84 2.43 48.86)"
        printf 'ncgi:001-01:00000A001,NR,"%s"\n' "$(rect_wkt 2.34 48.84 2.36 48.86)"
        printf 'ncgi:001-01:00000B001,NR,"%s"\n' "$(rect_wkt 2.34 49.29 2.36 49.31)"
        printf 'cgi:001-01:0A01:0001,UTRA,"%s"\n' "$(rect_wkt 2.34 48.84 2.36 48.86)"
        printf 'cgi:001-01:0B01:0001,UTRA,"%s"\n' "$(rect_wkt 2.34 49.29 2.36 49.31)"
    )"
    local i
    for i in $(seq 1 22); do
        add_device "meter-$i@water.example" "$(printf '0010100000%05d' "$i")" fixed
        authorize "meter-$i@water.example" home
    done
    add_device meter-amb-out@water.example 001010000000100 fixed outside
    authorize meter-amb-out@water.example home
    add_device tracker-1@fleet.example 001010000000200 unrestricted
    authorize tracker-1@fleet.example home
    [ "$(sql "SELECT count(*) FROM cell")" = 9 ] || fail "cells imported: $(sql "SELECT count(*) FROM cell")"
}

# supi N: the SUPI digits of meter-N.
supi() { printf '0010100000%05d' "$1"; }

# at NODE METER_N ECI: meter N reported by NODE in E-UTRA cell ECI, accepted.
at() { send_ok "$1" "$(batch "$1" "$(eutra "$(supi "$2")" "$3")")"; }

test_meter_at_home_gives_no_alert() {
    at mme-1 1 $A01
    at mme-1 1 $A02
    assert_eq inside "$(decision meter-1@water.example)" "decision"
    assert_eq 0 "$(alerts meter-1@water.example)" "alerts"
}

test_meter_in_another_town_twice_gives_exactly_one_left_alert() {
    at mme-1 2 $A01
    at mme-1 2 $B01
    assert_eq outside "$(decision meter-2@water.example)" "decision after one report away"
    assert_eq 0 "$(alerts meter-2@water.example)" "alerts after one report away (hysteresis 2)"
    at mme-1 2 $B01
    assert_eq 1 "$(alerts meter-2@water.example left)" "left alerts after two reports away"
    at mme-1 2 $B01
    assert_eq 1 "$(alerts meter-2@water.example)" "alerts after three reports away"
    # The admin API shows the same thing to the operator.
    assert_eq 200 "$(admin GET "/v1/alerts?device=meter-2@water.example")" "GET /v1/alerts"
    assert_eq "1 left meter-2@water.example ecgi:001-01:$B01" \
        "$(json "$(body)" "jsonb_array_length(j), j->0->>'kind', j->0->>'externalId', j->0->>'cell'" | tr '|' ' ')" \
        "alert list"
    assert_eq 200 "$(admin GET /v1/devices/meter-2@water.example)" "GET device"
    assert_eq "outside outside" "$(json "$(body)" "j->'location'->>'decision', j->'location'->>'zoneState'" | tr '|' ' ')" \
        "device location"
}

test_meter_back_home_gives_exactly_one_returned_alert() {
    at mme-1 3 $A01
    at mme-1 3 $B01
    at mme-1 3 $B01
    assert_eq 1 "$(alerts meter-3@water.example left)" "left alerts"
    at mme-1 3 $A01
    assert_eq 1 "$(alerts meter-3@water.example returned)" "returned alerts after coming home"
    at mme-1 3 $A02
    assert_eq 2 "$(alerts meter-3@water.example)" "alerts after staying home (one left, one returned)"
    assert_eq inside "$(sql "SELECT zone_state FROM ue_location l JOIN ue u ON u.id = l.ue_id
                              WHERE u.external_id = 'meter-3@water.example'")" "zone state"
}

test_border_flapping_gives_no_alert() {
    local i
    at mme-1 4 $A01
    # In and out of the border one report at a time: never two outside in a row.
    for i in 1 2 3 4 5; do
        at mme-1 4 $D01
        at mme-1 4 $A01
    done
    assert_eq 0 "$(alerts meter-4@water.example)" "alerts while flapping"
    assert_eq inside "$(decision meter-4@water.example)" "decision"
}

test_ambiguous_cell_follows_the_device_policy() {
    # meter-5 treats ambiguous as inside (the default): no alert.
    at mme-1 5 $A01
    at mme-1 5 $C01
    at mme-1 5 $C01
    assert_eq ambiguous "$(decision meter-5@water.example)" "decision in the border cell"
    assert_eq 0 "$(alerts meter-5@water.example)" "alerts with policy inside"
    # meter-amb-out treats ambiguous as outside: two in the border cell = left.
    send_ok mme-1 "$(batch mme-1 "$(eutra 001010000000100 $A01)")"
    send_ok mme-1 "$(batch mme-1 "$(eutra 001010000000100 $C01)")"
    send_ok mme-1 "$(batch mme-1 "$(eutra 001010000000100 $C01)")"
    assert_eq 1 "$(alerts meter-amb-out@water.example left)" "left alerts with policy outside"
}

test_tracker_anywhere_gives_no_alert() {
    local b
    for b in $B01 $B01 $D01 $B01 $F0F $B01; do
        send_ok mme-1 "$(batch mme-1 "$(eutra 001010000000200 "$b")")"
    done
    assert_eq 0 "$(alerts tracker-1@fleet.example)" "tracker alerts"
    assert_eq unchecked "$(decision tracker-1@fleet.example)" "tracker decision (location only recorded)"
}

test_unknown_cell_gives_no_alert_and_is_counted() {
    local before_dec
    at mme-1 6 $A01
    before_dec=$(metric 'locguard_decisions_total{decision="unknown_cell"}')
    at mme-1 6 $F0F
    at mme-1 6 $F0F
    assert_eq unknown_cell "$(decision meter-6@water.example)" "decision"
    assert_eq "ecgi:001-01:$F0F" "$(sql "SELECT cell_key FROM ue_location l JOIN ue u ON u.id = l.ue_id
                                        WHERE u.external_id = 'meter-6@water.example'")" "stored cell"
    assert_eq 0 "$(alerts meter-6@water.example)" "alerts"
    wait_for 5 "unknown_cell decisions = $before_dec + 2" \
        metric_is 'locguard_decisions_total{decision="unknown_cell"}' "$((before_dec + 2))"
}

# A report that changes nothing but the time, less than [ingest] refresh_ms
# (60 s by default) after the stored one, is coalesced: acknowledged,
# counted, its row not written. A change is never coalesced.
test_repeated_report_from_the_same_cell_is_coalesced() {
    local c0 t1 q
    q="SELECT l.reported_at || ' ' || l.cell_key FROM ue_location l JOIN ue u ON u.id = l.ue_id
        WHERE u.external_id = 'meter-19@water.example'"
    at mme-1 19 $A01
    t1=$(sql "$q")
    c0=$(metric locguard_reports_coalesced_total)
    at mme-1 19 $A01
    at mme-1 19 $A01
    wait_for 5 "coalesced = $c0 + 2" metric_is locguard_reports_coalesced_total "$((c0 + 2))"
    assert_eq "$t1" "$(sql "$q")" "stored time and cell of the first report kept"
    at mme-1 19 $A02
    assert_ne "$t1" "$(sql "$q")" "another cell is written"
    assert_match "ecgi:001-01:$A02\$" "$(sql "$q")" "the new cell stored"
    assert_eq "$((c0 + 2))" "$(metric locguard_reports_coalesced_total)" "another cell not coalesced"
    assert_eq inside "$(decision meter-19@water.example)" "decision"
}

test_sgsn_and_amf_reports_are_decided() {
    local s7 s8
    s7=$(supi 7) s8=$(supi 8)
    send_ok sgsn-1 "$(batch sgsn-1 "$(utra "$s7" 0A01 0001)")"
    assert_eq inside "$(decision meter-7@water.example)" "SGSN CGI at home"
    send_ok sgsn-1 "$(batch sgsn-1 "$(utra "$s7" 0B01 0001)")"
    send_ok sgsn-1 "$(batch sgsn-1 "$(utra "$s7" 0B01 0001)")"
    assert_eq 1 "$(alerts meter-7@water.example left)" "left via SGSN"
    send_ok amf-1 "$(batch amf-1 "$(nr "$s8" 00000A001)")"
    assert_eq inside "$(decision meter-8@water.example)" "AMF NCGI at home"
    send_ok amf-1 "$(batch amf-1 "$(nr "$s8" 00000B001)")"
    send_ok amf-1 "$(batch amf-1 "$(nr "$s8" 00000B001)")"
    assert_eq 1 "$(alerts meter-8@water.example left)" "left via AMF"
    assert_eq "NR ncgi:001-01:00000B001" "$(sql "SELECT a.rat || ' ' || a.cell_key FROM alert a
        JOIN ue u ON u.id = a.ue_id WHERE u.external_id = 'meter-8@water.example'")" "alert rat and cell"
}

test_position_is_the_evidence_when_present() {
    local away home
    away=$(gad 49.30 2.35 50) home=$(gad 48.85 2.35 50)
    # Reported from a home cell but positioned in the other town: the
    # position, not the cell, decides.
    send_ok mme-1 "$(batch mme-1 "$(eutra "$(supi 9)" $A01 "$away")")"
    send_ok mme-1 "$(batch mme-1 "$(eutra "$(supi 9)" $A01 "$away")")"
    assert_eq 1 "$(alerts meter-9@water.example left)" "left on position"
    send_ok mme-1 "$(batch mme-1 "$(eutra "$(supi 9)" $B01 "$home")")"
    assert_eq 1 "$(alerts meter-9@water.example returned)" "returned on position"
    assert_eq 2 "$(alerts meter-9@water.example)" "alerts"
}

test_one_batch_carries_many_devices() {
    local i reports=() seq
    for i in $(seq 10 20); do
        reports+=("$(eutra "$(supi "$i")" $A01)")
    done
    seq=$(next_seq mme-1)
    assert_eq 204 "$(south mme-1 "$seq" "$(batch mme-1 "${reports[@]}")")" "status"
    assert_eq 11 "$(sql "SELECT n_reports FROM node_batch b JOIN network_node n ON n.id = b.node_id
                         WHERE n.name = 'mme-1' AND b.seq = $seq")" "reports in the stored batch"
    assert_eq 11 "$(sql "SELECT count(*) FROM ue_location l JOIN ue u ON u.id = l.ue_id
                         WHERE u.external_id ~ '^meter-(1[0-9]|20)@' AND l.decision = 'inside'")" \
        "devices decided inside"
}

# A group commit that meets another transaction in a lock cycle is rolled
# back by PostgreSQL (40P01) and sent again by the daemon: the node gets its
# 204, the reports are stored once. A psql session makes the cycle: it locks
# meter-22's row, the daemon's commit of a batch for meters 21 and 22 locks
# meter-21's (SUPI order) and waits for meter-22's, then psql asks for
# meter-21's. The daemon's backend, waiting longest, finds the cycle first
# (deadlock_timeout) and is the one rolled back.
test_a_deadlocked_group_commit_is_sent_again() {
    local retries0 seq psql_pid rc=0
    at mme-1 21 $A01
    at mme-1 22 $A01
    retries0=$(metric locguard_ingest_retries_total)
    rm -f "$T/locked"
    psql "$(conninfo_for "$DB")" -X -v ON_ERROR_STOP=1 -Atq >"$T/locker.out" 2>&1 <<SQL &
BEGIN;
SELECT 1 FROM ue_location l JOIN ue u ON u.id = l.ue_id
 WHERE u.external_id = 'meter-22@water.example' FOR UPDATE OF l;
\! touch $T/locked
SELECT pg_sleep(0.5);
SELECT 1 FROM ue_location l JOIN ue u ON u.id = l.ue_id
 WHERE u.external_id = 'meter-21@water.example' FOR UPDATE OF l;
SELECT pg_sleep(0.3);
COMMIT;
SQL
    psql_pid=$!
    wait_for 5 "the psql session holds meter-22's row" test -f "$T/locked"
    seq=$(next_seq mme-1)
    assert_eq 204 "$(south mme-1 "$seq" "$(batch mme-1 "$(eutra "$(supi 21)" $A02)" \
                                                   "$(eutra "$(supi 22)" $A02)")")" "status"
    wait "$psql_pid" || rc=$?
    assert_eq 0 "$rc" "the psql session committed: $(cat "$T/locker.out")"
    assert_eq 1 "$(awk -v a="$(metric locguard_ingest_retries_total)" -v b="$retries0" \
                   'BEGIN { print (a - b >= 1) }')" "group commits sent again"
    assert_eq 1 "$(sql "SELECT count(*) FROM node_batch b JOIN network_node n ON n.id = b.node_id
                        WHERE n.name = 'mme-1' AND b.seq = $seq")" "the batch stored once"
    assert_eq "ecgi:001-01:$A02 ecgi:001-01:$A02" \
        "$(sql "SELECT string_agg(l.cell_key, ' ') FROM ue_location l JOIN ue u ON u.id = l.ue_id
                 WHERE u.external_id IN ('meter-21@water.example', 'meter-22@water.example')")" \
        "both devices at the new cell"
}
