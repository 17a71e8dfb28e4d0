# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# The server under every zone speaks HTTP/2 and HTTP/1.1 on the same port:
# independent clients (nghttp from nghttp2-client, curl, openssl s_client)
# post AmfEventNotifications to the southbound over TLS and get 204 with
# either version; ALPN picks h2 when offered; h2c with prior knowledge works
# on the zone configured for it (the admin zone here) and nowhere else; every
# refusal, whichever layer makes it, is a ProblemDetails with its status, and
# a 400 names its invalid parameter.

HOME_CELL=000A001

# A small body limit, so that the 413 tests need not send megabytes.
CONF_INGEST='max_body_bytes = 65536'
CONF_ADMIN='h2c = 1'

setup() {
    add_node mme-1 MME
    add_area home 2.30 48.82 2.40 48.88
    add_cells "$(printf 'ecgi:001-01:%s,EUTRA,"%s"\n' $HOME_CELL "$(rect_wkt 2.34 48.84 2.36 48.86)")"
    local i
    for i in 1 2 3 4; do
        add_device "meter-$i@water.example" "00101000000000$i" fixed
        authorize "meter-$i@water.example" home
    done
}

# home N: a notification from mme-1 putting meter N in its home cell.
home() {
    batch mme-1 "$(eutra "00101000000000$1" $HOME_CELL)"
}

# south_v VERSION_FLAG SEQ BODY [CURL ARGS...]: POSTs BODY to the southbound
# with curl and VERSION_FLAG (--http2, --http1.1); prints "STATUS VERSION".
south_v() {
    local flag=$1 seq=$2 out rc=0
    shift 2
    printf '%s' "$1" >"$T/req.json"
    shift
    rm -f "$T/resp.body" "$T/resp.headers"
    out=$(curl -sS --max-time 20 "$flag" --cacert "$CERTS/ca.pem" --cert "$CERTS/mme-1.pem" \
        --key "$CERTS/mme-1.key" -X POST -H 'Content-Type: application/json' \
        -H "Locguard-Seq: $seq" -H "Locguard-Sent-At: $(sent_at)" --data-binary "@$T/req.json" \
        -o "$T/resp.body" -D "$T/resp.headers" -w '%{http_code} %{http_version}' "$@" \
        "https://127.0.0.1:$SOUTH_PORT/v1/location-reports" 2>"$T/resp.err") || rc=$?
    echo "$rc" >"$T/resp.rc"
    echo "${out:-000}"
}

# problem_ok STATUS: the last answer is a TS 29.571 ProblemDetails with STATUS.
problem_ok() {
    local out
    assert_match '^application/problem\+json' "$(header Content-Type)" "content type of the $1"
    assert_eq "$1" "$(json "$(body)" "j->>'status'")" "ProblemDetails status: $(body)"
    body >"$T/problem.json"
    out=$(node "$LG_SPECS/validate.mjs" "$LG_SPECS/3gpp/TS29571_CommonData.yaml" ProblemDetails \
        "$T/problem.json" 2>&1) || fail "ProblemDetails against TS29571: $out in $(body)"
}

# invalid_params: the last answer's invalidParams[].param, one per line.
invalid_params() {
    json "$(body)" "(SELECT string_agg(p->>'param', E'\n') FROM jsonb_array_elements(j->'invalidParams') p)"
}

# raw_tls PORT ALPN REQUEST: writes REQUEST (printf format) over TLS with
# mme-1's certificate, offering ALPN (none when "-"); keeps the answer for
# header / body and prints its status line's code (000: none).
raw_tls() {
    local alpn=()
    [ "$2" != - ] && alpn=(-alpn "$2")
    printf "$3" | timeout 10 openssl s_client -quiet -ign_eof -connect "127.0.0.1:$1" \
        -CAfile "$CERTS/ca.pem" -cert "$CERTS/mme-1.pem" -key "$CERTS/mme-1.key" "${alpn[@]}" \
        >"$T/raw.out" 2>"$T/raw.err" || true
    awk '{ print } /^\r?$/ { exit }' "$T/raw.out" >"$T/resp.headers"
    awk 'seen { print } /^\r?$/ { seen = 1 }' "$T/raw.out" >"$T/resp.body"
    local st
    st=$(head -n 1 "$T/raw.out" | tr -d '\r' | awk '$1 ~ /^HTTP\// { print $2 }')
    echo "${st:-000}"
}

# alpn_of ALPN_LIST: the protocol the southbound's handshake selects ("none").
alpn_of() {
    local alpn=()
    [ "$1" != - ] && alpn=(-alpn "$1")
    echo | timeout 10 openssl s_client -connect "127.0.0.1:$SOUTH_PORT" -CAfile "$CERTS/ca.pem" \
        -cert "$CERTS/mme-1.pem" -key "$CERTS/mme-1.key" "${alpn[@]}" 2>/dev/null |
        awk '/^ALPN protocol:/ { print $3; f = 1 } /^No ALPN negotiated/ { print "none"; f = 1 }
             END { if (!f) print "?" }'
}

