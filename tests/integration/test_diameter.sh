# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# The diameter zone, end to end: MMEs (T6a) and SGSNs (T6b) report with
# Reporting-Information-Requests over real Diameter TLS connections
# (freeDiameter on both sides: tests/tools/dia_sim.c is the peer), decided
# in PostGIS with the HTTP tests' outcomes (test_decisions.sh): no alert at
# home, one "left", one "returned", no storm on a border, no alert for a
# tracker. Refusals get their Diameter answer and store nothing. tshark,
# with Wireshark's own dictionary, decodes what locguard sends.
#
# Peers: the Diameter identities are the node names (mme-1, sgsn-1, mme-2),
# each with a certificate naming it (dia_cert); locguard is "locguard" (the
# server certificate's DNS name). amf-1 has a good certificate but is not a
# configured peer. hss-sim is the HSS: locguard configures LOCATION_REPORTING
# there for each device it checks (and the subscribed tracker), and every
# report names the SCEF-Reference-ID the HSS holds (test_s6t.sh tests that).

A01=000A001 A02=000A002 B01=000B001 D01=000D001

# shellcheck source=tests/integration/lib_diameter.sh
. "$LG_ROOT/tests/integration/lib_diameter.sh"

DIA_PORT=$(dia_free_port)
HSS_PORT=$(dia_free_port)
while [ "$HSS_PORT" = "$DIA_PORT" ]; do HSS_PORT=$(dia_free_port); done
CONF_EXTRA="[diameter]
identity = locguard
realm = test
listen = 127.0.0.1:$DIA_PORT
cert = $CERTS/server.pem
key = $CERTS/server.key
ca = $CERTS/ca.pem
work_dir = $T
peer = mme-1 mme-1
peer = sgsn-1 sgsn-1
peer = mme-2 mme-2
$(hss_config_lines)"

# The HSS locguard configures each device's monitoring at (S6t): the
# reports below name the references it holds (lib_diameter.sh's dia).
start_hss
trap stop_hss EXIT

# supi N: the SUPI digits of meter-N.
supi() { printf '0010100000%05d' "$1"; }

# mme N ECI...: meter N reported by mme-1 in each E-UTRA cell in turn, each answered 2001.
mme() {
    local n=$1 out args=() c
    shift
    for c in "$@"; do args+=("imsi=$(supi "$n"),ecgi=001-01:$c,tai=001-01:0001"); done
    local rc=0
    out=$(dia mme-1 "${args[@]}") || rc=$?
    [ "$rc" = 0 ] || fail "dia-sim exit $rc: $out"
    [ "$(grep -c 'result=2001$' <<<"$out")" = $# ] || fail "answers: $out"
}

# stored: the rows a refused request must not have added.
stored() {
    sql "SELECT (SELECT count(*) FROM ue_location) || ' ' || (SELECT count(*) FROM node_batch)
                || ' ' || (SELECT count(*) FROM alert)"
}

setup() {
    add_node mme-1 MME
    add_node mme-2 MME
    add_node sgsn-1 SGSN
    add_area home 2.30 48.82 2.40 48.88
    add_cells "$(
        printf 'ecgi:001-01:%s,EUTRA,"%s"\n' \
            $A01 "$(rect_wkt 2.34 48.84 2.36 48.86)" \
            $A02 "$(rect_wkt 2.31 48.83 2.33 48.85)" \
            $B01 "$(rect_wkt 2.34 49.29 2.36 49.31)" \
            $D01 "$(rect_wkt 2.41 48.84 2.43 48.86)"
        printf 'cgi:001-01:0A01:0001,UTRA,"%s"\n' "$(rect_wkt 2.34 48.84 2.36 48.86)"
        printf 'cgi:001-01:0B01:0001,UTRA,"%s"\n' "$(rect_wkt 2.34 49.29 2.36 49.31)"
    )"
    local i
    for i in $(seq 1 12); do
        add_device "meter-$i@water.example" "$(supi "$i")" fixed
        authorize "meter-$i@water.example" home
    done
    add_device tracker-1@fleet.example 001010000000200 unrestricted
    authorize tracker-1@fleet.example home
    # A tracker is reported while an SCS subscribes to it: then it is configured at the HSS too.
    add_scs scs-a --allow-private
    add_client client-a scs-a
    ctl grant scs-a --device tracker-1@fleet.example >/dev/null
    ctl consent grant tracker-1@fleet.example --purpose location-monitoring --scs scs-a >/dev/null
    login client-a
    subscribe scs-a "$(sub_body externalId tracker-1@fleet.example https://127.0.0.1:9/notify)" >/dev/null
    wait_for 30 "the HSS to hold the 13 configurations" hss_holds 13
}

