# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# The diameter zone when it cannot take more: DIAMETER_TOO_BUSY (3004) and
# nothing stored, from both places a RIR can be turned away. A small hand-
# off queue ([diameter] queue_max = 1: requests waiting for the loop,
# refused on freeDiameter's thread) and a small group-commit queue
# ([ingest] queue_max_reports = 4, refused on the loop), then bursts of
# RIRs in flight together. The database-down 3004 is test_diameter.sh's.

A01=000A001 B01=000B001

# shellcheck source=tests/integration/lib_diameter.sh
. "$LG_ROOT/tests/integration/lib_diameter.sh"

DIA_PORT=$(dia_free_port)
CONF_INGEST="queue_max_reports = 4"
CONF_EXTRA="[diameter]
identity = locguard
realm = test
listen = 127.0.0.1:$DIA_PORT
cert = $CERTS/server.pem
key = $CERTS/server.key
ca = $CERTS/ca.pem
work_dir = $T
queue_max = 1
peer = mme-1 mme-1"

supi() { printf '0010100000%05d' "$1"; }

setup() {
    add_node mme-1 MME
    add_area home 2.30 48.82 2.40 48.88
    add_cells "$(printf 'ecgi:001-01:%s,EUTRA,"%s"\n' \
        $A01 "$(rect_wkt 2.34 48.84 2.36 48.86)" $B01 "$(rect_wkt 2.34 49.29 2.36 49.31)")"
    local i
    for i in $(seq 1 60); do
        add_device "meter-$i@water.example" "$(supi "$i")" fixed
        authorize "meter-$i@water.example" home
    done
}

# counts: "<node_message rows> <ue_location rows> <alerts>".
counts() {
    sql "SELECT (SELECT count(*) FROM node_message) || ' ' || (SELECT count(*) FROM ue_location)
                || ' ' || (SELECT count(*) FROM alert)"
}

# A request the group-commit queue can never hold: 3004, nothing stored; a small one passes.
test_more_reports_than_the_queue_holds_gets_3004_and_stores_nothing() {
    local before out
    before=$(counts)
    out=$(dia mme-1 "imsi=$(supi 1),ecgi=001-01:$B01,reports=5")
    assert_eq "rir 1: result=3004" "$out" "answer"
    assert_eq "$before" "$(counts)" "nothing stored"
    grep -q 'RIR refused with 3004: the ingest queue is full' "$DAEMON_LOG" || fail "no refusal in the log"
    out=$(dia mme-1 "imsi=$(supi 1),ecgi=001-01:$A01,reports=2")
    assert_eq "rir 1: result=2001" "$out" "a request that fits"
}

# Bursts of 60 RIRs in flight together, one per meter. Every RIR gets
# 2001 or 3004; exactly the 2001 ones are stored; some are turned away on
# freeDiameter's thread (the hand-off queue) and some on the loop (the
# group-commit queue). Bursts repeat (at most 8) until both were seen.
test_bursts_get_3004_when_the_queues_are_full_and_store_only_what_was_accepted() {
    local burst out n_ok n_busy m0 m1 specs=() i seen_fd=0 seen_ingest=0 busy_total=0 counted0
    counted0=$(metric 'locguard_reports_refused_total{reason="queue_full"}')
    for i in $(seq 1 60); do specs+=("imsi=$(supi "$i"),ecgi=001-01:$B01"); done
    for burst in $(seq 1 8); do
        m0=$(sql "SELECT count(*) FROM node_message")
        out=$(dia mme-1 --parallel "${specs[@]}")
        n_ok=$(grep -c 'result=2001$' <<<"$out" || true)
        n_busy=$(grep -c 'result=3004$' <<<"$out" || true)
        assert_eq 60 $((n_ok + n_busy)) "burst $burst: every RIR answered 2001 or 3004: $out"
        m1=$(sql "SELECT count(*) FROM node_message")
        assert_eq "$n_ok" $((m1 - m0)) "burst $burst: one stored message per 2001, none per 3004"
        busy_total=$((busy_total + n_busy))
        grep -q 'RIR refused with 3004: too many requests waiting for the loop' "$DAEMON_LOG" && seen_fd=1
        grep -q 'RIR refused with 3004: the ingest queue is full' "$DAEMON_LOG" && seen_ingest=1
        [ "$seen_fd$seen_ingest" = 11 ] && [ "$n_busy" -gt 0 ] && break
    done
    assert_eq 11 "$seen_fd$seen_ingest" "3004 from freeDiameter's thread and from the loop"
    # One more request wakes the loop, which counts what the threads refused.
    out=$(dia mme-1 "imsi=$(supi 1),ecgi=001-01:$A01")
    assert_eq "rir 1: result=2001" "$out" "a request after the bursts"
    assert_eq "$busy_total" \
        "$(($(metric 'locguard_reports_refused_total{reason="queue_full"}') - counted0))" \
        "every 3004 counted (reason queue_full), on either side"
}
