# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Anonymized counts (issue 4): the CAMARA Region Device Count API of the
# exposure zone over HTTPS (token matrix, ErrorInfo codes, x-correlator, rate
# limit, statuses, repeatability), the privacy filter's consent and k rules
# against the real SQL, and the operators' exact count through
# `locguardctl count`.
#
# Releases are stored directly with lg_counts_store_release (the daemon's
# own release path is covered by tests/unit/counts/test_release.c); so that a
# release the daemon might make while the file runs can never be "the
# latest", the releases the un-timed queries read are stored for buckets in
# 2100 ([counts] bucket_s is one day here), and the timed ones for buckets
# in the past.
#
# The daemon is lib.sh's (its northbound zone's tokens are the "wrong
# audience" case) plus [counts] and the exposure zone; tokens crafted here are
# signed with the daemon's own key, $CERTS/jwt.key.

# Cells: a 3x3 grid of 0.02 x 0.02 degree cells (about 1.5 km x 2.2 km),
# south-west corner 2.30 E 48.80 N; cell (i, j) is column i, row j, key
# ecgi:001-01:00001ij.
CELL_LON0=2.30
CELL_LAT0=48.80
CELL_D=0.02
COUNT_K=10
COUNT_RATE=60

# lib.sh's daemon, plus the [counts] settings and the exposure zone.
ZONES="south admin north expo"
CONF_EXTRA="[counts]
bucket_s = 86400
epsilon = 1/2
daily_epsilon = 12
k = $COUNT_K
min_area_m2 = 1000000
max_area_m2 = 50000000000
rate_per_minute = $COUNT_RATE

[zone expo]
kind = exposure
listen = 127.0.0.1:0
cert = $CERTS/server.pem
key = $CERTS/server.key"

# ---------------------------------------------------------------- helpers

lgctl() {
    "$BUILD/locguardctl" --url "http://127.0.0.1:$ADMIN_PORT" --token-file "$T/admin.token" "$@"
}

# cell_key I J: the key of grid cell (I, J) (see "count grids" in lib.sh).
cell_key() { printf 'ecgi:001-01:00001%d%d' "$1" "$2"; }
# new_client ID SCOPE [SCS]: an OAuth2 client; its secret goes to $T/client.ID.secret.
new_client() {
    local out secret
    out=$(lgctl client add "$1" --scope "$2" ${3:+--scs "$3"} 2>&1) ||
        { fail "locguardctl client add $1 failed: $out"; return 1; }
    secret=$(printf '%s\n' "$out" | awk '$1 == "clientSecret" { print $2 }')
    [ -n "$secret" ] || { fail "client add $1 printed no clientSecret: $out"; return 1; }
    printf '%s\n' "$secret" >"$T/client.$1.secret"
}

# token_at PORT CLIENT: prints an access token from the zone's token endpoint.
token_at() {
    local st
    st=$(curl_status --cacert "$CERTS/ca.pem" -u "$2:$(cat "$T/client.$2.secret")" -X POST \
        -H 'Content-Type: application/x-www-form-urlencoded' \
        --data-binary grant_type=client_credentials "https://127.0.0.1:$1/oauth2/token")
    [ "$st" = 200 ] || { fail "token for $2 at port $1 answered $st: $(body)"; return 1; }
    json "$(body)" "j->>'access_token'"
}

# expo_count TOKEN BODY [CURL ARGS...]: POSTs a count request; prints the status.
# TOKEN "" sends no Authorization header.
expo_count() {
    local tok=$1 args=()
    printf '%s' "$2" >"$T/expo.req.json"
    shift 2
    [ -n "$tok" ] && args+=(-H "Authorization: Bearer $tok")
    curl_status --cacert "$CERTS/ca.pem" -X POST -H 'Content-Type: application/json' \
        --data-binary "@$T/expo.req.json" "${args[@]}" "$@" \
        "https://127.0.0.1:$EXPO_PORT${COUNT_PATH:-/regionDeviceCount/vwip/count}"
}

# keep_body NAME: saves the last body as $T/bodies/NAME.json (checked against
# the CAMARA YAML by hand: node shared/specs/validate.mjs ...).
keep_body() {
    mkdir -p "$T/bodies"
    body >"$T/bodies/$1.json"
}

# claims SUB AUD SCOPE EXP_OFFSET_S: a claim set issued now.
claims() {
    local now
    now=$(date +%s)
    printf '{"iss":"https://locguard.test","sub":"%s","aud":"%s","scope":"%s","iat":%d,"nbf":%d,"exp":%d,"jti":"t%s"}' \
        "$1" "$2" "$3" $((now - 7200)) $((now - 7200)) $((now + $4)) "$RANDOM"
}

es256_header() { printf '{"alg":"ES256","typ":"JWT","kid":"%s"}' "$(kid)"; }

