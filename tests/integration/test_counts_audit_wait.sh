# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# test_counts_memory.sh's daemon with [counts] audit_wait = 1: an answer
# from memory is sent only once its audit row is written, so the row is
# there as soon as the answer is; with the database down the answer is 503
# at once (the write fails), never an unaudited count.

AUDIT_WAIT=1
# shellcheck source=tests/integration/test_counts_memory.sh
. "$LG_ROOT/tests/integration/test_counts_memory.sh"

test_the_audit_row_is_written_before_the_answer() {
    local rows
    wait_for 10 "cell 00 answered from memory" memory_answer_is "$(cell00)" '{"count": 14, "status": "SUPPORTED_AREA"}'
    for _ in 1 2 3 4 5; do
        rows=$(audit_rows)
        assert_eq 200 "$(count "{\"area\":$(cell00)}")" "a count"
        # No wait: the row came before the answer.
        assert_eq $((rows + 1)) "$(audit_rows)" "its audit row"
    done
}

test_with_the_database_down_the_answer_is_503() {
    local st
    pg kill
    st=$(count "{\"area\":$(cell00)}")
    pg start
    assert_eq 503 "$st" "a count with the database down: $(body)"
    assert_eq "" "$(json "$(body)" "coalesce(j->>'count', '')")" "no count"
    wait_for 60 "counts again once the database is back" answer_is "$(cell00)" '{"count": 14, "status": "SUPPORTED_AREA"}'
}
