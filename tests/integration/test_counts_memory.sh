# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# The in-memory count evaluator (service/counts/counteval.c) behind the CAMARA
# exposure zone, end to end: an answer from memory is audited (with the
# release it used); a release stored by someone else and a change of the
# cell table are picked up within the poll; an interval older than the
# releases kept in memory is answered by lg_counts_query; with the database
# down a count gets 503 and no count, and the audit rows of the answers
# given just before are written once it is back (the queue retries them).
# test_counts_audit_wait.sh runs the same daemon with [counts] audit_wait.
# That the memory's answers equal lg_counts_query's is checked over many
# random areas by tests/unit/counts/test_countmap.c.
#
# Releases for un-timed queries are in 2100 (see test_counts.sh); [counts]
# memory_poll_ms is short here so that the waits are short.

# Cells: a 3x3 grid of 0.02 degree cells from 2.30 E 48.80 N, keys ecgi:001-01:00003ij.
CELL_LON0=2.30
CELL_LAT0=48.80
CELL_D=0.02

ZONES="south admin north expo"
CONF_EXTRA="[counts]
audit_wait = ${AUDIT_WAIT:-0}
bucket_s = 86400
k = 10
min_area_m2 = 1000000
max_area_m2 = 50000000000
rate_per_minute = 1000
memory_days = 2
memory_poll_ms = 200

[zone expo]
kind = exposure
listen = 127.0.0.1:0
cert = $CERTS/server.pem
key = $CERTS/server.key"

cell_key() { printf 'ecgi:001-01:00003%d%d' "$1" "$2"; }
# count BODY: the exposure zone's answer (status code; body in body()).
count() {
    printf '%s' "$1" >"$T/expo.req.json"
    curl_status --cacert "$CERTS/ca.pem" -X POST -H 'Content-Type: application/json' \
        -H "Authorization: Bearer $(cat "$T/tok")" --data-binary "@$T/expo.req.json" \
        "https://127.0.0.1:$EXPO_PORT/region-device-count/v0/count"
}

# answer_is AREA ANSWER: for wait_for (the answer compared as jsonb text).
answer_is() {
    [ "$(count "{\"area\":$1}")" = 200 ] && [ "$(json "$(body)" "j::text")" = "$2" ]
}

# memory_answer_is AREA ANSWER: answer_is, and the answer came from memory (its audit row says so).
memory_answer_is() {
    answer_is "$1" "$2" &&
        [ "$(sql "SELECT request ->> 'evaluator' FROM audit_log WHERE actor = 'app' ORDER BY id DESC LIMIT 1")" = memory ]
}

cell00() { local b; read -r b <<<"$(cell_box 0 0)"; camara_box $b; }

setup() {
    local i j box out secret
    add_cells "$(for i in 0 1 2; do for j in 0 1 2; do
        read -r box <<<"$(cell_box "$i" "$j")"
        # shellcheck disable=SC2086
        printf '%s,EUTRA,"%s"\n' "$(cell_key "$i" "$j")" "$(rect_wkt $box)"
    done; done)"
    out=$("$BUILD/locguardctl" --url "http://127.0.0.1:$ADMIN_PORT" --token-file "$T/admin.token" \
        client add app --scope region-device-count 2>&1)
    secret=$(printf '%s\n' "$out" | awk '$1 == "clientSecret" { print $2 }')
    [ -n "$secret" ] || { fail "client add printed no secret: $out"; return 1; }
    curl_status --cacert "$CERTS/ca.pem" -u "app:$secret" -X POST \
        -H 'Content-Type: application/x-www-form-urlencoded' \
        --data-binary grant_type=client_credentials "https://127.0.0.1:$EXPO_PORT/oauth2/token" >/dev/null
    json "$(body)" "j->>'access_token'" >"$T/tok"
    [ -s "$T/tok" ] || { fail "no token"; return 1; }
    [ "$(store_release 2100-01-01T00:00Z 2100-01-02T00:00Z "$(cell_key 0 0)=14 $(cell_key 1 1)=25")" = t ]
}