setup() {
    local i j reports=() box
    admin_ok POST /v1/nodes '{"name":"mme-1","kind":"MME"}'
    add_cells "$(for i in 0 1 2; do for j in 0 1 2; do
        read -r box <<<"$(cell_box "$i" "$j")"
        # shellcheck disable=SC2086
        printf '%s,EUTRA,"%s"\n' "$(cell_key "$i" "$j")" "$(rect_wkt $box)"
    done; done)"
    # 12 consented devices in cell (0,0), 5 without consent there, 3 consented in (1,0).
    for i in $(seq 1 20); do
        add_device "cnt-$i@stats.example" "$(printf '0010177%08d' "$i")" unrestricted
        if [ "$i" -le 17 ]; then
            reports+=("$(eutra "$(printf '0010177%08d' "$i")" 0000100)")
        else
            reports+=("$(eutra "$(printf '0010177%08d' "$i")" 0000110)")
        fi
        if [ "$i" -le 12 ] || [ "$i" -ge 18 ]; then
            lgctl consent grant "cnt-$i@stats.example" --purpose anonymous-statistics >/dev/null ||
                fail "consent grant cnt-$i failed"
        fi
    done
    # A location-monitoring consent is not an anonymous-statistics one.
    lgctl consent grant cnt-13@stats.example --purpose location-monitoring >/dev/null
    send_ok mme-1 "$(batch mme-1 "${reports[@]}")"
    wait_for 20 "20 stored locations" \
        test "$(sql "SELECT count(*) FROM ue_location l JOIN ue u ON u.id = l.ue_id
                     WHERE u.external_id LIKE 'cnt-%' AND l.cell_key IS NOT NULL")" = 20
    new_client app region-device-count
    new_client app2 region-device-count
    new_client limited region-device-count
    admin_ok PUT /v1/scs/scs-count "{\"scsAsId\":\"scs-count\",\"webhookSecret\":\"whsec_$(openssl rand -base64 32)\",\"allowPrivateDestinations\":false}"
    new_client monitor monitoring-event scs-count
    # Releases: the latest (2100) for un-timed queries, two past ones for intervals.
    [ "$(store_release 2100-01-01T00:00Z 2100-01-02T00:00Z \
        "$(cell_key 0 0)=14 $(cell_key 1 0)=2 $(cell_key 0 1)=-3 $(cell_key 1 1)=25")" = t ]
    [ "$(store_release 2020-03-01T00:00Z 2020-03-01T01:00Z "$(cell_key 1 1)=20")" = t ]
    [ "$(store_release 2020-03-01T01:00Z 2020-03-01T02:00Z "$(cell_key 1 1)=31")" = t ]
}

# ---------------------------------------------------------------- consent, exact counts

test_release_histogram_counts_only_consented_devices() {
    local cells
    cells=$(sql "SELECT string_agg(cell_key || '=' || n, ' ' ORDER BY cell_key)
                 FROM lg_counts_exact_cells(now() + interval '1 second', now() - interval '1 hour')")
    assert_eq "$(cell_key 0 0)=12 $(cell_key 0 1)=0 $(cell_key 0 2)=0 $(cell_key 1 0)=3 $(cell_key 1 1)=0 $(cell_key 1 2)=0 $(cell_key 2 0)=0 $(cell_key 2 1)=0 $(cell_key 2 2)=0" \
        "$cells" "exact histogram (5 devices without anonymous-statistics consent in cell 00)"
}

test_operator_exact_count_through_locguardctl() {
    local out box
    read -r box <<<"$(cell_box 0 0)"
    # shellcheck disable=SC2086
    printf '{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[%s]}}' \
        "$(rect_ring $box)" >"$T/cell00.geojson"
    out=$(lgctl count --geojson "$T/cell00.geojson")
    assert_eq 12 "$(json "$out" "j->>'count'")" "exact count of cell 00 (locguardctl count --geojson)"
    # Both cells: 12 + 3; the five devices without consent are never counted.
    read -r box <<<"2.30 48.80 2.34 48.82"
    # shellcheck disable=SC2086
    printf '{"type":"Polygon","coordinates":[%s]}' "$(rect_ring $box)" >"$T/cells.geojson"
    out=$(lgctl count --geojson "$T/cells.geojson")
    assert_eq 15 "$(json "$out" "j->>'count'")" "exact count of cells 00+10"
    # A circle around the centre of cell 00 (a point on its surface stands for each device).
    out=$(lgctl count --circle 48.81,2.31,3000)
    assert_eq 15 "$(json "$out" "j->>'count'")" "exact count of a 3 km circle over cells 00 and 10 (--circle)"
    # Consent given: counted; revoked: not.
    lgctl consent grant cnt-13@stats.example --purpose anonymous-statistics >/dev/null
    assert_eq 13 "$(json "$(lgctl count --geojson "$T/cell00.geojson")" "j->>'count'")" "after consent"
    lgctl consent revoke cnt-13@stats.example --purpose anonymous-statistics >/dev/null
    assert_eq 12 "$(json "$(lgctl count --geojson "$T/cell00.geojson")" "j->>'count'")" "after revocation"
    assert_eq 5 "$(sql "SELECT count(*) FROM audit_log WHERE actor_kind = 'operator' AND action = 'exact-count'")" \
        "operator counts audited"
    # A point is no area: the CLI refuses it before asking.
    printf '{"type":"Point","coordinates":[2.31,48.81]}' >"$T/point.geojson"
    if lgctl count --geojson "$T/point.geojson" >/dev/null 2>&1; then fail "a Point was counted"; fi
}

# ---------------------------------------------------------------- tokens

test_token_matrix() {
    local good north st ref expired badsig none wrongaud crafted_ok hdr pl
    good=$(token_at "$EXPO_PORT" app)
    st=$(expo_count "$good" "{\"area\":$(camara_box 2.30 48.80 2.32 48.82)}")
    assert_eq 200 "$st" "a good token: $(body)"

    # Missing: the reference 401.
    st=$(expo_count "" "{\"area\":$(camara_box 2.30 48.80 2.32 48.82)}")
    assert_eq 401 "$st" "no token"
    ref=$(body)
    assert_eq UNAUTHENTICATED "$(json "$ref" "j->>'code'")" "401 code"
    assert_eq 401 "$(json "$ref" "j->>'status'")" "401 status member"
    keep_body unauthenticated

    crafted_ok=$(mint "$(es256_header)" "$(claims app locguard-exposure region-device-count 600)")
    expired=$(mint "$(es256_header)" "$(claims app locguard-exposure region-device-count -3600)")
    badsig=${crafted_ok%?????}AAAAA
    none="$(printf '{"alg":"none","typ":"JWT"}' | b64url).$(claims app locguard-exposure region-device-count 600 | b64url)."
    wrongaud=$(mint "$(es256_header)" "$(claims app locguard-northbound region-device-count 600)")
    # A token of the northbound zone's own endpoint (same key, its audience).
    north=$(token_at "$NORTH_PORT" monitor)
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/other.key" 2>/dev/null
    otherkey=$(mint "$(es256_header)" "$(claims app locguard-exposure region-device-count 600)" "$T/other.key")
    hdr=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
    pl=$(claims app locguard-exposure region-device-count 600 | b64url)

    # The crafted token is otherwise right: it is accepted, so each refusal below is for its one flaw.
    st=$(expo_count "$crafted_ok" "{\"area\":$(camara_box 2.30 48.80 2.32 48.82)}")
    assert_eq 200 "$st" "crafted good token: $(body)"

    local name tok
    for name in garbage expired badsig none wrongaud north otherkey hs256 basic; do
        case $name in
        garbage) tok=not.a.jwt ;;
        expired) tok=$expired ;;
        badsig) tok=$badsig ;;
        none) tok=$none ;;
        wrongaud) tok=$wrongaud ;;
        north) tok=$north ;;
        otherkey) tok=$otherkey ;;
        hs256) tok="$hdr.$pl.$(printf 'x' | b64url)" ;;
        esac
        if [ "$name" = basic ]; then
            st=$(expo_count "" "{\"area\":$(camara_box 2.30 48.80 2.32 48.82)}" -u "app:$(cat "$T/client.app.secret")")
        else
            st=$(expo_count "$tok" "{\"area\":$(camara_box 2.30 48.80 2.32 48.82)}")
        fi
        assert_eq 401 "$st" "token $name"
        assert_eq "$ref" "$(body)" "401 body for token $name"
        assert_match 'invalid_token' "$(header WWW-Authenticate)" "WWW-Authenticate for $name"
    done

    # Right audience and signature, wrong scope: 403 PERMISSION_DENIED (a real
    # token of the exposure endpoint for a monitoring-event client, and a crafted one).
    for tok in "$(token_at "$EXPO_PORT" monitor)" \
        "$(mint "$(es256_header)" "$(claims app locguard-exposure monitoring-event 600)")"; do
        st=$(expo_count "$tok" "{\"area\":$(camara_box 2.30 48.80 2.32 48.82)}")
        assert_eq 403 "$st" "wrong scope"
        assert_eq PERMISSION_DENIED "$(json "$(body)" "j->>'code'")" "403 code"
        assert_eq 403 "$(json "$(body)" "j->>'status'")" "403 status member"
    done
    keep_body permission_denied
}

