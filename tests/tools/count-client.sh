#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# docker-compose's one-shot "count-client" service: a third party asking the
# exposure zone for anonymized counts, and an operator asking for the exact
# one. Runs in the locguard container's network namespace (the admin zone is
# on its loopback), as the image's locguard user:
#
#   1. provisions node mme-2, a macro cell covering a small district
#      (ecgi:001-01:000C000, around lon 2.35 lat 48.85) and 24 city bikes
#      (SUPIs 0010199000000NN, outside the range mme-sim load uses), 20 of
#      them with the anonymous-statistics consent;
#   2. mme-2 reports the bikes in that cell, in one batch;
#   3. waits for the daemon's own noisy release of that bucket ([counts]
#      bucket_s, 60 s in the image's configuration, plus the release's 5 s
#      delay);
#   4. (re)creates the OAuth2 client count-demo-app with scope
#      region-device-count, gets a token at the exposure zone's /oauth2/token
#      and asks POST /regionDeviceCount/vwip/count for a 2.9 km circle twice
#      (the same answer) and for a 600 m circle (DENSITY_BELOW_PRIVACY_THRESHOLD
#      unless noise lifts it above k);
#   5. prints the operator's exact count (`locguardctl count --circle`).
#
# The answers are printed as returned; nothing is faked. Settings (defaults
# for the compose image): CERTS=/certs, ADMIN_TOKEN_FILE=$CERTS/admin.token,
# LOCGUARD_ADMIN_URL (locguardctl's default http://127.0.0.1:7080),
# SOUTH_PORT=7443, EXPO_URL=https://127.0.0.1:8445, BUCKET_S=60,
# MME_SIM=mme-sim, LOCGUARDCTL=locguardctl.
set -euo pipefail

CERTS=${CERTS:-/certs}
ADMIN_TOKEN_FILE=${ADMIN_TOKEN_FILE:-$CERTS/admin.token}
SOUTH_PORT=${SOUTH_PORT:-7443}
EXPO_URL=${EXPO_URL:-https://127.0.0.1:8445}
BUCKET_S=${BUCKET_S:-60}
MME_SIM=${MME_SIM:-mme-sim}
LOCGUARDCTL=${LOCGUARDCTL:-locguardctl}
BIKES=24 BIKES_CONSENTING=20
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

say() { printf 'count-client: %s\n' "$*"; }
die() { printf 'count-client: %s\n' "$*" >&2; exit 1; }
ctl() { "$LOCGUARDCTL" --token-file "$ADMIN_TOKEN_FILE" "$@"; }

bike_supi() { printf '0010199000000%02d' "$1"; }

# count BODY: POST to the exposure zone; prints "STATUS BODY".
count() {
    local st
    st=$(curl -sS --max-time 10 --cacert "$CERTS/ca.pem" -o "$WORK/count.json" -w '%{http_code}' \
        -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
        --data-binary "$1" "$EXPO_URL/regionDeviceCount/vwip/count") || st=000
    printf '%s %s\n' "$st" "$(cat "$WORK/count.json" 2>/dev/null)"
}

circle() {
    printf '{"area":{"areaType":"CIRCLE","center":{"latitude":%s,"longitude":%s},"radius":%s}}' "$1" "$2" "$3"
}

ctl health >/dev/null || die "the admin zone does not answer"

# 1. Provisioning.
ctl node add mme-2 --kind MME >/dev/null # idempotent: a second run finds it
printf 'ecgi:001-01:000C000,EUTRA,2.35,48.85,3000\n' >"$WORK/cells.csv"
ctl cell import "$WORK/cells.csv" >/dev/null
for i in $(seq 1 "$BIKES"); do
    ctl device add --supi "imsi-$(bike_supi "$i")" --external-id "city-bike-$i@bikes.example" \
        --mobility unrestricted >/dev/null
    if [ "$i" -le "$BIKES_CONSENTING" ]; then
        ctl consent grant "city-bike-$i@bikes.example" --purpose anonymous-statistics >/dev/null
    fi
done
say "macro cell 000C000 (3 km around lat 48.85 lon 2.35), $BIKES bikes, $BIKES_CONSENTING consenting to anonymous statistics"

# 2. One batch, inside one bucket (a release counts the devices whose latest
# report falls in its bucket).
if [ $(($(date +%s) % BUCKET_S)) -ge $((BUCKET_S - 3)) ]; then
    sleep $((BUCKET_S - $(date +%s) % BUCKET_S)).2
fi
{
    printf '{"notifyCorrelationId":"mme-2","reportList":['
    for i in $(seq 1 "$BIKES"); do
        [ "$i" -eq 1 ] || printf ','
        printf '{"type":"LOCATION_REPORT","state":{"active":true},"timeStamp":"%s","supi":"imsi-%s","location":{"eutraLocation":{"tai":{"plmnId":{"mcc":"001","mnc":"01"},"tac":"0001"},"ecgi":{"plmnId":{"mcc":"001","mnc":"01"},"eutraCellId":"000C000"}}}}' \
            "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$(bike_supi "$i")"
    done
    printf ']}\n'
} >"$WORK/batch.json"
out=$("$MME_SIM" send --host 127.0.0.1 --port "$SOUTH_PORT" --cert "$CERTS/mme-2.pem" \
    --key "$CERTS/mme-2.key" --ca "$CERTS/ca.pem" --node mme-2 --file "$WORK/batch.json" 2>&1 | head -n 1) || true
say "mme-2 -> locguard: $BIKES reports: $out"
case $out in "HTTP 2"*) ;; *) die "the batch was not accepted" ;; esac

# 3. The daemon's own release of this bucket (5 s after it ends).
now=$(date +%s)
release_at=$((now / BUCKET_S * BUCKET_S + BUCKET_S + 5))
say "waiting $((release_at - now + 2)) s for the daemon's noisy release of this ${BUCKET_S}-second bucket"
sleep $((release_at - now + 2))

# 4. The third party.
# A second run replaces the client; exit status 3: there was none.
ctl client remove count-demo-app >/dev/null 2>&1 || [ $? -eq 3 ] || die "locguardctl client remove failed"
secret=$(ctl client add count-demo-app --scope region-device-count 2>/dev/null |
    awk '$1 == "clientSecret" { print $2 }')
[ -n "$secret" ] || die "locguardctl client add printed no secret"
st=$(curl -sS --max-time 10 --cacert "$CERTS/ca.pem" -o "$WORK/token.json" -w '%{http_code}' \
    -u "count-demo-app:$secret" -d grant_type=client_credentials "$EXPO_URL/oauth2/token") || st=000
say "third party count-demo-app: POST $EXPO_URL/oauth2/token -> $st"
[ "$st" = 200 ] || die "no token: $(cat "$WORK/token.json")"
TOKEN=$(sed -n 's/.*"access_token" *: *"\([^"]*\)".*/\1/p' "$WORK/token.json")
[ -n "$TOKEN" ] || die "no access_token in the token answer"
say "count, circle 2.9 km around lat 48.85 lon 2.35: $(count "$(circle 48.85 2.35 2900)")"
say "the same again (same release, same answer):    $(count "$(circle 48.85 2.35 2900)")"
say "count, circle 600 m (a tiny area):             $(count "$(circle 48.85 2.35 600)")"

# 5. The operator.
say "operator: locguardctl count --circle 48.85,2.35,2900 -> $(ctl count --circle 48.85,2.35,2900)"
say "(exact: consenting devices only; the third party's answers are noisy releases, suppressed below k)"