test_mme_meter_at_home_gives_no_alert() {
    mme 1 $A01 $A02
    assert_eq inside "$(decision meter-1@water.example)" "decision"
    assert_eq 0 "$(alerts meter-1@water.example)" "alerts"
    assert_eq "EUTRA ecgi:001-01:$A02" "$(sql "SELECT l.rat || ' ' || l.cell_key FROM ue_location l
        JOIN ue u ON u.id = l.ue_id WHERE u.external_id = 'meter-1@water.example'")" "stored location"
}

test_mme_meter_away_and_back_gives_one_left_then_one_returned() {
    mme 2 $A01 $B01
    assert_eq 0 "$(alerts meter-2@water.example)" "alerts after one report away (hysteresis 2)"
    mme 2 $B01 $B01
    assert_eq 1 "$(alerts meter-2@water.example left)" "left alerts"
    assert_eq 1 "$(alerts meter-2@water.example)" "alerts while away"
    mme 2 $A01 $A02
    assert_eq 1 "$(alerts meter-2@water.example returned)" "returned alerts"
    assert_eq 2 "$(alerts meter-2@water.example)" "alerts in all"
}

test_mme_border_flapping_gives_no_alert() {
    mme 3 $A01 $D01 $A01 $D01 $A01 $D01 $A01
    assert_eq 0 "$(alerts meter-3@water.example)" "alerts while flapping"
    assert_eq inside "$(decision meter-3@water.example)" "decision"
}

test_mme_tracker_anywhere_gives_no_alert() {
    local out
    out=$(dia mme-1 imsi=001010000000200,ecgi=001-01:$B01 imsi=001010000000200,ecgi=001-01:$D01 \
        imsi=001010000000200,ecgi=001-01:$B01)
    assert_eq 3 "$(grep -c 'result=2001$' <<<"$out")" "answers: $out"
    assert_eq 0 "$(alerts tracker-1@fleet.example)" "tracker alerts"
    assert_eq unchecked "$(decision tracker-1@fleet.example)" "tracker decision"
}

test_sgsn_meter_story_gives_one_left_then_one_returned() {
    local s=$(supi 4) out
    out=$(dia sgsn-1 "imsi=$s,cgi=001-01:0A01:0001" "imsi=$s,cgi=001-01:0B01:0001" \
        "imsi=$s,cgi=001-01:0B01:0001" "imsi=$s,cgi=001-01:0B01:0001" \
        "imsi=$s,cgi=001-01:0A01:0001")
    assert_eq 5 "$(grep -c 'result=2001$' <<<"$out")" "answers: $out"
    assert_eq 1 "$(alerts meter-4@water.example left)" "left alerts via the SGSN"
    assert_eq 1 "$(alerts meter-4@water.example returned)" "returned alerts via the SGSN"
    assert_eq "UTRA cgi:001-01:0A01:0001 sgsn-1" "$(sql "SELECT l.rat || ' ' || l.cell_key || ' ' || n.name
        FROM ue_location l JOIN ue u ON u.id = l.ue_id JOIN network_node n ON n.id = l.node_id
        WHERE u.external_id = 'meter-4@water.example'")" "stored location and node"
}