# ---------------------------------------------------------------- request errors

# expect_error STATUS CODE BODY WHAT: a request with app's token answering an ErrorInfo.
expect_error() {
    local st
    st=$(expo_count "$(cat "$T/tok.app")" "$3")
    assert_eq "$1" "$st" "$4: $(body)"
    assert_eq "$2" "$(json "$(body)" "j->>'code'")" "$4: code"
    assert_eq "$1" "$(json "$(body)" "(j->>'status')")" "$4: status member"
    assert_match '.' "$(json "$(body)" "j->>'message'")" "$4: message"
}

test_camara_error_codes() {
    token_at "$EXPO_PORT" app >"$T/tok.app"
    local c00 tiny bowtie
    c00=$(camara_box 2.30 48.80 2.32 48.82)
    expect_error 400 INVALID_ARGUMENT '{"area":' "not JSON"
    keep_body invalid_argument
    expect_error 400 INVALID_ARGUMENT '{}' "no area"
    expect_error 400 INVALID_ARGUMENT '{"area":{"areaType":"HEXAGON"}}' "unknown areaType"
    expect_error 400 REGION_DEVICE_COUNT.INVALID_POLYGON_AREA \
        '{"area":{"areaType":"POLYGON","boundary":[{"latitude":48.8,"longitude":2.3},{"latitude":48.81,"longitude":2.31}]}}' \
        "two points"
    # A bow tie: edges 1-2 and 3-4 cross.
    bowtie='{"area":{"areaType":"POLYGON","boundary":[{"latitude":48.80,"longitude":2.30},{"latitude":48.82,"longitude":2.32},{"latitude":48.80,"longitude":2.32},{"latitude":48.82,"longitude":2.30}]}}'
    expect_error 400 REGION_DEVICE_COUNT.INVALID_POLYGON_AREA "$bowtie" "self-intersecting"
    assert_match 'self-intersecting' "$(json "$(body)" "j->>'message'")" "self-intersection message"
    keep_body self_intersecting
    # 100 m x 100 m = 0.01 km2 < min_area_m2 (1 km2).
    tiny=$(camara_box 2.3000 48.8000 2.3014 48.8009)
    expect_error 400 REGION_DEVICE_COUNT.INVALID_POLYGON_AREA "{\"area\":$tiny}" "polygon too small"
    assert_match 'smaller' "$(json "$(body)" "j->>'message'")" "too small message"
    expect_error 400 REGION_DEVICE_COUNT.INVALID_CIRCLE_AREA \
        '{"area":{"areaType":"CIRCLE","center":{"latitude":48.81,"longitude":2.31},"radius":300}}' "circle too small"
    # 200 km radius: 1.26e11 m2 > max_area_m2 (5e10).
    expect_error 400 REGION_DEVICE_COUNT.INVALID_CIRCLE_AREA \
        '{"area":{"areaType":"CIRCLE","center":{"latitude":48.81,"longitude":2.31},"radius":200000}}' "circle too large"
    assert_match 'larger' "$(json "$(body)" "j->>'message'")" "too large message"
    expect_error 400 REGION_DEVICE_COUNT.INVALID_POLYGON_AREA "{\"area\":$(camara_box 0 40 5 45)}" "polygon too large"
    expect_error 400 REGION_DEVICE_COUNT.INVALID_CIRCLE_AREA \
        '{"area":{"areaType":"CIRCLE","center":{"latitude":48.81},"radius":3000}}' "circle without longitude"
    expect_error 400 INVALID_ARGUMENT \
        '{"area":{"areaType":"CIRCLE","center":{"latitude":95,"longitude":2.31},"radius":3000}}' "latitude out of range"
    expect_error 400 REGION_DEVICE_COUNT.TIME_INVALID_ARGUMENT \
        "{\"area\":$c00,\"starttime\":\"2020-03-01T00:00:00Z\"}" "starttime alone"
    expect_error 400 REGION_DEVICE_COUNT.INVALID_END_DATE \
        "{\"area\":$c00,\"starttime\":\"2020-03-02T00:00:00Z\",\"endtime\":\"2020-03-01T00:00:00Z\"}" "end before start"
    expect_error 400 INVALID_ARGUMENT "{\"area\":$c00,\"starttime\":\"yesterday\",\"endtime\":\"2020-03-01T00:00:00Z\"}" "bad date"
}