test_an_answer_from_memory_is_audited_with_its_release() {
    local rel
    wait_for 10 "cell 00 answered from memory" memory_answer_is "$(cell00)" '{"count": 14, "status": "SUPPORTED_AREA"}'
    rel=$(sql "SELECT id FROM count_release WHERE bucket_start = '2100-01-01T00:00Z'")
    # The row of that answer is in audit_log: the memory writes it before answering.
    assert_eq "app third_party region-device-count [$rel] memory {\"count\": 14, \"status\": \"SUPPORTED_AREA\"}" \
        "$(sql "SELECT actor || ' ' || actor_kind || ' ' || action || ' ' || (request -> 'releases')::text
                       || ' ' || (request ->> 'evaluator') || ' ' || answer::text
                FROM audit_log WHERE actor = 'app' ORDER BY id DESC LIMIT 1")" "the audit row"
    assert_eq "$(sql "SELECT count(*) FROM audit_log WHERE actor = 'app'")" \
        "$(sql "SELECT count(*) FROM audit_log WHERE actor = 'app' AND answer IS NOT NULL")" "every row has its answer"
}

test_a_release_stored_elsewhere_is_used_within_the_poll() {
    [ "$(store_release 2100-01-02T00:00Z 2100-01-03T00:00Z "$(cell_key 0 0)=30")" = t ] ||
        fail "release refused"
    wait_for 10 "the new latest release" memory_answer_is "$(cell00)" '{"count": 30, "status": "SUPPORTED_AREA"}'
}

test_a_cell_change_is_picked_up() {
    local east box
    # East of the grid: no coverage yet.
    east=$(camara_box 2.36 48.80 2.38 48.82)
    assert_eq 200 "$(count "{\"area\":$east}")" "east of the grid"
    assert_eq '{"status": "AREA_NOT_SUPPORTED"}' "$(json "$(body)" "j::text")" "no coverage"
    read -r box <<<"2.36 48.80 2.38 48.82"
    # shellcheck disable=SC2086
    add_cells "$(printf '%s,EUTRA,"%s"\n' "$(cell_key 3 0)" "$(rect_wkt $box)")"
    # Covered now; the latest release holds nothing for the new cell: 0, below k.
    wait_for 10 "the new cell" memory_answer_is "$east" '{"status": "DENSITY_BELOW_PRIVACY_THRESHOLD"}'
}

test_an_interval_older_than_memory_is_answered_by_the_database() {
    [ "$(store_release 2020-03-01T00:00Z 2020-03-01T01:00Z "$(cell_key 0 0)=21")" = t ] ||
        fail "release refused"
    assert_eq 200 "$(count "{\"area\":$(cell00),\"starttime\":\"2020-03-01T00:00:00Z\",\"endtime\":\"2020-03-01T01:00:00Z\"}")" "old interval"
    assert_eq '{"count": 21, "status": "SUPPORTED_AREA"}' "$(json "$(body)" "j::text")" "old interval answer"
    assert_eq "" "$(sql "SELECT coalesce(request ->> 'evaluator', '') FROM audit_log
                         WHERE actor = 'app' ORDER BY id DESC LIMIT 1")" "written by lg_counts_query"
}

# count_is STATUS AREA: for wait_for.
count_is() { [ "$(count "{\"area\":$2}")" = "$1" ]; }

audit_rows() { sql "SELECT count(*) FROM audit_log WHERE actor = 'app'"; }

test_with_the_database_down_a_count_gets_503_and_no_count() {
    local st rows answered=0 i
    rows=$(audit_rows)
    pg kill
    # Until the pool sees its connections gone an answer may still be given
    # (queued mode): count those; then 503.
    for i in $(seq 1 100); do
        st=$(count "{\"area\":$(cell00)}")
        [ "$st" = 200 ] || break
        answered=$((answered + 1))
        sleep 0.1
    done
    pg start
    # (json() asks psql: only now.)
    assert_eq 503 "$st" "a count with the database down: $(body)"
    assert_eq UNAVAILABLE "$(json "$(body)" "j->>'code'")" "503 code"
    assert_eq "" "$(json "$(body)" "coalesce(j->>'count', '')")" "no count"
    wait_for 60 "counts again once the database is back" answer_is "$(cell00)" '{"count": 30, "status": "SUPPORTED_AREA"}'
    # Every answer given has its audit row: those before the outage, the
    # ones answered while it began (retried), and the one just now.
    wait_for 20 "$((rows + answered + 1)) audit rows" test "$(audit_rows)" -ge $((rows + answered + 1))
}