test_nghttp_posts_a_notification_over_http2_and_gets_204() {
    local seq out
    seq=$(next_seq mme-1)
    home 1 >"$T/n.json"
    out=$(timeout 20 nghttp -v --cert="$CERTS/mme-1.pem" --key="$CERTS/mme-1.key" \
        -d "$T/n.json" -H 'content-type: application/json' -H "locguard-seq: $seq" \
        -H "locguard-sent-at: $(sent_at)" "https://127.0.0.1:$SOUTH_PORT/v1/location-reports" 2>&1) ||
        fail "nghttp failed: $out"
    assert_match 'recv HEADERS frame' "$out" "an HTTP/2 answer"
    assert_match ':status: 204' "$out" "status"
    assert_eq 1 "$(batches mme-1 "$seq")" "stored batches"
    assert_eq inside "$(decision meter-1@water.example)" "meter-1 stored"
}

test_curl_http2_and_http11_post_and_get_204() {
    local seq
    seq=$(next_seq mme-1)
    assert_eq "204 2" "$(south_v --http2 "$seq" "$(home 2)")" "curl --http2"
    assert_eq 1 "$(batches mme-1 "$seq")" "stored batches"
    seq=$(next_seq mme-1)
    assert_eq "204 1.1" "$(south_v --http1.1 "$seq" "$(home 3)")" "curl --http1.1"
    assert_eq 1 "$(batches mme-1 "$seq")" "stored batches"
    # A resend over the other version is the same batch: acknowledged, stored once.
    assert_eq "204 2" "$(south_v --http2 "$seq" "$(home 3)")" "resend over HTTP/2"
    assert_eq 1 "$(batches mme-1 "$seq")" "stored once"
}

test_alpn_chooses_h2_when_offered() {
    assert_eq h2 "$(alpn_of h2,http/1.1)" "h2 and http/1.1 offered"
    assert_eq h2 "$(alpn_of http/1.1,h2)" "h2 offered second"
    assert_eq http/1.1 "$(alpn_of http/1.1)" "http/1.1 only"
    assert_eq none "$(alpn_of -)" "no ALPN"
    # Without ALPN the southbound (no h2c) speaks HTTP/1.1, even to the HTTP/2 preface.
    assert_eq 400 "$(raw_tls "$SOUTH_PORT" - 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')" "preface without ALPN"
    problem_ok 400
}

test_h2c_prior_knowledge_where_configured() {
    local out
    # The admin zone has "h2c = 1": HTTP/2 in clear text, and HTTP/1.1 on the same port.
    out=$(curl -sS --max-time 10 --http2-prior-knowledge -o /dev/null -w '%{http_code} %{http_version}' \
        "http://127.0.0.1:$ADMIN_PORT/healthz")
    assert_eq "200 2" "$out" "curl --http2-prior-knowledge"
    out=$(curl -sS --max-time 10 --http1.1 -o /dev/null -w '%{http_code} %{http_version}' \
        "http://127.0.0.1:$ADMIN_PORT/healthz")
    assert_eq "200 1.1" "$out" "curl --http1.1 on the same zone"
    out=$(timeout 10 nghttp -v -H "authorization: Bearer $(cat "$T/admin.token")" \
        "http://127.0.0.1:$ADMIN_PORT/metrics" 2>&1) || fail "nghttp h2c failed: $out"
    assert_match ':status: 200' "$out" "nghttp h2c /metrics"
}

test_many_streams_share_one_connection() {
    local out
    out=$(timeout 20 nghttp -v -m 12 --cert="$CERTS/mme-1.pem" --key="$CERTS/mme-1.key" \
        "https://127.0.0.1:$SOUTH_PORT/v1/location-reports" 2>&1) || fail "nghttp failed: $out"
    assert_eq 12 "$(printf '%s\n' "$out" | grep -c ':status: 405')" "12 answers on one connection"
    assert_eq 12 "$(printf '%s\n' "$out" | grep -c 'content-type: application/problem+json')" \
        "each a ProblemDetails"
}

test_every_refusal_over_http2_is_problem_details() {
    local seq big pad
    seq=$(next_seq mme-1)
    big=$(head -c 70000 /dev/zero | tr '\0' ' ')
    assert_eq "413 2" "$(south_v --http2 "$seq" "$(home 4)$big")" "body over the limit"
    problem_ok 413
    pad=$(head -c 17000 /dev/zero | tr '\0' 'a')
    assert_eq "431 2" "$(south_v --http2 "$seq" "$(home 4)" -H "X-Pad: $pad")" "header block over 16 KiB"
    problem_ok 431
    assert_eq headers "$(invalid_params)" "invalidParams"
    assert_eq "400 2" "$(south_v --http2 "$seq" "$(home 4)" -H "Locguard-Seq: $((seq + 1))")" \
        "Locguard-Seq twice"
    problem_ok 400
    assert_eq "header Locguard-Seq" "$(invalid_params)" "invalidParams"
    assert_eq "400 2" "$(south_v --http2 "$seq" '{"notifyCorrelationId":')" "malformed JSON"
    problem_ok 400
    assert_eq body "$(invalid_params)" "invalidParams"
    assert_eq 0 "$(batches mme-1 "$seq")" "stored batches"
}