# What the server refuses before the route (a body over [ingest]
# max_body_bytes) is a CAMARA ErrorInfo in this zone too, not ProblemDetails.
test_server_refusals_are_error_info() {
    local st
    head -c 1100000 /dev/zero | tr '\0' ' ' >"$T/big.json"
    st=$(curl_status --cacert "$CERTS/ca.pem" -X POST -H 'Content-Type: application/json' \
        --data-binary "@$T/big.json" "https://127.0.0.1:$EXPO_PORT/region-device-count/vwip/count")
    assert_eq 413 "$st" "a body over max_body_bytes: $(body)"
    assert_eq "413 INVALID_ARGUMENT" "$(json "$(body)" "concat_ws(' ', j->>'status', j->>'code')")" \
        "ErrorInfo status and code"
    assert_match '.' "$(json "$(body)" "j->>'message'")" "ErrorInfo message"
}

test_x_correlator_is_echoed_and_checked() {
    local tok st c00
    tok=$(token_at "$EXPO_PORT" app)
    c00=$(camara_box 2.30 48.80 2.32 48.82)
    st=$(expo_count "$tok" "{\"area\":$c00}" -H 'x-correlator: b4333c46-49c0-4f62-80d7-f0ef930f1c46')
    assert_eq 200 "$st" "with x-correlator"
    assert_eq b4333c46-49c0-4f62-80d7-f0ef930f1c46 "$(header x-correlator)" "echoed on 200"
    st=$(expo_count "" "{\"area\":$c00}" -H 'x-correlator: abc:123')
    assert_eq 401 "$st" "401 with x-correlator"
    assert_eq abc:123 "$(header x-correlator)" "echoed on 401"
    st=$(expo_count "$tok" '{}' -H 'x-correlator: abc{1}')
    assert_eq 400 "$st" "400 with x-correlator"
    assert_eq 'abc{1}' "$(header x-correlator)" "echoed on 400"
    for bad in 'has space' 'semi"quote' 'a!b' "$(head -c 257 /dev/zero | tr '\0' a)"; do
        st=$(expo_count "$tok" "{\"area\":$c00}" -H "x-correlator: $bad")
        assert_eq 400 "$st" "x-correlator '$bad'"
        assert_eq INVALID_ARGUMENT "$(json "$(body)" "j->>'code'")" "bad x-correlator code"
        assert_eq "" "$(header x-correlator)" "a refused x-correlator is not echoed"
    done
}

# ---------------------------------------------------------------- answers