test_position_and_age_are_read() {
    local away
    away=$(gad 49.30 2.35 50)
    # A home cell, positioned in the other town: the position decides, as over HTTP.
    out=$(dia mme-1 "imsi=$(supi 5),ecgi=001-01:$A01,gad=$away,age=2" \
        "imsi=$(supi 5),ecgi=001-01:$A01,gad=$away,age=1")
    assert_eq 2 "$(grep -c 'result=2001$' <<<"$out")" "answers: $out"
    assert_eq 1 "$(alerts meter-5@water.example left)" "left on position"
    assert_eq 1 "$(sql "SELECT (now() - l.reported_at BETWEEN interval '50 seconds' AND interval '2 minutes')::int
        FROM ue_location l JOIN ue u ON u.id = l.ue_id WHERE u.external_id = 'meter-5@water.example'")" \
        "reported_at is now less the age (1 minute)"
}

test_unconfigured_peer_is_refused_at_connection() {
    local before out rc=0
    before=$(stored)
    out=$(dia amf-1 "imsi=$(supi 6),ecgi=001-01:$A01") || rc=$?
    assert_eq 3 "$rc" "dia-sim exit status (never connected): $out"
    assert_eq "not connected" "$out" "output"
    assert_eq "$before" "$(stored)" "nothing stored"
    grep -q 'amf-1.*peer refused: not configured' "$DAEMON_LOG" || fail "no refusal in the log"
}

test_origin_host_of_another_peer_is_refused() {
    local before out
    before=$(stored)
    out=$(dia mme-1 "imsi=$(supi 6),ecgi=001-01:$A01,origin=mme-2")
    assert_eq "rir 1: result=5004 failed=264" "$out" "answer (Failed-AVP Origin-Host)"
    assert_eq "$before" "$(stored)" "nothing stored"
}

# A configured peer whose network node is disabled: connected, but its
# requests are refused and store nothing.
test_disabled_node_is_refused_with_5012() {
    local before out
    admin_ok PATCH /v1/nodes/mme-2 '{"enabled":false}'
    before=$(stored)
    out=$(dia mme-2 "imsi=$(supi 11),ecgi=001-01:$A01")
    assert_eq "rir 1: result=5012" "$out" "answer"
    assert_eq "$before" "$(stored)" "nothing stored"
    admin_ok PATCH /v1/nodes/mme-2 '{"enabled":true}'
    out=$(dia mme-2 "imsi=$(supi 11),ecgi=001-01:$A01")
    assert_eq "rir 1: result=2001" "$out" "answer once enabled again"
}

test_unknown_user_gets_experimental_result_5001() {
    local before out
    before=$(stored)
    out=$(dia mme-1 "imsi=001019999999999,ecgi=001-01:$A01")
    assert_eq "rir 1: experimental=5001" "$out" "answer"
    assert_eq "$before" "$(stored)" "nothing stored"
}

# Requests in flight together: the loop looks their users up in one
# statement; each gets its own answer.
test_requests_in_flight_together_get_their_own_answers() {
    local out
    out=$(dia mme-1 --parallel "imsi=$(supi 12),ecgi=001-01:$A01" \
        "imsi=001019999999998,ecgi=001-01:$A01" "imsi=$(supi 12),ecgi=001-01:$A02" \
        "imsi=001019999999997,ecgi=001-01:$A01" "noimsi,ecgi=001-01:$A01" \
        "imsi=$(supi 12),ecgi=001-01:$A01")
    assert_eq "rir 1: result=2001
rir 2: experimental=5001
rir 3: result=2001
rir 4: experimental=5001
rir 5: result=5005 failed=3102
rir 6: result=2001" "$out" "answers"
    assert_eq inside "$(decision meter-12@water.example)" "decision"
}

test_malformed_requests_get_their_answer_and_store_nothing() {
    local before out
    before=$(stored)
    out=$(dia mme-1 "noimsi,ecgi=001-01:$A01" \
        "imsi=$(supi 6),nomer" \
        "imsi=$(supi 6),ecgi=001-01:$A01,noloc" \
        "imsi=$(supi 6),ecgi=001-01:$A01,badtype" \
        "imsi=$(supi 6),imsilen=3000,ecgi=001-01:$A01" \
        "imsi=$(supi 6),ecgilen=2000" \
        "imsi=$(supi 6),ecgilen=6" \
        "imsi=12ab5678,ecgi=001-01:$A01")
    assert_eq "rir 1: result=5005 failed=3102
rir 2: result=5005 failed=3123
rir 3: result=5005 failed=1496
rir 4: result=5014 failed=3124
rir 5: result=5004 failed=1
rir 6: result=5004 failed=1602
rir 7: result=5004 failed=1602
rir 8: result=5004 failed=1" "$out" "answers"
    assert_eq "$before" "$(stored)" "nothing stored"
    # The connection survives its refusals: a good request on another connection still passes.
    mme 6 $A01
}

