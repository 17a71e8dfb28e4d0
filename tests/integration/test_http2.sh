
test_a_client_gone_before_the_commit_is_safe() {
    local seq1 seq2
    seq1=$(next_seq mme-1)
    seq2=$(next_seq mme-1)
    # Hold the batch table, so that the group commit waits: the answers come
    # from a callback after the clients have given up.
    psql "$(conninfo_for "$DB")" -X -q -c \
        "BEGIN; LOCK TABLE node_batch IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(3); COMMIT;" \
        >/dev/null 2>&1 &
    local locker=$!
    sleep 0.5
    # The HTTP/2 client resets its stream, the HTTP/1.1 one closes its connection.
    assert_match '^000' "$(south_v --http2 "$seq1" "$(home 1)" --max-time 1)" "HTTP/2 client gave up"
    assert_match '^000' "$(south_v --http1.1 "$seq2" "$(home 2)" --max-time 1)" "HTTP/1.1 client gave up"
    wait "$locker"
    # Both batches are committed all the same, and a resend is answered as one.
    wait_for 10 "batch $seq1 committed" test "$(batches mme-1 "$seq1")" = 1
    wait_for 10 "batch $seq2 committed" test "$(batches mme-1 "$seq2")" = 1
    assert_eq "204 2" "$(south_v --http2 "$seq1" "$(home 1)")" "resend over HTTP/2"
    assert_eq "204 1.1" "$(south_v --http1.1 "$seq2" "$(home 2)")" "resend over HTTP/1.1"
}