test_answers_statuses_and_repeatability() {
    local tok st first c00 both timed ok
    tok=$(token_at "$EXPO_PORT" app2)
    c00=$(camara_box 2.30 48.80 2.32 48.82)
    timed=$(metric locguard_count_request_duration_seconds_count)
    ok=$(metric 'locguard_http_requests_total{zone="exposure",code="2xx"}')
    # Cell 00 released 14: SUPPORTED_AREA 14.
    st=$(expo_count "$tok" "{\"area\":$c00}")
    assert_eq 200 "$st" "count of cell 00: $(body)"
    # Each count request is timed, answered from memory or from the database.
    assert_eq $((timed + 1)) "$(metric locguard_count_request_duration_seconds_count)" \
        "count requests timed"
    assert_eq $((ok + 1)) "$(metric 'locguard_http_requests_total{zone="exposure",code="2xx"}')" \
        "exposure 2xx answers"
    first=$(body)
    assert_eq '{"count": 14, "status": "SUPPORTED_AREA"}' "$(json "$first" "j::text")" "cell 00 answer"
    assert_eq application/json "$(header Content-Type | cut -d';' -f1)" "Content-Type"
    keep_body supported_area
    # The same query, again and through the issue's path: the identical answer.
    for i in 1 2 3; do
        expo_count "$tok" "{\"area\":$c00}" >/dev/null
        assert_eq "$first" "$(body)" "repeat $i"
    done
    st=$(COUNT_PATH=/region-device-count/v0/count expo_count "$tok" "{\"area\":$c00}")
    assert_eq 200 "$st" "alias path"
    assert_eq "$first" "$(body)" "alias path answer"
    # Cell 10 released 2 (below k = 10): suppressed, no count.
    expo_count "$tok" "{\"area\":$(camara_box 2.32 48.80 2.34 48.82)}" >/dev/null
    assert_eq '{"status": "DENSITY_BELOW_PRIVACY_THRESHOLD"}' "$(json "$(body)" "j::text")" "cell 10"
    keep_body below_threshold
    # Cells 00 + 10 + 01 + 11: 14 + 2 - 3 + 25 = 38.
    both=$(camara_box 2.30 48.80 2.34 48.84)
    expo_count "$tok" "{\"area\":$both}" >/dev/null
    assert_eq '{"count": 38, "status": "SUPPORTED_AREA"}' "$(json "$(body)" "j::text")" "four cells"
    # 35 % of cell 11 (25 * 0.35 = 8.75, rounded: 9, below k) and the other 65 % (16.25: 16).
    expo_count "$tok" "{\"area\":$(camara_box 2.320 48.82 2.327 48.84)}" >/dev/null
    assert_eq '{"status": "DENSITY_BELOW_PRIVACY_THRESHOLD"}' "$(json "$(body)" "j::text")" "35 % of a cell"
    expo_count "$tok" "{\"area\":$(camara_box 2.327 48.82 2.340 48.84)}" >/dev/null
    assert_eq '{"count": 16, "status": "SUPPORTED_AREA"}' "$(json "$(body)" "j::text")" "65 % of a cell"
    # Cell 00 (14) and a strip west of the grid half its width: 2/3 covered.
    expo_count "$tok" "{\"area\":$(camara_box 2.29 48.80 2.32 48.82)}" >/dev/null
    assert_eq '{"count": 14, "status": "PART_OF_AREA_NOT_SUPPORTED"}' "$(json "$(body)" "j::text")" "partly outside"
    keep_body part_of_area
    # Cell 00 and twice its width outside: 1/3 covered.
    expo_count "$tok" "{\"area\":$(camara_box 2.26 48.80 2.32 48.82)}" >/dev/null
    assert_eq '{"status": "AREA_NOT_SUPPORTED"}' "$(json "$(body)" "j::text")" "mostly outside"
    # Entirely outside coverage.
    expo_count "$tok" "{\"area\":$(camara_box 3.00 48.80 3.02 48.82)}" >/dev/null
    assert_eq '{"status": "AREA_NOT_SUPPORTED"}' "$(json "$(body)" "j::text")" "outside"
    keep_body area_not_supported
    # An interval holding the two 2020 releases of cell 11 (20 and 31): their mean 25.5 -> 26.
    expo_count "$tok" "{\"area\":$(camara_box 2.32 48.82 2.34 48.84),\"starttime\":\"2020-03-01T00:00:00Z\",\"endtime\":\"2020-03-01T02:00:00+00:00\"}" >/dev/null
    assert_eq '{"count": 26, "status": "SUPPORTED_AREA"}' "$(json "$(body)" "j::text")" "interval of two releases"
    expo_count "$tok" "{\"area\":$(camara_box 2.32 48.82 2.34 48.84),\"starttime\":\"2020-03-01T01:00:00+01:00\",\"endtime\":\"2020-03-01T01:00:00Z\"}" >/dev/null
    assert_eq '{"count": 20, "status": "SUPPORTED_AREA"}' "$(json "$(body)" "j::text")" "interval of the first release (offset)"
    expo_count "$tok" "{\"area\":$(camara_box 2.32 48.82 2.34 48.84),\"starttime\":\"2019-01-01T00:00:00Z\",\"endtime\":\"2019-01-02T00:00:00Z\"}" >/dev/null
    assert_eq '{"status": "TIME_INTERVAL_NO_DATA_FOUND"}' "$(json "$(body)" "j::text")" "no release in interval"
    keep_body no_data
    # Every answer is audited with its client.
    assert_eq 0 "$(sql "SELECT count(*) FROM audit_log WHERE actor = 'app2' AND actor_kind <> 'third_party'")" "audit kind"
    [ "$(sql "SELECT count(*) FROM audit_log WHERE actor = 'app2' AND action = 'region-device-count'
              AND answer = '{\"count\": 14, \"status\": \"SUPPORTED_AREA\"}'")" -ge 5 ] ||
        fail "the repeated answers are not all in the audit log"
}

