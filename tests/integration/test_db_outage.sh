# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# The database goes away (an immediate shutdown, as in a crash) under a
# running daemon: nodes get 503 with Retry-After and nothing is acknowledged;
# once the database is back the node's resent batch is accepted and stored
# once. The harness restarts the cluster after this file even if a check
# fails half-way.


setup() {
    add_node mme-1 MME
    add_area home 2.30 48.82 2.40 48.88
    add_cells "$(printf 'ecgi:001-01:000A001,EUTRA,"%s"\n' "$(rect_wkt 2.34 48.84 2.36 48.86)")"
    add_device meter-1@water.example 001010000000001 fixed
    authorize meter-1@water.example home
}

# readyz_is STATUS: for wait_for.
readyz_is() { [ "$(admin GET /readyz)" = "$1" ]; }

# resend_until_accepted SEQ BODY: what a node does after a 503: resend the
# same batch while the answer is 503. Succeeds on 204, fails on anything else.
resend_accepted() {
    local st
    st=$(south mme-1 "$1" "$2")
    case $st in
    204) return 0 ;;
    503) return 1 ;;
    *) fail "resend answered $st: $(body)" ;;
    esac
}

test_database_down_gives_503_then_the_resent_batch_is_accepted_once() {
    local seq b st
    send_ok mme-1 "$(batch mme-1 "$(eutra 001010000000001 000A001)")"
    assert_eq 200 "$(admin GET /readyz)" "readyz with the database up"
    assert_eq 0 "$(metric locguard_db_errors_total)" "database errors with the database up"

    pg kill
    seq=$(next_seq mme-1)
    b=$(batch mme-1 "$(eutra 001010000000001 000A001)")
    st=$(south mme-1 "$seq" "$b")
    if [ "$st" != 503 ]; then
        pg start
        fail "batch with the database down answered $st, expected 503"
    fi
    assert_eq 5 "$(header Retry-After)" "Retry-After"
    wait_for 15 "readyz 503 with the database down" readyz_is 503
    # The lost connections (and the failed reconnects) are database failures.
    [ "$(metric locguard_db_errors_total)" -ge 1 ] ||
        { pg start; fail "locguard_db_errors_total stayed 0 with the database down"; }
    assert_eq 200 "$(admin GET /healthz)" "healthz (the process itself is fine)"
    # locguardctl says "unavailable" (exit 5) for /readyz's and the admin API's 503.
    local rc=0
    ctl health >/dev/null 2>&1 || rc=$?
    assert_eq 5 "$rc" "locguardctl health exit status with the database down"
    rc=0
    ctl node list >/dev/null 2>&1 || rc=$?
    assert_eq 5 "$rc" "locguardctl node list exit status with the database down"

    pg start
    # The daemon reconnects on its own; the node keeps resending.
    wait_for 60 "the resent batch to be accepted" resend_accepted "$seq" "$b"
    assert_eq 1 "$(batches mme-1 "$seq")" "stored batches"
    assert_eq 204 "$(south mme-1 "$seq" "$b")" "one more resend"
    assert_eq 1 "$(batches mme-1 "$seq")" "stored batches after one more resend"
    wait_for 15 "readyz 200 after the restart" readyz_is 200
    assert_eq inside "$(decision meter-1@water.example)" "decision"
}

test_ingest_works_normally_after_the_outage() {
    send_ok mme-1 "$(batch mme-1 "$(eutra 001010000000001 000A001)")"
    assert_eq 0 "$(alerts meter-1@water.example)" "alerts"
}
