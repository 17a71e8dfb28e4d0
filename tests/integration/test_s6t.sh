# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Monitoring configuration at the HSS over S6t (TS 29.336), end to end:
# the real daemon connects to hss-sim (tests/tools/hss_sim.c) over Diameter
# TLS. Provisioning a device makes locguard send a Configuration-
# Information-Request with LOCATION_REPORTING and an SCEF-Reference-ID it
# allocated, kept in scef_reference; an MME's RIR naming that reference is
# accepted, one naming an unknown reference (or another device's) gets
# DIAMETER_ERROR_SCEF_REFERENCE_ID_UNKNOWN (5515) and stores nothing;
# removing the device (or making it a tracker) deletes the configuration
# with SCEF-Reference-ID-for-Deletion; a refusal by the HSS is retried.
# tshark, with Wireshark's dictionary, decodes the S6t traffic.

A01=000A001 B01=000B001

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
$(hss_config_lines)"

# hss-sim logs its TLS keys (GnuTLS honours SSLKEYLOGFILE): tshark decrypts the S6t traffic.
SSLKEYLOGFILE=$T/hss.keys start_hss
trap stop_hss EXIT

supi() { printf '0010100000%05d' "$1"; }

# stored: the rows a refused request must not have added.
stored() {
    sql "SELECT (SELECT count(*) FROM ue_location) || ' ' || (SELECT count(*) FROM node_message)
                || ' ' || (SELECT count(*) FROM alert)"
}

# db_ref N: meter-N's live reference in the database.
db_ref() {
    sql "SELECT r.ref_id FROM scef_reference r JOIN ue u ON u.id = r.ue_id
          WHERE u.external_id = 'meter-$1@water.example' AND r.state IN ('configuring', 'active')"
}

# hss_line ACTION N: the last line hss-sim recorded for meter-N's ACTION.
hss_line() {
    grep "^$1 imsi=$(supi "$2") " "$T/hss.log" | tail -1
}

# hss_has PATTERN: hss-sim's record has a line matching PATTERN (grep -E).
hss_has() { grep -Eq -- "$1" "$T/hss.log"; }

# configured N: meter-N has a live reference and the HSS accepted it.
configured() {
    local r
    r=$(db_ref "$1")
    [ -n "$r" ] && hss_has "^configure imsi=$(supi "$1") ref=$r .*result=2001$"
}

new_meter() {
    add_device "meter-$1@water.example" "$(supi "$1")" fixed
    authorize "meter-$1@water.example" home
}

setup() {
    add_node mme-1 MME
    add_area home 2.30 48.82 2.40 48.88
    add_cells "$(printf 'ecgi:001-01:%s,EUTRA,"%s"\n' \
        $A01 "$(rect_wkt 2.34 48.84 2.36 48.86)" $B01 "$(rect_wkt 2.34 49.29 2.36 49.31)")"
    local i
    for i in 1 2 3; do new_meter "$i"; done
    add_device tracker-1@fleet.example 001010000000200 unrestricted
    wait_for 30 "the HSS to hold the 3 meters' configurations" hss_holds 3
}

test_provisioned_device_is_configured_at_the_hss_with_its_reference() {
    local ref
    ref=$(db_ref 1)
    [ -n "$ref" ] || fail "no reference in the database"
    assert_eq "configure imsi=$(supi 1) ref=$ref scef=locguard type=2 location=0 accuracy=0 result=2001" \
        "$(hss_line configure 1)" "the CIR the HSS received (LOCATION_REPORTING, current location, CGI/ECGI)"
    assert_eq active "$(sql "SELECT state FROM scef_reference WHERE ref_id = $ref")" "state"
    assert_eq 3 "$(sql "SELECT count(DISTINCT ref_id) FROM scef_reference WHERE state = 'active'")" \
        "one reference per meter"
    assert_eq "" "$(grep "imsi=001010000000200" "$T/hss.log" || true)" \
        "an unsubscribed tracker is not configured"
    # The operator sees it on the device.
    admin_ok GET /v1/devices/meter-1@water.example
    assert_eq "$ref active 2001" "$(json "$(body)" "j->'hss'->>'scefReferenceId', j->'hss'->>'state',
        j->'hss'->>'resultCode'" | tr '|' ' ')" "the device's hss member"
    ctl device show meter-1@water.example | grep -Eq "^hss\.state +active$" ||
        fail "locguardctl device show: $(ctl device show meter-1@water.example)"
    admin_ok GET /v1/devices/tracker-1@fleet.example
    assert_eq null "$(json "$(body)" "j->'hss'")" "none for the tracker"
}

test_rir_naming_the_reference_is_accepted() {
    local out
    out=$(dia mme-1 "imsi=$(supi 1),ecgi=001-01:$A01,ref=$(db_ref 1)")
    assert_eq "rir 1: result=2001" "$out" "answer"
    assert_eq inside "$(decision meter-1@water.example)" "decision"
}

