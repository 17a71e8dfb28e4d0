# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Mutual TLS on the northbound zone: with `client_ca` set, an SCS must
# present a client certificate chaining to that CA, and its subject CN must
# equal the {scsAsId} of the T8 path, as the bearer token's `sub` must.
#
# The daemon is lib.sh's, with its north zone moved to a throwaway PKI in $T/pki
# (tests/tools/mkcerts.sh with client certificates for scs-a and scs-b; the
# harness's $CERTS is made once per run, without those names). The north
# zone serves $T/pki/server.pem and trusts $T/pki/ca.pem for clients;
# $T/pki/rogue-mme-1.pem is a client certificate from a CA nobody trusts.

P=$T/pki

make_pki() {
    [ -f "$P/scs-b.pem" ] ||
        MKCERTS_NODES="scs-a scs-b" "$LG_ROOT/tests/tools/mkcerts.sh" "$P" >/dev/null
}

# lib.sh's daemon, with the north zone on this file's PKI and demanding
# client certificates from it.
make_pki
NORTH_CERTS=$P
CONF_NORTH="client_ca = $P/ca.pem"

# ---------------------------------------------------------------- helpers

# cert_args NAME: curl's client certificate options for $P/NAME.pem
# (NAME "-" sends none).
cert_args() {
    [ "$1" = - ] || printf '%s\n' --cert "$P/$1.pem" --key "$P/$1.key"
}

# mtoken CERT CLIENT: an access token for CLIENT from the north zone's token
# endpoint, over a connection presenting CERT; kept in $T/token.CLIENT.
mtoken() {
    local st args
    mapfile -t args < <(cert_args "$1")
    st=$(curl_status --cacert "$P/ca.pem" "${args[@]}" -u "$2:$(cat "$T/client.$2.secret")" -X POST \
        -H 'Content-Type: application/x-www-form-urlencoded' \
        --data-binary grant_type=client_credentials "https://127.0.0.1:$NORTH_PORT/oauth2/token")
    [ "$st" = 200 ] || { fail "token for $2 with certificate $1 answered $st: $(body)"; return 1; }
    json "$(body)" "j->>'access_token'" >"$T/token.$2"
}

# mlist CERT CLIENT SCSASID: GET the SCS's subscriptions with CLIENT's token
# over a connection presenting CERT; prints the status.
mlist() {
    local args
    mapfile -t args < <(cert_args "$1")
    curl_status --cacert "$P/ca.pem" "${args[@]}" -H "Authorization: Bearer $(cat "$T/token.$2")" \
        "https://127.0.0.1:$NORTH_PORT$(subs_path "$3")"
}

setup() {
    add_scs scs-a
    add_scs scs-b
    add_client client-a scs-a
    add_client client-b scs-b
    mtoken scs-a client-a
    mtoken scs-b client-b
}

# ---------------------------------------------------------------- tests

test_matching_token_and_certificate_list_subscriptions() {
    local st
    st=$(mlist scs-a client-a scs-a)
    assert_eq 200 "$st" "scs-a's token and certificate on scs-a's path: $(body)"
    assert_eq 0 "$(json "$(body)" "jsonb_array_length(j)")" "scs-a's subscriptions"
    st=$(mlist scs-b client-b scs-b)
    assert_eq 200 "$st" "scs-b's token and certificate on scs-b's path: $(body)"
}

test_certificate_of_another_scs_is_refused_like_any_refusal() {
    local st refused other
    # scs-a's token, scs-b's certificate, scs-a's path: the CN does not match.
    st=$(mlist scs-b client-a scs-a)
    assert_eq 403 "$st" "scs-a's token with scs-b's certificate"
    refused=$(body)
    [ -n "$refused" ] || fail "the 403 has no body"
    # The refusal of a token used for another SCS's path (certificate scs-a).
    st=$(mlist scs-a client-a scs-b)
    assert_eq 403 "$st" "scs-a's token and certificate on scs-b's path"
    other=$(body)
    assert_eq "$other" "$refused" "body of the certificate refusal"
    # scs-b's certificate on scs-b's path does not open it with scs-a's token.
    st=$(mlist scs-b client-a scs-b)
    assert_eq 403 "$st" "scs-a's token with scs-b's certificate on scs-b's path"
    assert_eq "$other" "$(body)" "body of that refusal"
    # Nor does scs-b's token with scs-a's certificate open scs-b's path.
    st=$(mlist scs-a client-b scs-b)
    assert_eq 403 "$st" "scs-b's token with scs-a's certificate"
    assert_eq "$other" "$(body)" "body of that refusal"
}

test_no_client_certificate_fails_the_handshake() {
    local st
    st=$(mlist - client-a scs-a)
    assert_eq 000 "$st" "status without a client certificate: $(body)"
    assert_ne 0 "$(curl_rc)" "curl exit code without a client certificate"
    # The token endpoint is behind the same handshake.
    st=$(curl_status --cacert "$P/ca.pem" -u "client-a:$(cat "$T/client.client-a.secret")" -X POST \
        --data-binary grant_type=client_credentials "https://127.0.0.1:$NORTH_PORT/oauth2/token")
    assert_eq 000 "$st" "token endpoint without a client certificate"
    assert_ne 0 "$(curl_rc)" "curl exit code at the token endpoint"
}

test_rogue_ca_certificate_fails_the_handshake() {
    local st
    st=$(mlist rogue-mme-1 client-a scs-a)
    assert_eq 000 "$st" "status with the rogue CA's certificate: $(body)"
    assert_ne 0 "$(curl_rc)" "curl exit code with the rogue CA's certificate"
    # The harness's CA is not trusted here either (a valid chain, another CA).
    st=$(curl_status --cacert "$P/ca.pem" --cert "$CERTS/mme-1.pem" --key "$CERTS/mme-1.key" \
        -H "Authorization: Bearer $(cat "$T/token.client-a")" \
        "https://127.0.0.1:$NORTH_PORT$(subs_path scs-a)")
    assert_eq 000 "$st" "status with a certificate of another CA"
    assert_ne 0 "$(curl_rc)" "curl exit code with a certificate of another CA"
}