# The newest CAMARA version's path and scope, and its filter: refused with a
# clear 400, never ignored (the devices' roaming status and type are unknown).
test_newest_path_scope_and_filter() {
    local tok st c00 first
    new_client newest region-device-count:count
    tok=$(token_at "$EXPO_PORT" newest)
    c00=$(camara_box 2.30 48.80 2.32 48.82)
    st=$(COUNT_PATH=/region-device-count/vwip/count expo_count "$tok" "{\"area\":$c00}")
    assert_eq 200 "$st" "newest path with the newest scope: $(body)"
    first=$(body)
    assert_eq '{"count": 14, "status": "SUPPORTED_AREA"}' "$(json "$first" "j::text")" "newest path answer"
    st=$(expo_count "$tok" "{\"area\":$c00}")
    assert_eq 200 "$st" "the YAML's path with the newest scope"
    assert_eq "$first" "$(body)" "the same answer on both paths"
    st=$(COUNT_PATH=/region-device-count/vwip/count expo_count "$tok" "{\"area\":$c00,\"filter\":{}}")
    assert_eq 200 "$st" "an empty filter counts every device"
    assert_eq "$first" "$(body)" "empty filter answer"
    st=$(COUNT_PATH=/region-device-count/vwip/count expo_count "$tok" \
        "{\"area\":$c00,\"filter\":{\"roamingStatus\":[\"roaming\"]}}")
    assert_eq 400 "$st" "a filter that selects: $(body)"
    assert_eq INVALID_ARGUMENT "$(json "$(body)" "j->>'code'")" "filter refused as INVALID_ARGUMENT"
    assert_match 'filter' "$(json "$(body)" "j->>'message'")" "the message names the filter"
    st=$(COUNT_PATH=/region-device-count/vwip/count expo_count "$tok" \
        "{\"area\":$c00,\"filter\":{\"deviceType\":[\"iot\"]}}")
    assert_eq 400 "$st" "a deviceType filter"
}

test_rate_limit_answers_429_with_retry_after() {
    local tok st i ok=0
    tok=$(token_at "$EXPO_PORT" limited)
    for i in $(seq 1 $((COUNT_RATE + 20))); do
        st=$(expo_count "$tok" "{\"area\":$(camara_box 2.30 48.80 2.32 48.82)}")
        [ "$st" = 200 ] || break
        ok=$((ok + 1))
    done
    assert_eq 429 "$st" "after $ok requests"
    [ "$ok" -ge "$COUNT_RATE" ] || fail "only $ok of the $COUNT_RATE allowed requests passed"
    assert_eq TOO_MANY_REQUESTS "$(json "$(body)" "j->>'code'")" "429 code"
    assert_eq 429 "$(json "$(body)" "j->>'status'")" "429 status member"
    assert_match '^[1-9][0-9]*$' "$(header Retry-After)" "Retry-After"
    keep_body too_many_requests
    # Another client is not limited by this one.
    st=$(expo_count "$(token_at "$EXPO_PORT" app2)" "{\"area\":$(camara_box 2.30 48.80 2.32 48.82)}")
    assert_eq 200 "$st" "another client"
}

# ---------------------------------------------------------------- the k rule at scale