test_rir_naming_an_unknown_reference_gets_5515_and_stores_nothing() {
    local before out
    before=$(stored)
    out=$(dia mme-1 "imsi=$(supi 1),ecgi=001-01:$B01,ref=4000000000")
    assert_eq "rir 1: experimental=5515 failed=3124" "$out" "answer (Failed-AVP SCEF-Reference-ID)"
    assert_eq "$before" "$(stored)" "nothing stored"
    grep -q 'RIR refused with 5515' "$DAEMON_LOG" || fail "no refusal in the log"
    assert_eq 1 "$(metric 'locguard_reports_refused_total{reason="unknown_scef_reference"}')" \
        "refusals counted"
    assert_eq 3 "$(metric 'locguard_s6t_references')" "live references (the map)"
    assert_eq 3 "$(metric 'locguard_s6t_answers_total{action="configure",outcome="done"}')" \
        "configurations counted"
}

test_rir_naming_another_devices_reference_gets_5515_and_stores_nothing() {
    local before out
    before=$(stored)
    out=$(dia mme-1 "imsi=$(supi 1),ecgi=001-01:$B01,ref=$(db_ref 2)" \
        "imsi=001010000000200,ecgi=001-01:$B01")
    assert_eq "rir 1: experimental=5515 failed=3124
rir 2: experimental=5515 failed=3124" "$out" "answers (another meter's reference; the tracker has none)"
    assert_eq "$before" "$(stored)" "nothing stored"
}

test_removing_a_device_deletes_its_configuration() {
    local ref out
    ref=$(db_ref 3)
    admin_ok DELETE /v1/devices/meter-3@water.example
    wait_for 30 "the deletion at the HSS" \
        hss_has "^delete imsi=$(supi 3) ref=$ref scef=locguard type=2 result=2001$"
    wait_for 10 "the row to go" test "$(sql "SELECT count(*) FROM scef_reference WHERE ref_id = $ref")" = 0
    assert_eq 1 "$(metric 'locguard_s6t_answers_total{action="delete",outcome="done"}')" "deletions counted"
    # Provisioned again: a new reference, the old one stays unknown.
    new_meter 3
    wait_for 30 "the new configuration" configured 3
    assert_ne "$ref" "$(db_ref 3)" "a new reference"
    out=$(dia mme-1 "imsi=$(supi 3),ecgi=001-01:$A01,ref=$ref")
    assert_eq "rir 1: experimental=5515 failed=3124" "$out" "the deleted reference"
    out=$(dia mme-1 "imsi=$(supi 3),ecgi=001-01:$A01,ref=$(db_ref 3)")
    assert_eq "rir 1: result=2001" "$out" "the new one"
}

test_a_device_that_becomes_a_tracker_is_deconfigured_then_configured_when_subscribed() {
    local ref out
    ref=$(db_ref 2)
    add_device meter-2@water.example "$(supi 2)" unrestricted
    wait_for 30 "the deletion at the HSS" hss_has "^delete imsi=$(supi 2) ref=$ref .*result=2001$"
    out=$(dia mme-1 "imsi=$(supi 2),ecgi=001-01:$A01,ref=$ref")
    assert_eq "rir 1: experimental=5515 failed=3124" "$out" "its old reference"
    # An SCS subscribes to it: reported again, under a new reference.
    add_scs scs-a --allow-private
    add_client client-a scs-a
    ctl grant scs-a --device meter-2@water.example >/dev/null
    ctl consent grant meter-2@water.example --purpose location-monitoring --scs scs-a >/dev/null
    login client-a
    subscribe scs-a "$(sub_body externalId meter-2@water.example https://127.0.0.1:9/notify)" >/dev/null
    wait_for 30 "the configuration for the subscription" configured 2
    out=$(dia mme-1 "imsi=$(supi 2),ecgi=001-01:$A01,ref=$(db_ref 2)")
    assert_eq "rir 1: result=2001" "$out" "reported under the new reference"
}

test_hss_refusal_is_kept_and_retried() {
    local ref out
    echo "$(supi 4) 5513" >"$T/hss.fail"
    new_meter 4
    wait_for 30 "the HSS's refusal" hss_has "^configure imsi=$(supi 4) ref=[0-9]+ .*result=5513$"
    wait_for 10 "the refusal stored" \
        test "$(sql "SELECT state || ' ' || result_code FROM scef_reference r JOIN ue u ON u.id = r.ue_id
                     WHERE u.external_id = 'meter-4@water.example'")" = "failed 5513"
    ref=$(sql "SELECT r.ref_id FROM scef_reference r JOIN ue u ON u.id = r.ue_id
                WHERE u.external_id = 'meter-4@water.example'")
    out=$(dia mme-1 "imsi=$(supi 4),ecgi=001-01:$A01,ref=$ref")
    assert_eq "rir 1: experimental=5515 failed=3124" "$out" "a refused configuration's reference"
    rm -f "$T/hss.fail"
    wait_for 30 "the retry accepted" hss_has "^configure imsi=$(supi 4) ref=$ref .*result=2001$"
    wait_for 10 "active" test "$(sql "SELECT state FROM scef_reference WHERE ref_id = $ref")" = active
    [ "$(metric 'locguard_s6t_answers_total{action="configure",outcome="failed"}')" -ge 1 ] ||
        fail "the refusal is not counted"
    out=$(dia mme-1 "imsi=$(supi 4),ecgi=001-01:$A01,ref=$ref")
    assert_eq "rir 1: result=2001" "$out" "accepted once configured"
}

# The S6t exchange read by an independent decoder: tshark with Wireshark's
# dictionary, the TLS decrypted with hss-sim's session keys (its side of
# the connection is the server's; GnuTLS logs both).
test_tshark_decodes_the_s6t_exchange() {
    command -v tshark >/dev/null || fail "tshark is not installed"
    local cap=$T/s6t.pcap pid
    rm -f "$cap"
    tshark -i lo -f "tcp port $HSS_PORT" -w "$cap" -q 2>"$T/tshark.err" &
    pid=$!
    echo "$pid" >"$T/tshark.pid"
    trap 'kill "$(cat "$T/tshark.pid")" 2>/dev/null || true' EXIT
    wait_for 10 "tshark to capture" grep -q "Capturing on" "$T/tshark.err"
    sleep 1
    # A new connection to the HSS, so the capture holds its handshake.
    stop_hss
    SSLKEYLOGFILE=$T/hss.keys start_hss
    new_meter 5
    wait_for 30 "meter-5 configured" configured 5
    admin_ok DELETE /v1/devices/meter-5@water.example
    wait_for 30 "meter-5 deleted" hss_has "^delete imsi=$(supi 5) .*result=2001$"
    sleep 1
    kill -INT "$pid"
    wait "$pid" || true
    trap - EXIT
    [ -s "$T/hss.keys" ] || fail "no TLS key log from hss-sim"
    set -- -r "$cap" --disable-protocol rdpmt -o "tls.keylog_file:$T/hss.keys" \
        -d "tcp.port==$HSS_PORT,tls" -d "tls.port==$HSS_PORT,diameter"
    tshark "$@" -Y diameter -V >"$T/s6t-decoded.txt" 2>"$T/tshark.err" || fail "tshark: $(tail -5 "$T/tshark.err")"
    tshark "$@" -Y diameter >"$T/s6t-summary.txt" 2>/dev/null
    [ "$(grep -o 'cmd=Configuration-Information Request(8388718) flags=RP-- appl=3GPP S6t(16777345)' \
        "$T/s6t-summary.txt" | wc -l)" -ge 2 ] || fail "CIRs decoded: $(cat "$T/s6t-summary.txt")"
    [ "$(grep -o 'cmd=Configuration-Information Answer(8388718) flags=-P-- appl=3GPP S6t(16777345)' \
        "$T/s6t-summary.txt" | wc -l)" -ge 2 ] || fail "CIAs decoded"
    local n
    for n in 'Monitoring-Event-Configuration(3122)' 'SCEF-Reference-ID(3124)' 'SCEF-ID(3125)' \
        'Monitoring-Type: LOCATION_REPORTING (2)' 'SCEF-Reference-ID-for-Deletion(3126)' \
        'Location-Information-Configuration(3135)' 'MONTE-Location-Type: CURRENT_LOCATION (0)' \
        'Accuracy: CGI-ECGI (0)' 'User-Identifier(3102)' 'Result-Code: DIAMETER_SUCCESS (2001)'; do
        grep -qF "$n" "$T/s6t-decoded.txt" || fail "not decoded: $n"
    done
    ! grep -E 'AVP: Unknown|AVP Code: [0-9]+ Unknown' "$T/s6t-decoded.txt" || fail "an AVP Wireshark does not know"
    assert_eq "" "$(tshark "$@" -Y '_ws.malformed || (diameter && _ws.expert.severity >= warning)' 2>/dev/null)" \
        "malformed or suspicious Diameter packets"
}

# Last: the daemon started again here has ports this file's later tests would not know.
test_references_survive_a_restart() {
    local starts out
    starts=$(grep -c 'SCEF-Reference-IDs loaded' "$DAEMON_LOG")
    kill_daemon
    start_daemon
    wait_for 20 "the references loaded again" refs_loaded $((starts + 1))
    out=$(dia mme-1 "imsi=$(supi 1),ecgi=001-01:$A01,ref=$(db_ref 1)" \
        "imsi=$(supi 1),ecgi=001-01:$A01,ref=4000000000")
    assert_eq "rir 1: result=2001
rir 2: experimental=5515 failed=3124" "$out" "answers after the restart"
}