# RFC 6733 duplicate detection: a retransmission (T flag, same
# End-to-End-Identifier) is answered as the original and stored once. Two
# reports away would make a "left" alert (hysteresis 2): one report stored
# makes none.
test_retransmitted_rir_is_stored_once() {
    local out n0
    mme 9 $A01
    n0=$(sql "SELECT count(*) FROM node_message")
    out=$(dia mme-1 "imsi=$(supi 9),ecgi=001-01:$B01,resend")
    assert_eq "rir 1: result=2001
rir 1: result=2001" "$out" "the original and its retransmission answered alike"
    assert_eq outside "$(decision meter-9@water.example)" "decision"
    assert_eq 0 "$(alerts meter-9@water.example)" "alerts (one report away stored, not two)"
    assert_eq $((n0 + 1)) "$(sql "SELECT count(*) FROM node_message")" "message keys stored"
}

# ... also after the daemon restarted (kill -9): the window is in the database.
test_retransmission_after_a_restart_is_stored_once() {
    local out
    mme 10 $A01
    out=$(dia mme-1 "imsi=$(supi 10),ecgi=001-01:$B01,e2e=5eed0001")
    assert_eq "rir 1: result=2001" "$out" "the original"
    local starts
    starts=$(grep -c 'SCEF-Reference-IDs loaded' "$DAEMON_LOG")
    kill_daemon
    start_daemon
    wait_for 20 "the references loaded again" refs_loaded $((starts + 1))
    out=$(dia mme-1 "imsi=$(supi 10),ecgi=001-01:$B01,e2e=5eed0001,tflag")
    assert_eq "rir 1: result=2001" "$out" "the retransmission after the restart"
    assert_eq 0 "$(alerts meter-10@water.example)" "alerts (stored once)"
    assert_eq 1 "$(sql "SELECT count(*) FROM node_message WHERE msg_key = 'mme-1 5eed0001'")" \
        "the key stored once"
    # Another End-to-End-Identifier is another request: the second report away.
    out=$(dia mme-1 "imsi=$(supi 10),ecgi=001-01:$B01,e2e=5eed0002")
    assert_eq "rir 1: result=2001" "$out" "a new request"
    assert_eq 1 "$(alerts meter-10@water.example left)" "left after the second report away"
}