# Over 300 random small populations (one release each, noisy cell counts
# between -6 and 14, k = 10) and 5 random areas of whole cells per release,
# every lg_counts_query answer: a count only when it is >= k, and then the
# exact sum of the released cells; suppressed exactly when the sum is < k.
test_no_answer_below_k_over_random_populations() {
    local bad
    bad=$(sql "
DO \$\$
DECLARE
    v_day timestamptz;
    v_noisy bigint[];
    v_cells text[];
    v_i0 int; v_i1 int; v_j0 int; v_j1 int;
    v_sum bigint;
    v_ans jsonb;
    v_bad int := 0;
    v_seen_count int := 0;
    v_seen_suppressed int := 0;
BEGIN
    PERFORM setseed(0.42);
    SELECT array_agg(cell_key ORDER BY cell_key) INTO v_cells FROM cell;
    FOR r IN 1 .. 300 LOOP
        v_day := timestamptz '2001-01-01 00:00Z' + r * interval '1 day';
        SELECT array_agg(floor(random() * 21)::bigint - 6) INTO v_noisy
        FROM generate_series(1, cardinality(v_cells));
        IF NOT lg_counts_store_release(v_day, v_day + interval '1 hour', 1, 2, v_cells, v_noisy) THEN
            RAISE EXCEPTION 'release % refused', r;
        END IF;
        FOR q IN 1 .. 5 LOOP
            v_i0 := floor(random() * 3); v_i1 := v_i0 + floor(random() * (3 - v_i0));
            v_j0 := floor(random() * 3); v_j1 := v_j0 + floor(random() * (3 - v_j0));
            SELECT sum(v_noisy[o]) INTO v_sum
            FROM unnest(v_cells) WITH ORDINALITY AS u(k, o)
            WHERE substr(k, 18, 1)::int BETWEEN v_i0 AND v_i1
              AND substr(k, 19, 1)::int BETWEEN v_j0 AND v_j1;
            v_ans := lg_counts_query('k-test',
                jsonb_build_object('areaType', 'POLYGON', 'boundary', jsonb_build_array(
                    jsonb_build_object('latitude', 48.80 + 0.02 * v_j0, 'longitude', 2.30 + 0.02 * v_i0),
                    jsonb_build_object('latitude', 48.80 + 0.02 * v_j0, 'longitude', 2.30 + 0.02 * (v_i1 + 1)),
                    jsonb_build_object('latitude', 48.80 + 0.02 * (v_j1 + 1), 'longitude', 2.30 + 0.02 * (v_i1 + 1)),
                    jsonb_build_object('latitude', 48.80 + 0.02 * (v_j1 + 1), 'longitude', 2.30 + 0.02 * v_i0))),
                v_day, v_day + interval '1 hour', $COUNT_K, 1000000, 50000000000);
            IF v_ans ? 'count' THEN
                v_seen_count := v_seen_count + 1;
                IF (v_ans->>'count')::bigint < $COUNT_K OR (v_ans->>'count')::bigint <> v_sum
                   OR v_ans->>'status' <> 'SUPPORTED_AREA' THEN
                    v_bad := v_bad + 1;
                    RAISE WARNING 'release %, cells %-% x %-%: sum %, answer %', r, v_i0, v_i1, v_j0, v_j1, v_sum, v_ans;
                END IF;
            ELSE
                v_seen_suppressed := v_seen_suppressed + 1;
                IF v_ans->>'status' <> 'DENSITY_BELOW_PRIVACY_THRESHOLD' OR v_sum >= $COUNT_K THEN
                    v_bad := v_bad + 1;
                    RAISE WARNING 'release %, cells %-% x %-%: sum %, answer %', r, v_i0, v_i1, v_j0, v_j1, v_sum, v_ans;
                END IF;
            END IF;
        END LOOP;
    END LOOP;
    IF v_seen_count < 100 OR v_seen_suppressed < 100 THEN
        RAISE EXCEPTION 'not enough of both outcomes: % counts, % suppressed', v_seen_count, v_seen_suppressed;
    END IF;
    RAISE NOTICE 'bad=%', v_bad;
    CREATE TEMP TABLE k_result AS SELECT v_bad AS bad;
END
\$\$;
SELECT bad FROM k_result;" 2>"$T/k.err") || { cat "$T/k.err" >&2; fail "the k loop failed"; }
    assert_eq 0 "$bad" "answers violating k or the release sum ($(grep -c WARNING "$T/k.err" || true) warnings)"
}

# ---------------------------------------------------------------- asynchronous mode

# spec_valid SCHEMA FILE WHAT: FILE validates against components.schemas.SCHEMA
# of tests/integration/camara_count_async.yaml (the asynchronous mode put
# together from the published CAMARA files), copied beside them in $LG_SPECS.
spec_valid() {
    local out
    cp "$LG_ROOT/tests/integration/camara_count_async.yaml" "$LG_SPECS/camara/"
    out=$(cd "$LG_SPECS" && node validate.mjs camara/camara_count_async.yaml "$1" "$2" 2>&1) ||
        fail "$3: not a valid $1: $out: $(cat "$2")"
}

# async_credential [EXPIRES_IN_S] [TYPE] [TOKEN_TYPE]: a sinkCredential member.
async_credential() {
    printf '"sinkCredential":{"credentialType":"%s","accessToken":"tok-Async.1~x","accessTokenExpiresUtc":"%s","accessTokenType":"%s"}' \
        "${2:-ACCESSTOKEN}" "$(date -u -d "@$(($(date +%s) + ${1:-3600}))" +%Y-%m-%dT%H:%M:%SZ)" "${3:-bearer}"
}

# count_results: the outbox rows of asynchronous counts.
count_results() { sql "SELECT count(*) FROM notification_outbox WHERE kind = 'count-result'"; }

test_async_count_is_delivered_as_a_signed_cloudevent() {
    local tok st c00 req op line ev sync
    add_scs scs-async --allow-private
    new_client asyncapp region-device-count scs-async
    start_sink async scs-async
    tok=$(token_at "$EXPO_PORT" asyncapp)
    c00=$(camara_box 2.30 48.80 2.32 48.82)
    req="{\"area\":$c00,\"sink\":\"$(sink_url async count-results)\",$(async_credential)}"
    printf '%s' "$req" >"$T/async.req.json"
    spec_valid CountAsyncRequest "$T/async.req.json" "the request"

    st=$(COUNT_PATH=/region-device-count/vwip/count expo_count "$tok" "$req" -H 'x-correlator: async-1')
    assert_eq 202 "$st" "asynchronous request: $(body)"
    body >"$T/async.accepted.json"
    spec_valid CountAccepted "$T/async.accepted.json" "the 202 body"
    op=$(json "$(body)" "j->>'operationId'")
    assert_match '^[0-9a-f-]{36}$' "$op" "operationId"
    # Acknowledged means committed: the result is in the outbox already.
    assert_eq 1 "$(count_results)" "the result is queued before the 202"

    wait_for 15 "the result at the sink" sink_count_is async 1
    line=$(sink_line async 1)
    assert_eq true "$(json "$line" "j->>'signatureValid'")" "signed with the SCS's webhook secret"
    assert_eq application/cloudevents+json "$(json "$line" "j->>'contentType'")" "Content-Type"
    assert_eq "Bearer tok-Async.1~x" "$(json "$line" "j->>'authorization'")" "the sinkCredential's token"
    assert_eq async-1 "$(json "$line" "j->>'xCorrelator'")" "the request's x-correlator"
    json "$line" "j->'body'" >"$T/async.event.json"
    spec_valid CountCloudEvent "$T/async.event.json" "the CloudEvent"
    ev=$(cat "$T/async.event.json")
    assert_eq "$(json "$line" "j->>'webhookId'")" "$(json "$ev" "j->>'id'")" "CloudEvent id = webhook-id"
    assert_eq "1.0 application/json /region-device-count/vwip/count org.camaraproject.region-device-count.v0.count-result" \
        "$(json "$ev" "concat_ws(' ', j->>'specversion', j->>'datacontenttype', j->>'source', j->>'type')")" \
        "CloudEvent attributes"
    assert_eq "$op" "$(json "$ev" "j->'data'->>'operationId'")" "operationId in the data"
    st=$(expo_count "$tok" "{\"area\":$c00}")
    assert_eq 200 "$st" "the same request, synchronous"
    sync=$(json "$(body)" "j::text")
    assert_eq "$sync" "$(json "$ev" "((j->'data') - 'operationId')::text")" "data = the synchronous answer"
    assert_eq '{"count": 14, "status": "SUPPORTED_AREA"}' "$sync" "the answer"
    wait_for 10 "the row delivered" test "$(sql "SELECT status FROM notification_outbox WHERE kind = 'count-result'")" = delivered
    assert_eq "t" "$(sql "SELECT sink_token IS NULL AND sink_token_expires_at IS NULL FROM notification_outbox
                          WHERE kind = 'count-result'")" "the token is wiped once delivered"
    # The token's subject is the client's SCS/AS.
    wait_for 10 "both answers audited" \
        test "$(sql "SELECT count(*) FROM audit_log WHERE actor = 'scs-async'")" = 2
    assert_eq 0 "$(sql "SELECT count(*) FROM audit_log WHERE request::text LIKE '%tok-Async%'")" \
        "the token is not in the audit log"
}

test_async_count_is_retried_and_needs_no_credential() {
    local tok st c00
    add_scs scs-async --allow-private
    new_client asyncretry region-device-count scs-async
    start_sink asyncretry scs-async --fail-first 1
    tok=$(token_at "$EXPO_PORT" asyncretry)
    c00=$(camara_box 2.30 48.80 2.32 48.82)
    st=$(expo_count "$tok" "{\"area\":$c00,\"sink\":\"$(sink_url asyncretry r)\"}")
    assert_eq 202 "$st" "without a sinkCredential: $(body)"
    wait_for 20 "a second delivery" sink_count_is asyncretry 2
    assert_eq 500 "$(json "$(sink_line asyncretry 1)" "j->>'status'")" "the first attempt refused"
    assert_eq "$(json "$(sink_line asyncretry 1)" "j->>'webhookId'")" \
        "$(json "$(sink_line asyncretry 2)" "j->>'webhookId'")" "the same event again"
    assert_eq "" "$(json "$(sink_line asyncretry 2)" "j->>'authorization'")" "no Authorization without a credential"
    assert_eq "" "$(json "$(sink_line asyncretry 2)" "j->>'xCorrelator'")" "no x-correlator without one"
    wait_for 10 "the row delivered" test "$(sql "SELECT status || ':' || attempts FROM notification_outbox
        WHERE kind = 'count-result' AND destination LIKE '%/r'")" = delivered:2
}

# async_error STATUS CODE CLIENT BODY WHAT: the request is refused and queues nothing.
async_error() {
    local tok st before
    before=$(count_results)
    tok=$(token_at "$EXPO_PORT" "$3")
    st=$(expo_count "$tok" "$4")
    assert_eq "$1" "$st" "$5: $(body)"
    assert_eq "$2" "$(json "$(body)" "j->>'code'")" "$5: code"
    assert_match '.' "$(json "$(body)" "j->>'message'")" "$5: message"
    assert_eq "$before" "$(count_results)" "$5: nothing queued"
}

test_async_refusals() {
    local c00 sink
    add_scs scs-async --allow-private
    new_client asyncbad region-device-count scs-async
    new_client asyncpub region-device-count scs-count
    c00=$(camara_box 2.30 48.80 2.32 48.82)
    sink='"sink":"https://sink.example.com/results"'
    async_error 400 INVALID_SINK asyncbad "{\"area\":$c00,\"sink\":\"http://sink.example.com/x\"}" "http sink"
    async_error 400 INVALID_SINK asyncbad "{\"area\":$c00,\"sink\":\"https://u:p@sink.example.com/x\"}" "userinfo"
    async_error 400 INVALID_SINK asyncbad "{\"area\":$c00,\"sink\":\"https://2130706433/x\"}" "numeric host"
    async_error 400 INVALID_SINK asyncbad "{\"area\":$c00,\"sink\":42}" "sink not a string"
    async_error 400 INVALID_CREDENTIAL asyncbad "{\"area\":$c00,$sink,$(async_credential 3600 PLAIN)}" "PLAIN credential"
    async_error 400 INVALID_CREDENTIAL asyncbad "{\"area\":$c00,$sink,$(async_credential 3600 REFRESHTOKEN)}" "refresh token"
    async_error 400 INVALID_TOKEN asyncbad "{\"area\":$c00,$sink,$(async_credential 3600 ACCESSTOKEN mac)}" "not bearer"
    async_error 400 INVALID_ARGUMENT asyncbad "{\"area\":$c00,$sink,$(async_credential -60)}" "expired token"
    async_error 400 INVALID_ARGUMENT asyncbad "{\"area\":$c00,$(async_credential)}" "credential without sink"
    async_error 400 INVALID_ARGUMENT asyncbad "{\"area\":$c00,$sink,\"sinkCredential\":{\"credentialType\":\"ACCESSTOKEN\",\"accessTokenType\":\"bearer\",\"accessToken\":\"a b\",\"accessTokenExpiresUtc\":\"2100-01-01T00:00:00Z\"}}" "token with a space"
    # The count's own refusals come first, and queue nothing either.
    async_error 400 REGION_DEVICE_COUNT.INVALID_CIRCLE_AREA asyncbad \
        "{\"area\":{\"areaType\":\"CIRCLE\",\"center\":{\"latitude\":48.81,\"longitude\":2.31},\"radius\":300},$sink}" "area too small"
    # The SSRF guard: an SCS that does not allow private destinations.
    async_error 400 INVALID_SINK asyncpub "{\"area\":$c00,\"sink\":\"https://127.0.0.1:8443/x\"}" "loopback sink"
    async_error 400 INVALID_SINK asyncpub "{\"area\":$c00,\"sink\":\"https://[::ffff:10.0.0.1]/x\"}" "mapped private sink"
    # A client with no SCS/AS has no webhook secret to sign with.
    async_error 400 INVALID_SINK app "{\"area\":$c00,$sink}" "client without an SCS/AS"
}
