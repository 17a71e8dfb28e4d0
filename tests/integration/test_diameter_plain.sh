# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# The diameter zone over plain TCP (`plain_tcp = 1`, for peers inside an
# NDS/IP domain): the same peers, answers and decisions as over TLS
# (test_diameter.sh), no certificates; an unconfigured identity is still
# refused at the capabilities exchange.

A01=000A001 B01=000B001
export ASAN_OPTIONS="suppressions=$LG_ROOT/tests/tools/asan-freediameter.supp${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

# dia_free_port: a TCP port nothing listens on.
dia_free_port() {
    local p
    for _ in $(seq 1 50); do
        p=$((20000 + RANDOM % 20000))
        ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return 0; }
    done
    return 1
}
DIA_PORT=$(dia_free_port)
CONF_EXTRA="[diameter]
identity = locguard
realm = test
listen = 127.0.0.1:$DIA_PORT
plain_tcp = 1
work_dir = $T
peer = mme-1 mme-1"

# dia IDENTITY RIR...: dia-sim over plain TCP.
dia() {
    local id=$1
    shift
    "$BUILD/dia-sim" --identity "$id" --realm test --server locguard --server-realm test \
        --connect "127.0.0.1:$DIA_PORT" --plain --timeout-s 10 "$@"
}

setup() {
    add_node mme-1 MME
    add_area home 2.30 48.82 2.40 48.88
    add_cells "$(printf 'ecgi:001-01:%s,EUTRA,"%s"\n' \
        $A01 "$(rect_wkt 2.34 48.84 2.36 48.86)" $B01 "$(rect_wkt 2.34 49.29 2.36 49.31)")"
    add_device meter-1@water.example 001010000000001 fixed
    authorize meter-1@water.example home
}

test_plain_tcp_peer_reports_and_a_meter_leaves() {
    local out
    out=$(dia mme-1 imsi=001010000000001,ecgi=001-01:$A01 imsi=001010000000001,ecgi=001-01:$B01 \
        imsi=001010000000001,ecgi=001-01:$B01)
    assert_eq "rir 1: result=2001
rir 2: result=2001
rir 3: result=2001" "$out" "answers"
    assert_eq 1 "$(alerts meter-1@water.example left)" "left alerts"
    grep -q 'listening on 127.0.0.1:[0-9]* (plain TCP, NDS/IP)' "$DAEMON_LOG" || fail "no plain TCP in the log"
}

test_unconfigured_peer_is_refused_over_plain_tcp() {
    local out rc=0
    out=$(dia mme-9 imsi=001010000000001,ecgi=001-01:$A01) || rc=$?
    assert_eq 3 "$rc" "dia-sim exit status (never connected): $out"
}