# What locguard sends, read by an independent decoder: tshark with
# Wireshark's Diameter dictionary, the TLS decrypted with the client's
# session keys (SSLKEYLOGFILE, which GnuTLS honours).
test_tshark_decodes_the_answers() {
    command -v tshark >/dev/null || fail "tshark is not installed"
    local cap=$T/dia.pcap keys=$T/dia.keys pid out
    rm -f "$cap" "$keys"
    tshark -i lo -f "tcp port $DIA_PORT" -w "$cap" -q 2>"$T/tshark.err" &
    pid=$!
    echo "$pid" >"$T/tshark.pid"
    trap 'kill "$(cat "$T/tshark.pid")" 2>/dev/null || true' EXIT
    wait_for 10 "tshark to capture" grep -q "Capturing on" "$T/tshark.err"
    # dumpcap says so as it opens the interface; give it a moment before the
    # TLS handshake, without which nothing can be decrypted (a fresh machine
    # once captured none of it).
    sleep 1
    out=$(SSLKEYLOGFILE=$keys dia mme-1 "imsi=$(supi 7),ecgi=001-01:$A01,tai=001-01:0001" \
        "imsi=001019999999999,ecgi=001-01:$A01" "imsi=$(supi 7),ecgilen=6" \
        "imsi=$(supi 7),ecgi=001-01:$A01,ref=4000000000")
    sleep 1
    kill -INT "$pid"
    wait "$pid" || true
    trap - EXIT
    assert_eq 4 "$(grep -c '^rir' <<<"$out")" "answers: $out"
    [ -s "$keys" ] || fail "no TLS key log from GnuTLS"
    # Decode-as: TLS on the zone's port, Diameter inside it (RDP's heuristic
    # would otherwise claim the first record).
    set -- -r "$cap" --disable-protocol rdpmt -o "tls.keylog_file:$keys" \
        -d "tcp.port==$DIA_PORT,tls" -d "tls.port==$DIA_PORT,diameter"
    tshark "$@" -Y diameter -V >"$T/decoded.txt" 2>"$T/tshark.err" || fail "tshark: $(tail -5 "$T/tshark.err")"
    tshark "$@" -Y diameter >"$T/summary.txt" 2>/dev/null
    # Counted per message: one TCP segment may carry several.
    assert_eq 4 "$(grep -o 'cmd=Reporting-Information Request(8388719) flags=RP-- appl=3GPP T6a/T6b(16777346)' \
        "$T/summary.txt" | wc -l)" "RIRs decoded: $(cat "$T/summary.txt")"
    assert_eq 4 "$(grep -o 'cmd=Reporting-Information Answer(8388719) flags=-P-- appl=3GPP T6a/T6b(16777346)' \
        "$T/summary.txt" | wc -l)" "RIAs decoded"
    grep -q 'E-UTRAN-Cell-Global-Identity(1602)' "$T/decoded.txt" || fail "ECGI not named"
    grep -q 'Result-Code: DIAMETER_SUCCESS (2001)' "$T/decoded.txt" || fail "no DIAMETER_SUCCESS"
    grep -q 'Experimental-Result-Code: DIAMETER_ERROR_USER_UNKNOWN (5001)' "$T/decoded.txt" ||
        fail "no DIAMETER_ERROR_USER_UNKNOWN"
    grep -q 'Result-Code: DIAMETER_INVALID_AVP_VALUE (5004)' "$T/decoded.txt" || fail "no 5004"
    grep -q 'Experimental-Result-Code: DIAMETER_ERROR_SCEF_REFERENCE_ID_UNKNOWN (5515)' "$T/decoded.txt" ||
        fail "no DIAMETER_ERROR_SCEF_REFERENCE_ID_UNKNOWN"
    grep -q 'AVP: Failed-AVP(279)' "$T/decoded.txt" || fail "no Failed-AVP"
    # The 6-octet ECGI, in the request and again in the answer's Failed-AVP.
    assert_eq 2 "$(grep -o 'E-UTRAN-Cell-Global-Identity: 111111111111$' "$T/decoded.txt" | wc -l)" \
        "the refused ECGI echoed in Failed-AVP"
    grep -q 'Auth-Session-State: NO_STATE_MAINTAINED (1)' "$T/decoded.txt" || fail "no Auth-Session-State"
    # Every AVP named by Wireshark's dictionary, no malformed packet.
    ! grep -E 'AVP: Unknown|AVP Code: [0-9]+ Unknown' "$T/decoded.txt" || fail "an AVP Wireshark does not know"
    assert_eq "" "$(tshark "$@" -Y '_ws.malformed || (diameter && _ws.expert.severity >= warning)' 2>/dev/null)" \
        "malformed or suspicious Diameter packets"
}

test_database_down_gives_3004_then_the_same_request_succeeds() {
    local out req
    req="imsi=$(supi 8),ecgi=001-01:$A01"
    pg kill
    out=$(dia mme-1 "$req") || true
    if [ "$out" != "rir 1: result=3004" ]; then
        pg start
        fail "answer with the database down: $out"
    fi
    assert_eq "" "$(decision meter-8@water.example 2>/dev/null || true)" "nothing stored"
    pg start
    resend() { [ "$(dia mme-1 "$req")" = "rir 1: result=2001" ]; }
    wait_for 60 "the resent request to be accepted" resend
    assert_eq inside "$(decision meter-8@water.example)" "decision after the restart"
}