test_every_refusal_over_http11_is_problem_details() {
    local seq big pad req
    seq=$(next_seq mme-1)
    big=$(head -c 70000 /dev/zero | tr '\0' ' ')
    assert_eq "413 1.1" "$(south_v --http1.1 "$seq" "$(home 4)$big")" "body over the limit"
    problem_ok 413
    assert_eq "400 1.1" "$(south_v --http1.1 "$seq" "$(home 4)" -H "Locguard-Seq: $((seq + 1))")" \
        "Locguard-Seq twice"
    problem_ok 400
    assert_eq "header Locguard-Seq" "$(invalid_params)" "invalidParams"
    req="POST /v1/location-reports HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\nLocguard-Seq: $seq\\r\\nLocguard-Sent-At: $(sent_at)\\r\\n"
    assert_eq 400 "$(raw_tls "$SOUTH_PORT" http/1.1 "${req}Transfer-Encoding: chunked\\r\\n\\r\\nzz\\r\\n{}\\r\\n0\\r\\n\\r\\n")" \
        "malformed chunk size"
    problem_ok 400
    assert_eq body "$(invalid_params)" "invalidParams"
    assert_eq close "$(header Connection)" "closed after it"
    assert_eq 400 "$(raw_tls "$SOUTH_PORT" http/1.1 "${req}Transfer-Encoding: chunked\\r\\nContent-Length: 6\\r\\n\\r\\n2\\r\\n{}\\r\\n0\\r\\n\\r\\n")" \
        "chunked with Content-Length"
    problem_ok 400
    assert_eq "header Content-Length" "$(invalid_params)" "invalidParams"
    pad=$(head -c 17000 /dev/zero | tr '\0' 'a')
    assert_eq 431 "$(raw_tls "$SOUTH_PORT" http/1.1 "${req}X-Pad: $pad\\r\\nContent-Length: 2\\r\\n\\r\\n{}")" \
        "header block over 16 KiB"
    problem_ok 431
    assert_eq 413 "$(raw_tls "$SOUTH_PORT" http/1.1 "${req}Transfer-Encoding: chunked\\r\\n\\r\\n100000\\r\\n")" \
        "a chunk over the limit"
    problem_ok 413
    assert_eq 0 "$(batches mme-1 "$seq")" "stored batches"
}

# raw_h1 PORT [half-close]: sends stdin over one plain connection to PORT
# (then closes its sending side, a TCP half-close, when asked), reads until
# the server closes, keeps what came in $T/raw_h1.out and prints the status
# of each answer, in order, on one line.
raw_h1() {
    timeout 20 python3 -c '
import re, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(sys.stdin.buffer.read())
if sys.argv[2] == "half-close":
    s.shutdown(socket.SHUT_WR)
data = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    data += d
open(sys.argv[3], "wb").write(data)
print(" ".join(c.decode() for c in re.findall(rb"HTTP/1\.1 (\d{3}) ", data)))
' "$1" "${2:-}" "$T/raw_h1.out"
}

test_http11_keeps_alive_and_answers_in_order() {
    local out
    # Three pipelined requests in one write: three answers, in request order.
    out=$(printf 'GET /healthz HTTP/1.1\r\nHost: a\r\n\r\nGET /metrics HTTP/1.1\r\nHost: a\r\n\r\nGET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' |
        raw_h1 "$ADMIN_PORT")
    assert_eq "200 401 200" "$(echo $out)" "statuses in order"
}

test_a_client_gone_before_the_commit_is_safe() {
    local seq1 seq2 locker
    seq1=$(next_seq mme-1)
    seq2=$(next_seq mme-1)
    # Hold the batch table, so that the group commit waits: the answers come
    # from a callback after the clients have given up.
    psql "$(conninfo_for "$DB")" -X -q -c \
        "BEGIN; LOCK TABLE node_batch IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(3); COMMIT;" \
        >/dev/null 2>&1 &
    locker=$!
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

test_http11_half_close_and_pipelining_while_a_handler_works() {
    local locker out
    # GET /v1/nodes waits for the lock on network_node: the two pipelined
    # requests and the client's half-close (a TCP FIN after its last byte)
    # reach the daemon while the first handler works. The connection keeps
    # reading (no epoll change per request), leaves the second request
    # unparsed, and answers both, in order, before it ends.
    psql "$(conninfo_for "$DB")" -X -q -c \
        "BEGIN; LOCK TABLE network_node IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(2); COMMIT;" \
        >/dev/null 2>&1 &
    locker=$!
    sleep 0.5
    out=$(printf 'GET /v1/nodes HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer %s\r\n\r\nGET /v1/nodes HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer %s\r\n\r\n' \
        "$(cat "$T/admin.token")" "$(cat "$T/admin.token")" | raw_h1 "$ADMIN_PORT" half-close)
    wait "$locker"
    assert_eq "200 200" "$out" "two answers after the half-close, in order"
    assert_eq 2 "$(grep -o '"mme-1"' "$T/raw_h1.out" | wc -l)" "each names mme-1"
}
